"""Ground truth for evaluation: incident episodes from a scenario's labels or an incident log.

Either way the truth is a list of :class:`Episode` (a server, or the whole fleet, in
trouble from ``start`` to ``end``, inclusive, perhaps with a known peak) plus the
``(ticks, servers)`` masks the tick-level measures need. Generated data yields one
episode per run of incident-phase ticks of each affected server, so a server that
fails twice has two episodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema
from ..incidents import FLEET, IncidentLog

_PEAK = schema.PHASE_KINDS.index("peak")
_INCIDENT_CODES = tuple(schema.PHASE_KINDS.index(k) for k in schema.INCIDENT_PHASE_KINDS)


@dataclass(frozen=True)
class Episode:
    """One incident on one server (or on every server: ``server_name == "*"``)."""

    server_name: str
    servers: np.ndarray  # int indices into the server axis
    start_ns: int
    end_ns: int  # inclusive
    peak_ns: int | None = None
    severity: str | None = None
    title: str | None = None

    @property
    def reference_ns(self) -> int:
        """Where lead time is measured to: the peak when known, else the start."""
        return self.peak_ns if self.peak_ns is not None else self.start_ns


@dataclass(frozen=True)
class Truth:
    """Episodes and the masks derived from them, on one source's tick and server axes."""

    description: str
    episodes: tuple[Episode, ...]
    affected: np.ndarray  # bool (N,): servers with an episode (scenario data: problem_child)
    incident: np.ndarray  # bool (T, N): in an episode
    peak: np.ndarray  # bool (T, N): in an episode's peak (its whole span when no peak is known)
    report: tuple[str, ...] = ()

    def window_mask(self, ts_ns: np.ndarray, before_s: float, after_s: float) -> np.ndarray:
        """(T, N): ticks within ``[start - before_s, end + after_s]`` of an episode of the server."""
        return _span_mask(self.episodes, ts_ns, self.affected.shape[0], before_s, after_s)


def from_phases(phase: np.ndarray, problem_child: np.ndarray, ts_ns: np.ndarray, servers: np.ndarray) -> Truth:
    """Episodes from a generated dataset's ``incident_phase`` codes and ``problem_child`` flags."""
    affected = np.asarray(problem_child, dtype=bool)
    incident = np.isin(phase, _INCIDENT_CODES) & affected[None, :]
    peak = (phase == _PEAK) & affected[None, :]
    episodes = []
    for j in np.flatnonzero(affected):
        ticks = np.flatnonzero(incident[:, j])
        if ticks.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(ticks) > 1)
        starts = np.concatenate(([ticks[0]], ticks[breaks + 1]))
        stops = np.concatenate((ticks[breaks], [ticks[-1]]))
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            peaks = np.flatnonzero(peak[a : b + 1, j])
            episodes.append(
                Episode(
                    str(servers[j]),
                    np.array([j]),
                    int(ts_ns[a]),
                    int(ts_ns[b]),
                    int(ts_ns[a + int(peaks[0])]) if peaks.size else None,
                )
            )
    episodes.sort(key=lambda e: (e.start_ns, int(e.servers[0])))
    return Truth(
        f"scenario ground truth ({schema.PHASE}, {schema.PROBLEM_CHILD})",
        tuple(episodes),
        affected,
        incident,
        peak,
    )


def from_log(
    log: IncidentLog,
    ts_ns: np.ndarray,
    servers: Sequence[str],
    *,
    span_ns: tuple[int, int] | None = None,
) -> Truth:
    """Episodes from an incident log on these ticks and servers.

    Incidents on servers the data lacks, or wholly outside ``span_ns`` (default: the
    data's first to last tick), are left out and reported.
    """
    names = [str(s) for s in servers]
    index = {name: j for j, name in enumerate(names)}
    n = len(names)
    lo, hi = span_ns if span_ns is not None else (int(ts_ns[0]), int(ts_ns[-1])) if len(ts_ns) else (0, -1)
    episodes: list[Episode] = []
    unknown: dict[str, int] = {}
    outside = 0
    for inc in log.incidents:
        if inc.server_name == FLEET:
            cols = np.arange(n)
        elif inc.server_name in index:
            cols = np.array([index[inc.server_name]])
        else:
            unknown[inc.server_name] = unknown.get(inc.server_name, 0) + 1
            continue
        start, end = _ns(inc.start), _ns(inc.end)
        if end < lo or start > hi:
            outside += 1
            continue
        episodes.append(
            Episode(inc.server_name, cols, start, end, None if inc.peak is None else _ns(inc.peak), inc.severity, inc.title)
        )
    report = list(log.report)
    if unknown:
        listed = ", ".join(f"{k} ({v})" if v > 1 else k for k, v in list(unknown.items())[:8])
        more = " ..." if len(unknown) > 8 else ""
        report.append(
            f"{log.label}: {sum(unknown.values())} incident(s) on servers not in the data were left out: {listed}{more}"
        )
    if outside:
        report.append(f"{log.label}: {outside} incident(s) outside the evaluated time span were left out")
    episodes.sort(key=lambda e: (e.start_ns, int(e.servers[0]) if e.servers.size else 0))
    affected = np.zeros(n, dtype=bool)
    for e in episodes:
        affected[e.servers] = True
    incident = _span_mask(episodes, ts_ns, n, 0.0, 0.0)
    peak = _span_mask(episodes, ts_ns, n, 0.0, 0.0, from_peak=True)
    described = f"incident log {log.label} ({len(episodes)} of {len(log)} incidents in this data)"
    return Truth(described, tuple(episodes), affected, incident, peak, tuple(report))


def _ns(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).value)


def _span_mask(
    episodes: Sequence[Episode],
    ts_ns: np.ndarray,
    n: int,
    before_s: float,
    after_s: float,
    *,
    from_peak: bool = False,
) -> np.ndarray:
    """(T, N) mask of ticks in ``[start - before, end + after]`` of each episode's servers.

    ``ts_ns`` must be sorted (a source's ticks are).
    """
    mask = np.zeros((len(ts_ns), n), dtype=bool)
    before, after = int(round(before_s * 1e9)), int(round(after_s * 1e9))
    for e in episodes:
        first = e.reference_ns if from_peak else e.start_ns
        a = int(np.searchsorted(ts_ns, first - before, side="left"))
        b = int(np.searchsorted(ts_ns, e.end_ns + after, side="right"))
        if b > a:
            mask[a:b, e.servers] = True
    return mask


__all__ = ["Episode", "Truth", "from_log", "from_phases"]
