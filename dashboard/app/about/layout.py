"""The About drawer's components: the drawer itself and the rendering of :class:`~.view.About`."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids
from .view import MAX_LISTED, About


def drawer() -> dbc.Offcanvas:
    """The drawer, closed; the callbacks fill it for the picked data and model."""
    return dbc.Offcanvas(
        [html.Div(id=ids.BODY), evaluation_section()],
        id=ids.DRAWER,
        title="About this data",
        placement="end",
        is_open=False,
        scrollable=True,
        style={"width": "440px"},
    )


def evaluation_section() -> html.Div:
    """The drawer's "How well do the models do here?" section (filled by callbacks)."""
    return html.Div(
        [
            html.H6("How well do the models do here?"),
            dbc.Button(
                "Evaluate",
                id=ids.EVALUATE,
                color="primary",
                outline=True,
                size="sm",
                n_clicks=0,
                disabled=True,
                className="mb-2",
            ),
            dcc.Loading(html.Div(id=ids.SCORECARD), type="dot"),
        ],
        className="about-eval",
    )


def phase_badge(name: str, kind: str, class_name: str = "") -> dbc.Badge:
    return dbc.Badge(name, className=f"phase-badge phase-{kind} {class_name}".strip())


def render(about: About) -> list:
    """The drawer's body for ``about``."""
    if about.error:
        return [dbc.Alert(about.error, color="warning")]
    parts: list = [html.H5(about.title)]
    if about.description:
        parts.append(html.P(about.description, className="about-description"))
    parts.append(html.P(" · ".join(about.facts), className="text-muted"))
    if about.phases:
        parts.append(html.H6("Phases"))
        parts.append(
            html.Ul(
                [
                    html.Li([phase_badge(p.name, p.kind, "me-2"), f"{p.start} – {p.end}"])
                    for p in about.phases
                ],
                className="about-list",
            )
        )
    if about.affected:
        parts.append(html.H6(f"Affected servers ({len(about.affected)})"))
        parts.append(
            html.Ul(
                [
                    html.Li(
                        [
                            html.B(a.server),
                            f" ({a.profile}) — {a.reason}",
                            f"; {a.metrics}" if a.metrics else "",
                            f"; lags {a.delay_s:g} s" if a.delay_s else "",
                        ]
                    )
                    for a in about.affected[:MAX_LISTED]
                ],
                className="about-list",
            )
        )
    if about.model is not None:
        parts.append(html.H6(f"Model: {about.model.name}"))
        parts.append(html.P(about.model.description))
        if about.model.warning:
            parts.append(dbc.Alert(about.model.warning, color="warning"))
        if about.model.reads_ground_truth:
            parts.append(
                dbc.Alert(
                    "This model reads the dataset's ground truth: a demo, not a real detector.",
                    color="info",
                )
            )
    else:
        parts.append(html.P("Pick a model to see its description.", className="text-muted"))
    if about.source_kinds:
        parts.append(html.H6("Source kinds"))
        parts.append(
            html.Ul(
                [html.Li([html.Code(name), " ", text]) for name, text in about.source_kinds],
                className="about-list",
            )
        )
        parts.append(
            html.P(
                ["Open any of them with a link: ", html.Code("?source=kind:target")],
                className="text-muted small",
            )
        )
    if about.notes:
        parts.append(html.H6("Loading notes"))
        parts.append(html.Ul([html.Li(n) for n in about.notes], className="about-list"))
    return parts
