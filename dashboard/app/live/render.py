"""From the view-model to what the Live tab's components show: figures (full or patched) and text.

Each function fills ``answer``, a dict of ``(component id, property) -> value`` that the
tick callback turns into its outputs; a property left out is not updated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np

from ...models.alerts import FIRING
from .. import figures as fig
from ..arrays import kpi_summary, strip_values, top_servers
from ..captions import NO_SCORES, NO_SERVERS
from ..fleet import Fleet
from ..services import Services
from ..shell import ids as shell_ids
from . import ids
from .state import WINDOW, View, patch_gap
from .view import (
    STRIP_RESORT_TICKS,
    Frame,
    Tile,
    bands,
    build_frame,
    can_patch,
    clock_text,
    fleet_lines,
    kpi_tiles,
    metric_gaps,
    metrics_servers,
    metrics_subtitle,
    peak_servers,
    play_label,
    progress_text,
    selected_indices,
    server_options,
    server_series,
    slider_marks,
    strip_layout,
    tick_at,
    why_card,
)

Answer = dict[tuple[str, str], Any]
WHY_HEIGHT = 220


def metrics_card(frame: Frame, view: View) -> tuple[dict, str | None]:
    """The rolling metrics in full, and the name of the riskiest server when it stands in."""
    fleet = frame.fleet
    shown, focus = metrics_servers(frame, view)
    series = dict(zip((fleet.names[i] for i in shown), server_series(frame, shown), strict=False))
    figure = fig.metrics_figure(
        frame.times, bands(frame), series, view.ui_key(), empty_notes=frame.metric_notes
    )
    return figure, focus


def strip_card(frame: Frame, view: View) -> tuple[dict, np.ndarray]:
    """The strip in full, ranked now; returns it and the servers that have a row of their own."""
    own, groups, labels = strip_layout(frame, None)
    no_servers = NO_SERVERS if frame.fleet.n_servers == 0 else None
    figure = fig.strip_figure(
        frame.times,
        strip_values(frame.probability, own, groups),
        labels,
        view.ui_key(),
        empty_note=no_servers,
    )
    return figure, own


def full_figures(frame: Frame, view: View) -> tuple[dict, dict, dict, dict, np.ndarray, str | None]:
    """All four graphs in full; returns them, the strip's own rows and the metrics' focus."""
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
        phase_bands=fig.phase_shapes(fleet.phases, fleet.times),
        threshold=frame.threshold,
        clear_threshold=frame.clear_threshold,
        uirevision=rev,
        empty_note=no_servers or NO_SCORES,
    )
    strip, own = strip_card(frame, view)
    metrics, focus = metrics_card(frame, view)
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
    top = top_servers(scores.probability)
    top5 = fig.top5_patch(
        fleet.names[top], fleet.profiles[top], scores.probability[top], scores.alert[top]
    )
    selected = selected_indices(fleet, view)
    mean, peak = fleet_lines(frame.probability)
    x_range = [fleet.times[window_first], fleet.times[frame.tick]]
    trend = fig.trend_patch(
        frame.times,
        mean,
        peak,
        [frame.probability[:, i] for i in selected],
        n_drop,
        x_range,
        peak_servers=peak_servers(frame),
    )
    metrics = None
    shown, focus = metrics_servers(frame, view)
    if focus == view.metrics_focus and not metric_gaps(frame):
        metrics = fig.metrics_patch(frame.times, bands(frame), server_series(frame, shown), n_drop)
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
    strip = fig.strip_patch(frame.times, strip_values(frame.probability, own, groups), n_drop)
    return top5, trend, strip, metrics, own


def kpi_values(tiles: dict[str, Tile]) -> Answer:
    """The KPI tiles' values, detail lines and level classes as component properties."""
    out: Answer = {}
    for tile, shown in tiles.items():
        out[(ids.kpi(tile, "value"), "children")] = shown.value
        out[(ids.kpi(tile, "extra"), "children")] = shown.extra
        out[(ids.kpi(tile, "tile"), "className")] = f"kpi {shown.level}".strip()
    return out


def why_values(frame: Frame, view: View, full: bool) -> Answer:
    """The "why" card for the first selected server (or the riskiest one)."""
    card = why_card(frame, view)
    if card.contributions is None:
        figure: Any = fig.empty_figure("", WHY_HEIGHT)
    elif full:
        figure = fig.why_figure(card.factors, card.contributions, view.ui_key())
    else:
        figure = fig.why_patch(card.factors, card.contributions)
    return {
        (ids.WHY_SERVER, "children"): card.server,
        (ids.WHY_STATE, "children"): card.state,
        (ids.WHY_STATE, "color"): card.state_color,
        (ids.WHY_SUB, "children"): card.subtitle,
        (ids.WHY_GRAPH, "figure"): figure,
    }


def status_values(frame: Frame, view: View, full: bool) -> Answer:
    """The KPI tiles, the "why" card, the clock and the phase badge for ``view.tick``."""
    fleet, scores = frame.fleet, frame.scores
    phase = fleet.phase_at(view.tick)
    summary = kpi_summary(scores.probability, scores.alert, frame.threshold)
    answer = kpi_values(kpi_tiles(summary, phase.name if phase else None, progress_text(view, fleet)))
    answer.update(why_values(frame, view, full))
    answer[(ids.CLOCK, "children")] = clock_text(fleet, view.tick)
    answer[(ids.PHASE, "children")] = (
        dbc.Badge(phase.name, className=f"phase-badge phase-{phase.kind}") if phase else ""
    )
    return answer


def render(services: Services, view: View, fleet: Fleet, action: str, answer: Answer) -> None:
    """Fill ``answer`` with the graphs (patch or full) and the controls for ``view``."""
    if "scrub_to" in view.extra:
        tick = tick_at(fleet, view.extra["scrub_to"])
        view = replace(view, tick=view.tick if tick is None else tick, ended=False, extra={})
    gap = patch_gap(view)
    first = max(0, view.tick - WINDOW + 1)
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
        top5, trend, strip, metrics, _rows = patch_figures(frame, view, n_drop, first)
        full = build_frame(services, view, first) if strip is None or metrics is None else None
        if strip is None and full is not None:
            strip, own = strip_card(full, view)
            view = replace(view, strip_rows=tuple(int(i) for i in own), strip_tick=view.tick)
        if metrics is None and full is not None:
            # The riskiest server changed (or a metric's "no data" note may): redraw the card.
            metrics, focus = metrics_card(full, view)
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
        answer.update(status_values(frame, view, full=False))
    else:
        frame = build_frame(services, view, first)
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
            view, strip_rows=tuple(int(i) for i in own), strip_tick=view.tick, metrics_focus=focus
        )
        answer.update(status_values(frame, view, full=True))
        if action in ("load", "source", "model"):
            answer[(shell_ids.MODEL, "value")] = view.model
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
    answer[(ids.PLAY, "children")] = play_label(view)
    answer[(ids.PROGRESS, "children")] = progress_text(view, fleet)
    if action in ("speed",):
        answer[(ids.SPEED, "value")] = view.speed
