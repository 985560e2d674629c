"""The Live tab's layout: playback controls, the KPI header, the five linked graphs and the Why card."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import figures as fig
from ..figures.why import HEIGHT as WHY_HEIGHT
from ..services import Services
from . import ids
from .state import SPEEDS
from .view import KPI_LABELS, metrics_subtitle

# How often the browser checks for a lost answer, and how long without one counts as lost.
WATCHDOG_MS = 5000
WATCHDOG_STALL_MS = 30000
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False}  # drag to zoom, double-click to reset


def _graph(graph_id: str, height: int) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=fig.empty_figure("loading…", height),
        config=GRAPH_CONFIG,
        style={"height": f"{height}px"},
        className="live-graph",
    )


def card(
    title: str,
    body: Any,
    subtitle: str | None = None,
    class_name: str = "",
    subtitle_id: str | None = None,
) -> dbc.Card:
    """A titled card around one graph (the subtitle may be updated through ``subtitle_id``)."""
    header = [html.Span(title, className="card-title-text")]
    if subtitle_id:
        header.append(html.Span(subtitle, id=subtitle_id, className="card-subtitle-text"))
    elif subtitle:
        header.append(html.Span(subtitle, className="card-subtitle-text"))
    return dbc.Card(
        [
            dbc.CardHeader(header, className="live-card-header"),
            dbc.CardBody(body, className="live-card-body"),
        ],
        className=f"live-card h-100 {class_name}",
    )


def _button(label: str, button_id: str, hint: str, class_name: str = "") -> html.Button:
    """A playback button: its symbol hidden from screen readers, which read ``hint`` instead."""
    return html.Button(
        html.Span(label, **{"aria-hidden": "true"}),
        id=button_id,
        n_clicks=0,
        title=hint,
        className=f"btn btn-outline-secondary btn-sm {class_name}".strip(),
        **{"aria-label": hint},
    )


HINT = (
    "Click a server (a bar, a strip row) to select it; click the trend or drag the slider to "
    "move in time. Keys: space plays or pauses, ← → step one tick, Home starts over."
)


def controls(refresh_sec: float) -> html.Div:
    """Play/pause, step, speed, reset, live, the scrub slider, the current time and a hint."""
    buttons = html.Div(
        [
            _button("◀", ids.BACK, "step back one tick (←)"),
            html.Button(
                "❚❚ Pause",
                id=ids.PLAY,
                n_clicks=0,
                title="pause playback (space)",
                className="btn btn-primary btn-sm live-play",
            ),
            _button("▶", ids.FORWARD, "step forward one tick (→)"),
            _button("↺ Reset", ids.RESET, "start over and forget the zoom (Home)"),
        ],
        className="btn-group me-2",
        role="group",
        **{"aria-label": "playback"},
    )
    speed = dbc.RadioItems(
        id=ids.SPEED,
        options=[{"label": f"{s}×", "value": s} for s in SPEEDS],
        value=1,
        inline=True,
        className="btn-group live-speed",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
    )
    live = html.Button(
        "live",
        id=ids.LIVE,
        n_clicks=0,
        disabled=True,
        title="go to the newest data and follow it (L)",
        className="btn btn-sm live-live d-none",
    )
    slider = dcc.Slider(
        id=ids.SLIDER,
        min=0,
        max=1,
        step=1,
        value=0,
        marks=None,
        updatemode="mouseup",
        allow_direct_input=False,
        tooltip={"always_visible": False, "placement": "bottom"},
        className="live-slider",
    )
    status = html.Div(
        [
            live,
            html.Span("—", id=ids.CLOCK, className="live-clock"),
            html.Span(id=ids.PROGRESS, className="live-progress", **{"aria-live": "off"}),
            html.Span(f"refresh {refresh_sec:g} s", className="live-refresh text-muted"),
        ],
        className="live-status",
    )
    return html.Div(
        [
            html.Div(
                [buttons, html.Span("speed", className="live-label"), speed],
                className="live-buttons",
            ),
            status,
            html.Div(
                slider,
                className="live-slider-wrap",
                role="group",
                **{"aria-label": "time: drag or use the arrow keys to scrub"},
            ),
            html.Div(HINT, id=ids.HINT, className="live-hint"),
        ],
        className="live-controls",
    )


def kpi_row() -> html.Div:
    """The KPI header's tiles; the tick callback fills in their values (and hides the
    scenario-phase tile for data without an answer key)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Div(KPI_LABELS[tile], className="kpi-label"),
                    html.Div("—", id=ids.kpi(tile, "value"), className="kpi-value"),
                    html.Div("", id=ids.kpi(tile, "extra"), className="kpi-extra"),
                ],
                id=ids.kpi(tile, "tile"),
                className="kpi",
            )
            for tile in ids.KPI_TILES
        ],
        id=ids.KPI,
        className="kpi-row mb-3",
    )


def why_panel() -> html.Div:
    """The server picker and the "why" of the selected (or riskiest) server."""
    return html.Div(
        [
            dcc.Dropdown(
                id=ids.SERVERS,
                options=[],
                value=[],
                multi=True,
                placeholder="select servers…",
                className="live-servers mb-2",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Span("—", id=ids.WHY_SERVER, className="why-server"),
                            dbc.Badge("", id=ids.WHY_STATE, color="secondary", className="ms-2"),
                        ],
                        className="why-title",
                    ),
                    html.Div(id=ids.WHY_SUB, className="why-sub"),
                    html.P(id=ids.WHY_TEXT, className="why-text"),
                    dcc.Graph(
                        id=ids.WHY_GRAPH,
                        figure=fig.empty_figure("", WHY_HEIGHT),
                        config={"displayModeBar": False},
                        style={"height": f"{WHY_HEIGHT}px"},
                    ),
                ],
                id=ids.WHY,
                className="live-why",
            ),
        ]
    )


def layout(services: Services) -> html.Div:
    """The Live tab's content, with its playback Store and refresh timers."""
    refresh_ms = int(round(services.settings.refresh_sec * 1000))
    graphs = [
        dbc.Row(
            [
                dbc.Col(
                    card(
                        "Top 5 problem servers",
                        _graph(ids.TOP5, 260),
                        "ranked by risk, coloured by alert",
                    ),
                    lg=4,
                ),
                dbc.Col(
                    card(
                        "Probability trend",
                        _graph(ids.TREND, 260),
                        "fleet mean, max and selected servers",
                    ),
                    lg=8,
                ),
            ],
            className="g-3 mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(
                    card(
                        "Fleet risk strip",
                        _graph(ids.STRIP, fig.LOWER_HEIGHT),
                        "servers × time, riskiest on top",
                    ),
                    lg=5,
                ),
                dbc.Col(
                    card(
                        "Rolling metrics",
                        _graph(ids.METRICS, fig.LOWER_HEIGHT),
                        metrics_subtitle((), None, None),
                        subtitle_id=ids.METRICS_SUB,
                    ),
                    lg=4,
                ),
                dbc.Col(card("Why", why_panel(), "what drives the risk"), lg=3),
            ],
            className="g-3 mb-3",
        ),
    ]
    return html.Div(
        [
            dcc.Store(id=ids.VIEW, storage_type="memory"),
            dcc.Store(id=ids.URL_SYNC, storage_type="memory"),
            dcc.Interval(
                id=ids.INTERVAL, interval=max(refresh_ms, 100), disabled=True, n_intervals=0
            ),
            dcc.Interval(id=ids.WATCHDOG, interval=WATCHDOG_MS),
            dcc.Store(id=ids.WATCHDOG_STALL, data=max(WATCHDOG_STALL_MS, 10 * refresh_ms)),
            controls(services.settings.refresh_sec),
            kpi_row(),
            *graphs,
        ],
        className="live-tab",
    )
