"""The scorecard view: a model's evaluation on the current data, compact enough for the drawer."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from .compare import Comparison

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


def comparison_view(comparison: Comparison) -> html.Div:
    """Every model's figures side by side: one row per figure, the best of each row in bold,
    the picked model's column marked; then what each model's evaluation warned about."""
    head = [html.Th("")] + [
        html.Th(
            name + (" (picked)" if name == comparison.current else ""),
            className="about-compare-current" if name == comparison.current else "",
        )
        for name in comparison.models
    ]
    body = [
        html.Tr(
            [html.Td(row.label)]
            + [
                html.Td(
                    value,
                    className="about-compare-value"
                    + (" about-compare-best" if best else "")
                    + (" about-compare-current" if name == comparison.current else ""),
                )
                for name, value, best in zip(comparison.models, row.values, row.best, strict=True)
            ]
        )
        for row in comparison.rows
    ]
    parts: list = [
        html.Div(
            dbc.Table(
                [html.Thead(html.Tr(head)), html.Tbody(body)],
                size="sm",
                borderless=True,
                className="about-eval-table about-compare",
            ),
            className="about-compare-scroll",
        ),
        html.P(
            "Bold: the best of the models that do not read the ground truth.",
            className="text-muted small",
        ),
    ]
    if comparison.notes:
        parts.append(
            html.Ul(
                [html.Li([html.B(f"{model}: "), note]) for model, note in comparison.notes],
                className="about-list about-eval-note about-compare-notes",
            )
        )
    return html.Div(parts)
