"""Why a server is at risk, in words: one plain sentence and the drivers that matter.

Built from any model's per-factor contributions and the window it scored, so a new model
feeds it unchanged: a factor named after a metric (``latency``, ``cpu_pct``...) is
compared with the server's own normal (the median of the older half of its window) and
with its profile peers now, and how long it has stayed raised; other factors (``trend``,
``incident_phase``, a model's own) are named. For example::

    Latency is 4.8× its own normal and 3× its web peers, rising for 40 s; CPU at 91%
    (normal 35%).

Pure numpy, no Dash: the Live tab's Why card and any other view call :func:`explain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..sources.base import Window

WINDOW_TICKS = 60  # the ticks a Why reads: the Live tab's window, and an alert's

# Factor -> the metric it reads, for factors not named after their metric.
FACTOR_METRICS = {
    "cpu": "cpu_pct",
    "memory": "mem_pct",
    "mem": "mem_pct",
    "latency": "latency_ms",
    "error_rate": "error_rate",
    "errors": "error_rate",
    "gc": "gc_pause_ms",
    "disk": "disk_io_mb_s",
    "net_in": "net_in_mb_s",
    "net_out": "net_out_mb_s",
}
METRIC_LABELS = {
    "cpu_pct": "CPU",
    "mem_pct": "memory",
    "latency_ms": "latency",
    "error_rate": "error rate",
    "gc_pause_ms": "GC pause",
    "disk_io_mb_s": "disk I/O",
    "net_in_mb_s": "network in",
    "net_out_mb_s": "network out",
}
FACTOR_LABELS = {
    "trend": "metrics rising fast",
    "incident_phase": "incident phase (answer key)",
}
# Metrics read as levels ("CPU at 91%"), not as multiples of their normal.
LEVEL_METRICS = {"cpu_pct", "mem_pct", "error_rate"}
# Smallest change that counts as "raised", per metric, in its unit (a share of the
# normal level is added: a latency of 400 ms must move more than one of 4 ms).
RAISED_FLOOR = {
    "cpu_pct": 5.0,
    "mem_pct": 3.0,
    "latency_ms": 5.0,
    "error_rate": 0.005,
    "gc_pause_ms": 2.0,
    "disk_io_mb_s": 1.0,
    "net_in_mb_s": 1.0,
    "net_out_mb_s": 1.0,
}
RAISED_SHARE = 0.25
MIN_RATIO = 1.5  # "2.3× its normal" is said from here; below, the levels are given
MIN_BASELINE_TICKS = 3
# A factor matters when it adds at least this much to the probability, and this share of it.
MIN_CONTRIBUTION = 0.02
MIN_SHARE = 0.1
MAX_DRIVERS = 4  # drivers listed
SENTENCE_DRIVERS = 2  # of which the sentence names the first ones
TREND_TICKS = 3  # rising or falling: the median of the last ticks against the ones before
TREND_SHARE = 0.1  # ... by more than this share of the level
QUIET = "Nothing stands out: no metric is far from this server's normal."


@dataclass(frozen=True)
class Driver:
    """One factor that matters to a server's risk, with the numbers behind it."""

    factor: str
    label: str  # readable: "latency", "CPU", "metrics rising fast"
    contribution: float  # what it adds to the probability (0..1)
    metric: str | None = None  # the metric it reads, when it reads one
    value: float | None = None  # the metric now
    normal: float | None = None  # the server's own normal
    peers: float | None = None  # its profile peers' median now
    profile: str = ""
    raised_s: float | None = None  # how long it has stayed above its normal (None: it has not)
    direction: str = ""  # "rising", "falling" or "" (holding) over the last few ticks

    @property
    def value_text(self) -> str:
        """The metric now, with its unit (``240 ms``, ``91%``); the label alone otherwise."""
        return format_value(self.metric, self.value) if self.metric else ""

    def phrase(self) -> str:
        """``latency is 4.8× its own normal and 3× its web peers, rising for 40 s``."""
        if self.metric is None or self.value is None or not np.isfinite(self.value):
            return self.label
        if self.metric in LEVEL_METRICS or not _ratio_ok(self.value, self.normal):
            text = f"{self.label} at {format_value(self.metric, self.value)}"
            extra = []
            if self.normal is not None:
                extra.append(f"normal {format_value(self.metric, self.normal)}")
            if self.peers is not None and self.profile and _differs(self.metric, self.value, self.peers):
                extra.append(f"{self.profile} peers {format_value(self.metric, self.peers)}")
            if extra:
                text += f" ({', '.join(extra)})"
        else:
            text = f"{self.label} is {_times(self.value / self.normal)} its own normal"
            if self.profile and _ratio_ok(self.value, self.peers):
                text += f" and {_times(self.value / self.peers)} its {self.profile} peers"
        if self.raised_s:
            how = {"rising": "rising for", "falling": "easing after"}.get(self.direction, "high for")
            text += f", {how} {_duration(self.raised_s)}"
        return text


@dataclass(frozen=True)
class Explanation:
    """What drives one server's risk: the drivers that matter (largest first) and a sentence."""

    sentence: str
    drivers: tuple[Driver, ...]
    probability: float


def format_value(metric: str | None, value: float | None) -> str:
    """A metric's value with its unit, rounded for reading."""
    if value is None or not np.isfinite(value):
        return "unknown"
    if metric in ("cpu_pct", "mem_pct"):
        return f"{value:.0f}%"
    if metric == "error_rate":
        share = 100 * value
        return f"{share:.2f}%" if share < 1 else f"{share:.1f}%" if share < 10 else f"{share:.0f}%"
    if metric in ("latency_ms", "gc_pause_ms"):
        return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if metric and metric.endswith("_mb_s"):
        return f"{value:.1f} MB/s"
    return f"{value:.3g}"


def factor_metric(factor: str, metrics: Sequence[str]) -> str | None:
    """The metric a factor reads: itself when it names one, else the usual one for its name."""
    if factor in metrics:
        return factor
    metric = FACTOR_METRICS.get(factor)
    return metric if metric in metrics else None


def factor_label(factor: str, metric: str | None) -> str:
    if metric is not None:
        return METRIC_LABELS.get(metric, metric.replace("_", " "))
    return FACTOR_LABELS.get(factor, factor.replace("_", " "))


def explain(
    window: Window,
    server: int,
    probability: float,
    contributions: Sequence[float],
    factors: Sequence[str],
) -> Explanation:
    """Why ``server`` (an index into the window's servers) scores ``probability``.

    ``contributions`` are the model's, one per factor, for the window's last tick.
    """
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    p = float(probability) if np.isfinite(probability) else 0.0
    floor = max(MIN_CONTRIBUTION, MIN_SHARE * p)
    order = [j for j in np.argsort(-c, kind="stable") if c[j] >= floor][:MAX_DRIVERS]
    drivers = tuple(_driver(window, server, str(factors[j]), float(c[j])) for j in order)
    return Explanation(sentence(drivers), drivers, p)


def sentence(drivers: Sequence[Driver]) -> str:
    """The drivers in one plain sentence (the quiet sentence when none matters)."""
    if not drivers:
        return QUIET
    text = "; ".join(d.phrase() for d in drivers[:SENTENCE_DRIVERS])
    return text[:1].upper() + text[1:] + "."


def _driver(window: Window, server: int, factor: str, contribution: float) -> Driver:
    metric = factor_metric(factor, tuple(window.metrics))
    label = factor_label(factor, metric)
    if metric is None or window.n_ticks == 0:
        return Driver(factor, label, contribution)
    values = window.metric(metric)  # (T, N); only this server's column and the last tick are read
    series = np.asarray(values[:, server], dtype=np.float64)
    value = float(series[-1]) if np.isfinite(series[-1]) else None
    normal = _normal(series)
    profile = str(window.profiles[server]) if window.n_servers else ""
    peers = _peers(np.asarray(values[-1], dtype=np.float64), window.profiles, server)
    raised_s, direction = _raised(series, normal, metric, window.tick_seconds)
    return Driver(
        factor, label, contribution, metric, value, normal, peers, profile, raised_s, direction
    )


def _normal(series: np.ndarray) -> float | None:
    """The server's own normal: the median of the older half of its window."""
    base = series[: series.shape[0] // 2]
    base = base[np.isfinite(base)]
    return float(np.median(base)) if base.size >= MIN_BASELINE_TICKS else None


def _peers(now: np.ndarray, profiles: np.ndarray, server: int) -> float | None:
    """The median of the server's profile peers now (itself left out)."""
    mask = profiles == profiles[server]
    mask[server] = False
    values = now[mask]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _raised(
    series: np.ndarray, normal: float | None, metric: str, tick_s: float
) -> tuple[float | None, str]:
    """How long the metric has stayed above its normal, up to now, and where it heads now."""
    if normal is None or not np.isfinite(series[-1]):
        return None, ""
    margin = max(RAISED_FLOOR.get(metric, 0.0), RAISED_SHARE * abs(normal))
    above = np.nan_to_num(series, nan=-np.inf) > normal + margin
    if not above[-1]:
        return None, ""
    run = int(np.argmin(above[::-1])) if not above.all() else above.shape[0]
    direction = ""
    if series.shape[0] >= 2 * TREND_TICKS:
        now = np.nanmedian(series[-TREND_TICKS:])
        before = np.nanmedian(series[-2 * TREND_TICKS : -TREND_TICKS])
        step = max(margin / 2, TREND_SHARE * abs(before))  # noise at a high level is larger
        if now > before + step:
            direction = "rising"
        elif now < before - step:
            direction = "falling"
    return run * float(tick_s), direction


def _ratio_ok(value: float | None, base: float | None) -> bool:
    return (
        value is not None
        and base is not None
        and np.isfinite(value)
        and np.isfinite(base)
        and base > 0
        and value / base >= MIN_RATIO
    )


def _differs(metric: str, value: float, other: float) -> bool:
    return abs(value - other) >= RAISED_FLOOR.get(metric, 0.0)


def _times(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:.0f}×"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"
