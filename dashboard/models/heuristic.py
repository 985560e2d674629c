"""The transparent heuristic risk model: the seed's ModelAdapter, with baselines and trends.

The seed combined CPU, latency and error-rate risk. This version asks, per metric
(CPU, latency, error rate, memory, GC pauses):

* how far a server's current level (median of its last few ticks, so a one- or
  two-tick burst does not count) has moved from **its own normal** (median and
  IQR-based spread of the older half of its window), in robust standard deviations;
* how much more it moved than its **profile peers** did (a fleet-wide shift is less
  alarming than one server moving alone);
* how fast it is rising now (**trend**), and whether it sits at an absolutely
  dangerous level (the seed's warning/critical thresholds).

Deviations pass a soft noise threshold and add up to evidence ``z``; the probability is
``1 - exp(-z)``, damped when metrics fall fast back towards normal (recovery), then split
over the factors in proportion to their evidence, so the contributions add up exactly to
the probability. Until a server has a few ticks of baseline, its deviations count only
in part (warm-up). Every step is vectorised over servers; only metrics are read.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..sources.base import Window
from .base import Parameter, RiskModel, RiskScores

# Metric -> the factor it feeds. All of them are "higher is worse".
METRIC_FACTORS: dict[str, str] = {
    "cpu_pct": "cpu",
    "latency_ms": "latency",
    "error_rate": "error_rate",
    "mem_pct": "memory",
    "gc_pause_ms": "gc",
}

# Smallest spread assumed for each metric: an absolute floor in the metric's unit plus
# a share of the baseline level (latency, error rate and GC pauses scale with it), so a
# metric that is flat in its baseline must still move by a meaningful amount.
SPREAD_FLOOR = np.array([1.0, 0.05, 0.0005, 0.5, 0.1], dtype=np.float32)
RELATIVE_FLOOR = np.array([0.04, 0.08, 0.15, 0.01, 0.10], dtype=np.float32)
_Z_LIMIT = np.float32(1e4)
_KNEE_SHARPNESS = 2.0  # softplus sharpness of the noise threshold, per unit of z
# Baseline ticks needed before deviations count fully; fewer ticks are too few to
# know a server's normal, so their evidence is scaled down (warm-up).
WARM_UP_FROM, WARM_UP_FULL = 3, 10
# The seed's absolute danger levels (warning .. critical): evidence starts at LEVEL_START
# and reaches one unit at LEVEL_FULL. Latency and GC have no unit-free level (NaN: unused).
LEVEL_START = np.array([80.0, np.nan, 0.05, 85.0, np.nan], dtype=np.float32)
LEVEL_FULL = np.array([95.0, np.nan, 0.20, 95.0, np.nan], dtype=np.float32)


class HeuristicModel(RiskModel):
    """CPU, latency, error-rate, memory and GC risk against each server's own normal and its peers."""

    name: ClassVar[str] = "heuristic"
    description: ClassVar[str] = (
        "Transparent heuristic: how far CPU, latency, error rate, memory and GC pauses have "
        "moved from each server's own baseline and from its profile peers, how fast they are "
        "rising, and whether they sit at dangerous levels. Reads metrics only; contributions "
        "add up to the probability."
    )
    history: ClassVar[int] = 60
    metrics: ClassVar[tuple[str, ...]] = tuple(METRIC_FACTORS)
    factors: ClassVar[tuple[str, ...]] = (*METRIC_FACTORS.values(), "trend")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("sensitivity", 1.0, "scales all evidence; higher flags servers sooner (and more often)", 0.1, 10.0),
        Parameter("z_threshold", 3.0, "deviation, in robust standard deviations, ignored as noise", 0.0, 10.0),
        Parameter("recent_ticks", 3, "ticks whose median is a server's current level", 1, 20),
        Parameter("trend_ticks", 6, "ticks over which the trend (rate of rise) is measured", 2, 30),
        Parameter("peer_weight", 0.5, "weight of rising more than profile peers", 0.0, 5.0),
        Parameter("trend_weight", 0.5, "weight of a fast rise", 0.0, 5.0),
        Parameter("recovery_weight", 0.5, "how much a fast fall back towards normal lowers the risk", 0.0, 5.0),
        Parameter("level_weight", 1.0, "weight of absolutely dangerous levels (CPU, memory, errors)", 0.0, 5.0),
    )

    def __init__(self, **params):
        super().__init__(**params)
        # Profile groups of the last server axis seen (a source's axis never changes).
        self._profile_cache: tuple[np.ndarray, _Groups] | None = None

    # ------------------------------------------------------------------
    def score(self, window: Window) -> RiskScores:
        # Missing values are expected: NaN flows through the arithmetic and is zeroed
        # where evidence is formed, so floating-point warnings would only be noise.
        with np.errstate(all="ignore"):
            return self._score(window)

    def _score(self, window: Window) -> RiskScores:
        p = self.params
        n = window.n_servers
        factors = HeuristicModel.factors  # subclasses add factors of their own on top
        n_factors = len(factors)
        if n == 0 or window.n_ticks == 0:
            return RiskScores(np.zeros(n), np.zeros((n, n_factors)), factors)

        arrays = [np.asarray(window.metric(m), dtype=np.float32)[-self.history :] for m in self.metrics]
        n_ticks = arrays[0].shape[0]
        recent_n = min(p["recent_ticks"], n_ticks)
        trend_n = min(p["trend_ticks"], n_ticks - 1)
        # The baseline is the older half of the window, kept clear of the recent ticks.
        base_n = max(1, min(n_ticks // 2, n_ticks - recent_n))

        # Medians, not means: a one- or two-tick burst must not look like a sustained rise.
        recent = _median_over_ticks([a[n_ticks - recent_n :] for a in arrays])  # (M, N)
        base_sorted = np.stack([a[:base_n].T for a in arrays])  # (M, N, base_n)
        base_sorted.sort(axis=-1)
        baseline, q25, q75 = _sorted_quantiles(base_sorted, (0.5, 0.25, 0.75))
        spread = _robust_spread(baseline, q25, q75)
        groups = self._profile_groups(window.profiles)
        m = len(arrays)
        change = recent - baseline
        peers = _group_medians(np.concatenate([spread, change]), groups)
        # A server is at least as noisy as a typical profile peer: guards against an
        # unluckily quiet baseline making ordinary noise look like a deviation.
        spread = np.fmax(spread, np.float32(0.7) * peers[:m])
        # Standard error of a median of `recent_n` ticks (about sqrt(pi/2) that of a mean).
        noise = spread * np.float32(np.sqrt(np.pi / 2.0 / recent_n) if recent_n > 2 else 1.0)

        z_own = change / noise
        z_peer = (change - peers[m:]) / noise
        if trend_n >= 1:
            lo = max(0, n_ticks - recent_n - trend_n)
            earlier = _median_over_ticks([a[lo : n_ticks - trend_n] for a in arrays])
            z_trend = (recent - earlier) / (noise * np.float32(np.sqrt(2.0)))
        else:
            z_trend = np.zeros_like(recent)

        z0 = np.float32(p["z_threshold"])
        own = _excess(z_own, z0)
        peer = _excess(z_peer, z0)
        trend = _excess(z_trend, z0)
        level = _level(recent)
        confidence = np.float32(np.clip((base_n - WARM_UP_FROM) / (WARM_UP_FULL - WARM_UP_FROM), 0.0, 1.0))
        relative = confidence * (own + np.float32(p["peer_weight"]) * peer)
        metric_evidence = relative + np.float32(p["level_weight"]) * level
        trend_evidence = confidence * np.float32(p["trend_weight"]) * trend.sum(axis=0)

        evidence = np.empty((n, n_factors), dtype=np.float64)
        evidence[:, :-1] = metric_evidence.T
        evidence[:, -1] = trend_evidence
        # Metrics falling fast towards normal mean the incident is easing: damp every
        # factor alike, so the explanation keeps its proportions.
        falling = confidence * _excess(-z_trend, z0).sum(axis=0)
        damping = np.exp(-np.float32(p["recovery_weight"]) * falling)
        evidence *= p["sensitivity"] * damping[:, None]
        return _attribute(evidence, factors)

    # ------------------------------------------------------------------
    def _profile_groups(self, profiles: np.ndarray) -> _Groups:
        cached = self._profile_cache
        if cached is not None and cached[0] is profiles:
            return cached[1]
        groups = _Groups.of(profiles)
        self._profile_cache = (profiles, groups)
        return groups


class _Groups:
    """Servers grouped by profile: the permutation that makes each group contiguous."""

    def __init__(self, codes: np.ndarray):
        self.codes = codes.astype(np.intp)
        self.order = np.argsort(self.codes, kind="stable")
        self.sorted_codes = self.codes[self.order]
        self.n_groups = int(self.codes.max()) + 1 if self.codes.size else 0
        self.starts = np.searchsorted(self.sorted_codes, np.arange(self.n_groups))
        self.offset = (2.0 * self.sorted_codes).astype(np.float64)

    @classmethod
    def of(cls, profiles: np.ndarray) -> _Groups:
        _, codes = np.unique(np.asarray(profiles).astype(str), return_inverse=True)
        return cls(codes.reshape(-1))


def _group_medians(values: np.ndarray, groups: _Groups) -> np.ndarray:
    """Each server's profile median of every row of ``values`` (K, N); NaN-ignoring.

    One sort for all rows and groups: values are squeezed into [0, 1) per row and
    offset by twice their group code, so sorting orders by group, then by value.
    """
    v = values[:, groups.order].astype(np.float64)
    valid = ~np.isnan(v)
    lo = np.nanmin(np.where(valid, v, np.inf), axis=1, keepdims=True)
    hi = np.nanmax(np.where(valid, v, -np.inf), axis=1, keepdims=True)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    width = np.where(np.isfinite(hi) & (hi > lo), hi - lo, 1.0)
    squeezed = np.where(valid, (v - lo) / width * 0.999, 0.9995)  # missing values sort last
    key = squeezed + groups.offset[None, :]
    key.sort(axis=-1)
    counts = np.add.reduceat(valid, groups.starts, axis=1) if groups.n_groups else np.zeros((v.shape[0], 0), int)
    first = np.broadcast_to(groups.starts[None, :], counts.shape)
    a = first + np.maximum(counts - 1, 0) // 2
    b = first + counts // 2
    offsets = 2.0 * np.arange(groups.n_groups)[None, :]
    med = 0.5 * (np.take_along_axis(key, a, axis=1) + np.take_along_axis(key, b, axis=1)) - offsets
    med = np.where(counts > 0, med / 0.999 * width + lo, 0.0)
    return med[:, groups.codes].astype(np.float32)


def _median_over_ticks(blocks: list[np.ndarray]) -> np.ndarray:
    """NaN-ignoring median over ticks of each metric's ``(k, N)`` block, as ``(M, N)``."""
    stack = np.stack(blocks)  # (M, k, N)
    k = stack.shape[1]
    if k == 1:
        return stack[:, 0]
    if k == 3 and not np.isnan(stack).any():
        a, b, c = stack[:, 0], stack[:, 1], stack[:, 2]
        return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    ordered = np.ascontiguousarray(stack.transpose(0, 2, 1))
    ordered.sort(axis=-1)
    return _sorted_quantiles(ordered, (0.5,))[0]


def _sorted_quantiles(sorted_values: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Linear-interpolated quantiles along the last axis of an array sorted there (NaN last)."""
    length = sorted_values.shape[-1]
    out = []
    for q in qs:
        pos = q * (length - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, length - 1)
        frac = np.float32(pos - lo)
        a = sorted_values[..., lo]
        out.append(a + (sorted_values[..., hi] - a) * frac if frac else a.copy())
    # Rows with missing values (NaN sorts last) need positions of their own.
    gappy = np.isnan(sorted_values[..., -1])
    if gappy.any():
        for full, part in zip(out, _gappy_quantiles(sorted_values[gappy], qs), strict=True):
            full[gappy] = part
    return out


def _gappy_quantiles(rows: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Quantiles of sorted ``(K, L)`` rows that end in NaN: each over its valid prefix."""
    valid = (~np.isnan(rows)).sum(axis=-1)
    last = max(valid.max() - 1, 0) if valid.size else 0
    out = []
    for q in qs:
        pos = q * np.maximum(valid - 1, 0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
        frac = (pos - lo).astype(np.float32)
        a = np.take_along_axis(rows, np.minimum(lo, last)[:, None], axis=-1)[:, 0]
        b = np.take_along_axis(rows, np.minimum(hi, last)[:, None], axis=-1)[:, 0]
        value = a + (b - a) * frac
        out.append(np.where(valid > 0, value, np.float32(np.nan)).astype(np.float32))
    return out


def _robust_spread(baseline: np.ndarray, q25: np.ndarray, q75: np.ndarray) -> np.ndarray:
    """A robust standard deviation (IQR-based) with absolute and relative floors per metric."""
    iqr_sd = (q75 - q25) / np.float32(1.349)
    floor = SPREAD_FLOOR[:, None] + RELATIVE_FLOOR[:, None] * np.abs(np.nan_to_num(baseline))
    return np.fmax(np.nan_to_num(iqr_sd, nan=0.0), floor).astype(np.float32)


def _excess(z: np.ndarray, z0: np.float32) -> np.ndarray:
    """Evidence from a z-score: a soft threshold at ``z0``, then growing linearly (per ``z0`` units).

    The soft knee (a sharp softplus) keeps ordinary noise near zero while letting a
    deviation just under the threshold rank above one that is not there at all.
    """
    scale = np.float32(max(float(z0), 1.0))
    k = np.float32(_KNEE_SHARPNESS)
    z = np.clip(z, -_Z_LIMIT, _Z_LIMIT)  # an absurd (or infinite) reading is just "very high"
    e = np.logaddexp(np.float32(0.0), k * (z - z0)) / (k * scale)
    return np.where(np.isfinite(e), e, np.float32(0.0)).astype(np.float32)  # NaN -> 0


def _level(recent: np.ndarray) -> np.ndarray:
    """The seed's absolute danger levels, 0 below the start, 1 at the full level (unbounded above)."""
    start = LEVEL_START[:, None]
    full = LEVEL_FULL[:, None]
    with np.errstate(invalid="ignore"):
        e = (recent - start) / (full - start)
    return np.where(e > 0, e, np.float32(0.0)).astype(np.float32)


def _attribute(evidence: np.ndarray, factors: tuple[str, ...]) -> RiskScores:
    """Squash total evidence to a probability and split it over factors in proportion."""
    evidence = np.where(evidence > 0, np.minimum(evidence, 1e6), 0.0)  # NaN -> 0, inf -> huge
    total = evidence.sum(axis=1)
    probability = -np.expm1(-total)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[:, None] > 0, evidence / total[:, None], 0.0)
    contributions = share * probability[:, None]
    # Defined as the sum of the contributions, so the explanation adds up exactly.
    probability = np.clip(contributions.sum(axis=1), 0.0, 1.0)
    return RiskScores(probability=probability, contributions=contributions, factors=factors)
