"""From the view-model to what the Live tab's components show: figures (full or patched) and text.

Each function fills ``answer``, a dict of ``(component id, property) -> value`` that the
tick callback turns into its outputs; a property left out is not updated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ...errors import DashboardError
from ...models.alerts import FIRING
from ...sources.base import Window
from .. import figures as fig
from ..arrays import kpi_summary, strip_values, top_servers
from ..captions import NO_SCORES, NO_SERVERS
from ..figures.why import HEIGHT as WHY_HEIGHT
from ..fleet import Extent, Fleet
from ..services import Services
from ..shell import ids as shell_ids
from . import ids
from .state import WINDOW, View, patch_gap
from .view import (
    STRIP_RESORT_TICKS,
    Frame,
    Tile,
    WhyCard,
    bands,
    build_frame,
    can_patch,
    clock_text,
    duration_text,
    elapsed_s,
    fleet_lines,
    focus_heading,
    kpi_tiles,
    live_button,
    metric_gaps,
    metrics_servers,
    metrics_subtitle,
    peak_servers,
    peer_profile,
    play_hint,
    play_label,
    progress_text,
    risk_since,
    riskiest,
    selected_indices,
    server_options,
    server_series,
    slider_marks,
    strip_layout,
    why_card,
    window_extent,
)

Answer = dict[tuple[str, str], Any]
STRIP_BAND = {"y0": 1.006, "y1": 1.03, "layer": "above", "alpha": 0.85, "labels": False}


@dataclass(frozen=True)
class Axes:
    """What every graph's time axis needs for one answer: the window's extent and phase bands."""

    extent: Extent
    strip_extent: Extent
    trend_bands: list
    strip_bands: list
    metrics_bands: list


def axes_for(fleet: Fleet, tick: int) -> Axes:
    return Axes(
        extent=window_extent(fleet, tick),
        strip_extent=window_extent(fleet, tick, pad=True),
        trend_bands=fig.phase_bands(fleet.phases, fleet.times),
        strip_bands=fig.phase_bands(fleet.phases, fleet.times, **STRIP_BAND),
        metrics_bands=fig.phase_bands(fleet.phases, fleet.times, labels=False),
    )


def metrics_card(frame: Frame, view: View, axes: Axes) -> tuple[dict, str | None, str]:
    """The rolling metrics in full against their peers' band; returns the figure, the riskiest
    server's name when it stands in for a selection, and the card's subtitle."""
    fleet = frame.fleet
    shown, focus = metrics_servers(frame, view)
    profile = peer_profile(fleet, shown)
    heading = focus_heading(frame, shown[0]) if focus else ""
    series = dict(zip((fleet.names[i] for i in shown), server_series(frame, shown), strict=False))
    figure = fig.metrics_figure(
        frame.times,
        bands(frame, profile),
        series,
        view.ui_key(),
        band=f"{profile} peers" if profile else "fleet",
        extent=axes.extent,
        phase_bands=axes.metrics_bands,
        empty_notes=frame.metric_notes,
    )
    return figure, focus, metrics_subtitle(view.selection, focus, profile, heading)


def strip_card(frame: Frame, view: View, axes: Axes) -> tuple[dict, np.ndarray]:
    """The strip in full, ranked now; returns it and the servers that have a row of their own."""
    own, groups, labels = strip_layout(frame, None)
    no_servers = NO_SERVERS if frame.fleet.n_servers == 0 else None
    figure = fig.strip_figure(
        frame.times,
        strip_values(frame.probability, own, groups),
        labels,
        view.ui_key(),
        extent=axes.strip_extent,
        phase_bands=axes.strip_bands,
        empty_note=no_servers,
    )
    return figure, own


def full_figures(frame: Frame, view: View, axes: Axes) -> tuple[dict, dict, dict, np.ndarray]:
    """The top 5, the trend and the strip in full; returns them and the strip's own rows."""
    fleet, scores = frame.fleet, frame.scores
    rev = view.ui_key()
    no_servers = NO_SERVERS if fleet.n_servers == 0 else None
    top = top_servers(scores.probability)
    top5 = fig.top5_figure(
        fleet.names[top],
        fleet.profiles[top],
        scores.probability[top],
        scores.alert[top],
        frame.threshold,
        rev,
        empty_note=no_servers,
    )
    selected = selected_indices(fleet, view)
    mean, peak = fleet_lines(frame.probability)
    trend = fig.trend_figure(
        frame.times,
        mean,
        peak,
        {fleet.names[i]: frame.probability[:, i] for i in selected},
        peak_servers=peak_servers(frame),
        phase_bands=axes.trend_bands,
        threshold=frame.threshold,
        clear_threshold=frame.clear_threshold,
        uirevision=rev,
        extent=axes.extent,
        empty_note=no_servers or NO_SCORES,
    )
    strip, own = strip_card(frame, view, axes)
    return top5, trend, strip, own


def patch_figures(
    frame: Frame, view: View, n_drop: int, axes: Axes
) -> tuple[Any, Any, Any, Any, np.ndarray | None]:
    """Deltas moving the graphs from ``frame.first - 1`` to ``frame.tick``.

    The strip is repainted in full (it is small: at most ``STRIP_MAX_ROWS`` + profiles
    rows) when its ranking is due for a refresh or a top-5 server has no row of its own;
    the rolling metrics (small too) when the riskiest server they stand in for changed,
    or a metric had a tick without any value (its "no data" note may come or go).
    Either comes back as None: the caller draws it in full.
    """
    fleet, scores = frame.fleet, frame.scores
    top = top_servers(scores.probability)
    top5 = fig.top5_patch(
        fleet.names[top], fleet.profiles[top], scores.probability[top], scores.alert[top]
    )
    selected = selected_indices(fleet, view)
    mean, peak = fleet_lines(frame.probability)
    trend = fig.trend_patch(
        frame.times,
        mean,
        peak,
        [frame.probability[:, i] for i in selected],
        n_drop,
        axes.extent,
        peak_servers=peak_servers(frame),
    )
    metrics = None
    shown, focus = metrics_servers(frame, view)
    if focus == view.metrics_focus and not metric_gaps(frame):
        profile = peer_profile(fleet, shown)
        metrics = fig.metrics_patch(
            frame.times, bands(frame, profile), server_series(frame, shown), n_drop, axes.extent
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
    own, groups, _labels = strip_layout(frame, rows)
    strip = fig.strip_patch(
        frame.times, strip_values(frame.probability, own, groups), n_drop, axes.strip_extent
    )
    return top5, trend, strip, metrics, own


def kpi_values(tiles: dict[str, Tile]) -> Answer:
    """The KPI tiles' values, detail lines and level classes as component properties."""
    out: Answer = {}
    for tile, shown in tiles.items():
        out[(ids.kpi(tile, "value"), "children")] = shown.value
        out[(ids.kpi(tile, "extra"), "children")] = shown.extra
        out[(ids.kpi(tile, "tile"), "className")] = f"kpi {shown.level}".strip()
    return out


def explained_window(services: Services, view: View) -> Window | None:
    """The ticks the model scored at ``view.tick`` (what the "why" is read from)."""
    try:
        return services.source(view.source).window(view.tick, WINDOW)
    except DashboardError:
        return None


def why_values(card: WhyCard, view: View, full: bool) -> Answer:
    """The "why" card: whose risk, its sentence and the drivers that matter."""
    if card.contributions is None:
        figure: Any = fig.empty_figure("", WHY_HEIGHT)
    elif full:
        figure = fig.why_figure(card.labels, card.contributions, view.ui_key())
    else:
        figure = fig.why_patch(card.labels, card.contributions)
    return {
        (ids.WHY_SERVER, "children"): card.server,
        (ids.WHY_STATE, "children"): card.state,
        (ids.WHY_STATE, "color"): card.state_color,
        (ids.WHY_SUB, "children"): card.subtitle,
        (ids.WHY_TEXT, "children"): card.sentence,
        (ids.WHY_GRAPH, "figure"): figure,
    }


def status_values(
    services: Services, frame: Frame, view: View, full: bool
) -> tuple[Answer, int | None]:
    """The KPI tiles, the "why" card and the clock for ``view.tick``; also returns the tick
    since which the fleet has been at risk (kept in the view for the next refresh)."""
    fleet, scores = frame.fleet, frame.scores
    summary = kpi_summary(scores.probability, scores.alert, frame.threshold)
    _mean, peak = fleet_lines(frame.probability)
    since = risk_since(peak, frame.first, frame.threshold, None if full else view.risk_since)
    since_text = since_clock = None
    if since is not None:
        at_least = full and since == frame.first and frame.first > 0
        since_text = ("≥ " if at_least else "") + duration_text(elapsed_s(fleet, since, view.tick))
        since_clock = fleet.times[since][11:19]
    top = riskiest(frame)
    phase = fleet.phase_at(view.tick)
    answer = kpi_values(
        kpi_tiles(
            summary,
            riskiest_name=None if top is None else str(fleet.names[top]),
            since=since_text,
            since_clock=since_clock,
            truth_phase=phase.name if phase else None,
        )
    )
    card = why_card(frame, view, explained_window(services, view))
    answer.update(why_values(card, view, full))
    answer[(ids.CLOCK, "children")] = clock_text(fleet, view.tick)
    return answer, since


def controls_values(view: View, fleet: Fleet, before: View | None) -> Answer:
    """The progress text, and the play and live buttons when they change (``before``: the view
    the page showed until now; None: unknown, send everything)."""
    answer: Answer = {(ids.PROGRESS, "children"): progress_text(view, fleet)}
    fresh = before is None or before.source != view.source
    if fresh or (before.playing, before.ended) != (view.playing, view.ended):
        answer[(ids.PLAY, "children")] = play_label(view)
        answer[(ids.PLAY, "title")] = play_hint(view)
    if fresh or before.following != view.following:
        label, disabled, shown = live_button(view, fleet)
        answer[(ids.LIVE, "children")] = label
        answer[(ids.LIVE, "disabled")] = disabled
        answer[(ids.LIVE, "className")] = (
            "btn btn-sm live-live"
            + ("" if shown else " d-none")
            + (" live-at-head" if view.following else "")
        )
    return answer


def render(
    services: Services,
    view: View,
    fleet: Fleet,
    action: str,
    answer: Answer,
    before: View | None = None,
) -> None:
    """Fill ``answer`` with the graphs (patch or full) and the controls for ``view``
    (``before``: the view the page showed until now, when known)."""
    gap = patch_gap(view)
    if view.shown_tick == 0:
        gap = None  # a single-point figure (markers, no line) is redrawn in full
    first = max(0, view.tick - WINDOW + 1)
    axes = axes_for(fleet, view.tick)
    frame = None
    if gap:
        frame = build_frame(services, view, (view.shown_tick or 0) + 1, previous=True)
        if not can_patch(frame):
            gap, frame = None, None
    if gap == 0:
        pass  # the graphs already show this tick of this view
    elif gap is not None and frame is not None:
        shown = view.shown_tick or 0
        n_drop = max(0, min(WINDOW, shown + 1) + gap - min(WINDOW, view.tick + 1))
        top5, trend, strip, metrics, _rows = patch_figures(frame, view, n_drop, axes)
        full = build_frame(services, view, first) if strip is None or metrics is None else None
        if strip is None and full is not None:
            strip, own = strip_card(full, view, axes)
            view = replace(view, strip_rows=tuple(int(i) for i in own), strip_tick=view.tick)
        if metrics is None and full is not None:
            # The riskiest server changed (or a metric's "no data" note may): redraw the card.
            metrics, focus, subtitle = metrics_card(full, view, axes)
            answer[(ids.METRICS_SUB, "children")] = subtitle
            view = replace(view, metrics_focus=focus)
        answer.update(
            {
                (ids.TOP5, "figure"): top5,
                (ids.TREND, "figure"): trend,
                (ids.STRIP, "figure"): strip,
                (ids.METRICS, "figure"): metrics,
            }
        )
        status, since = status_values(services, frame, view, full=False)
        answer.update(status)
        view = replace(view, risk_since=since)
    else:
        frame = build_frame(services, view, first)
        top5, trend, strip, own = full_figures(frame, view, axes)
        metrics, focus, subtitle = metrics_card(frame, view, axes)
        answer.update(
            {
                (ids.TOP5, "figure"): top5,
                (ids.TREND, "figure"): trend,
                (ids.STRIP, "figure"): strip,
                (ids.METRICS, "figure"): metrics,
                (ids.METRICS_SUB, "children"): subtitle,
            }
        )
        status, since = status_values(services, frame, view, full=True)
        answer.update(status)
        view = replace(
            view,
            strip_rows=tuple(int(i) for i in own),
            strip_tick=view.tick,
            metrics_focus=focus,
            risk_since=since,
        )
        if action in ("load", "source", "model", "params"):
            answer[(shell_ids.MODEL, "value")] = view.model
            answer[(shell_ids.PARAMS, "data")] = {"model": view.model, "params": dict(view.params)}
        answer[(ids.SERVERS, "value")] = list(view.selection)
        answer[(ids.SPEED, "value")] = view.speed
        if action in ("load", "source"):  # what depends on the source alone
            answer[(ids.SLIDER, "max")] = max(fleet.n_ticks - 1, 1)
            answer[(ids.SLIDER, "marks")] = slider_marks(fleet)
            answer[(shell_ids.SOURCE, "options")] = services.source_options(view.source)
            answer[(shell_ids.SOURCE, "value")] = view.source
        if action in ("load", "source", "select"):
            # With the value in one answer: a picker given a value before its options drops it.
            answer[(ids.SERVERS, "options")] = server_options(fleet, view.selection)
    if fleet.live:
        answer[(ids.SLIDER, "max")] = max(fleet.n_ticks - 1, 1)
    view = replace(view, shown_key=view.key(), shown_tick=view.tick)
    answer[(ids.VIEW, "data")] = view.to_store()
    answer[(ids.SLIDER, "value")] = view.tick
    answer.update(controls_values(view, fleet, None if gap is None else before))
    if action in ("speed",):
        answer[(ids.SPEED, "value")] = view.speed
