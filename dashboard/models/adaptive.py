"""The default risk model: every metric against each server's own normal, learned from its history.

Each server's normal comes from its own long history (:mod:`dashboard.models.baselines`:
robust level and spread, daily or weekly rhythm where the history is long enough, and how
far its readings normally stray), estimated once per source and checkpoint, never per
tick. At a tick the model reads each metric's current level (a blend that a one- or
two-tick burst barely moves), as a robust z-score against that normal, and asks how far
beyond the server's *own usual extremes* it is (``u``: 0 at the usual extreme, 1 at twice
as far). So a server that always runs at 95% CPU is normal, a quiet server's doubling is
not invisible, and a bursty metric must go further than its bursts to count.

* **Every metric present** counts: the eight core metrics and the extra metrics the data
  keeps (NAB's ``value``, SMD's ``m00..m37``). Extra metrics count in both directions.
* **Direction knowledge** for the core metrics: latency, errors and GC pauses count when
  they rise; CPU, memory, disk and traffic rising is *load*, which counts at half weight
  while the server's symptom metrics (latency, errors) are present and calm, and then
  cannot raise an alert on its own (alert on symptoms, not causes: a batch job or a busy
  hour is not an incident); CPU and
  traffic *falling* count only while a symptom rises (a quiet failure).
* **Peers:** on fleets, a rise shared by the server's profile peers (a busy hour across a
  tier) counts less than one it makes alone.
* **Absolute levels** add risk only where the metric's meaning makes them dangerous: an
  error share from 5% (even odds at 20%) and memory from 92% (even odds at 99%).
* Evidence per metric is a soft excess over ``u = 0``; over metrics it adds up as the
  largest plus half of the others (several metrics moving together corroborate, 38 noisy
  ones do not add up to an incident). The probability is ``E^2 / (E^2 + H^2)`` and is split
  over the metrics in proportion to their weighted evidence, so the contributions add up
  exactly to it.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .. import schema
from ..sources.base import Window
from .base import Parameter, RiskModel, RiskScores
from .baselines import (
    READING_TICKS,
    Baseline,
    BaselinePolicy,
    fit_baseline,
    nanmedian_first_axis,
    own_baseline,
    profile_median,
    readings,
    stack_metrics,
)

SYMPTOMS = ("latency_ms", "error_rate", "gc_pause_ms")  # rising is bad
LOAD = ("cpu_pct", "mem_pct", "disk_io_mb_s", "net_in_mb_s", "net_out_mb_s")  # rising is load
QUIET_FAILURE = ("cpu_pct", "net_in_mb_s", "net_out_mb_s")  # falling while a symptom rises
SYMPTOM_GATES = ("latency_ms", "error_rate")  # present and calm: load counts at LOAD_WEIGHT
LOAD_WEIGHT = 0.5
LOAD_CAP = 0.6  # load alone, with symptoms calm, reaches at most this share of EVIDENCE_HALF
# Absolute danger levels (start, even odds), only where the meaning makes a level dangerous.
DANGER_LEVELS = {"error_rate": (0.05, 0.20), "mem_pct": (92.0, 99.0)}
KNEE = 8.0  # sharpness of the soft excess over u = 0 (evidence ~0.09 at the usual extreme)
OTHERS_WEIGHT = 0.5  # the largest evidence counts fully, the others at this weight
EVIDENCE_HALF = 0.5  # total evidence at which the probability is 0.5
MIN_PEERS = 4  # profile peers needed before a shared rise is discounted


def metrics_of(window: Window) -> tuple[str, ...]:
    """The metrics a window holds values for: core metrics with any value, then extras."""
    core = tuple(m for m in schema.METRIC_NAMES if m in window.metrics and np.isfinite(window.metrics[m]).any())
    return core + tuple(window.extra_metric_names)


class AdaptiveModel(RiskModel):
    """Every metric against each server's own normal (level, spread, rhythm, usual extremes)."""

    name: ClassVar[str] = "adaptive"
    description: ClassVar[str] = (
        "Adaptive default: every metric present (core and extra) against each server's own "
        "normal, learned once from its history (robust level and spread, daily or weekly "
        "rhythm, how far it usually strays), with direction knowledge for the core metrics, "
        "peers and danger levels for errors and memory. Contributions add up to the probability."
    )
    version: ClassVar[str] = "1"
    history: ClassVar[int] = READING_TICKS
    metrics: ClassVar[tuple[str, ...]] = ("*",)
    explains_subsets: ClassVar[bool] = True
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("sensitivity", 1.0, "scales all evidence; higher flags servers sooner (and more often)", 0.1, 10.0),
        Parameter("tail_quantile", 0.99, "how rare a reading of the server's history counts as its usual extreme", 0.9, 0.9999),
        Parameter("peer_weight", 0.5, "how much a rise shared by profile peers is discounted", 0.0, 1.0),
        Parameter("load_weight", LOAD_WEIGHT, "weight of load metrics (CPU, memory, disk, traffic) while symptoms are calm", 0.0, 1.0),
        Parameter("level_weight", 1.0, "weight of dangerous error and memory levels", 0.0, 5.0),
    )

    @property
    def baseline_policy(self) -> BaselinePolicy:
        return BaselinePolicy(tail_quantile=float(self.params["tail_quantile"]))

    def fit_baseline(self, history: Window, checkpoint: int) -> Baseline:
        return fit_baseline(history, metrics_of(history), self.baseline_policy, checkpoint)

    # ------------------------------------------------------------------
    def score(self, window: Window, explain: Any = None) -> RiskScores:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            baseline = window.baseline if isinstance(window.baseline, Baseline) else own_baseline(self, window)
            if baseline is None:
                factors = metrics_of(window)
                n = window.n_servers
                return RiskScores(np.zeros(n), np.zeros((n, len(factors))), factors)
            evidence = self.evidence(window, baseline)
            return attribute(evidence, baseline.metrics, explain, OTHERS_WEIGHT, EVIDENCE_HALF / self.params["sensitivity"])

    def evidence(self, window: Window, baseline: Baseline) -> np.ndarray:
        """Evidence per metric and server, ``(M, N)`` float64, >= 0."""
        z = baseline.zscores(window, READING_TICKS)  # (T, M, N)
        up, down = (r[-1] for r in readings(z))  # (M, N) each
        level = None
        if self.params["level_weight"]:
            recent = stack_metrics(window, baseline.metrics, READING_TICKS)
            level = nanmedian_first_axis(recent)
        return self.evidence_of(up, down, baseline, window.profiles, level)

    def evidence_of(
        self, up: np.ndarray, down: np.ndarray, baseline: Baseline, profiles: Any, level: np.ndarray | None
    ) -> np.ndarray:
        """Evidence ``(M, N)`` from the readings ``up``/``down`` ``(M, N)`` (z-scores) and
        the recent levels in the metrics' units (for the danger levels; None: not used).
        ``N`` may also be ticks of one server (its baseline's ``(M, 1)`` arrays broadcast,
        ``profiles`` None), which is how a long single series is scored at once."""
        metrics = baseline.metrics
        n = up.shape[1]
        w = np.float32(self.params["peer_weight"])
        if w and profiles is not None:
            peers_up = profile_median(up, profiles, MIN_PEERS)
            if peers_up is not None:
                peers_down = profile_median(down, profiles, MIN_PEERS)
                up = up - w * np.fmax(np.nan_to_num(peers_up), 0)
                down = down - w * np.fmin(np.nan_to_num(peers_down), 0)
        u_up = (up - baseline.tail_hi) / baseline.tail_hi
        u_down = (baseline.tail_lo - down) / -baseline.tail_lo
        e_up, e_down = soft_excess(u_up), soft_excess(u_down)
        index = {m: i for i, m in enumerate(metrics)}
        core = np.array([m in schema.METRIC_BY_NAME for m in metrics])
        e_down[core] = 0.0  # core metrics count in their known direction only
        symptoms = [index[m] for m in SYMPTOMS if m in index]
        rising = e_up[symptoms].max(axis=0) if symptoms else np.zeros(n)
        quiet = [index[m] for m in QUIET_FAILURE if m in index]
        if quiet:
            fall = soft_excess((baseline.tail_lo[quiet] - down[quiet]) / -baseline.tail_lo[quiet])
            e_down[quiet] = fall * np.clip(rising, 0.0, 1.0)
        gates = [index[m] for m in SYMPTOM_GATES if m in index]
        load = [index[m] for m in LOAD if m in index]
        if gates and load:
            # Alert on symptoms, not on load: while latency and errors are watched and calm,
            # load counts at ``load_weight`` and, together, stays below the alert threshold.
            watched = np.broadcast_to(baseline.present[gates].any(axis=0), (n,))
            calm = np.where(watched, 1.0 - np.clip(e_up[gates].max(axis=0), 0.0, 1.0), 0.0)
            e_up[load] *= (1.0 - (1.0 - self.params["load_weight"]) * calm)[None]
            total = e_up[load].sum(axis=0)
            cap = LOAD_CAP * EVIDENCE_HALF / np.maximum(calm, 1e-6)
            e_up[load] *= np.where(total > cap, cap / np.where(total > 0, total, 1.0), 1.0)[None]
        evidence = np.fmax(e_up, e_down).astype(np.float64)
        weight = self.params["level_weight"]
        if weight and level is not None:
            for metric, (start, full) in DANGER_LEVELS.items():
                if metric in index:
                    now = level[index[metric]]
                    danger = np.clip((now - start) / (full - start), 0.0, None) * EVIDENCE_HALF * weight
                    evidence[index[metric]] += np.nan_to_num(danger)
        evidence = np.where(baseline.present, evidence, 0.0)
        return np.nan_to_num(evidence, nan=0.0, posinf=1e6)


def soft_excess(u: np.ndarray) -> np.ndarray:
    """``softplus(KNEE * u) / KNEE``: ~u beyond the usual extreme, small but ranked below it."""
    x = np.clip(np.nan_to_num(u, nan=-1e3), -1e3, 1e4) * KNEE
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))) / KNEE


def attribute(
    evidence: np.ndarray, factors: tuple[str, ...], explain: Any, others: float, half: float
) -> RiskScores:
    """Evidence ``(M, N)`` to a probability and per-metric contributions that add up to it.

    Total evidence is the largest metric's plus ``others`` times the rest; the probability
    is ``E^2 / (E^2 + half^2)``; each metric's share of it is its weighted evidence's share.
    ``explain`` (None: every server; an int k: the k most probable; indices) says whose
    contributions to compute; the other rows are NaN.
    """
    n = evidence.shape[1]
    if evidence.shape[0] == 0:
        return RiskScores(np.zeros(n), np.zeros((n, 0)), factors)
    top = evidence.max(axis=0)
    total = top + others * (evidence.sum(axis=0) - top)
    probability = total**2 / (total**2 + half**2)
    rows = explained_rows(explain, probability)
    contributions = np.full((n, len(factors)), np.nan)
    if rows.size:
        e = evidence[:, rows]
        weights = others * e + (1.0 - others) * np.where(e == e.max(axis=0), e, 0.0)
        sums = weights.sum(axis=0)
        share = np.where(sums > 0, weights / np.where(sums > 0, sums, 1.0), 0.0)
        contributions[rows] = (share * probability[rows]).T
        probability[rows] = contributions[rows].sum(axis=1)  # exactly the sum of its parts
    return RiskScores(np.clip(probability, 0.0, 1.0), contributions, factors)


def explained_rows(explain: Any, probability: np.ndarray) -> np.ndarray:
    """Server indices whose contributions ``explain`` asks for (see :meth:`RiskModel.score`)."""
    n = probability.shape[0]
    if explain is None:
        return np.arange(n)
    if isinstance(explain, (int, np.integer)) and not isinstance(explain, bool):
        k = min(int(explain), n)
        if k <= 0:
            return np.zeros(0, dtype=np.intp)
        return np.sort(np.argsort(-np.nan_to_num(probability, nan=-1.0), kind="stable")[:k])
    rows = np.unique(np.asarray(explain, dtype=np.intp).reshape(-1))
    return rows[(rows >= 0) & (rows < n)]


__all__ = ["AdaptiveModel", "attribute", "explained_rows", "metrics_of", "soft_excess"]
