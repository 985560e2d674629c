"""In-memory sources: a dataset held as dense ``(ticks, servers)`` cubes, built once at open.

``batch`` builds one small DataFrame from row ``i`` of the cubes and ``window`` is a
slice, so both stay fast on every dashboard refresh. :class:`FrameSource` wraps a
pandas DataFrame already in memory (handy from Python and in tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import DataError
from .base import Source, Window, check_tick
from .cleaning import Cube, Origin, ReadOptions, build_cube, normalize

_STATE_NAMES = pd.array([*schema.STATES, None], dtype="str")  # code -1 (absent) reads as missing


def text_array(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings as a pandas string array: converted once, then taken per batch without copying text."""
    return pd.array(np.asarray(values, dtype=object), dtype="str")


def phase_kind_codes(names: tuple[str, ...], metadata: dict[str, Any] | None) -> np.ndarray:
    """For each phase name, its index into ``schema.PHASE_KINDS`` (-1 when unknown).

    The metadata's ``phases`` list maps custom names to kinds; otherwise a name that
    is itself a kind maps to it.
    """
    mapping: dict[str, str] = {}
    for phase in (metadata or {}).get("phases") or []:
        if (
            isinstance(phase, dict)
            and isinstance(phase.get("name"), str)
            and phase.get("kind") in schema.PHASE_KINDS
        ):
            mapping[phase["name"]] = phase["kind"]
    out = np.full(len(names) + 1, -1, dtype=np.int8)  # last slot: "no phase" (code -1)
    for k, name in enumerate(names):
        kind = mapping.get(name, name if name in schema.PHASE_KINDS else None)
        if kind is not None:
            out[k] = schema.PHASE_KINDS.index(kind)
    return out


def extra_metric_names(metrics: dict[str, Any]) -> tuple[str, ...]:
    """The extra metrics among ``metrics``' names (neither core metrics nor ``container_oom``)."""
    return tuple(m for m in metrics if not schema.is_core_metric(m) and m != schema.OOM)


def metric_units_of(
    metrics: dict[str, Any], extra_units: dict[str, str], metadata: dict[str, Any] | None = None
) -> dict[str, str]:
    """Every metric the data holds (core metrics present, then extras) -> its unit ("" unknown)."""
    documented = {
        c.get("name"): c.get("unit")
        for c in (metadata or {}).get("columns") or []
        if isinstance(c, dict) and isinstance(c.get("unit"), str)
    }
    out = {m: schema.METRIC_BY_NAME[m].unit for m in schema.METRIC_NAMES if m in metrics}
    for name in extra_metric_names(metrics):
        out[name] = extra_units.get(name) or documented.get(name) or ""
    return out


def _readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


class CubeSource(Source):
    """A source over a :class:`~dashboard.sources.cleaning.Cube` (subclassed by the file sources)."""

    name = "memory"
    description = "a dataset held in memory"

    def __init__(
        self,
        cube: Cube,
        *,
        metadata: dict[str, Any] | None = None,
        identity: str | None = None,
        report: list[str] | None = None,
        tick_seconds: float | None = None,
        axis: tuple | None = None,
    ):
        self._set_cube(cube, metadata, axis)
        self._identity = identity
        self._extra_report = list(report or [])
        self._tick_seconds = tick_seconds
        self._median_tick: tuple[tuple[int, int, int], float] | None = None

    def _set_cube(
        self, cube: Cube, metadata: dict[str, Any] | None, axis: tuple | None = None
    ) -> None:
        self._cube = cube
        self._metadata = metadata
        t, n = cube.shape
        self._ticks_dt = cube.ticks.astype("datetime64[ns]")
        self._ticks_dt.flags.writeable = False
        self._nan = np.broadcast_to(np.float32(np.nan), (t, n))
        if axis is None:
            axis = (text_array(cube.servers), text_array(cube.profiles))
        self._server_arr, self._profile_arr = axis
        self._full_rows = cube.present.all(axis=1)
        self._kind_codes = None
        self._phase_name_arr = None
        if cube.phase is not None:
            self._kind_codes = phase_kind_codes(cube.phase_names or (), metadata)
            self._phase_name_arr = pd.array([*(cube.phase_names or ()), None], dtype="str")

    @property
    def _extra_names(self) -> tuple[str, ...]:
        return extra_metric_names(self._cube.metrics)  # a followed file's cube changes

    @property
    def axis(self) -> tuple:
        """The server axis as string arrays ``(server names, profiles)``."""
        return self._server_arr, self._profile_arr

    # -- Source interface ------------------------------------------------
    def n_ticks(self) -> int:
        return int(self._cube.ticks.shape[0])

    def timestamps(self) -> np.ndarray:
        return self._ticks_dt

    def servers(self) -> pd.DataFrame:
        return pd.DataFrame({schema.SERVER: self._server_arr, schema.PROFILE: self._profile_arr})

    def metadata(self) -> dict[str, Any] | None:
        return self._metadata

    def report(self) -> list[str]:
        return [*self._extra_report, *self._cube.report]

    def identity(self) -> str:
        return self._identity or super().identity()

    def metric_units(self) -> dict[str, str]:
        return metric_units_of(self._cube.metrics, self._cube.units, self._metadata)

    def row_counts(self) -> np.ndarray | None:
        return self._cube.row_counts

    def tick_seconds(self) -> float:
        if self._tick_seconds:
            return float(self._tick_seconds)
        if self._metadata and self._metadata.get("tick_seconds"):
            return float(self._metadata["tick_seconds"])
        ticks = self._cube.ticks  # the median interval, once per tick axis (a followed file grows)
        key = (ticks.shape[0], int(ticks[0]) if ticks.shape[0] else 0, int(ticks[-1]) if ticks.shape[0] else 0)
        if self._median_tick is None or self._median_tick[0] != key:
            self._median_tick = (key, super().tick_seconds())
        return self._median_tick[1]

    def batch(self, i: int) -> pd.DataFrame:
        cube = self._cube
        j = check_tick(i, self.n_ticks())
        if self._full_rows[j]:
            idx = slice(None)
            k = cube.servers.shape[0]
            servers, profiles = self._server_arr, self._profile_arr
        else:
            idx = np.flatnonzero(cube.present[j])
            k = idx.shape[0]
            servers, profiles = self._server_arr[idx], self._profile_arr[idx]
        ts = pd.DatetimeIndex(np.full(k, cube.ticks[j], dtype="datetime64[ns]")).tz_localize("UTC")
        columns: dict[str, Any] = {
            schema.TIMESTAMP: ts,
            schema.SERVER: servers,
            schema.PROFILE: profiles,
            schema.STATE: _STATE_NAMES[cube.state[j, idx].astype(np.intp)],
        }
        for name in schema.METRIC_NAMES:
            values = cube.metrics.get(name)
            columns[name] = (
                values[j, idx] if values is not None else np.full(k, np.nan, dtype=np.float32)
            )
        if cube.phase is not None:
            columns[schema.PHASE] = self._phase_name_arr[cube.phase[j, idx].astype(np.intp)]
        if cube.problem_child is not None:
            columns[schema.PROBLEM_CHILD] = cube.problem_child[idx]
        if schema.OOM in cube.metrics:
            columns[schema.OOM] = cube.metrics[schema.OOM][j, idx]
        for name in self._extra_names:
            columns[name] = cube.metrics[name][j, idx]
        return pd.DataFrame(columns)

    def window(self, end: int, length: int) -> Window:
        cube = self._cube
        j = check_tick(end, self.n_ticks())
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise DataError(f"window length must be a positive integer, got {length!r}")
        start = max(0, j - int(length) + 1)
        rows = slice(start, j + 1)
        metrics = {
            name: _readonly(cube.metrics[name][rows]) if name in cube.metrics else self._nan[rows]
            for name in schema.METRIC_NAMES
        }
        if schema.OOM in cube.metrics:
            metrics[schema.OOM] = _readonly(cube.metrics[schema.OOM][rows])
        for name in self._extra_names:
            metrics[name] = _readonly(cube.metrics[name][rows])
        phase = None
        if cube.phase is not None:
            phase = self._kind_codes[cube.phase[rows]]
        return Window(
            timestamps=self._ticks_dt[rows],
            servers=cube.servers,
            profiles=cube.profiles,
            metrics=metrics,
            end=j,
            tick_seconds=self.tick_seconds(),
            phase=phase,
            problem_child=cube.problem_child,
            extra={"present": _readonly(cube.present[rows]), "state": _readonly(cube.state[rows])},
        )


def _frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns and values (its identity: never ``id()``, which is reused)."""
    import hashlib

    digest = hashlib.sha256(repr([str(c) for c in frame.columns]).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # values pandas cannot hash (lists, dicts): their text
        digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()[:32]


class FrameSource(CubeSource):
    """A pandas DataFrame already in memory, mapped and validated like a file."""

    name = "frame"
    description = "a pandas DataFrame in memory (from Python only)"

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        label: str = "frame",
        metadata: dict[str, Any] | None = None,
        columns: Any = None,
        **options: Any,
    ):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        opts = ReadOptions.from_options(columns=columns, **options)
        try:
            piece = normalize(frame.copy(deep=False), Origin(label, 0, "row"), opts)
            cube = build_cube([piece], opts.resample, label)
        except DataError:
            raise
        except (
            ValueError,
            TypeError,
            OverflowError,
            KeyError,
        ) as exc:  # a value pandas cannot convert
            raise DataError(f"{label}: cannot read the frame: {type(exc).__name__}: {exc}") from exc
        digest = _frame_digest(frame)
        super().__init__(cube, metadata=metadata, identity=f"frame:{label}:{digest}:{opts!r}")
        self.label = label
