"""The Live tab: playback controls, the KPI header and the five linked graphs.

One multi-output callback answers every refresh and every control: it reads the
tab's view from its ``dcc.Store``, moves it (``state.advance``), and sends ``Patch``
deltas when the graphs already show the previous ticks of the same view, full
figures otherwise. The interval is re-armed by each answer (``max_intervals``), so
at most one refresh is in flight per tab however slow the server is.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from ..errors import DashboardError
from ..models.alerts import FIRING
from . import figures as fig
from . import ids
from .services import Fleet, Services
from .state import (
    MAX_PATCH_GAP,
    SPEEDS,
    WINDOW,
    View,
    ViewError,
    advance,
    clean_model,
    clean_selection,
    clean_spec,
    clean_speed,
    clean_text,
    clean_tick,
    parse_click,
    patch_gap,
    view_from_query,
    view_from_store,
)

log = logging.getLogger(__name__)

STRIP_MAX_ROWS = 24  # servers with a strip row of their own; the rest fold into per-profile rows
STRIP_RESORT_TICKS = 10  # re-rank the strip rows this often (a full strip repaint)
# A metric with no value in the window: look through the whole source (to say "in this
# source") only when it is this small; a larger one says "in this time range".
SOURCE_PROBE_CELLS = 250_000
GRAPH_CONFIG = {
    "displaylogo": False,
    "displayModeBar": False,
}  # drag to zoom, double-click to reset
GENERIC_ERROR = (
    "Something went wrong while updating the dashboard; the details are in the server log."
)
# The about panel's evaluation scores every tick of the source in the request: beyond this
# many server-ticks it would hold a worker too long, so the panel points to the CLI instead.
EVALUATE_MAX_CELLS = 2_000_000

# Outputs of the tick callback, in order.
TICK_OUTPUTS = (
    (ids.VIEW, "data"),
    *(
        (ids.kpi(t, part), prop)
        for t in ids.KPI_TILES
        for part, prop in (("tile", "className"), ("value", "children"), ("extra", "children"))
    ),
    (ids.TOP5, "figure"),
    (ids.TREND, "figure"),
    (ids.STRIP, "figure"),
    (ids.METRICS, "figure"),
    (ids.METRICS_SUB, "children"),
    (ids.WHY_SERVER, "children"),
    (ids.WHY_STATE, "children"),
    (ids.WHY_STATE, "color"),
    (ids.WHY_SUB, "children"),
    (ids.WHY_GRAPH, "figure"),
    (ids.SLIDER, "value"),
    (ids.SLIDER, "max"),
    (ids.SLIDER, "marks"),
    (ids.INTERVAL, "disabled"),
    (ids.INTERVAL, "max_intervals"),
    (ids.PLAY, "children"),
    (ids.CLOCK, "children"),
    (ids.PHASE, "children"),
    (ids.PROGRESS, "children"),
    (ids.MESSAGE, "children"),
    (ids.MESSAGE, "is_open"),
    (ids.SOURCE, "value"),
    (ids.SOURCE, "options"),
    (ids.MODEL, "value"),
    (ids.SERVERS, "value"),
    (ids.SERVERS, "options"),
    (ids.SPEED, "value"),
)
TICK_INPUTS = (
    (ids.URL, "search"),
    (ids.INTERVAL, "n_intervals"),
    (ids.PLAY, "n_clicks"),
    (ids.BACK, "n_clicks"),
    (ids.FORWARD, "n_clicks"),
    (ids.RESET, "n_clicks"),
    (ids.SPEED, "value"),
    (ids.SLIDER, "value"),
    (ids.SOURCE, "value"),
    (ids.MODEL, "value"),
    (ids.SERVERS, "value"),
    (ids.TOP5, "clickData"),
    (ids.STRIP, "clickData"),
    (ids.TREND, "clickData"),
)


def tick_request(
    values: dict[tuple[str, str], Any] | None = None,
    store: Any = None,
    changed: list[str] | None = None,
) -> dict:
    """The body the Dash renderer POSTs for the tick callback (for benchmarks and load tests).

    ``values`` maps ``(component id, property)`` to an input's value; ``store`` is the view
    Store's data; ``changed`` lists the ``"id.property"`` that triggered the request.
    """
    values = values or {}
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in TICK_OUTPUTS) + "..",
        "outputs": [{"id": i, "property": p} for i, p in TICK_OUTPUTS],
        "inputs": [
            {"id": i, "property": p, "value": values.get((i, p))} for i, p in TICK_INPUTS
        ],
        "state": [{"id": ids.VIEW, "property": "data", "value": store}],
        "changedPropIds": changed or [],
    }


_ACTION_BY_TRIGGER = {
    ids.URL: "load",
    ids.INTERVAL: "tick",
    ids.PLAY: "play",
    ids.BACK: "back",
    ids.FORWARD: "forward",
    ids.RESET: "reset",
    ids.SPEED: "speed",
    ids.SLIDER: "scrub",
    ids.SOURCE: "source",
    ids.MODEL: "model",
    ids.SERVERS: "select",
    ids.TOP5: "select",
    ids.STRIP: "select",
    ids.TREND: "select",
}

# URL sync runs in the browser: replaceState keeps one history entry per tab, not one per tick.
# It also records when the last answer arrived, for the watchdog below.
URL_SYNC_JS = """
function(view) {
    if (view && typeof view.query === "string" && view.query.charAt(0) === "?"
            && window.location.search !== view.query) {
        window.history.replaceState(window.history.state, "", window.location.pathname + view.query);
    }
    return Date.now();
}
"""

# The interval stops after each refresh until the answer re-arms it; an answer lost on the
# way (a worker killed mid-request, a dropped connection) would stop playback for good.
# After WATCHDOG_STALL_MS without an answer while playing, re-arm it once more.
WATCHDOG_MS = 5000
WATCHDOG_STALL_MS = 30000
WATCHDOG_JS = """
function(_n, lastAnswer, view, nIntervals, maxIntervals, stallMs) {
    const noUpdate = [window.dash_clientside.no_update, window.dash_clientside.no_update];
    if (!view || view.playing !== true || typeof lastAnswer !== "number") return noUpdate;
    if (Date.now() - lastAnswer < stallMs || (nIntervals || 0) < maxIntervals) return noUpdate;
    return [(nIntervals || 0) + 1, false];
}
"""


HOLD_JS = "function() { return true; }"


# -- layout --------------------------------------------------------------------------
def _graph(graph_id: str, height: int) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=fig.empty_figure("loading…", height),
        config=GRAPH_CONFIG,
        style={"height": f"{height}px"},
        className="live-graph",
    )


def _card(
    title: str,
    body: Any,
    subtitle: str | None = None,
    class_name: str = "",
    subtitle_id: str | None = None,
) -> dbc.Card:
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


def controls(refresh_sec: float) -> html.Div:
    """Play/pause, step, speed, reset, the scrub slider and the current time and phase."""
    buttons = dbc.ButtonGroup(
        [
            dbc.Button(
                "◀",
                id=ids.BACK,
                color="secondary",
                outline=True,
                size="sm",
                title="step back one tick",
            ),
            dbc.Button(
                "❚❚ Pause",
                id=ids.PLAY,
                color="primary",
                size="sm",
                className="live-play",
                n_clicks=0,
            ),
            dbc.Button(
                "▶",
                id=ids.FORWARD,
                color="secondary",
                outline=True,
                size="sm",
                title="step forward one tick",
            ),
            dbc.Button(
                "↺ Reset",
                id=ids.RESET,
                color="secondary",
                outline=True,
                size="sm",
                title="start over",
            ),
        ],
        className="me-3",
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
            html.Span("—", id=ids.CLOCK, className="live-clock"),
            html.Span(id=ids.PHASE, className="live-phase"),
            html.Span(id=ids.PROGRESS, className="live-progress"),
        ],
        className="live-status",
    )
    return html.Div(
        [
            html.Div(
                [buttons, html.Span("speed", className="live-label"), speed],
                className="live-buttons",
            ),
            html.Div(slider, className="live-slider-wrap"),
            status,
            html.Span(f"refresh {refresh_sec:g} s", className="live-refresh text-muted"),
        ],
        className="live-controls",
    )


def layout(services: Services) -> html.Div:
    """The Live tab; the pickers' options are read afresh on every page load."""
    refresh_ms = int(round(services.settings.refresh_sec * 1000))
    default_source = services.default_source()
    header = dbc.Navbar(
        dbc.Container(
            [
                html.Div(
                    [
                        html.Span("◉", className="brand-dot"),
                        html.Span("Fleet incident risk", className="brand-name"),
                    ],
                    className="navbar-brand live-brand",
                ),
                html.Div(
                    [
                        html.Label("data", htmlFor=ids.SOURCE, className="live-label"),
                        dcc.Dropdown(
                            id=ids.SOURCE,
                            options=services.source_options(),
                            value=default_source,
                            clearable=False,
                            className="live-picker live-source",
                        ),
                        html.Label("model", htmlFor=ids.MODEL, className="live-label"),
                        dcc.Dropdown(
                            id=ids.MODEL,
                            options=services.model_options(),
                            value=services.default_model(),
                            clearable=False,
                            className="live-picker live-model",
                        ),
                        dbc.Button(
                            "About this data",
                            id=ids.ABOUT_OPEN,
                            color="light",
                            size="sm",
                            n_clicks=0,
                        ),
                    ],
                    className="live-pickers",
                ),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="live-navbar",
    )
    why = html.Div(
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
                    dcc.Graph(
                        id=ids.WHY_GRAPH,
                        figure=fig.empty_figure("", 220),
                        config={"displayModeBar": False},
                        style={"height": "220px"},
                    ),
                ],
                id=ids.WHY,
                className="live-why",
            ),
        ]
    )
    body = dbc.Container(
        [
            controls(services.settings.refresh_sec),
            dbc.Alert(
                id=ids.MESSAGE,
                is_open=False,
                dismissable=True,
                color="warning",
                duration=10000,
                className="live-message",
            ),
            kpi_tiles(),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            "Top 5 problem servers",
                            _graph(ids.TOP5, 260),
                            "ranked by risk, coloured by alert",
                        ),
                        lg=4,
                    ),
                    dbc.Col(
                        _card(
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
                        _card(
                            "Fleet risk strip",
                            _graph(ids.STRIP, fig.LOWER_HEIGHT),
                            "servers × time, riskiest on top",
                        ),
                        lg=5,
                    ),
                    dbc.Col(
                        _card(
                            "Rolling metrics",
                            _graph(ids.METRICS, fig.LOWER_HEIGHT),
                            metrics_subtitle((), None),
                            subtitle_id=ids.METRICS_SUB,
                        ),
                        lg=4,
                    ),
                    dbc.Col(_card("Why", why, "what drives the risk"), lg=3),
                ],
                className="g-3 mb-3",
            ),
            dbc.Offcanvas(
                [html.Div(id=ids.ABOUT_BODY), evaluation_section()],
                id=ids.ABOUT,
                title="About this data",
                placement="end",
                is_open=False,
                scrollable=True,
                style={"width": "440px"},
            ),
        ],
        fluid=True,
        className="live-body",
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.VIEW, storage_type="memory"),
            dcc.Store(id=ids.URL_SYNC, storage_type="memory"),
            dcc.Interval(
                id=ids.INTERVAL, interval=max(refresh_ms, 100), disabled=True, n_intervals=0
            ),
            dcc.Interval(id=ids.WATCHDOG, interval=WATCHDOG_MS),
            dcc.Store(id=ids.WATCHDOG_STALL, data=max(WATCHDOG_STALL_MS, 10 * refresh_ms)),
            header,
            body,
        ],
        className="live-page",
    )


# -- rendering ---------------------------------------------------------------------------
@dataclass
class Frame:
    """The numbers one answer is drawn from (ticks ``first..tick`` of one view)."""

    fleet: Fleet
    first: int
    tick: int
    times: np.ndarray
    probability: np.ndarray  # (T, N) over first..tick
    metrics: dict[str, np.ndarray]  # (T, N)
    scores: Any  # TickScores at tick
    threshold: float
    clear_threshold: float
    # Messages for the metric panels with no value in the window, by metric.
    metric_notes: dict[str, str] = field(default_factory=dict)
    # The tick before ``first`` (what the graphs showed last), for a patch's checks.
    previous_probability: np.ndarray | None = None  # (N,)
    previous_metrics: dict[str, np.ndarray] | None = None  # (N,) each


def _frame(services: Services, view: View, first: int, *, previous: bool = False) -> Frame:
    """The numbers of ticks ``first..view.tick``; with ``previous``, also of tick ``first - 1``."""
    fleet = services.fleet(view.source)
    scorer = services.scorer(view.source, view.model)
    source = services.source(view.source)
    tick = view.tick
    length = tick - first + 1
    before = previous and first > 0
    window = source.window(tick, length + 1 if before else length)
    columns = {name: np.asarray(window.metric(name)) for name, _l, _f in fig.METRIC_PANELS}
    metrics = {name: values[-length:] for name, values in columns.items()}
    previous_metrics = previous_probability = None
    if before and all(values.shape[0] > length for values in columns.values()):
        previous_metrics = {name: values[-length - 1] for name, values in columns.items()}
        previous_probability = scorer.probabilities(first - 1, first - 1)[-1]
    policy = scorer.policy
    return Frame(
        fleet=fleet,
        first=first,
        tick=tick,
        times=fleet.times[first : tick + 1],
        probability=scorer.probabilities(first, tick),
        metrics=metrics,
        scores=scorer.at(tick),
        threshold=float(policy.threshold),
        clear_threshold=float(policy.clear_threshold),
        metric_notes={} if previous else _metric_notes(services, view, fleet, metrics),
        previous_probability=previous_probability,
        previous_metrics=previous_metrics,
    )


def _metric_notes(
    services: Services, view: View, fleet: Fleet, metrics: dict[str, np.ndarray]
) -> dict[str, str]:
    """What the panels of metrics without a single value in the window say instead."""
    notes = {}
    for name, label, _fmt in fig.METRIC_PANELS:
        if fig.has_data(metrics[name]):
            continue
        noun = fig.METRIC_NOUNS.get(name, label)
        scope = "in this time range"
        if fleet.n_ticks * max(fleet.n_servers, 1) <= SOURCE_PROBE_CELLS:
            whole = services.source(view.source).window(fleet.n_ticks - 1, fleet.n_ticks)
            if not fig.has_data(whole.metric(name)):
                scope = "in this source"
        notes[name] = f"no {noun} data {scope}"
    return notes


def _riskiest(frame: Frame) -> int | None:
    """The riskiest server now (what the "why" card and the rolling metrics show by default)."""
    probability = frame.scores.probability
    if not fig.has_data(probability):
        return None
    return int(fig.top_servers(probability, 1)[0])


def metrics_servers(frame: Frame, view: View) -> tuple[list[int], str | None]:
    """The servers the rolling metrics draw: the selection, else the riskiest server now.

    Returns their indices and, when it stands in for a selection, the riskiest's name.
    """
    selected = _selected(frame.fleet, view)
    if selected or view.selection:
        return selected, None
    riskiest = _riskiest(frame)
    if riskiest is None:
        return [], None
    return [riskiest], str(frame.fleet.names[riskiest])


def metrics_subtitle(selection: tuple[str, ...], focus: str | None) -> str:
    """The rolling metrics card's subtitle: whose lines it shows against the fleet's band."""
    if selection:
        return "selected vs fleet median–p95"
    if focus:
        return f"riskiest now: {focus} vs fleet median–p95"
    return "fleet median–p95"


def _metrics_card(frame: Frame, view: View) -> tuple[dict, str | None]:
    """The rolling metrics in full, and the name of the riskiest server when it stands in."""
    fleet = frame.fleet
    shown, focus = metrics_servers(frame, view)
    series = dict(zip((fleet.names[i] for i in shown), _server_series(frame, shown), strict=False))
    figure = fig.metrics_figure(
        frame.times, _bands(frame), series, view.ui_key(), empty_notes=frame.metric_notes
    )
    return figure, focus


def _can_patch(frame: Frame) -> bool:
    """Whether patches can move the graphs on: not when a tick without a single score is
    involved (the "no scores" notes come and go with full figures), nor without servers."""
    if frame.fleet.n_servers == 0 or frame.previous_probability is None:
        return False
    rows = np.vstack([frame.previous_probability[None, :], frame.probability])
    return bool(np.isfinite(rows).any(axis=1).all())


def _selected(fleet: Fleet, view: View) -> list[int]:
    return [fleet.index[s] for s in view.selection if s in fleet.index]


def _server_series(frame: Frame, selected: list[int]) -> list[dict[str, np.ndarray]]:
    return [
        {name: frame.metrics[name][:, i] for name, _l, _f in fig.METRIC_PANELS} for i in selected
    ]


def _bands(frame: Frame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {name: fig.fleet_bands(frame.metrics[name]) for name, _l, _f in fig.METRIC_PANELS}


def _peak_servers(frame: Frame) -> np.ndarray:
    """The riskiest server at each tick of the frame (the fleet max line's points)."""
    p = np.nan_to_num(frame.probability, nan=-1.0)
    if not p.size:
        return np.full(p.shape[0], "", dtype=object)
    return frame.fleet.names[np.argmax(p, axis=1)]


def _fleet_lines(probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tick, the fleet's mean and max probability (NaN where no server has a score)."""
    if probability.shape[-1] == 0:  # no servers: nothing to reduce over
        nothing = np.full(probability.shape[0], np.nan)
        return nothing, nothing.copy()
    with np.errstate(all="ignore"):
        return np.nanmean(probability, axis=1), np.nanmax(probability, axis=1)


def _strip(frame: Frame, rows: np.ndarray | None) -> tuple[np.ndarray, list, list[str]]:
    """The strip's own rows (ranked now unless ``rows`` is given), the folded groups, the labels."""
    fleet = frame.fleet
    if rows is None:
        with np.errstate(all="ignore"):
            ranking = np.nanmax(frame.probability, axis=0) + frame.scores.probability * 1e-3
        own, groups = fig.strip_rows(ranking, fleet.profiles, STRIP_MAX_ROWS)
    else:
        own = rows
        rest = np.ones(fleet.n_servers, dtype=bool)
        rest[own] = False
        groups = [
            (str(p), np.flatnonzero(rest & (fleet.profiles == p)))
            for p in sorted(set(fleet.profiles[rest].tolist()))
        ]
    return own, groups, fig.strip_labels(fleet.names, own, groups)


def full_figures(frame: Frame, view: View) -> tuple[dict, dict, dict, dict, np.ndarray, str | None]:
    """All four graphs in full; returns them, the strip's own rows and the metrics' focus."""
    fleet, scores = frame.fleet, frame.scores
    rev = view.ui_key()
    no_servers = "no servers in this source" if fleet.n_servers == 0 else None
    top = fig.top_servers(scores.probability)
    top5 = fig.top5_figure(
        fleet.names[top],
        fleet.profiles[top],
        scores.probability[top],
        scores.alert[top],
        frame.threshold,
        rev,
        empty_note=no_servers,
    )
    selected = _selected(fleet, view)
    mean, peak = _fleet_lines(frame.probability)
    trend = fig.trend_figure(
        frame.times,
        mean,
        peak,
        {fleet.names[i]: frame.probability[:, i] for i in selected},
        peak_servers=_peak_servers(frame),
        phase_bands=fig.phase_shapes(fleet.phases, fleet.times),
        threshold=frame.threshold,
        clear_threshold=frame.clear_threshold,
        uirevision=rev,
        empty_note=no_servers or fig.NO_SCORES,
    )
    own, groups, labels = _strip(frame, None)
    strip = fig.strip_figure(
        frame.times,
        fig.strip_values(frame.probability, own, groups),
        labels,
        rev,
        empty_note=no_servers,
    )
    metrics, focus = _metrics_card(frame, view)
    return top5, trend, strip, metrics, own, focus


def patch_figures(
    frame: Frame, view: View, n_drop: int, window_first: int
) -> tuple[Any, Any, Any, Any, np.ndarray | None]:
    """Deltas moving the graphs from ``frame.first - 1`` to ``frame.tick``.

    The strip is repainted in full (it is small: at most ``STRIP_MAX_ROWS`` + profiles
    rows) when its ranking is due for a refresh or a top-5 server has no row of its own;
    the rolling metrics (small too) when the riskiest server they stand in for changed,
    or a metric had a tick without any value (its "no data" note may come or go).
    Either comes back as None: the caller draws it in full.
    """
    fleet, scores = frame.fleet, frame.scores
    top = fig.top_servers(scores.probability)
    top5 = fig.top5_patch(
        fleet.names[top], fleet.profiles[top], scores.probability[top], scores.alert[top]
    )
    selected = _selected(fleet, view)
    mean, peak = _fleet_lines(frame.probability)
    x_range = [fleet.times[window_first], fleet.times[frame.tick]]
    trend = fig.trend_patch(
        frame.times,
        mean,
        peak,
        [frame.probability[:, i] for i in selected],
        n_drop,
        x_range,
        peak_servers=_peak_servers(frame),
    )
    metrics = None
    shown, focus = metrics_servers(frame, view)
    if focus == view.metrics_focus and not _metric_gaps(frame):
        metrics = fig.metrics_patch(
            frame.times, _bands(frame), _server_series(frame, shown), n_drop
        )
    rows = np.asarray(view.strip_rows, dtype=np.int64)
    stale = (
        rows.size == 0
        or rows.max(initial=0) >= fleet.n_servers
        or view.strip_tick is None
        or frame.tick - view.strip_tick >= STRIP_RESORT_TICKS
        or (scores.alert[top[~np.isin(top, rows)]] == FIRING).any()
    )
    if stale:
        return top5, trend, None, metrics, None
    own, groups, _labels = _strip(frame, rows)
    strip = fig.strip_patch(frame.times, fig.strip_values(frame.probability, own, groups), n_drop)
    return top5, trend, strip, metrics, own


def _metric_gaps(frame: Frame) -> bool:
    """Whether a metric panel had a tick without any value, before or in this patch."""
    for name, _label, _fmt in fig.METRIC_PANELS:
        values = frame.metrics[name]
        if not np.isfinite(values).any(axis=1).all():
            return True
        before = None if frame.previous_metrics is None else frame.previous_metrics[name]
        if before is None or not np.isfinite(before).any():
            return True
    return False


KPI_LABELS = {
    "health": "fleet health",
    "risk": "servers at risk",
    "firing": "firing",
    "max": "max probability",
    "size": "fleet size",
    "phase": "phase",
}


def kpi_tiles() -> dbc.Row:
    """The KPI header's tiles; the tick callback fills in their values."""
    return dbc.Row(
        [
            dbc.Col(
                html.Div(
                    [
                        html.Div(KPI_LABELS[tile], className="kpi-label"),
                        html.Div("—", id=ids.kpi(tile, "value"), className="kpi-value"),
                        html.Div("", id=ids.kpi(tile, "extra"), className="kpi-extra"),
                    ],
                    id=ids.kpi(tile, "tile"),
                    className="kpi",
                ),
                xs=6,
                md=4,
                xl=2,
            )
            for tile in ids.KPI_TILES
        ],
        id=ids.KPI,
        className="g-2 mb-3",
    )


def kpi_values(summary: dict, phase: str | None, progress: str) -> dict[tuple[str, str], Any]:
    """The KPI tiles' values, detail lines and level classes for one tick."""
    health = summary["health"]
    level = {"healthy": "kpi-success", "degraded": "kpi-warning", "critical": "kpi-danger"}[health]

    def pct(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.0%}"

    tiles = {
        "health": (health.upper(), f"{summary['firing']} firing", level),
        "risk": (
            str(summary["at_risk"]),
            f"of {summary['fleet_size']:,} servers",
            "kpi-warning" if summary["at_risk"] else "",
        ),
        "firing": (
            str(summary["firing"]),
            "alerts firing now",
            "kpi-danger" if summary["firing"] else "",
        ),
        "max": (pct(summary["max"]), f"mean {pct(summary['mean'])}", ""),
        "size": (f"{summary['fleet_size']:,}", "servers", ""),
        "phase": (phase or "—", progress, ""),
    }
    out: dict[tuple[str, str], Any] = {}
    for tile, (value, extra, cls) in tiles.items():
        out[(ids.kpi(tile, "value"), "children")] = value
        out[(ids.kpi(tile, "extra"), "children")] = extra
        out[(ids.kpi(tile, "tile"), "className")] = f"kpi {cls}".strip()
    return out


def why_values(frame: Frame, view: View, full: bool) -> dict[tuple[str, str], Any]:
    """The "why" card for the first selected server (or the riskiest one): its contributions."""
    fleet, scores = frame.fleet, frame.scores
    selected = _selected(fleet, view)
    if selected:
        i, heading = selected[0], "selected"
    else:
        riskiest = _riskiest(frame)
        if riskiest is None:
            note = "no servers in this source" if fleet.n_servers == 0 else fig.NO_SCORES_NOW
            return {
                (ids.WHY_SERVER, "children"): "—",
                (ids.WHY_STATE, "children"): "",
                (ids.WHY_STATE, "color"): "secondary",
                (ids.WHY_SUB, "children"): note,
                (ids.WHY_GRAPH, "figure"): fig.empty_figure("", 220),
            }
        i, heading = riskiest, "riskiest now"
    risk = float(scores.probability[i])
    state = fig.ALERT_LABELS[int(np.clip(scores.alert[i], 0, 3))]
    row = np.asarray(scores.contributions[i], dtype=np.float64)
    factors = [str(f) for f in scores.factors]
    return {
        (ids.WHY_SERVER, "children"): str(fleet.names[i]),
        (ids.WHY_STATE, "children"): state,
        (ids.WHY_STATE, "color"): {
            "normal": "success",
            "pending": "warning",
            "firing": "danger",
        }.get(state, "info"),
        (
            ids.WHY_SUB,
            "children",
        ): f"{heading} · {fleet.profiles[i]} · risk "
        + (f"{risk:.0%}" if np.isfinite(risk) else "unknown"),
        (ids.WHY_GRAPH, "figure"): fig.why_figure(factors, row, view.ui_key())
        if full
        else fig.why_patch(factors, row),
    }


def slider_marks(fleet: Fleet) -> dict:
    last = max(fleet.n_ticks - 1, 0)
    marks = {0: {"label": fleet.times[0][11:19] if fleet.n_ticks else "0"}}
    for phase in fleet.phases:
        if 0 < phase.start_tick <= last:
            marks[phase.start_tick] = {"label": phase.name, "style": {"color": "#7f8c8d"}}
    if last > 0 and last not in marks:
        marks[last] = {"label": fleet.times[last][11:19]}
    return {str(k): v for k, v in marks.items()}


def progress_text(view: View, fleet: Fleet) -> str:
    n = fleet.n_ticks
    if fleet.live:
        return f"tick {view.tick + 1:,} · live" + ("" if view.playing else " · paused")
    if view.ended:
        return f"end of data · {n:,} ticks · press reset to replay"
    share = (view.tick + 1) / n if n else 0.0
    return f"tick {view.tick + 1:,} / {n:,} · {share:.0%}" + ("" if view.playing else " · paused")


def play_label(view: View) -> str:
    if view.ended:
        return "↻ Replay"
    return "❚❚ Pause" if view.playing else "▶ Play"


# -- callbacks -----------------------------------------------------------------------------
class _Answer(dict):
    """The tick callback's outputs by id/property; missing ones are ``no_update``."""

    def as_tuple(self) -> tuple:
        return tuple(self.get(key, no_update) for key in TICK_OUTPUTS)


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the Live tab: the tick callback, the about panel and the URL sync."""
    refresh_sec = float(services.settings.refresh_sec)

    @app.callback(
        [Output(i, p) for i, p in TICK_OUTPUTS],
        [Input(i, p) for i, p in TICK_INPUTS],
        State(ids.VIEW, "data"),
    )
    def on_tick(*args: Any) -> tuple:
        """Advance this tab's view by what triggered the call and redraw (patch or full)."""
        trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
        try:
            return tick_answer(
                services, trigger, args, now=time.time(), refresh_sec=refresh_sec
            ).as_tuple()
        except Exception:  # the user gets a message, the log the traceback
            log.exception("the Live tab's tick callback failed")
            answer = _Answer(
                {(ids.MESSAGE, "children"): GENERIC_ERROR, (ids.MESSAGE, "is_open"): True}
            )
            answer[(ids.INTERVAL, "disabled")] = True
            return answer.as_tuple()

    @app.callback(
        Output(ids.ABOUT_BODY, "children"),
        Input(ids.SOURCE, "value"),
        Input(ids.MODEL, "value"),
    )
    def render_about(source: Any, model: Any) -> Any:
        """The about panel: the scenario, its phases and affected servers, the model."""
        try:
            return about_answer(services, source, model)
        except Exception:
            log.exception("the about panel failed")
            return dbc.Alert(GENERIC_ERROR, color="warning")

    @app.callback(
        Output(ids.ABOUT_EVAL, "children"),
        Output(ids.ABOUT_EVAL, "disabled"),
        Output(ids.ABOUT_SCORECARD, "children"),
        Input(ids.SOURCE, "value"),
        Input(ids.MODEL, "value"),
    )
    def prepare_evaluation(source: Any, model: Any) -> tuple:
        """The evaluate button for this source and model, or why the data cannot be scored."""
        try:
            return evaluation_intro(services, source, model)
        except Exception:
            log.exception("the about panel's evaluation section failed")
            return "Evaluate", True, dbc.Alert(GENERIC_ERROR, color="warning")

    @app.callback(
        # allow_duplicate: prepare_evaluation owns the card (a new source or model clears
        # it); this callback fills it when the button is clicked.
        Output(ids.ABOUT_SCORECARD, "children", allow_duplicate=True),
        Input(ids.ABOUT_EVAL, "n_clicks"),
        State(ids.SOURCE, "value"),
        State(ids.MODEL, "value"),
        prevent_initial_call=True,
    )
    def run_evaluation(n_clicks: Any, source: Any, model: Any) -> Any:
        """Evaluate the model on the source and show the scorecard (user-triggered)."""
        try:
            return evaluation_answer(services, n_clicks, source, model)
        except PreventUpdate:
            raise
        except Exception:
            log.exception("evaluating %r on %r failed", model, source)
            return dbc.Alert(GENERIC_ERROR, color="warning")

    @app.callback(
        Output(ids.ABOUT, "is_open"),
        Input(ids.ABOUT_OPEN, "n_clicks"),
        State(ids.ABOUT, "is_open"),
        prevent_initial_call=True,
    )
    def toggle_about(n_clicks: Any, is_open: Any) -> bool:
        """Open or close the about panel."""
        return not bool(is_open) if isinstance(n_clicks, int) and n_clicks > 0 else bool(is_open)

    app.clientside_callback(URL_SYNC_JS, Output(ids.URL_SYNC, "data"), Input(ids.VIEW, "data"))
    # allow_duplicate: the tick callback owns max_intervals; the watchdog only re-arms it.
    app.clientside_callback(
        WATCHDOG_JS,
        Output(ids.INTERVAL, "max_intervals", allow_duplicate=True),
        Output(ids.INTERVAL, "disabled", allow_duplicate=True),
        Input(ids.WATCHDOG, "n_intervals"),
        State(ids.URL_SYNC, "data"),
        State(ids.VIEW, "data"),
        State(ids.INTERVAL, "n_intervals"),
        State(ids.INTERVAL, "max_intervals"),
        State(ids.WATCHDOG_STALL, "data"),
        prevent_initial_call=True,
    )

    # A user action stops the clock in the browser until its answer re-arms it: otherwise a
    # refresh fired while the action is in flight would supersede it and the click be lost.
    # allow_duplicate: the tick callback owns this output; this only holds it meanwhile.
    app.clientside_callback(
        HOLD_JS,
        Output(ids.INTERVAL, "disabled", allow_duplicate=True),
        # Only inputs the tick callback never sets: its own outputs would trigger this too.
        [Input(i, p) for i, p in TICK_INPUTS if p in ("n_clicks", "clickData")],
        prevent_initial_call=True,
    )


def tick_answer(
    services: Services, trigger: str | None, args: tuple, *, now: float, refresh_sec: float
) -> _Answer:
    """The tick callback's logic, callable without Dash's request context (tests, benchmarks)."""
    values = dict(zip(TICK_INPUTS, args[: len(TICK_INPUTS)], strict=False))
    store = args[len(TICK_INPUTS)] if len(args) > len(TICK_INPUTS) else None
    messages: list[str] = []
    answer = _Answer()
    models = services.model_names()
    default = View(
        source=services.default_source(), model=services.default_model(), anchor_time=now
    )
    action = _ACTION_BY_TRIGGER.get(trigger, "load") if trigger else "load"
    if store is None:
        action = "load"
    if action == "load":
        view, problems = view_from_query(values[(ids.URL, "search")], default, models)
    else:
        view, problems = view_from_store(store, default)
    messages += problems

    try:
        n_intervals = clean_tick(values[(ids.INTERVAL, "n_intervals")] or 0)
    except ViewError:
        n_intervals = 0
    try:
        view, action = _apply_input(view, action, trigger, values)
    except ViewError as exc:
        messages.append(str(exc))
        action = "none"

    # Open the source; fall back to the previous one (or the default) with a message.
    previous_source = view.source
    fleet = None
    for candidate in dict.fromkeys((view.source, _store_source(store), default.source)):
        if candidate is None:
            continue
        try:
            fleet = services.fleet(candidate)
            if fleet.n_ticks == 0:
                raise DashboardError(f"the data source {candidate!r} has no ticks yet")
            if candidate != view.source:
                view = replace(
                    view,
                    source=candidate,
                    tick=0 if candidate != previous_source else view.tick,
                    selection=(),
                ).repainted()
            break
        except DashboardError as exc:
            messages.append(f"cannot open {candidate!r}: {exc}")
            fleet = None
        except Exception as exc:  # a broken plug-in: log it, tell the user briefly
            log.exception("opening source %r failed", candidate)
            messages.append(f"cannot open {candidate!r}: {type(exc).__name__}")
            fleet = None
    if fleet is None:
        answer[(ids.MESSAGE, "children")] = " · ".join(messages) or GENERIC_ERROR
        answer[(ids.MESSAGE, "is_open")] = True
        answer[(ids.INTERVAL, "disabled")] = True
        answer[(ids.VIEW, "data")] = view.repainted().to_store()
        return answer

    if view.model not in models:
        messages.append(f"unknown model {view.model!r}; using {default.model}")
        view = replace(view, model=default.model)
    clicked = view.extra.get("click_server")
    if clicked in fleet.index:
        view = replace(view, selection=(clicked,))
    unknown = [s for s in view.selection if s not in fleet.index]
    if unknown:
        messages.append(f"no server named {', '.join(map(repr, unknown))} in this data")
        view = replace(view, selection=tuple(s for s in view.selection if s in fleet.index))

    fell_back = view.source != previous_source
    view = advance(
        view, action, n_ticks=fleet.n_ticks, live=fleet.live, now=now, refresh_sec=refresh_sec
    )
    _render(services, view, fleet, "source" if fell_back else action, answer)
    answer[(ids.INTERVAL, "disabled")] = not answer[(ids.VIEW, "data")]["playing"]
    answer[(ids.INTERVAL, "max_intervals")] = n_intervals + 1
    if messages:
        answer[(ids.MESSAGE, "children")] = " · ".join(dict.fromkeys(messages))
        answer[(ids.MESSAGE, "is_open")] = True
    return answer


def _store_source(store: Any) -> str | None:
    if isinstance(store, dict):
        try:
            return clean_spec(store.get("source"))
        except ViewError:
            return None
    return None


def _apply_input(view: View, action: str, trigger: str | None, values: dict) -> tuple[View, str]:
    """The view with the triggering input applied (validated); returns it and the playback action."""
    if action == "speed":
        return replace(view, speed=clean_speed(values[(ids.SPEED, "value")])), action
    if action == "scrub":
        return replace(view, tick=clean_tick(values[(ids.SLIDER, "value")])), action
    if action == "source":
        spec = clean_spec(values[(ids.SOURCE, "value")])
        if spec == view.source:
            return view, "none"
        return replace(view, source=spec, tick=0, selection=()).repainted(), action
    if action == "model":
        model = clean_text(values[(ids.MODEL, "value")], "the model")
        return replace(view, model=model), action
    if action == "select":
        if trigger == ids.SERVERS:
            return replace(view, selection=clean_selection(values[(ids.SERVERS, "value")])), action
        click = parse_click(values[(trigger, "clickData")])
        extra: dict[str, Any] = {}
        if click.server:
            extra["click_server"] = click.server  # kept only if it names a server of this source
        if click.time and trigger in (ids.STRIP, ids.TREND):
            extra["scrub_to"] = click.time
            return replace(view, extra=extra), "scrub"
        return replace(view, extra=extra), action
    return view, action


def _tick_at(fleet: Fleet, stamp: str) -> int | None:
    """The tick at or just after a clicked time (``2025-01-01 00:02:30``), None if it is no time."""
    try:
        target = np.datetime64(stamp.replace(" ", "T").rstrip("Z"), "s")
    except ValueError:
        return None
    index = np.searchsorted(fleet.times, str(target), side="left")
    return int(np.clip(index, 0, max(fleet.n_ticks - 1, 0)))


def _render(services: Services, view: View, fleet: Fleet, action: str, answer: _Answer) -> None:
    """Fill ``answer`` with the graphs (patch or full) and the controls for ``view``."""
    if "scrub_to" in view.extra:
        tick = _tick_at(fleet, view.extra["scrub_to"])
        view = replace(view, tick=view.tick if tick is None else tick, ended=False, extra={})
    gap = patch_gap(view)
    first = max(0, view.tick - WINDOW + 1)
    frame = None
    if gap:
        frame = _frame(services, view, (view.shown_tick or 0) + 1, previous=True)
        if not _can_patch(frame):
            gap, frame = None, None
    if gap == 0:
        pass  # the graphs already show this tick of this view
    elif gap is not None and frame is not None:
        shown = view.shown_tick or 0
        n_drop = max(0, min(WINDOW, shown + 1) + gap - min(WINDOW, view.tick + 1))
        top5, trend, strip, metrics, rows = patch_figures(frame, view, n_drop, first)
        full = _frame(services, view, first) if strip is None or metrics is None else None
        if strip is None and full is not None:
            own, groups, labels = _strip(full, None)
            strip = fig.strip_figure(
                full.times, fig.strip_values(full.probability, own, groups), labels, view.ui_key()
            )
            view = replace(view, strip_rows=tuple(int(i) for i in own), strip_tick=view.tick)
        if metrics is None and full is not None:
            # The riskiest server changed (or a metric's "no data" note may): redraw the card.
            metrics, focus = _metrics_card(full, view)
            answer[(ids.METRICS_SUB, "children")] = metrics_subtitle(view.selection, focus)
            view = replace(view, metrics_focus=focus)
        answer.update(
            {
                (ids.TOP5, "figure"): top5,
                (ids.TREND, "figure"): trend,
                (ids.STRIP, "figure"): strip,
                (ids.METRICS, "figure"): metrics,
            }
        )
        _status(frame, view, answer, full=False)
    else:
        frame = _frame(services, view, first)
        top5, trend, strip, metrics, own, focus = full_figures(frame, view)
        answer.update(
            {
                (ids.TOP5, "figure"): top5,
                (ids.TREND, "figure"): trend,
                (ids.STRIP, "figure"): strip,
                (ids.METRICS, "figure"): metrics,
                (ids.METRICS_SUB, "children"): metrics_subtitle(view.selection, focus),
            }
        )
        view = replace(
            view,
            strip_rows=tuple(int(i) for i in own),
            strip_tick=view.tick,
            metrics_focus=focus,
        )
        _status(frame, view, answer, full=True)
        if action in ("load", "source", "model"):
            answer[(ids.MODEL, "value")] = view.model
        answer[(ids.SERVERS, "value")] = list(view.selection)
        answer[(ids.SPEED, "value")] = view.speed
        if action in ("load", "source"):  # what depends on the source alone
            answer[(ids.SLIDER, "max")] = max(fleet.n_ticks - 1, 1)
            answer[(ids.SLIDER, "marks")] = slider_marks(fleet)
            answer[(ids.SOURCE, "options")] = services.source_options(view.source)
            answer[(ids.SOURCE, "value")] = view.source
        if action in ("load", "source", "select"):
            # With the value in one answer: a picker given a value before its options drops it.
            answer[(ids.SERVERS, "options")] = server_options(fleet, view.selection)
    if fleet.live:
        answer[(ids.SLIDER, "max")] = max(fleet.n_ticks - 1, 1)
    view = replace(view, shown_key=view.key(), shown_tick=view.tick)
    answer[(ids.VIEW, "data")] = view.to_store()
    answer[(ids.SLIDER, "value")] = view.tick
    answer[(ids.PLAY, "children")] = play_label(view)
    answer[(ids.PROGRESS, "children")] = progress_text(view, fleet)
    if action in ("speed",):
        answer[(ids.SPEED, "value")] = view.speed


def _status(frame: Frame, view: View, answer: _Answer, full: bool) -> None:
    fleet, scores = frame.fleet, frame.scores
    phase = fleet.phase_at(view.tick)
    summary = fig.kpi_summary(scores.probability, scores.alert, frame.threshold)
    answer.update(kpi_values(summary, phase.name if phase else None, progress_text(view, fleet)))
    answer.update(why_values(frame, view, full))
    stamp = fleet.times[view.tick]
    answer[(ids.CLOCK, "children")] = f"{stamp[:10]} {stamp[11:19]} UTC"
    answer[(ids.PHASE, "children")] = (
        dbc.Badge(phase.name, className=f"phase-badge phase-{phase.kind}") if phase else ""
    )


def about_answer(services: Services, source: Any, model: Any) -> tuple:
    """The about panel's content and the server picker's options for ``source`` and ``model``."""
    parts: list = []
    try:
        spec = clean_spec(source)
        fleet = services.fleet(spec)
    except (ViewError, DashboardError) as exc:
        return dbc.Alert(f"cannot describe this data: {exc}", color="warning"), []
    meta = fleet.metadata or {}
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), dict) else {}
    name = meta.get("scenario_name") or scenario.get("name") or spec
    parts.append(html.H5(str(name)))
    if scenario.get("description"):
        parts.append(html.P(str(scenario["description"]), className="about-description"))
    facts = [f"{fleet.n_servers:,} servers", f"{fleet.n_ticks:,} ticks"]
    if meta.get("tick_seconds"):
        facts.append(f"every {meta['tick_seconds']:g} s")
    if meta.get("seed") is not None:
        facts.append(f"seed {meta['seed']}")
    if fleet.live:
        facts.append("live: follows the growing source")
    parts.append(html.P(" · ".join(facts), className="text-muted"))
    if fleet.phases:
        parts.append(html.H6("Phases"))
        parts.append(
            html.Ul(
                [
                    html.Li(
                        [
                            dbc.Badge(p.name, className=f"phase-badge phase-{p.kind} me-2"),
                            f"{fleet.times[p.start_tick][11:19]} – "
                            + (fleet.times[min(p.end_tick, fleet.n_ticks - 1)][11:19]),
                        ]
                    )
                    for p in fleet.phases
                ],
                className="about-list",
            )
        )
    affected = (
        meta.get("affected_servers") if isinstance(meta.get("affected_servers"), list) else []
    )
    if affected:
        parts.append(html.H6(f"Affected servers ({len(affected)})"))
        items = []
        for a in affected[:50]:
            if not isinstance(a, dict):
                continue
            metrics = a.get("metrics")
            moved = ", ".join(map(str, metrics)) if isinstance(metrics, list) else ""
            delay = a.get("delay_s")
            items.append(
                html.Li(
                    [
                        html.B(str(a.get("server_name", "?"))),
                        f" ({a.get('profile', '?')}) — {a.get('reason', '')}",
                        f"; {moved}" if moved else "",
                        f"; lags {delay:g} s" if isinstance(delay, (int, float)) and delay else "",
                    ]
                )
            )
        parts.append(html.Ul(items, className="about-list"))
    try:
        model_name = clean_model(model, services.model_names())
        info = next(m for m in services.models() if m["name"] == model_name)
        parts.append(html.H6(f"Model: {model_name}"))
        parts.append(html.P(str(info.get("description", ""))))
        if info.get("reads_ground_truth"):
            parts.append(
                dbc.Alert(
                    "This model reads the dataset's ground truth: a demo, not a real detector.",
                    color="info",
                )
            )
    except (ViewError, StopIteration):
        parts.append(html.P("Pick a model to see its description.", className="text-muted"))
    kinds = services.source_kinds()
    if kinds:
        parts.append(html.H6("Source kinds"))
        parts.append(
            html.Ul(
                [
                    html.Li([html.Code(str(k.get("name"))), " ", str(k.get("description", ""))])
                    for k in kinds
                ],
                className="about-list",
            )
        )
        parts.append(
            html.P(
                ["Open any of them with a link: ", html.Code("?source=kind:target")],
                className="text-muted small",
            )
        )
    report = []
    try:
        report = list(services.source(spec).report())[:10]
    except Exception:  # a plug-in's report is optional
        report = []
    if report:
        parts.append(html.H6("Loading notes"))
        parts.append(html.Ul([html.Li(str(r)) for r in report], className="about-list"))
    return parts


# -- the about panel's evaluation -----------------------------------------------------
def evaluation_section() -> html.Div:
    """The about panel's "How well does this model do here?" section (filled by callbacks)."""
    return html.Div(
        [
            html.H6("How well does this model do here?"),
            dbc.Button(
                "Evaluate",
                id=ids.ABOUT_EVAL,
                color="primary",
                outline=True,
                size="sm",
                n_clicks=0,
                disabled=True,
                className="mb-2",
            ),
            dcc.Loading(html.Div(id=ids.ABOUT_SCORECARD), type="dot"),
        ],
        className="about-eval",
    )


class _NotScorable(Exception):
    """The source or model cannot be evaluated here; the message says why."""


def _scorable(services: Services, source: Any, model: Any) -> tuple[str, str, Fleet]:
    """The clean source spec, model name and fleet, or :class:`_NotScorable` saying why not."""
    try:
        spec = clean_spec(source)
        model_name = clean_model(model, services.model_names())
    except ViewError as exc:
        raise _NotScorable(f"cannot evaluate: {exc}") from None
    try:
        fleet = services.fleet(spec)
    except DashboardError as exc:
        raise _NotScorable(f"cannot evaluate: {exc}") from None
    if fleet.n_ticks == 0:
        raise _NotScorable("the data has no ticks yet, so there is nothing to score")
    if not _has_ground_truth(services.source(spec), fleet.n_ticks):
        raise _NotScorable(
            "This data carries no ground truth (incident phases and affected servers), "
            "so the model cannot be scored on it. Generated scenario data has them."
        )
    cells = fleet.n_ticks * fleet.n_servers
    if cells > EVALUATE_MAX_CELLS:
        raise _NotScorable(
            f"{fleet.n_servers:,} servers × {fleet.n_ticks:,} ticks is too large to evaluate "
            f"in the browser; run python -m dashboard.evaluate --data {spec} --model {model_name}"
        )
    return spec, model_name, fleet


def _has_ground_truth(source: Any, n_ticks: int) -> bool:
    """Whether the source's rows carry the phase and affected-server labels."""
    try:
        window = source.window(n_ticks - 1, n_ticks)
    except DashboardError:
        return False
    return (
        getattr(window, "phase", None) is not None
        and getattr(window, "problem_child", None) is not None
    )


def evaluation_intro(services: Services, source: Any, model: Any) -> tuple[str, bool, Any]:
    """The evaluate button's label, whether it is disabled, and the card's initial content."""
    label = "Evaluate"
    with contextlib.suppress(ViewError):
        label = f"Evaluate {clean_model(model, services.model_names())} on this data"
    try:
        _scorable(services, source, model)
    except _NotScorable as exc:
        return label, True, html.P(str(exc), className="about-eval-note text-muted")
    note = (
        "Scores every tick of this data against its ground truth: lead times, "
        "false alarms, precision and recall."
    )
    return label, False, html.P(note, className="about-eval-note text-muted")


def evaluation_answer(services: Services, n_clicks: Any, source: Any, model: Any) -> Any:
    """The scorecard of ``model`` on ``source``; a message when it cannot be scored.

    Raises ``PreventUpdate`` unless the request is a real click: requests can be forged.
    """
    if isinstance(n_clicks, bool) or not isinstance(n_clicks, int) or n_clicks <= 0:
        raise PreventUpdate
    try:
        spec, model_name, _ = _scorable(services, source, model)
    except _NotScorable as exc:
        return dbc.Alert(str(exc), color="warning", className="about-eval-note")
    from ..evaluate import evaluate

    try:
        card = evaluate(services.source(spec), model_name, cache=services.score_cache())
    except DashboardError as exc:
        return dbc.Alert(f"cannot evaluate: {exc}", color="warning", className="about-eval-note")
    return scorecard_view(card.to_dict())


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
    ]
    parts: list = [
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
            for a in affected[:50]
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
        if len(affected) > 50:
            parts.append(html.P(f"… and {len(affected) - 50} more", className="text-muted small"))
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


def server_options(
    fleet: Fleet, selection: tuple[str, ...], limit: int = 2000
) -> list[dict[str, str]]:
    """The server picker's entries: the first ``limit`` servers and whatever is selected."""
    options = [
        {"label": f"{n} · {p}", "value": n}
        for n, p in zip(fleet.names[:limit].tolist(), fleet.profiles[:limit].tolist(), strict=False)
    ]
    listed = {o["value"] for o in options}
    for name in selection:
        if name not in listed and name in fleet.index:
            options.append(
                {"label": f"{name} · {fleet.profiles[fleet.index[name]]}", "value": name}
            )
    return options


__all__ = ["MAX_PATCH_GAP", "layout", "register_callbacks", "tick_answer", "tick_request"]
