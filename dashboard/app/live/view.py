"""The Live tab's view-model: what one answer shows, computed from sources and scores.

Pure and Dash-free: a :class:`Frame` holds the numbers of the ticks one answer draws,
and the functions here turn it into what the page says (KPI tiles, the "why" card,
progress and status texts, which servers the graphs follow). ``render`` turns these
into figures and component properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...models.alerts import STATE_NAMES
from ..arrays import fleet_bands, has_data, profile_groups, strip_labels, strip_rows, top_servers
from ..captions import METRIC_NOUNS, METRIC_PANELS, NO_SCORES_NOW, NO_SERVERS, PANEL_METRICS
from ..fleet import Fleet
from ..services import Services
from .state import View

STRIP_MAX_ROWS = 24  # servers with a strip row of their own; the rest fold into per-profile rows
STRIP_RESORT_TICKS = 10  # re-rank the strip rows this often (a full strip repaint)
# A metric with no value in the window: look through the whole source (to say "in this
# source") only when it is this small; a larger one says "in this time range".
SOURCE_PROBE_CELLS = 250_000
KPI_LABELS = {
    "health": "fleet health",
    "risk": "servers at risk",
    "firing": "firing",
    "max": "max probability",
    "size": "fleet size",
    "phase": "phase",
}


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


def build_frame(services: Services, view: View, first: int, *, previous: bool = False) -> Frame:
    """The numbers of ticks ``first..view.tick``; with ``previous``, also of tick ``first - 1``."""
    fleet = services.fleet(view.source)
    scorer = services.scorer(view.source, view.model)
    source = services.source(view.source)
    tick = view.tick
    length = tick - first + 1
    before = previous and first > 0
    window = source.window(tick, length + 1 if before else length)
    columns = {name: np.asarray(window.metric(name)) for name in PANEL_METRICS}
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
        metric_notes={} if previous else metric_notes(services, view, fleet, metrics),
        previous_probability=previous_probability,
        previous_metrics=previous_metrics,
    )


def metric_notes(
    services: Services, view: View, fleet: Fleet, metrics: dict[str, np.ndarray]
) -> dict[str, str]:
    """What the panels of metrics without a single value in the window say instead."""
    notes = {}
    for name, label, _fmt in METRIC_PANELS:
        if has_data(metrics[name]):
            continue
        noun = METRIC_NOUNS.get(name, label)
        scope = "in this time range"
        if fleet.n_ticks * max(fleet.n_servers, 1) <= SOURCE_PROBE_CELLS:
            whole = services.source(view.source).window(fleet.n_ticks - 1, fleet.n_ticks)
            if not has_data(whole.metric(name)):
                scope = "in this source"
        notes[name] = f"no {noun} data {scope}"
    return notes


# -- whom the graphs follow -------------------------------------------------------------
def selected_indices(fleet: Fleet, view: View) -> list[int]:
    return [fleet.index[s] for s in view.selection if s in fleet.index]


def riskiest(frame: Frame) -> int | None:
    """The riskiest server now (what the "why" card and the rolling metrics show by default)."""
    probability = frame.scores.probability
    if not has_data(probability):
        return None
    return int(top_servers(probability, 1)[0])


def metrics_servers(frame: Frame, view: View) -> tuple[list[int], str | None]:
    """The servers the rolling metrics draw: the selection, else the riskiest server now.

    Returns their indices and, when it stands in for a selection, the riskiest's name.
    """
    selected = selected_indices(frame.fleet, view)
    if selected or view.selection:
        return selected, None
    top = riskiest(frame)
    if top is None:
        return [], None
    return [top], str(frame.fleet.names[top])


def metrics_subtitle(selection: tuple[str, ...], focus: str | None) -> str:
    """The rolling metrics card's subtitle: whose lines it shows against the fleet's band."""
    if selection:
        return "selected vs fleet median–p95"
    if focus:
        return f"riskiest now: {focus} vs fleet median–p95"
    return "fleet median–p95"


def server_series(frame: Frame, servers: list[int]) -> list[dict[str, np.ndarray]]:
    """Each server's rolling metrics over the frame, by metric."""
    return [{name: frame.metrics[name][:, i] for name in PANEL_METRICS} for i in servers]


def bands(frame: Frame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fleet's median and p95 of each rolling metric over the frame."""
    return {name: fleet_bands(frame.metrics[name]) for name in PANEL_METRICS}


def peak_servers(frame: Frame) -> np.ndarray:
    """The riskiest server at each tick of the frame (the fleet max line's points)."""
    p = np.nan_to_num(frame.probability, nan=-1.0)
    if not p.size:
        return np.full(p.shape[0], "", dtype=object)
    return frame.fleet.names[np.argmax(p, axis=1)]


def fleet_lines(probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tick, the fleet's mean and max probability (NaN where no server has a score)."""
    if probability.shape[-1] == 0:  # no servers: nothing to reduce over
        nothing = np.full(probability.shape[0], np.nan)
        return nothing, nothing.copy()
    with np.errstate(all="ignore"):
        return np.nanmean(probability, axis=1), np.nanmax(probability, axis=1)


def strip_layout(frame: Frame, rows: np.ndarray | None) -> tuple[np.ndarray, list, list[str]]:
    """The strip's own rows (ranked now unless ``rows`` is given), the folded groups, the labels."""
    fleet = frame.fleet
    if rows is None:
        with np.errstate(all="ignore"):
            ranking = np.nanmax(frame.probability, axis=0) + frame.scores.probability * 1e-3
        own, groups = strip_rows(ranking, fleet.profiles, STRIP_MAX_ROWS)
    else:
        own, groups = rows, profile_groups(fleet.profiles, rows)
    return own, groups, strip_labels(fleet.names, own, groups)


def can_patch(frame: Frame) -> bool:
    """Whether patches can move the graphs on: not when a tick without a single score is
    involved (the "no scores" notes come and go with full figures), nor without servers."""
    if frame.fleet.n_servers == 0 or frame.previous_probability is None:
        return False
    rows = np.vstack([frame.previous_probability[None, :], frame.probability])
    return bool(np.isfinite(rows).any(axis=1).all())


def metric_gaps(frame: Frame) -> bool:
    """Whether a metric panel had a tick without any value, before or in this patch."""
    for name in PANEL_METRICS:
        values = frame.metrics[name]
        if not np.isfinite(values).any(axis=1).all():
            return True
        before = None if frame.previous_metrics is None else frame.previous_metrics[name]
        if before is None or not np.isfinite(before).any():
            return True
    return False


# -- what the page says -------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    """One KPI tile: its big value, the detail line under it and its level class."""

    value: str
    extra: str
    level: str = ""


def kpi_tiles(summary: dict, phase: str | None, progress: str) -> dict[str, Tile]:
    """The KPI tiles for one tick, by tile name (see :data:`KPI_LABELS`)."""
    health = summary["health"]
    level = {"healthy": "kpi-success", "degraded": "kpi-warning", "critical": "kpi-danger"}[health]

    def pct(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.0%}"

    return {
        "health": Tile(health.upper(), f"{summary['firing']} firing", level),
        "risk": Tile(
            str(summary["at_risk"]),
            f"of {summary['fleet_size']:,} servers",
            "kpi-warning" if summary["at_risk"] else "",
        ),
        "firing": Tile(
            str(summary["firing"]), "alerts firing now", "kpi-danger" if summary["firing"] else ""
        ),
        "max": Tile(pct(summary["max"]), f"mean {pct(summary['mean'])}"),
        "size": Tile(f"{summary['fleet_size']:,}", "servers"),
        "phase": Tile(phase or "—", progress),
    }


@dataclass(frozen=True)
class WhyCard:
    """The "why" card: whose risk it explains and what each factor adds to it."""

    server: str
    state: str
    state_color: str
    subtitle: str
    factors: tuple[str, ...] = ()
    contributions: np.ndarray | None = None  # (F,); None: nothing to draw


def why_card(frame: Frame, view: View) -> WhyCard:
    """The "why" of the first selected server (or the riskiest one): its contributions."""
    fleet, scores = frame.fleet, frame.scores
    selected = selected_indices(fleet, view)
    if selected:
        i, heading = selected[0], "selected"
    else:
        top = riskiest(frame)
        if top is None:
            note = NO_SERVERS if fleet.n_servers == 0 else NO_SCORES_NOW
            return WhyCard("—", "", "secondary", note)
        i, heading = top, "riskiest now"
    risk = float(scores.probability[i])
    state = STATE_NAMES[int(np.clip(scores.alert[i], 0, 3))]
    return WhyCard(
        server=str(fleet.names[i]),
        state=state,
        state_color={"normal": "success", "pending": "warning", "firing": "danger"}.get(
            state, "info"
        ),
        subtitle=f"{heading} · {fleet.profiles[i]} · risk "
        + (f"{risk:.0%}" if np.isfinite(risk) else "unknown"),
        factors=tuple(str(f) for f in scores.factors),
        contributions=np.asarray(scores.contributions[i], dtype=np.float64),
    )


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


def clock_text(fleet: Fleet, tick: int) -> str:
    stamp = fleet.times[tick]
    return f"{stamp[:10]} {stamp[11:19]} UTC"


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


def tick_at(fleet: Fleet, stamp: str) -> int | None:
    """The tick at or just after a clicked time (``2025-01-01 00:02:30``), None if it is no time."""
    try:
        target = np.datetime64(stamp.replace(" ", "T").rstrip("Z"), "s")
    except ValueError:
        return None
    index = np.searchsorted(fleet.times, str(target), side="left")
    return int(np.clip(index, 0, max(fleet.n_ticks - 1, 0)))
