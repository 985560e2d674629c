"""Facts about one opened source that every view reads: server axis, tick times, phases.

Dash-free: the Live tab's view-model and the About drawer build on these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Phase:
    """A phase band: name, kind (stable/escalation/peak/recovery) and tick range."""

    name: str
    kind: str
    start_tick: int
    end_tick: int  # exclusive


@dataclass(frozen=True)
class Extent:
    """The time span a graph's x axis shows: ``start`` to ``end`` (ISO strings). ``filling``:
    the window is not full yet and reaches past the data (to where it will end)."""

    start: str
    end: str
    filling: bool = False


@dataclass(frozen=True)
class Fleet:
    """Facts about one source at one length: server axis, tick times, phases, metadata."""

    spec: str
    names: np.ndarray  # str (N,)
    profiles: np.ndarray  # str (N,)
    index: dict[str, int]
    times: np.ndarray  # ISO strings (n_ticks,)
    phases: tuple[Phase, ...]
    metadata: dict[str, Any] | None
    live: bool

    @property
    def n_ticks(self) -> int:
        return int(self.times.shape[0])

    @property
    def n_servers(self) -> int:
        return int(self.names.shape[0])

    def phase_at(self, tick: int) -> Phase | None:
        for phase in self.phases:
            if phase.start_tick <= tick < phase.end_tick:
                return phase
        return None


def iso_times(timestamps: np.ndarray) -> np.ndarray:
    """datetime64 timestamps as ISO strings to the second (UTC, no zone suffix)."""
    return np.datetime_as_string(np.asarray(timestamps, dtype="datetime64[s]"), unit="s")


def phases_from_metadata(metadata: dict[str, Any] | None, n_ticks: int) -> tuple[Phase, ...]:
    """The metadata's phase timeline as :class:`Phase` bands; malformed entries are skipped."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("phases"), list):
        return ()
    phases = []
    for item in metadata["phases"]:
        if not isinstance(item, dict):
            continue
        try:
            start, end = int(item["start_tick"]), int(item["end_tick"])
        except (KeyError, TypeError, ValueError):
            continue
        if end <= start or start >= max(n_ticks, 1):
            continue
        phases.append(Phase(str(item.get("name", "")), str(item.get("kind", "")), start, end))
    return tuple(phases)


def fleet_of(spec: str, source: Any, n_ticks: int) -> Fleet:
    """The facts of ``source`` (opened from ``spec``) over its first ``n_ticks`` ticks."""
    servers = source.servers()
    names = servers["server_name"].astype(str).to_numpy()
    profiles = servers["profile"].astype(str).to_numpy()
    metadata = source.metadata()
    times = iso_times(np.asarray(source.timestamps())[:n_ticks])
    return Fleet(
        spec=spec,
        names=names,
        profiles=profiles,
        index={name: i for i, name in enumerate(names)},
        times=times,
        phases=phases_from_metadata(metadata, n_ticks),
        metadata=metadata if isinstance(metadata, dict) else None,
        live=bool(getattr(source, "live", False)),
    )
