"""Each server's own normal, learned from its own history: robust levels, spreads, daily or
weekly rhythm and how far its readings normally stray.

A :class:`Baseline` is estimated from a long stretch of history (up to
``BaselinePolicy.max_ticks`` ticks) at a *checkpoint* and then used for every tick until
the next one, so the expensive part runs once per source and checkpoint, never per tick.
Checkpoints come often while the history is short (16, 24, 32, 48, 64 ... ticks) and then
every ``refresh_ticks``; a baseline only ever reads ticks before its checkpoint, so a
score never looks ahead. The :class:`~dashboard.models.scoring.Scorer` asks the model for
its policy, estimates the baseline of each checkpoint once (kept by source identity) and
hands it to the model with the window (``window.baseline``).

Per metric and server a baseline holds:

* ``center``: the median of the history, and, where the history spans at least three
  periods and the rhythm explains enough of the spread, a per-time-of-day (or of-week)
  offset (``seasonal``), so a busy afternoon is compared with other afternoons;
* ``scale``: a robust standard deviation (the larger of the IQR- and MAD-based ones) of
  what is left, floored at a small share of the level and of the history's range, and for
  the core metrics at a smallest meaningful change in their unit (0.2 points of error
  share, 0.5 points of CPU...), so a metric that never moved still needs a real change;
* ``tail_hi``/``tail_lo``: how far the server's own *readings* (see :func:`readings`)
  strayed in the history, as the ``tail_quantile`` quantiles of their z-scores, never
  closer than ``MIN_TAIL`` robust standard deviations. A bursty metric that routinely
  jumps to 8 sigma must go further than that to count; a calm one counts sooner.

Scale-free by construction: nothing depends on a metric's unit, so the same code reads
CPU percent, a temperature or an anonymised ``m17``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..sources.base import Window

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
MIN_TAIL = 2.0  # a reading within 2 robust standard deviations is never unusual
READING_TICKS = 3  # ticks a reading looks back over (its sustained and recent parts)
# How a reading blends the sustained level (the least extreme of the last READING_TICKS
# ticks), their median and the latest tick: a one- or two-tick burst moves it little.
READING_BLEND = (0.5, 0.4, 0.1)
SEASON_GAIN = 0.8  # a rhythm is used for a metric when it cuts the spread to this share
RELATIVE_FLOOR = 0.01  # smallest scale: this share of the level ...
RANGE_FLOOR = 0.01  # ... or of the history's 1-99% range
ABSOLUTE_FLOOR = 1e-6
# Smallest meaningful change of the core metrics, in their units: a near-constant error
# share of 0.05% must not make a 1-point blip look like a hundred standard deviations.
UNIT_FLOORS = {
    "cpu_pct": 0.5,
    "mem_pct": 0.5,
    "latency_ms": 0.05,
    "error_rate": 0.002,
    "gc_pause_ms": 0.1,
    "disk_io_mb_s": 0.05,
    "net_in_mb_s": 0.05,
    "net_out_mb_s": 0.05,
}


@dataclass(frozen=True)
class BaselinePolicy:
    """How much history a baseline reads and how often it is estimated again.

    ``max_cells`` caps ticks x servers x metrics read at once (memory), so a fleet of
    thousands of servers reads a shorter history than a single machine.
    """

    max_ticks: int = 8192
    min_ticks: int = 16
    refresh_ticks: int = 64
    max_cells: int = 24_000_000
    tail_quantile: float = 0.99

    def checkpoint(self, tick: int) -> int:
        """The checkpoint whose baseline scores ``tick`` (0: too little history yet)."""
        tick = int(tick)
        if tick < self.min_ticks:
            return 0
        if tick >= self.refresh_ticks:
            return tick // self.refresh_ticks * self.refresh_ticks
        # 16, 24, 32, 48, 64, 96 ...: the baseline is re-estimated whenever the history
        # has grown by half, while it is short.
        c = self.min_ticks
        while True:
            doubled = c % self.min_ticks == 0 and _is_power_of_two(c // self.min_ticks)
            nxt = c * 3 // 2 if doubled else c // 3 * 4
            if nxt > tick or nxt >= self.refresh_ticks:
                return c
            c = nxt

    def history_ticks(self, n_servers: int, n_metrics: int) -> int:
        """Ticks of history a baseline reads for a fleet of this size."""
        cells = max(1, n_servers) * max(1, n_metrics)
        return int(max(self.min_ticks, min(self.max_ticks, self.max_cells // cells)))

    def key(self) -> str:
        return (
            f"baseline({self.max_ticks},{self.min_ticks},{self.refresh_ticks},{self.max_cells},{self.tail_quantile!r})"
        )


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class Baseline:
    """Each server's normal for every metric, estimated once at ``checkpoint``.

    Arrays are float32 ``(M, N)`` (metrics x servers) in ``metrics`` order; ``seasonal``
    is ``(B, M, N)`` offsets per time bin of ``period_s`` (None without a rhythm).
    """

    metrics: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    tail_hi: np.ndarray
    tail_lo: np.ndarray
    present: np.ndarray  # bool (M, N): the server reported this metric in the history
    history_ticks: int
    checkpoint: int
    seasonal: np.ndarray | None = None
    period_s: float = 0.0

    @property
    def n_bins(self) -> int:
        return 0 if self.seasonal is None else int(self.seasonal.shape[0])

    def expected(self, timestamps: np.ndarray) -> np.ndarray:
        """The normal level at each timestamp, ``(T, M, N)`` (broadcast when no rhythm)."""
        if self.seasonal is None:
            return self.center[None]
        bins = season_bins(timestamps, self.period_s, self.n_bins)
        return self.center[None] + self.seasonal[bins]

    def zscores(self, window: Window, ticks: int | None = None) -> np.ndarray:
        """The window's last ``ticks`` ticks as robust z-scores, ``(T, M, N)`` (NaN: missing)."""
        x = stack_metrics(window, self.metrics, ticks)
        ts = np.asarray(window.timestamps)[-x.shape[0] :] if x.shape[0] else np.asarray(window.timestamps)[:0]
        return (x - self.expected(ts)) / self.scale[None]


def stack_metrics(window: Window, metrics: tuple[str, ...], ticks: int | None = None) -> np.ndarray:
    """``(T, M, N)`` float32 of the window's last ``ticks`` ticks of ``metrics``."""
    n = window.n_ticks if ticks is None else min(int(ticks), window.n_ticks)
    if not metrics:
        return np.zeros((n, 0, window.n_servers), dtype=np.float32)
    return np.stack([np.asarray(window.metric(m), dtype=np.float32)[window.n_ticks - n :] for m in metrics], axis=1)


def season_bins(timestamps: np.ndarray, period_s: float, n_bins: int) -> np.ndarray:
    """Which of ``n_bins`` equal bins of the period (UTC, from the epoch) each timestamp is in."""
    seconds = np.asarray(timestamps).astype("datetime64[s]").astype(np.int64)
    period = int(period_s)
    return ((seconds % period) * n_bins // period).astype(np.intp)


def readings(z: np.ndarray, k: int = READING_TICKS) -> tuple[np.ndarray, np.ndarray]:
    """A server's current level, read two ways from z-scores ``(T, M, N)``, for each tick
    that has ``k - 1`` ticks before it (``(T - k + 1, M, N)`` each):

    * ``up``: for rises, blending the *lowest* of the last ``k`` ticks (raised only when all
      of them are), their median and the latest tick;
    * ``down``: for falls, the same with the *highest* of them.

    Missing ticks are skipped; a reading is NaN only when all ``k`` ticks are missing.
    """
    t = z.shape[0]
    if t < k:
        k = max(1, t)
    if t == 0:
        return z, z
    parts = np.stack([z[i : t - k + 1 + i] for i in range(k)])  # (k, T', M, N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.fmin.reduce(parts, axis=0)
        high = np.fmax.reduce(parts, axis=0)
        mid = nanmedian_first_axis(parts) if k > 1 else parts[0]
    latest = np.where(np.isnan(parts[-1]), mid, parts[-1])
    a, b, c = (np.float32(w) for w in READING_BLEND)
    return a * low + b * mid + c * latest, a * high + b * mid + c * latest


def nanmedian_first_axis(values: np.ndarray) -> np.ndarray:
    """NaN-ignoring median over the (short) first axis; NaN where every value is.

    Much faster than ``np.nanmedian`` on the few ticks a reading spans (one sort; for three
    values a min/max network, no sort at all)."""
    if values.shape[0] == 3:
        a, b, c = values
        middle = np.fmax(np.fmin(a, b), np.fmin(np.fmax(a, b), c))
        valid = (~np.isnan(values)).sum(axis=0)
        if (valid == 3).all():
            return middle
        mean = np.nansum(values, axis=0) / np.maximum(valid, 1).astype(values.dtype)
        return np.where(valid == 3, middle, np.where(valid > 0, mean, np.nan)).astype(values.dtype, copy=False)
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = np.isfinite(ordered).sum(axis=0)
    lo = np.maximum(valid - 1, 0) // 2
    hi = valid // 2
    a = np.take_along_axis(ordered, lo[None], axis=0)[0]
    b = np.take_along_axis(ordered, np.minimum(hi, values.shape[0] - 1)[None], axis=0)[0]
    out = np.where(valid % 2 == 1, a, 0.5 * (a + b))
    return np.where(valid > 0, out, np.nan).astype(values.dtype, copy=False)


def nanquantiles_first_axis(values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """NaN-ignoring quantiles over the first axis, ``(len(qs), ...)``: numpy's ``nanquantile``
    (its default linear method) from one sort of the whole array, instead of one call per
    column (numpy's own runs a Python loop over the columns when NaNs are present: 25x
    slower on a fleet). NaN where every value is NaN."""
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = (~np.isnan(ordered)).sum(axis=0)
    last = np.maximum(valid - 1, 0)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.dtype(np.float64)
    out = np.empty((len(qs), *values.shape[1:]), dtype=dtype)
    for k, q in enumerate(qs):
        pos = last * q
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, last)
        t = pos - lo
        a = np.take_along_axis(ordered, lo[None], axis=0)[0]
        b = np.take_along_axis(ordered, hi[None], axis=0)[0]
        diff = b - a
        value = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
        out[k] = np.where(valid > 0, value, np.nan)
    return out


def profile_median(values: np.ndarray, profiles: np.ndarray, min_peers: int) -> np.ndarray | None:
    """Each server's profile median of ``values`` ``(..., N)`` over its peers (last axis);
    NaN where its profile has fewer than ``min_peers`` servers; None when none has that many."""
    if profiles.shape[0] < min_peers:
        return None
    names, codes = np.unique(np.asarray(profiles).astype(str), return_inverse=True)
    codes = codes.reshape(-1)
    counts = np.bincount(codes, minlength=len(names))
    if counts.max() < min_peers:
        return None
    out = np.full(values.shape, np.nan, dtype=values.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for g in np.flatnonzero(counts >= min_peers):
            members = codes == g
            out[..., members] = np.nanmedian(values[..., members], axis=-1, keepdims=True)
    return out


def own_baseline(model: Any, window: Window) -> Baseline | None:
    """A baseline from the window's own older ticks (all but the last ``READING_TICKS``),
    for a model called directly rather than through a scorer; None with fewer than the
    policy's ``min_ticks`` of them."""
    policy = model.baseline_policy
    older = window.n_ticks - READING_TICKS
    if older < policy.min_ticks:
        return None
    cut = slice(0, older)
    history = replace(
        window,
        timestamps=np.asarray(window.timestamps)[cut],
        metrics={k: np.asarray(v)[cut] for k, v in window.metrics.items()},
        phase=None,
        baseline=None,
    )
    return model.fit_baseline(history, window.end - READING_TICKS + 1)


def fit_baseline(history: Window, metrics: tuple[str, ...], policy: BaselinePolicy, checkpoint: int) -> Baseline:
    """Estimate every server's normal for ``metrics`` from ``history`` (the ticks before
    ``checkpoint``); vectorised over servers and metrics."""
    x = stack_metrics(history, metrics)  # (L, M, N)
    ts = np.asarray(history.timestamps)
    n_ticks = x.shape[0]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        present = np.isfinite(x).any(axis=0)
        center = nanquantiles_first_axis(x, (0.5,))[0]
        resid = x - center[None]
        seasonal, period = _rhythm(resid, ts, history.tick_seconds, center)
        if seasonal is not None:
            resid = resid - seasonal[season_bins(ts, period, seasonal.shape[0])]
        q25, q75, lo1, hi99 = nanquantiles_first_axis(resid, (0.25, 0.75, 0.01, 0.99))
        iqr_sd = (q75 - q25) / 1.349
        mid = nanquantiles_first_axis(resid, (0.5,))[0]
        mad_sd = nanquantiles_first_axis(np.abs(resid - mid[None]), (0.5,))[0] * 1.4826
        floor = np.fmax(RELATIVE_FLOOR * np.abs(center), RANGE_FLOOR * (hi99 - lo1))
        scale = np.fmax(np.fmax(np.nan_to_num(iqr_sd), np.nan_to_num(mad_sd)), np.nan_to_num(floor))
        units = np.array([UNIT_FLOORS.get(m, ABSOLUTE_FLOOR) for m in metrics], dtype=np.float64)[:, None]
        scale = np.fmax(scale, units).astype(np.float32)
        up, down = readings((resid / scale[None]).astype(np.float32))
        q = policy.tail_quantile
        if up.shape[0] >= 2:
            tail_hi = nanquantiles_first_axis(up, (q,))[0]
            tail_lo = nanquantiles_first_axis(down, (1.0 - q,))[0]
        else:
            tail_hi = np.full(center.shape, np.nan)
            tail_lo = np.full(center.shape, np.nan)
    tail_hi = np.fmax(np.nan_to_num(tail_hi, nan=MIN_TAIL), MIN_TAIL).astype(np.float32)
    tail_lo = np.fmin(np.nan_to_num(tail_lo, nan=-MIN_TAIL), -MIN_TAIL).astype(np.float32)
    return Baseline(
        metrics=tuple(metrics),
        center=np.nan_to_num(center).astype(np.float32),
        scale=scale,
        tail_hi=tail_hi,
        tail_lo=tail_lo,
        present=present,
        history_ticks=n_ticks,
        checkpoint=int(checkpoint),
        seasonal=None if seasonal is None else seasonal.astype(np.float32),
        period_s=period,
    )


def _rhythm(resid: np.ndarray, ts: np.ndarray, tick_s: float, center: np.ndarray) -> tuple[np.ndarray | None, float]:
    """A daily or weekly profile of the residuals, where the history spans three periods
    and the profile cuts a metric's spread to ``SEASON_GAIN`` of what it was (else 0 for
    that metric); the period that leaves the least spread on average wins."""
    n_ticks = resid.shape[0]
    if n_ticks < 3 or tick_s <= 0:
        return None, 0.0
    span = float(np.asarray(ts[-1] - ts[0]).astype("timedelta64[ms]").astype(np.int64)) / 1000.0
    q25, q75 = nanquantiles_first_axis(resid, (0.25, 0.75))
    spread = q75 - q25
    best: tuple[float, np.ndarray, float] | None = None
    for period, bin_s in ((DAY_S, 1800.0), (WEEK_S, 3600.0)):
        if span < 3 * period or tick_s > period / 12:
            continue
        n_bins = int(period // max(bin_s, tick_s))
        bins = season_bins(ts, period, n_bins)
        profile = np.zeros((n_bins, *resid.shape[1:]), dtype=np.float64)
        counts = np.bincount(bins, minlength=n_bins)
        order = np.argsort(bins, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)])
        for j in np.flatnonzero(counts >= 3):
            profile[j] = nanquantiles_first_axis(resid[order[starts[j] : starts[j + 1]]], (0.5,))[0]
        profile = np.nan_to_num(profile)
        left = resid - profile[bins]
        a, b = nanquantiles_first_axis(left, (0.25, 0.75))
        gain = (b - a) / np.where(spread > 0, spread, np.inf)
        gain = np.nan_to_num(gain, nan=1.0)
        useful = gain < SEASON_GAIN
        score = float(np.where(useful, gain, 1.0).mean())  # the spread left, on average
        if useful.any() and (best is None or score < best[0]):
            profile[:, ~useful] = 0.0
            best = (score, profile, period)
    if best is None:
        return None, 0.0
    return best[1], best[2]


__all__ = [
    "Baseline",
    "BaselinePolicy",
    "fit_baseline",
    "nanmedian_first_axis",
    "nanquantiles_first_axis",
    "own_baseline",
    "profile_median",
    "readings",
    "season_bins",
    "stack_metrics",
]
