"""The scorecard view: a model's evaluation on the current data, compact enough for the drawer."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

MAX_ROWS = 50  # affected servers listed; the rest are counted


def lead_time_text(lead_s: Any) -> str:
    """``+35 s`` ahead of the peak, ``late by 10 s``, or ``never`` when no alert fired."""
    if isinstance(lead_s, bool) or not isinstance(lead_s, (int, float)):
        return "never"
    if lead_s < 0:
        return f"late by {-lead_s:.0f} s"
    return f"+{lead_s:.0f} s"


def _pct(value: Any, digits: int = 0) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _incidents_text(incidents: Any) -> str:
    if not isinstance(incidents, list) or not incidents:
        return "n/a"
    hit = sum(1 for i in incidents if isinstance(i, dict) and i.get("detected"))
    return f"{hit}/{len(incidents)}"


def scorecard_view(card: dict[str, Any]) -> html.Div:
    """A compact scorecard: the headline numbers and the affected servers' lead times."""
    stats = [
        ("detection rate", _pct(card.get("detection_rate"))),
        (
            "false alarms",
            f"{_pct(card.get('false_alarm_share'), 1)} · "
            f"{_num(card.get('false_alarms_per_server_hour'))}/server-h",
        ),
        ("precision", _pct(card.get("precision"))),
        ("recall", _pct(card.get("recall"))),
        ("AUROC", _num(card.get("auroc"), 3)),
        ("top-5 coverage", _pct(card.get("top5_peak_coverage"))),
        ("incidents detected", _incidents_text(card.get("incidents"))),
        ("false alarms / server-day", _num(card.get("false_alarm_episodes_per_server_day"))),
        ("NAB (standard)", _num((card.get("nab") or {}).get("standard"), 1)),
    ]
    warnings = [str(w) for w in card.get("warnings") or []]
    parts: list = [
        *(dbc.Alert(w, color="warning", className="about-eval-note") for w in warnings),
        html.Dl(
            [
                item
                for name, value in stats
                for item in (html.Dt(name), html.Dd(value, className="about-eval-value"))
            ],
            className="about-eval-stats",
        )
    ]
    affected = [a for a in card.get("affected") or [] if isinstance(a, dict)]
    if affected:
        rows = [
            html.Tr(
                [
                    html.Td(str(a.get("server_name", "?"))),
                    html.Td(str(a.get("profile", ""))),
                    html.Td(
                        lead_time_text(a.get("lead_time_s")),
                        className="about-eval-lead"
                        + ("" if a.get("detected") else " about-eval-missed"),
                    ),
                ]
            )
            for a in affected[:MAX_ROWS]
        ]
        parts.append(
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th("affected server"), html.Th(""), html.Th("lead")])),
                    html.Tbody(rows),
                ],
                size="sm",
                borderless=True,
                className="about-eval-table",
            )
        )
        if len(affected) > MAX_ROWS:
            parts.append(
                html.P(f"… and {len(affected) - MAX_ROWS} more", className="text-muted small")
            )
    else:
        parts.append(html.P("No affected servers in this data.", className="text-muted small"))
    policy = card.get("policy") or {}
    parts.append(
        html.P(
            f"lead = peak start − first alert; horizon {card.get('horizon_s', 0):g} s; "
            f"alert at ≥ {policy.get('threshold', 0):g} for {policy.get('for_s', 0):g} s",
            className="text-muted small",
        )
    )
    if card.get("reads_ground_truth"):
        parts.append(
            dbc.Alert(
                "This model reads the ground truth: its scores do not measure detection.",
                color="info",
                className="about-eval-note",
            )
        )
    return html.Div(parts, className="about-scorecard")
