"""The transparent heuristic risk model: the seed's ModelAdapter, with baselines and trends.

The seed combined CPU, latency and error-rate risk. This version asks, per metric
(CPU, latency, error rate, memory, GC pauses):

* how far a server's current level has moved from **its own normal** (median and
  IQR-based spread of the older half of its window), in robust standard deviations;
* how much more it moved than its **profile peers** did (a fleet-wide shift is less
  alarming than one server moving alone);
* how fast it is rising now (**trend**), and whether it sits at an absolutely
  dangerous level (the seed's warning/critical thresholds).

Persistence matters more than size: the current level is read three ways and blended,
mostly from the *sustained* level (the lowest of the last few ticks, raised only when
all of them are), partly from the median of the last few ticks and a little from the
last tick alone. A one- or two-tick burst therefore yields at most half the evidence of
the same rise held for a few ticks, and a metric must stay raised to count in full.

Deviations pass a soft noise threshold; each metric's evidence grows with the square
root of its excess (so a metric with a very narrow normal cannot outvote the rest on
its own), and the evidence adds up over metrics to ``E``. The probability is the graded
curve ``E^k / (E^k + H^k)`` (a logistic in ``log E``: 0.5 at ``H``, 0.8 at twice ``H``),
not a switch: ordinary noise and short spikes stay well below the alert threshold, an
escalation climbs through it over a few ticks and a full incident sits around 0.9.
Evidence is damped when metrics have settled back towards normal (recovery), then the
probability is split over the factors in proportion to their evidence, so the
contributions add up exactly to it. A server's score depends on the rest of the fleet
only through its profile peers' medians, never on the fleet's size. Until a server has a
few ticks of baseline, its deviations count only in part (warm-up). Every step is
vectorised over servers; only metrics are read.
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
# How the sustained, recent and latest levels are blended (see ``_score``). Over half
# the weight needs a rise that outlasts a burst, so a 1-2 tick spike alone yields at
# most half the evidence of the same rise held for `persist_ticks` ticks.
LEVEL_BLEND = (0.5, 0.4, 0.1)
# Evidence -> probability: p = E^k / (E^k + EVIDENCE_HALF^k), a logistic curve in log E.
# At EVIDENCE_HALF the probability is 0.5; twice that gives 0.8, three times 0.9, while
# half of it gives 0.2. Calibrated on the built-in scenarios: a 2-tick spike stays near
# 0.1-0.3, an escalation crosses 0.5 a few ticks in and a peak sits around 0.9.
EVIDENCE_HALF = 6.0
EVIDENCE_STEEPNESS = 2.0
# The seed's absolute danger levels (warning .. critical): evidence starts at LEVEL_START
# and reaches EVIDENCE_HALF at LEVEL_FULL (so a critical level alone means even odds).
# Latency and GC have no unit-free level (NaN: unused).
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
        Parameter("recent_ticks", 3, "ticks whose median is a server's recent level (weighs less than the sustained one)", 1, 20),
        Parameter(
            "persist_ticks", 3, "ticks a metric must stay raised to count in full (longer than a 1-2 tick burst)", 1, 20
        ),
        Parameter("trend_ticks", 6, "ticks over which the trend (rate of rise) is measured", 2, 30),
        Parameter("peer_weight", 0.5, "weight of rising more than profile peers", 0.0, 5.0),
        Parameter("trend_weight", 0.5, "weight of a fast rise", 0.0, 5.0),
        Parameter("recovery_weight", 0.5, "how much a settled fall back towards normal lowers the risk", 0.0, 5.0),
        Parameter("level_weight", 1.0, "weight of absolutely dangerous levels (CPU, memory, errors); 1: a critical level alone means even odds", 0.0, 5.0),
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
        persist_n = min(p["persist_ticks"], n_ticks)
        trend_n = min(p["trend_ticks"], n_ticks - 1)
        # The baseline is the older half of the window, kept clear of the recent ticks.
        base_n = max(1, min(n_ticks // 2, n_ticks - recent_n))

        # Three readings of a server's current level, from most to least spike-proof:
        # * sustained: the lowest of the last `persist_ticks` ticks - raised only when
        #   every one of them is, so the generator's 1-2 tick bursts leave it alone;
        # * recent: the median of the last `recent_ticks` ticks (medians, not means);
        # * latest: the last tick alone.
        # Likewise a fall counts once every one of those ticks is lower (`settled`, their
        # highest): a server restarting for a tick or two has not recovered.
        sustained, settled = _extremes_over_ticks([a[n_ticks - persist_n :] for a in arrays])  # (M, N)
        recent = _median_over_ticks([a[n_ticks - recent_n :] for a in arrays])
        latest = np.stack([a[-1] for a in arrays])
        base_sorted = np.stack([a[:base_n].T for a in arrays])  # (M, N, base_n)
        base_sorted.sort(axis=-1)
        baseline, q25, q75 = _sorted_quantiles(base_sorted, (0.5, 0.25, 0.75))
        spread = _robust_spread(baseline, q25, q75)
        groups = self._profile_groups(window.profiles)
        m = len(arrays)
        change = sustained - baseline
        change_recent = recent - baseline
        peers = _group_medians(np.concatenate([spread, change, change_recent]), groups)
        peer_spread, peer_change, peer_recent = peers[:m], peers[m : 2 * m], peers[2 * m :]
        # A server is at least as noisy as a typical profile peer: guards against an
        # unluckily quiet baseline making ordinary noise look like a deviation.
        spread = np.fmax(spread, np.float32(0.7) * peer_spread)
        # Standard error of a median of `recent_n` ticks (about sqrt(pi/2) that of a mean).
        noise = spread * np.float32(np.sqrt(np.pi / 2.0 / recent_n) if recent_n > 2 else 1.0)

        z0 = np.float32(p["z_threshold"])
        peer_weight = np.float32(p["peer_weight"])

        def deviation(shift: np.ndarray, peer_shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
            """Evidence that a level moved from the server's own normal, and more than its peers'."""
            own = _excess(shift / scale, z0)
            peer = _excess((shift - peer_shift) / scale, z0)
            return _compress(own + peer_weight * peer)

        # The latest tick is compared with the peers' recent shift (one group median fewer).
        w_sustained, w_recent, w_latest = (np.float32(x) for x in LEVEL_BLEND)
        relative = (
            w_sustained * deviation(change, peer_change, spread)
            + w_recent * deviation(change_recent, peer_recent, noise)
            + w_latest * deviation(latest - baseline, peer_recent, spread)
        )
        if trend_n >= 1:
            lo = max(0, n_ticks - recent_n - trend_n)
            earlier = _median_over_ticks([a[lo : n_ticks - trend_n] for a in arrays])
        else:
            earlier = recent
        # A sustained rise since `trend_ticks` ago (a burst does not make a trend).
        trend = _compress(_excess((sustained - earlier) / (spread * np.float32(np.sqrt(2.0))), z0))
        # Danger levels are absolute (a healthy server never reaches them), so the recent
        # median serves; at the critical level alone a server is at even odds.
        level = _level(recent) * np.float32(EVIDENCE_HALF)
        confidence = np.float32(np.clip((base_n - WARM_UP_FROM) / (WARM_UP_FULL - WARM_UP_FROM), 0.0, 1.0))
        metric_evidence = confidence * relative + np.float32(p["level_weight"]) * level
        trend_evidence = confidence * np.float32(p["trend_weight"]) * trend.sum(axis=0)

        evidence = np.empty((n, n_factors), dtype=np.float64)
        evidence[:, :-1] = metric_evidence.T
        evidence[:, -1] = trend_evidence
        # Metrics falling back towards normal mean the incident is easing: per metric
        # that was clearly raised `trend_ticks` ago, the share of that rise given back
        # since (0..1, unit-free, so a noisy metric's wobble at its peak counts little).
        # Damp every factor alike, so the explanation keeps its proportions.
        raised = earlier - baseline
        given_back = (earlier - settled) / raised
        given_back = np.where((raised > z0 * noise) & (given_back > 0), np.minimum(given_back, 1.0), 0.0)
        falling = confidence * given_back.sum(axis=0)
        damping = np.exp(-np.float32(p["recovery_weight"]) * falling)
        evidence *= p["sensitivity"] * damping[:, None]
        return _attribute_graded(evidence, factors)

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


def _extremes_over_ticks(blocks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """NaN-ignoring minimum and maximum over ticks of each metric's ``(k, N)`` block, as ``(M, N)``.

    NaN only where every tick is missing.
    """
    stack = np.stack(blocks)  # (M, k, N)
    if stack.shape[1] == 1:
        return stack[:, 0], stack[:, 0]
    return np.fmin.reduce(stack, axis=1), np.fmax.reduce(stack, axis=1)


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
    x = np.clip(z, -_Z_LIMIT, _Z_LIMIT)  # an absurd (or infinite) reading is just "very high"
    x -= z0
    x *= k
    # softplus(x) = max(x, 0) + log1p(exp(-|x|)), in place (np.logaddexp is several times slower)
    e = np.maximum(x, np.float32(0.0))
    np.abs(x, out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    np.log1p(x, out=x)
    e += x
    e *= np.float32(1.0) / (k * scale)
    return np.where(np.isnan(e), np.float32(0.0), e).astype(np.float32, copy=False)  # NaN -> 0


def _compress(evidence: np.ndarray) -> np.ndarray:
    """Square root of one metric's evidence: it keeps growing with the deviation, but a
    metric with a very narrow normal (error rate) cannot outvote the others on its own."""
    return np.sqrt(evidence)


def _level(recent: np.ndarray) -> np.ndarray:
    """The seed's absolute danger levels, 0 below the start, 1 at the full level (unbounded above)."""
    start = LEVEL_START[:, None]
    full = LEVEL_FULL[:, None]
    with np.errstate(invalid="ignore"):
        e = (recent - start) / (full - start)
    return np.where(e > 0, e, np.float32(0.0)).astype(np.float32)


def attribute_evidence(evidence: np.ndarray, factors: tuple[str, ...]) -> RiskScores:
    """Squash total evidence to ``1 - exp(-E)`` and split it over factors in proportion.

    Independent risks combine on this scale (``1 - (1 - p1)(1 - p2)``); the phase-aware
    model uses it to add its phase risk to the heuristic's probability.
    """
    evidence = np.where(evidence > 0, np.minimum(evidence, 1e6), 0.0)  # NaN -> 0, inf -> huge
    total = evidence.sum(axis=1)
    probability = -np.expm1(-total)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[:, None] > 0, evidence / total[:, None], 0.0)
    contributions = share * probability[:, None]
    # Defined as the sum of the contributions, so the explanation adds up exactly.
    probability = np.clip(contributions.sum(axis=1), 0.0, 1.0)
    return RiskScores(probability=probability, contributions=contributions, factors=factors)


def _attribute_graded(evidence: np.ndarray, factors: tuple[str, ...]) -> RiskScores:
    """Total evidence to a graded probability, split over factors in proportion.

    ``p = E^k / (E^k + H^k)`` with ``H = EVIDENCE_HALF`` and ``k = EVIDENCE_STEEPNESS``:
    0 without evidence, 0.5 at ``H``, approaching 1 only as evidence keeps growing.
    """
    evidence = np.where(evidence > 0, np.minimum(evidence, 1e6), 0.0)  # NaN -> 0, inf -> huge
    total = evidence.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total > 0, EVIDENCE_HALF / total, np.inf)
        probability = 1.0 / (1.0 + ratio**EVIDENCE_STEEPNESS)
        share = np.where(total[:, None] > 0, evidence / total[:, None], 0.0)
    contributions = share * probability[:, None]
    # Defined as the sum of the contributions, so the explanation adds up exactly.
    probability = np.clip(contributions.sum(axis=1), 0.0, 1.0)
    return RiskScores(probability=probability, contributions=contributions, factors=factors)
