"""The Numenta Anomaly Benchmark's score, implemented from its published description.

NAB (Lavin & Ahmad 2015, arXiv:1510.03336; NAB v1.1's ``sweeper.py``) scores a
detector on a file of rows with labelled anomaly *windows*:

* the first ``min(floor(0.15 * rows), 750)`` rows are probationary and not scored;
* a row is a detection when its anomaly score is at or above the threshold;
* in each window only the earliest detection counts. A detection at relative position
  ``y`` (from -1 at the window's first row to about 0 at its last) earns
  ``tpWeight * σ(y) / σ(-1)`` with the scaled sigmoid ``σ(y) = 2 / (1 + e^(5y)) - 1``,
  so about ``tpWeight`` at the start and 0 at the end; a window without a detection
  costs ``-fnWeight``;
* a detection outside every window costs ``fpWeight * σ(y)`` where ``y`` is its distance
  past the end of the preceding window in units of that window's width minus one
  (a detection just after a window costs almost nothing; ``σ`` is -1 beyond 3 widths),
  or ``-fpWeight`` when no window precedes it;
* the three cost profiles weigh (tp, fn, fp) as (1, 1, 0.11), (1, 1, 0.22) for
  ``reward_low_FP_rate`` and (1, 2, 0.11) for ``reward_low_FN_rate``;
* a corpus's raw score is the sum over its files, normalised as
  ``100 * (raw - null) / (perfect - null)`` with ``null = -fnWeight * windows`` (a
  detector that never fires scores 0) and ``perfect = tpWeight * windows`` (100);
* NAB's own sweep tunes one threshold per profile for a whole corpus: the one with the
  highest total raw score (the highest such threshold on a tie, "never fire" included).

Two generalisations for incident logs, which NAB's own windows never need: overlapping
windows of one file are merged, and after a one-row window the distance past it is
counted in rows (NAB would divide by zero).

Everything here is numpy over whole files; only the windows are looped over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000  # NAB: probation is at most probationPercent * 5000 rows


@dataclass(frozen=True)
class CostProfile:
    """How NAB weighs true positives, false negatives (missed windows) and false positives."""

    name: str
    tp_weight: float
    fn_weight: float
    fp_weight: float


PROFILES: tuple[CostProfile, ...] = (
    CostProfile("standard", 1.0, 1.0, 0.11),
    CostProfile("reward_low_FP_rate", 1.0, 1.0, 0.22),
    CostProfile("reward_low_FN_rate", 1.0, 2.0, 0.11),
)
PROFILE_NAMES: tuple[str, ...] = tuple(p.name for p in PROFILES)
PROFILE_BY_NAME = {p.name: p for p in PROFILES}


def scaled_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """NAB's ``2 * sigmoid(-5x) - 1``, and -1 for ``x > 3`` (far past a window)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    return np.where(x > 3.0, -1.0, value)


MAX_TP = float(scaled_sigmoid(-1.0))  # a detection on a window's first row


def probation_rows(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """How many leading rows are probationary (not scored)."""
    return int(min(math.floor(percent * n_rows), percent * PROBATION_CAP_ROWS))


@dataclass(frozen=True)
class Series:
    """One file's rows prepared for scoring (one server's rows, for a fleet).

    Only the scored rows (after probation) are kept: ``window`` is each row's window
    (-1 outside), ``sigma`` its unweighted NAB score (a true-positive reward inside a
    window, already divided by ``σ(-1)``; a false-positive cost outside).
    """

    name: str
    n_rows: int
    probation: int
    window: np.ndarray  # int64 (rows scored,)
    sigma: np.ndarray  # float64 (rows scored,)
    n_windows: int  # windows holding at least one scored row
    window_rows: tuple[tuple[int, int], ...]  # (first, last) row of each window, file rows

    @classmethod
    def prepare(
        cls,
        timestamps: np.ndarray,
        windows: Sequence[tuple[object, object]],
        *,
        name: str = "",
        probation_percent: float = PROBATION_PERCENT,
    ) -> Series:
        """Rows with these timestamps (file order) and windows given as inclusive
        ``(start, end)`` times: a window holds the rows from the first at or after its
        start up to the last before one past its end."""
        ts = _as_ns(timestamps)
        n = int(ts.shape[0])
        spans = _row_spans(ts, _merged(windows))
        window = np.full(n, -1, dtype=np.int64)
        sigma = np.full(n, -1.0)  # before any window: a detection costs fpWeight in full
        for w, (left, right) in enumerate(spans):
            width = right - left + 1
            rows = np.arange(left, right + 1)
            window[left : right + 1] = w
            sigma[left : right + 1] = scaled_sigmoid(-(right - rows + 1) / width) / MAX_TP
            end = spans[w + 1][0] if w + 1 < len(spans) else n
            after = np.arange(right + 1, end)
            sigma[right + 1 : end] = scaled_sigmoid((after - right) / max(width - 1, 1))
        skip = probation_rows(n, probation_percent)
        scored_windows = np.unique(window[skip:][window[skip:] >= 0])
        # renumber so that only windows with scored rows count
        remap = np.full(len(spans) + 1, -1, dtype=np.int64)
        remap[scored_windows] = np.arange(scored_windows.size)
        return cls(
            name=name,
            n_rows=n,
            probation=skip,
            window=remap[window[skip:]],
            sigma=sigma[skip:],
            n_windows=int(scored_windows.size),
            window_rows=tuple((int(a), int(b)) for a, b in spans),
        )


@dataclass(frozen=True)
class Result:
    """NAB's verdict at one threshold: the raw score, row counts and windows hit."""

    profile: str
    threshold: float
    raw: float
    tp: int
    tn: int
    fp: int
    fn: int
    windows: int
    windows_hit: int

    @property
    def normalized(self) -> float | None:
        return normalized(self.raw, self.windows, PROFILE_BY_NAME[self.profile])

    @property
    def detections(self) -> int:
        return self.tp + self.fp


def normalized(raw: float, windows: int, profile: CostProfile) -> float | None:
    """``100 * (raw - null) / (perfect - null)``; None without windows."""
    if windows <= 0:
        return None
    null = -profile.fn_weight * windows
    perfect = profile.tp_weight * windows
    return 100.0 * (raw - null) / (perfect - null)


def score(
    series: Sequence[Series], scores: Sequence[np.ndarray], threshold: float, profile: CostProfile
) -> Result:
    """NAB's raw score of ``scores`` (one array per series, all rows) at ``threshold``."""
    rows = _pooled(series, scores)
    detected = rows.score >= threshold
    weighted = rows.weighted(profile)
    inside = rows.window >= 0
    best = np.full(rows.n_windows, -np.inf)
    hit = detected & inside
    np.maximum.at(best, rows.window[hit], weighted[hit])
    hit_windows = np.isfinite(best)
    raw = float(np.where(hit_windows, best, -profile.fn_weight).sum()) + float(weighted[detected & ~inside].sum())
    return Result(
        profile=profile.name,
        threshold=float(threshold),
        raw=raw,
        tp=int(hit.sum()),
        tn=int((~detected & ~inside).sum()),
        fp=int((detected & ~inside).sum()),
        fn=int((~detected & inside).sum()),
        windows=rows.n_windows,
        windows_hit=int(hit_windows.sum()),
    )


def sweep(series: Sequence[Series], scores: Sequence[np.ndarray], profile: CostProfile) -> Result:
    """The threshold NAB's own sweep picks over all the series together, and its result.

    Candidate thresholds are "never fire" and every distinct finite score; the best raw
    score wins, the highest threshold on a tie.
    """
    rows = _pooled(series, scores)
    finite = np.isfinite(rows.score)
    order = np.argsort(-np.where(finite, rows.score, -np.inf), kind="stable")
    order = order[finite[order]]
    s = rows.score[order]
    inside = rows.window[order] >= 0
    weighted = rows.weighted(profile)[order]
    delta = np.where(inside, 0.0, weighted)
    wid = rows.window[order]
    for w in range(rows.n_windows):
        at = np.flatnonzero(wid == w)
        if at.size:
            best = np.maximum.accumulate(weighted[at])
            delta[at] = best - np.concatenate(([-profile.fn_weight], best[:-1]))
    base = -profile.fn_weight * rows.n_windows
    total = base + np.cumsum(delta)
    last_of_tie = np.flatnonzero(np.append(s[1:] != s[:-1], True)) if s.size else np.zeros(0, dtype=np.int64)
    candidates = np.concatenate(([base], total[last_of_tie]))
    k = int(np.argmax(candidates))
    threshold = math.inf if k == 0 else float(s[last_of_tie[k - 1]])
    return score(series, scores, threshold, profile)


@dataclass(frozen=True)
class _Rows:
    score: np.ndarray
    window: np.ndarray  # pooled window ids, -1 outside
    sigma: np.ndarray
    n_windows: int

    def weighted(self, profile: CostProfile) -> np.ndarray:
        return np.where(self.window >= 0, self.sigma * profile.tp_weight, self.sigma * profile.fp_weight)


def _pooled(series: Sequence[Series], scores: Sequence[np.ndarray]) -> _Rows:
    if len(series) != len(scores):
        raise ValueError(f"{len(series)} series but {len(scores)} score arrays")
    parts_s, parts_w, parts_sigma = [], [], []
    offset = 0
    for one, values in zip(series, scores, strict=True):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape[0] != one.n_rows:
            raise ValueError(f"{one.name or 'series'}: {values.shape[0]} scores for {one.n_rows} rows")
        parts_s.append(values[one.probation :])
        parts_w.append(np.where(one.window >= 0, one.window + offset, -1))
        parts_sigma.append(one.sigma)
        offset += one.n_windows
    if not parts_s:
        empty = np.zeros(0)
        return _Rows(empty, np.zeros(0, dtype=np.int64), empty, 0)
    score_all = np.concatenate(parts_s)
    score_all = np.where(np.isnan(score_all), -np.inf, score_all)  # a missing score never detects
    return _Rows(score_all, np.concatenate(parts_w), np.concatenate(parts_sigma), offset)


def _as_ns(timestamps: np.ndarray) -> np.ndarray:
    """Timestamps (datetime64, pandas times or int64 ns) as int64 ns since the epoch."""
    ts = np.asarray(timestamps)
    if np.issubdtype(ts.dtype, np.datetime64):
        return ts.astype("datetime64[ns]").astype(np.int64)
    if ts.dtype == object:
        return pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).asi8
    return ts.astype(np.int64)


def _ns(value: object) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    stamp = pd.Timestamp(value)
    return int(stamp.tz_convert("UTC").value if stamp.tzinfo is not None else stamp.value)


def _merged(windows: Sequence[tuple[object, object]]) -> list[tuple[int, int]]:
    """Windows as int64 ns, sorted, with overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted((_ns(a), _ns(b)) for a, b in windows):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _row_spans(ts: np.ndarray, windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each window's first and last row; windows without a row are dropped. Rows need not be
    in time order (a clock that steps back): a window runs from its first row at or after
    its start to the row before the next one past its end."""
    spans: list[tuple[int, int]] = []
    n = ts.shape[0]
    for start, end in windows:
        at_or_after = np.flatnonzero(ts >= start)
        if at_or_after.size == 0:
            continue
        left = int(at_or_after[0])
        if spans and left <= spans[-1][1]:
            left = spans[-1][1] + 1
        if left >= n:
            continue
        past = np.flatnonzero(ts[left:] > end)
        right = left + (int(past[0]) if past.size else n - left) - 1
        if right >= left:
            spans.append((left, right))
    return spans


__all__ = [
    "MAX_TP",
    "PROBATION_PERCENT",
    "PROFILES",
    "PROFILE_BY_NAME",
    "PROFILE_NAMES",
    "CostProfile",
    "Result",
    "Series",
    "normalized",
    "probation_rows",
    "scaled_sigmoid",
    "score",
    "sweep",
]
