"""The Live tab's view-model: what one answer shows, computed from sources and scores.

Pure and Dash-free: a :class:`Frame` holds the numbers of the ticks one answer draws,
and the functions here turn it into what the page says (KPI tiles, the "why" card,
progress and status texts, which servers the graphs follow). ``render`` turns these
into figures and component properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...models.alerts import STATE_NAMES
from ...models.explain import explain
from ...sources.base import Window
from ..arrays import fleet_bands, has_data, profile_groups, strip_labels, strip_rows, top_servers
from ..captions import METRIC_NOUNS, METRIC_PANELS, NO_SCORES_NOW, NO_SERVERS, PANEL_METRICS
from ..fleet import Extent, Fleet
from ..services import Services
from .state import WINDOW, View

STRIP_MAX_ROWS = 24  # servers with a strip row of their own; the rest fold into per-profile rows
STRIP_RESORT_TICKS = 10  # re-rank the strip rows this often (a full strip repaint)
# A metric with no value in the window: look through the whole source (to say "in this
# source") only when it is this small; a larger one says "in this time range".
SOURCE_PROBE_CELLS = 250_000
KPI_LABELS = {
    "health": "fleet health",
    "risk": "servers at risk",
    "max": "max probability",
    "since": "at risk for",
    "truth": "scenario phase",
}
# Where a view opened afresh starts: the model has a minute of history there (at 5 s ticks),
# so the first frame shows lines, risk and a reason, not an empty window.
START_TICK = 12
MARK_SPACING = 0.08
FOCUS_MARGIN = 0.05  # probability within which the followed server stays in focus  # share of the slider between two phase marks, at least


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
    scorer = services.scorer(view.source, view.model, dict(view.params))
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
        # contributions of the riskiest servers and of the selected ones (the "why" card)
        scores=scorer.at(tick, explain=selected_indices(fleet, view)),
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
    """The riskiest server now."""
    probability = frame.scores.probability
    if not has_data(probability):
        return None
    return int(top_servers(probability, 1)[0])


def focus(frame: Frame, view: View) -> int | None:
    """The server the "why" card and the rolling metrics follow while nothing is selected:
    the riskiest now, or the one they followed until now unless another is clearly riskier
    (by ``FOCUS_MARGIN``) and at risk (at the alert threshold): near-ties and a healthy
    fleet's noise do not make the cards jump from server to server every refresh."""
    top = riskiest(frame)
    if top is None:
        return None
    kept = frame.fleet.index.get(view.metrics_focus) if view.metrics_focus else None
    if kept is not None and kept != top:
        p = np.nan_to_num(frame.scores.probability, nan=-1.0)
        if p[top] < frame.threshold or p[kept] >= p[top] - FOCUS_MARGIN:
            return int(kept)
    return top


def focus_heading(frame: Frame, server: int) -> str:
    """How the followed server stands: "riskiest now", or "riskiest lately" once another leads."""
    return "riskiest now" if server == riskiest(frame) else "riskiest lately"


def metrics_servers(frame: Frame, view: View) -> tuple[list[int], str | None]:
    """The servers the rolling metrics draw: the selection, else the server in focus.

    Returns their indices and, when it stands in for a selection, the focused server's name.
    """
    selected = selected_indices(frame.fleet, view)
    if selected or view.selection:
        return selected, None
    top = focus(frame, view)
    if top is None:
        return [], None
    return [top], str(frame.fleet.names[top])


def peer_profile(fleet: Fleet, shown: list[int]) -> str | None:
    """The profile whose servers make the band: the first shown server's (None: the fleet)."""
    return str(fleet.profiles[shown[0]]) if shown else None


def metrics_subtitle(
    selection: tuple[str, ...], followed: str | None, profile: str | None, heading: str = "riskiest now"
) -> str:
    """The rolling metrics card's subtitle: whose lines it shows against which band."""
    band = f"{profile} peers' median–p95" if profile else "fleet median–p95"
    if selection:
        return f"selected vs {band}"
    if followed:
        return f"{heading}: {followed} vs {band}"
    return band


def server_series(frame: Frame, servers: list[int]) -> list[dict[str, np.ndarray]]:
    """Each server's rolling metrics over the frame, by metric."""
    return [{name: frame.metrics[name][:, i] for name in PANEL_METRICS} for i in servers]


def bands(frame: Frame, profile: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The median and p95 of each rolling metric over the frame, among ``profile``'s servers
    (a cache server's 2 ms is compared with caches, not with web servers), else the fleet's."""
    if profile is None:
        return {name: fleet_bands(frame.metrics[name]) for name in PANEL_METRICS}
    peers = frame.fleet.profiles == profile
    return {name: fleet_bands(frame.metrics[name][:, peers]) for name in PANEL_METRICS}


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


def tick_step(fleet: Fleet) -> np.timedelta64:
    """The source's usual interval between ticks (one second when it has a single tick)."""
    if fleet.n_ticks < 2:
        return np.timedelta64(1000, "ms")
    stamps = fleet.times[-min(fleet.n_ticks, 16) :].astype("datetime64[ms]")
    return np.median(np.diff(stamps).astype(np.int64)).astype("timedelta64[ms]")


def window_extent(fleet: Fleet, tick: int, *, pad: bool = False) -> Extent:
    """The time span the graphs show at ``tick``: the window's first tick to its last, or
    to where a window not yet full will end (so a first frame has a real time axis).

    With ``pad``, half a tick more on each side (a heat map's cells are centred on their time).
    """
    first = max(0, tick - WINDOW + 1)
    step = tick_step(fleet)
    start = np.datetime64(fleet.times[first], "ms")
    last = np.datetime64(fleet.times[tick], "ms")
    end = max(last, start + step * (WINDOW - 1))
    if pad:
        start, end = start - step / 2, end + step / 2
    return Extent(_iso(start), _iso(end), filling=bool(end > last + (step if pad else 0)))


def _iso(moment: np.datetime64) -> str:
    """ISO text to the second, or to the millisecond when it has a fraction (shorter on the wire)."""
    whole = moment.astype("datetime64[s]")
    return str(whole) if whole == moment else str(moment)


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


def risk_since(
    peak: np.ndarray, first: int, threshold: float, previous: int | None
) -> int | None:
    """The tick since which the fleet's riskiest server has stayed at or above ``threshold``.

    ``peak`` holds the fleet max of ticks ``first..`` (NaN: no score); ``previous`` is what
    this said for tick ``first - 1`` (None: not at risk then, or unknown on a full paint,
    which then counts from ``first``). None when the fleet is not at risk now.
    """
    at_risk = np.nan_to_num(np.asarray(peak, dtype=np.float64), nan=-1.0) >= threshold
    if at_risk.size == 0 or not at_risk[-1]:
        return None
    if at_risk.all():
        return previous if previous is not None else first
    return first + int(at_risk.size - np.argmin(at_risk[::-1]))


def duration_text(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 05 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def elapsed_s(fleet: Fleet, since: int, tick: int) -> float:
    """Seconds from the start of tick ``since`` to the end of tick ``tick``."""
    times = fleet.times
    span = (np.datetime64(times[tick]) - np.datetime64(times[since])) / np.timedelta64(1, "s")
    step = (np.datetime64(times[1]) - np.datetime64(times[0])) / np.timedelta64(1, "s") if fleet.n_ticks > 1 else 0
    return float(span + step)


def kpi_tiles(
    summary: dict,
    *,
    riskiest_name: str | None,
    since: str | None,
    since_clock: str | None,
    truth_phase: str | None,
) -> dict[str, Tile]:
    """The KPI tiles for one tick, by tile name (see :data:`KPI_LABELS`); each says what no
    other part of the page says: health and alerts, how many are at risk out of how many
    servers now, the riskiest server, how long the fleet has been at risk, and the scenario's
    phase (only for data with an answer key, and labelled so)."""
    health = summary["health"]
    level = {"healthy": "kpi-success", "degraded": "kpi-warning", "critical": "kpi-danger"}[health]

    def pct(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.0%}"

    alerts = f"{summary['firing']} firing · {summary['pending']} pending"
    top = f"{riskiest_name} · " if riskiest_name else ""
    return {
        "health": Tile(health.upper(), alerts, level),
        "risk": Tile(
            str(summary["at_risk"]),
            f"of {summary['fleet_size']:,} servers",
            "kpi-warning" if summary["at_risk"] else "",
        ),
        "max": Tile(pct(summary["max"]), f"{top}mean {pct(summary['mean'])}"),
        "since": Tile(
            since or "—",
            f"since {since_clock}" if since and since_clock else "no server at risk now",
            "kpi-warning" if since else "",
        ),
        "truth": Tile(truth_phase or "—", "from the scenario's answer key", "" if truth_phase else "kpi-hidden"),
    }


@dataclass(frozen=True)
class WhyCard:
    """The "why" card: whose risk it explains, in one sentence and by its drivers."""

    server: str
    state: str
    state_color: str
    subtitle: str
    sentence: str = ""
    labels: tuple[str, ...] = ()  # the drivers that matter, readable, with their value
    contributions: np.ndarray | None = None  # what each adds; None: nothing to draw


def why_card(frame: Frame, view: View, window: Window | None) -> WhyCard:
    """The "why" of the first selected server (or the riskiest one), from the model's
    contributions and ``window`` (the ticks the model scored; None: not readable)."""
    fleet, scores = frame.fleet, frame.scores
    selected = selected_indices(fleet, view)
    if selected:
        i, heading = selected[0], "selected"
    else:
        top = focus(frame, view)
        if top is None:
            note = NO_SERVERS if fleet.n_servers == 0 else NO_SCORES_NOW
            return WhyCard("—", "", "secondary", note)
        i, heading = top, focus_heading(frame, top)
    risk = float(scores.probability[i])
    state = STATE_NAMES[int(np.clip(scores.alert[i], 0, 3))]
    card = WhyCard(
        server=str(fleet.names[i]),
        state=state,
        state_color={"normal": "success", "pending": "warning", "firing": "danger"}.get(
            state, "info"
        ),
        subtitle=f"{heading} · {fleet.profiles[i]} · risk "
        + (f"{risk:.0%}" if np.isfinite(risk) else "unknown"),
    )
    if window is None or not np.isfinite(risk):
        return card
    why = explain(window, i, risk, scores.contributions[i], scores.factors)
    return replace(
        card,
        sentence=why.sentence,
        labels=tuple(f"{d.label} {d.value_text}".strip() for d in why.drivers),
        contributions=np.array([d.contribution for d in why.drivers], dtype=np.float64),
    )


def slider_marks(fleet: Fleet) -> dict:
    """The scrub slider's marks: where each phase starts, spaced so their names never touch."""
    last = max(fleet.n_ticks - 1, 0)
    marks: dict[int, dict] = {}
    previous = None
    for phase in fleet.phases:
        start = phase.start_tick
        if not 0 < start <= last:
            continue
        if previous is not None and (start - previous) < MARK_SPACING * last:
            continue
        marks[start] = {"label": phase.name, "style": {"color": "#5d6d7e"}}
        previous = start
    return {str(k): v for k, v in marks.items()}


def progress_text(view: View, fleet: Fleet) -> str:
    """Where playback is: ``tick 12 / 60 · 20%``, ``tick 812 · live``, ``tick 790 · 22 behind live``."""
    n = fleet.n_ticks
    paused = "" if view.playing else " · paused"
    if fleet.live:
        behind = n - 1 - view.tick
        if view.following or behind <= 0:
            return f"tick {view.tick + 1:,} · live{paused}"
        return f"tick {view.tick + 1:,} · {behind:,} behind live{paused}"
    if view.ended:
        return f"end of data · {n:,} ticks · reset to replay"
    share = (view.tick + 1) / n if n else 0.0
    return f"tick {view.tick + 1:,} / {n:,} · {share:.0%}{paused}"


def play_label(view: View) -> str:
    if view.ended:
        return "↻ Replay"
    return "❚❚ Pause" if view.playing else "▶ Play"


def play_hint(view: View) -> str:
    """What the play button does, for its tooltip and screen readers."""
    if view.ended:
        return "replay from the start (space)"
    return "pause playback (space)" if view.playing else "play (space)"


def live_button(view: View, fleet: Fleet) -> tuple[str, bool, bool]:
    """The live button's label, whether it is disabled, and whether it shows at all: a live
    source says "● live" at its newest tick and offers "jump to live" behind it."""
    if not fleet.live:
        return "live", True, False
    if view.following:
        return "● live", True, True
    return "⏭ jump to live", False, True


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
