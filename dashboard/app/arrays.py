"""Pure numpy reductions behind the graphs: rankings, fleet bands, KPI counts, compact values.

Dash-free and side-effect free, so the view-models that use them test with numpy alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..models.alerts import FIRING, PENDING, RECOVERING


def percent(probability: np.ndarray) -> np.ndarray:
    """Probabilities as whole percents: uint8 when all are known (2-3 bytes each in JSON)."""
    p = np.asarray(probability, dtype=np.float32) * np.float32(100.0)
    if np.isfinite(p).all():
        return np.clip(np.rint(p), 0, 100).astype(np.uint8)
    return np.round(np.clip(p, 0, 100), 0)


def rounded(values: np.ndarray, decimals: int = 3) -> np.ndarray:
    """Rounded float64: float32 would print its binary noise (0.02500000037) in JSON."""
    return np.round(np.asarray(values, dtype=np.float64), decimals)


def has_data(*arrays: np.ndarray) -> bool:
    """Whether any of ``arrays`` holds a finite value (an empty or all-NaN input holds none)."""
    return any(np.isfinite(np.asarray(a, dtype=np.float64)).any() for a in arrays)


def kpi_summary(probability: np.ndarray, alerts: np.ndarray, threshold: float) -> dict:
    """Fleet health and counts for the KPI header.

    Health is ``critical`` while any server's alert fires, ``degraded`` while any server
    is at risk (probability at or above the alert threshold, or an alert pending or
    recovering), ``healthy`` otherwise.
    """
    p = np.asarray(probability, dtype=np.float64)
    a = np.asarray(alerts)
    known = p[np.isfinite(p)]
    at_risk = int((known >= threshold).sum())
    firing = int((a == FIRING).sum())
    pending = int((a == PENDING).sum())
    unsettled = pending + int((a == RECOVERING).sum())
    health = "critical" if firing else "degraded" if at_risk or unsettled else "healthy"
    return {
        "health": health,
        "at_risk": at_risk,
        "firing": firing,
        "pending": pending,
        "max": float(known.max()) if known.size else float("nan"),
        "mean": float(known.mean()) if known.size else float("nan"),
        "fleet_size": int(p.shape[0]),
    }


def top_servers(probability: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` riskiest servers, riskiest first (NaN last, ties by index)."""
    p = np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=-1.0)
    k = min(k, p.shape[0])
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-p, k - 1)[:k]
    return part[np.lexsort((part, -p[part]))]


def strip_rows(
    window_max: np.ndarray, profiles: np.ndarray, max_rows: int
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Which servers get a row of their own (riskiest first) and the per-profile rest.

    Up to ``max_rows`` servers each get a row; past that, the rest are folded into one
    row per profile showing that profile's highest risk, so the strip stays readable
    at thousands of servers.
    """
    n = window_max.shape[0]
    if n <= max_rows:
        return top_servers(window_max, n), []
    own = top_servers(window_max, max_rows)
    return own, profile_groups(profiles, own)


def profile_groups(profiles: np.ndarray, own: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The servers not in ``own``, grouped by profile (sorted by profile name)."""
    rest = np.ones(profiles.shape[0], dtype=bool)
    rest[own] = False
    return [
        (str(p), np.flatnonzero(rest & (profiles == p)))
        for p in sorted(set(profiles[rest].tolist()))
    ]


def strip_values(
    probability: np.ndarray, own: np.ndarray, groups: Sequence[tuple[str, np.ndarray]]
) -> np.ndarray:
    """``(T, R)`` percent values of the strip's rows for ``probability`` of shape ``(T, N)``."""
    p = np.atleast_2d(np.asarray(probability, dtype=np.float32))
    cols = [p[:, own]]
    for _, members in groups:
        block = p[:, members]
        with np.errstate(all="ignore"):
            agg = np.where(
                np.isfinite(block).any(axis=1),
                np.nanmax(np.nan_to_num(block, nan=-1.0), axis=1),
                np.nan,
            )
        cols.append(agg[:, None])
    return percent(np.hstack(cols))


def strip_labels(
    names: np.ndarray, own: np.ndarray, groups: Sequence[tuple[str, np.ndarray]]
) -> list[str]:
    return [str(n) for n in names[own]] + [
        f"{profile}: {len(m)} more (max)" for profile, m in groups
    ]


def fleet_bands(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-tick median and 95th percentile of a ``(T, N)`` metric over its servers, NaN ignored."""
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:  # no servers: no band (NaN, not a misleading line at zero)
        return np.full(v.shape[0], np.nan, np.float32), np.full(v.shape[0], np.nan, np.float32)
    if np.isfinite(v).all():
        median, p95 = np.percentile(v, [50, 95], axis=1)
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN ticks give NaN, as meant
            median, p95 = np.nanpercentile(v, [50, 95], axis=1)
    return median.astype(np.float32), p95.astype(np.float32)
