"""Scale-free features of each server's recent metrics, for trained risk models.

Every feature is measured against the server's own normal (a
:class:`~dashboard.models.baselines.Baseline`) or against its profile peers, never in a
metric's own unit, so a model trained on generated fleets reads a temperature, a
request count or an anonymised ``m17`` the same way. Per metric:

* ``z``: the current reading (a burst-proof blend of the last ticks) in robust standard
  deviations from the server's normal, rhythm included;
* ``up``/``down``: how far beyond the server's own usual extremes it is (0 at them);
* ``slope``: the change of ``z`` over the last ``SLOPE_TICKS`` ticks;
* ``persist``: the share of the last ``PERSIST_TICKS`` ticks beyond the usual extreme;
* ``peer``: ``z`` minus the median ``z`` of the server's profile peers now.

The eight core metrics have a slot each (their direction is known). Extra metrics fill
``EXTRA_SLOTS`` slots, the most unusual first, plus a few summaries over all of them;
:func:`metric_weights` says which metric each feature column belongs to for a server,
so per-feature contributions group by metric.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import schema
from ..sources.base import Window
from .baselines import READING_TICKS, Baseline, profile_median, readings

SLOPE_TICKS = 4
PERSIST_TICKS = 6
WINDOW_TICKS = READING_TICKS + max(SLOPE_TICKS, PERSIST_TICKS)  # ticks the features read
PER_METRIC = ("z", "up", "down", "slope", "persist", "peer")
CORE_SLOTS = schema.METRIC_NAMES
EXTRA_SLOTS = 3
SUMMARIES = ("extras_unusual_share", "extras_unusual_mean", "metrics_unusual")
MIN_PEERS = 4


def feature_names() -> list[str]:
    names = [f"{m}__{f}" for m in CORE_SLOTS for f in PER_METRIC]
    names += [f"extra{k + 1}__{f}" for k in range(EXTRA_SLOTS) for f in PER_METRIC]
    return names + list(SUMMARIES)


N_FEATURES = len(feature_names())
_PER = len(PER_METRIC)


def features(window: Window, baseline: Baseline, ticks: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(X, slots)`` for each of the window's last ``ticks`` ticks: features
    ``(ticks, N, N_FEATURES)`` float32 (NaN: not available) and, per tick and server, which
    of ``baseline.metrics`` fills each extra slot, ``(ticks, N, EXTRA_SLOTS)`` (-1: none).

    Scoring asks for the last tick; training for whole spans that share a baseline, through
    the same code, so both see exactly the same features."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _features(window, baseline, max(1, int(ticks)))


def _features(window: Window, baseline: Baseline, ticks: int) -> tuple[np.ndarray, np.ndarray]:
    metrics = baseline.metrics
    n = window.n_servers
    lead = WINDOW_TICKS - 1  # ticks each feature row looks back over
    z = baseline.zscores(window, ticks + lead)  # (T, M, N)
    pad = ticks + lead - z.shape[0]
    if pad > 0:  # too few ticks in the window: the missing past is unknown
        z = np.concatenate([np.full((pad, *z.shape[1:]), np.nan, dtype=z.dtype), z])
    z[:, ~baseline.present] = np.nan
    up_r, down_r = readings(z)  # (ticks + lead - READING_TICKS + 1, M, N)
    hi, lo = baseline.tail_hi[None], baseline.tail_lo[None]
    u_up = (up_r - hi) / hi
    u_down = (lo - down_r) / -lo
    mid = 0.5 * (up_r + down_r)
    last = slice(mid.shape[0] - ticks, None)
    now_z = mid[last]
    before = slice(mid.shape[0] - ticks - SLOPE_TICKS, mid.shape[0] - SLOPE_TICKS)
    slope = now_z - mid[before]
    beyond = (u_up > 0) | (u_down > 0)
    beyond = np.where(np.isnan(u_up), np.nan, beyond).astype(np.float32)
    persist = _trailing_mean(beyond, PERSIST_TICKS)[last]
    peers = profile_median(now_z, window.profiles, MIN_PEERS)
    peer = now_z - peers if peers is not None else np.full_like(now_z, np.nan)
    up_now, down_now = u_up[last], u_down[last]
    per_metric = np.stack([now_z, up_now, down_now, slope, persist, peer], axis=-1)  # (t, M, N, P)

    X = np.full((ticks, n, N_FEATURES), np.nan, dtype=np.float32)
    index = {m: i for i, m in enumerate(metrics)}
    for s, metric in enumerate(CORE_SLOTS):
        if metric in index:
            X[:, :, s * _PER : (s + 1) * _PER] = per_metric[:, index[metric]]
    extras = np.array([i for i, m in enumerate(metrics) if m not in schema.METRIC_BY_NAME], dtype=np.intp)
    slots = np.full((ticks, n, EXTRA_SLOTS), -1, dtype=np.intp)
    base = len(CORE_SLOTS) * _PER
    if extras.size:
        unusual = np.fmax(up_now[:, extras], down_now[:, extras])  # (t, E, N)
        rank = np.argsort(-np.nan_to_num(unusual, nan=-np.inf), axis=1, kind="stable")[:, :EXTRA_SLOTS]  # (t, K, N)
        for k in range(rank.shape[1]):
            pick = rank[:, k][:, None]  # (t, 1, N)
            valid = np.isfinite(np.take_along_axis(unusual, pick, axis=1)[:, 0])  # (t, N)
            chosen = extras[rank[:, k]]  # (t, N)
            slots[:, :, k] = np.where(valid, chosen, -1)
            values = np.take_along_axis(per_metric, chosen[:, None, :, None], axis=1)[:, 0]  # (t, N, P)
            X[:, :, base + k * _PER : base + (k + 1) * _PER] = np.where(valid[..., None], values, np.nan)
        count = np.isfinite(unusual).sum(axis=1)
        over = (np.nan_to_num(unusual, nan=-1.0) > 0).sum(axis=1)
        X[:, :, -3] = np.where(count > 0, over / np.maximum(count, 1), np.nan)
        X[:, :, -2] = np.where(count > 0, np.nanmean(np.clip(unusual, -1.0, 10.0), axis=1), np.nan)
    all_unusual = np.fmax(up_now, down_now)
    X[:, :, -1] = (np.nan_to_num(all_unusual, nan=-1.0) > 0).sum(axis=1)
    return X, slots


def _trailing_mean(values: np.ndarray, k: int) -> np.ndarray:
    """NaN-ignoring mean of each tick and the ``k - 1`` before it (first axis); NaN for the
    first ``k - 1`` ticks."""
    t = values.shape[0]
    out = np.full(values.shape, np.nan, dtype=np.float32)
    if t >= k:
        out[k - 1 :] = np.nanmean(np.stack([values[i : t - k + 1 + i] for i in range(k)]), axis=0)
    return out


def metric_weights(slots: np.ndarray, X: np.ndarray, metrics: tuple[str, ...]) -> np.ndarray:
    """For each server row, how each feature column's contribution splits over ``metrics``:
    ``(R, N_FEATURES, M)``. Core slots belong to their metric, extra slots to the extra
    metric filling them, summaries over extras to the extras in slots (evenly), and the
    count of unusual metrics to the metrics beyond their usual extremes (evenly; to every
    metric when none is)."""
    rows = slots.shape[0]
    m_count = len(metrics)
    w = np.zeros((rows, N_FEATURES, m_count), dtype=np.float64)
    index = {m: i for i, m in enumerate(metrics)}
    for s, metric in enumerate(CORE_SLOTS):
        if metric in index:
            w[:, s * _PER : (s + 1) * _PER, index[metric]] = 1.0
    base = len(CORE_SLOTS) * _PER
    for k in range(EXTRA_SLOTS):
        for r in range(rows):
            if slots[r, k] >= 0:
                w[r, base + k * _PER : base + (k + 1) * _PER, slots[r, k]] = 1.0
    # Which metrics are beyond their usual extremes, per row (core slots, filled extra slots).
    unusual = np.zeros((rows, m_count), dtype=bool)
    for s, metric in enumerate(CORE_SLOTS):
        if metric in index:
            unusual[:, index[metric]] = (np.nan_to_num(X[:, s * _PER + 1]) > 0) | (np.nan_to_num(X[:, s * _PER + 2]) > 0)
    for k in range(EXTRA_SLOTS):
        col = base + k * _PER
        beyond = (np.nan_to_num(X[:, col + 1]) > 0) | (np.nan_to_num(X[:, col + 2]) > 0)
        for r in np.flatnonzero(beyond & (slots[:, k] >= 0)):
            unusual[r, slots[r, k]] = True
    for r in range(rows):
        filled = slots[r][slots[r] >= 0]
        if filled.size:
            w[r, N_FEATURES - 3 : N_FEATURES - 1, filled] = 1.0 / filled.size
        if m_count:
            who = unusual[r] if unusual[r].any() else np.ones(m_count, dtype=bool)
            w[r, N_FEATURES - 1, who] = 1.0 / who.sum()
    return w


__all__ = ["EXTRA_SLOTS", "N_FEATURES", "WINDOW_TICKS", "feature_names", "features", "metric_weights"]
