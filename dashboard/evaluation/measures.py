"""The scorecard's figures from arrays: per server, per incident, false alarms, AUROC, NAB.

Pure numpy over ``(ticks, servers)`` arrays of probabilities and alert states and a
:class:`~dashboard.evaluation.truth.Truth`; no sources, models or I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.alerts import is_active
from . import nab
from .truth import Truth

TOP_K = 5
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class ServerResult:
    """How one affected server's first incident was (or was not) detected. Times are seconds
    from the data's start."""

    server_name: str
    profile: str
    incident_start_s: float | None  # first tick of its first incident
    peak_start_s: float | None  # first tick of that incident's peak (its start when it has none)
    first_firing_s: float | None  # first active alert during that incident, None when never
    lead_time_s: float | None  # peak start - first firing; negative when late, None when never

    @property
    def detected(self) -> bool:
        return self.first_firing_s is not None


@dataclass(frozen=True)
class IncidentResult:
    """One incident episode: detected when an alert *starts* within ``[start - horizon, end]``."""

    server_name: str  # "*" for a fleet-wide incident (detected by an alert on any server)
    start: str  # ISO 8601 UTC
    end: str
    peak: str | None
    detected: bool
    first_alert: str | None  # when that alert started
    alert_server: str | None  # the server it started on
    lead_time_s: float | None  # (peak, else start) - first alert; negative when late
    time_to_detect_s: float | None  # first alert - start; negative when it came early
    severity: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Arrays:
    """What the measures read, restricted to the evaluated ticks."""

    probability: np.ndarray  # float (T, N)
    states: np.ndarray  # int8 (T, N)
    onsets: np.ndarray  # bool (T, N): an alert became active at this tick
    ts_ns: np.ndarray  # int64 (T,)
    seconds: np.ndarray  # float (T,): seconds from the data's start
    tick_seconds: float
    servers: np.ndarray  # str (N,)
    profiles: np.ndarray  # str (N,)
    present: np.ndarray | None = None  # bool (T, N): the server reported at this tick
    row_counts: np.ndarray | None = None  # int (T, N): file rows merged into each cell


def measure(a: Arrays, truth: Truth, *, horizon_s: float, keep_firing_s: float) -> dict[str, Any]:
    """Every figure of the scorecard (see :class:`~dashboard.evaluation.scorecard.Scorecard`)."""
    active = is_active(a.states)
    n_ticks, n = a.probability.shape
    present = a.present if a.present is not None else np.ones((n_ticks, n), dtype=bool)
    affected, incident = truth.affected, truth.incident

    servers = _server_results(a, truth, active)
    eligible = [r for r in servers if r.incident_start_s is not None]

    # False alarms on unaffected servers (the long-standing figures).
    healthy_active = active[:, ~affected]
    false_ticks = int(healthy_active.sum())
    healthy_onsets = int(a.onsets[:, ~affected].sum())
    server_hours = float(present[:, ~affected].sum()) * a.tick_seconds / 3600.0

    # False alarms on every server: alert episodes starting outside every incident's
    # [start - horizon, end + keep_firing_for + horizon] on that server.
    allowed = truth.window_mask(a.ts_ns, horizon_s, keep_firing_s + horizon_s)
    false_onsets = a.onsets & ~allowed
    server_days = float(present.sum()) * a.tick_seconds / SECONDS_PER_DAY

    # Precision / recall of active alerts against "in an incident".
    tp = int((active & incident).sum())
    fp = int((active & ~incident).sum())
    fn = int((~active & incident).sum())

    label = truth.window_mask(a.ts_ns, horizon_s, 0.0)
    incidents = _incident_results(a, truth, horizon_s)
    detected = sum(r.detected for r in incidents)
    small_fleet = n <= TOP_K
    return {
        "affected": servers,
        "detection_rate": _ratio(sum(r.detected for r in eligible), len(eligible)),
        "false_alarm_share": _ratio(false_ticks, int(healthy_active.size)),
        "false_alarm_server_ticks": false_ticks,
        "false_alarm_episodes": healthy_onsets,
        "false_alarms_per_server_hour": healthy_onsets / server_hours if server_hours > 0 else None,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "auroc": auroc(a.probability[present], label[present]),
        "top5_peak_coverage": None if small_fleet else top_k_coverage(a.probability, truth.peak, TOP_K),
        "incidents": incidents,
        "incident_detection_rate": _ratio(detected, len(incidents)),
        "false_alarm_episodes_all": int(false_onsets.sum()),
        "false_alarms_by_server": {
            str(a.servers[j]): int(c) for j, c in enumerate(false_onsets.sum(axis=0)) if c
        },
        "false_alarm_episodes_per_server_day": int(false_onsets.sum()) / server_days if server_days > 0 else None,
        "details": {
            "affected_servers": int(affected.sum()),
            "unaffected_servers": int((~affected).sum()),
            "affected_without_incident": int(affected.sum()) - len(eligible),
            "true_positive_ticks": tp,
            "false_positive_ticks": fp,
            "false_negative_ticks": fn,
            "horizon_ticks": _ticks_within(horizon_s, a.tick_seconds),
            "positive_label_ticks": int(label[present].sum()),
            "observed_server_days": server_days,
            "top5_note": (
                f"left out: a fleet of {n} server(s) fits in any top {TOP_K}" if small_fleet else None
            ),
        },
    }


@dataclass(frozen=True)
class NabInputs:
    """NAB's view of an evaluation: one series per server, with its alert-onset and
    probability rows. Kept so that several datasets can be scored as one corpus."""

    series: list[nab.Series]
    onsets: list[np.ndarray]
    probability: list[np.ndarray]

    @classmethod
    def of(cls, a: Arrays, truth: Truth) -> NabInputs:
        """Each server is one NAB file whose rows are its ticks (a tick that merged several
        file rows counts once per row, each with the tick's score) and whose windows are
        its incidents."""
        series, onset_rows, prob_rows = [], [], []
        n_ticks, n = a.probability.shape
        for j in range(n):
            ticks = np.arange(n_ticks) if a.present is None else np.flatnonzero(a.present[:, j])
            if ticks.size == 0:
                continue
            if a.row_counts is not None:
                ticks = np.repeat(ticks, np.maximum(a.row_counts[ticks, j], 1))
            windows = [(e.start_ns, e.end_ns) for e in truth.episodes if j in e.servers]
            series.append(nab.Series.prepare(a.ts_ns[ticks], windows, name=str(a.servers[j])))
            onset_rows.append(a.onsets[ticks, j].astype(np.float64))
            prob_rows.append(a.probability[ticks, j].astype(np.float64))
        return cls(series, onset_rows, prob_rows)

    @classmethod
    def pooled(cls, parts: list[NabInputs]) -> NabInputs:
        return cls(
            [s for p in parts for s in p.series],
            [x for p in parts for x in p.onsets],
            [x for p in parts for x in p.probability],
        )


def nab_scores(inputs: NabInputs) -> dict[str, Any]:
    """NAB's three profiles for alert onsets (``nab``: what a user sees, each onset a
    detection) and for the probability at the threshold NAB's own sweep picks over all
    the series (``nab_tuned``, as the published detectors were scored). Both None when
    no incident window falls in the scored rows."""
    plain: dict[str, float | None] = {}
    tuned: dict[str, float | None] = {}
    info: dict[str, Any] = {"rows": int(sum(s.n_rows for s in inputs.series)), "windows": 0, "profiles": {}}
    for profile in nab.PROFILES:
        fixed = nab.score(inputs.series, inputs.onsets, 0.5, profile)
        best = nab.sweep(inputs.series, inputs.probability, profile)
        plain[profile.name], tuned[profile.name] = fixed.normalized, best.normalized
        info["windows"] = fixed.windows
        info["profiles"][profile.name] = {
            "raw": fixed.raw,
            "windows_hit": fixed.windows_hit,
            "detections": fixed.detections,
            "false_positives": fixed.fp,
            "tuned_raw": best.raw,
            "tuned_threshold": None if not np.isfinite(best.threshold) else best.threshold,
            "tuned_windows_hit": best.windows_hit,
            "tuned_detections": best.detections,
            "tuned_false_positives": best.fp,
        }
    if not info["windows"]:
        return {"nab": None, "nab_tuned": None, "nab_info": info}
    return {"nab": plain, "nab_tuned": tuned, "nab_info": info}


def alert_onsets(states: np.ndarray) -> np.ndarray:
    """(T, N): where an alert became active (firing or recovering) from normal or pending."""
    active = is_active(states)
    onsets = active.copy()
    onsets[1:] &= ~active[:-1]
    return onsets


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None with one class only."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    keep = np.isfinite(scores)
    scores, labels = scores[keep], labels[keep]
    n_pos = int(labels.sum())
    n_neg = int(labels.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mid_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each tie group
    ranks = mid_rank[inverse]
    rank_sum = float(ranks[labels[order]].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def top_k_coverage(probability: np.ndarray, in_peak: np.ndarray, k: int = TOP_K) -> float | None:
    """Share of peak ticks where the top ``k`` servers by probability hold every server then
    in its peak.

    Counted over ticks with between 1 and ``k`` servers in peak (more cannot fit in a top
    ``k``); None when there is no such tick.
    """
    in_peak = np.asarray(in_peak, dtype=bool)
    counts = in_peak.sum(axis=1)
    ticks = np.flatnonzero((counts > 0) & (counts <= k))
    if ticks.size == 0:
        return None
    n = probability.shape[1]
    p = np.nan_to_num(np.asarray(probability[ticks], dtype=np.float64), nan=-1.0)
    # Rank by probability, ties broken by server order, so the answer is deterministic.
    order = np.lexsort((np.broadcast_to(np.arange(n), p.shape), -p), axis=-1)[:, :k]
    chosen = np.zeros_like(p, dtype=bool)
    np.put_along_axis(chosen, order, True, axis=1)
    hits = np.all(chosen | ~in_peak[ticks], axis=1)
    return float(hits.mean())


# -- helpers ----------------------------------------------------------------------------
def _server_results(a: Arrays, truth: Truth, active: np.ndarray) -> list[ServerResult]:
    """Per affected server, its first incident: start, peak, first active alert during it."""
    results = []
    for j in np.flatnonzero(truth.affected):
        ticks = np.flatnonzero(truth.incident[:, j])
        name, profile = str(a.servers[j]), str(a.profiles[j])
        if ticks.size == 0:
            results.append(ServerResult(name, profile, None, None, None, None))
            continue
        start = int(ticks[0])
        gaps = np.flatnonzero(np.diff(ticks) > 1)
        stop = int(ticks[gaps[0]]) if gaps.size else int(ticks[-1])
        peaks = np.flatnonzero(truth.peak[start : stop + 1, j])
        peak = start + int(peaks[0]) if peaks.size else start
        fired = np.flatnonzero(active[start : stop + 1, j])
        first = start + int(fired[0]) if fired.size else None
        results.append(
            ServerResult(
                server_name=name,
                profile=profile,
                incident_start_s=float(a.seconds[start]),
                peak_start_s=float(a.seconds[peak]),
                first_firing_s=None if first is None else float(a.seconds[first]),
                lead_time_s=None if first is None else float(a.seconds[peak] - a.seconds[first]),
            )
        )
    return results


def _incident_results(a: Arrays, truth: Truth, horizon_s: float) -> list[IncidentResult]:
    horizon_ns = int(round(horizon_s * 1e9))
    out = []
    for e in truth.episodes:
        lo = int(np.searchsorted(a.ts_ns, e.start_ns - horizon_ns, side="left"))
        hi = int(np.searchsorted(a.ts_ns, e.end_ns, side="right"))
        hits = np.argwhere(a.onsets[lo:hi][:, e.servers]) if hi > lo else np.zeros((0, 2), dtype=int)
        if hits.size:
            t = lo + int(hits[0, 0])  # argwhere is row-major: the earliest tick first
            first_ns = int(a.ts_ns[t])
            server = str(a.servers[e.servers[int(hits[0, 1])]])
            lead = (e.reference_ns - first_ns) / 1e9
            to_detect = (first_ns - e.start_ns) / 1e9
        else:
            first_ns, server, lead, to_detect = None, None, None, None
        out.append(
            IncidentResult(
                server_name=e.server_name,
                start=iso(e.start_ns),
                end=iso(e.end_ns),
                peak=None if e.peak_ns is None else iso(e.peak_ns),
                detected=first_ns is not None,
                first_alert=None if first_ns is None else iso(first_ns),
                alert_server=server,
                lead_time_s=lead,
                time_to_detect_s=to_detect,
                severity=e.severity,
                title=e.title,
            )
        )
    return out


def iso(ns: int) -> str:
    """int64 ns since the epoch as ISO 8601 UTC (``2025-03-02T14:05:00Z``)."""
    text = str(np.datetime64(int(ns), "ns").astype("datetime64[ms]"))
    text = text.removesuffix(".000")
    return text + "Z"


def _ticks_within(seconds: float, tick_seconds: float) -> int:
    """Whole ticks that fit in ``seconds`` (what a horizon spans at this tick size)."""
    return int(np.floor(seconds / tick_seconds + 1e-9)) if tick_seconds > 0 else 0


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


__all__ = [
    "TOP_K",
    "Arrays",
    "IncidentResult",
    "ServerResult",
    "alert_onsets",
    "auroc",
    "iso",
    "NabInputs",
    "measure",
    "nab_scores",
    "top_k_coverage",
]
