"""A Parquet file too big to hold in memory, read row group by row group.

At open only the ``timestamp`` column and the dictionaries of the server and profile
columns are read: they give the tick axis (with each tick's row range) and the server
axis. ``batch`` and ``window`` then read just the row groups that hold the ticks
asked for, validate those rows and place them on the fixed axes; the last few row
groups read are kept decoded, so stepping through ticks reads each group once.

The file must be sorted by timestamp (generated datasets are); a file that is not
is read into memory instead by :class:`~dashboard.sources.files.ParquetSource`.
Values are validated when their row group is read, so a bad value deep in a large
file is reported by the ``batch`` or ``window`` that reaches it.

Rows are decoded straight from the Arrow arrays: dictionary indices go through a
lookup from each dictionary to the server axis (built once per distinct dictionary),
metrics are checked and placed with numpy. Anything out of the ordinary (a value the
messy-data policy repairs or refuses, a text metric, duplicate rows) sends the rows
through :func:`~dashboard.sources.cleaning.normalize` instead, which gives the same
result, or the same error, as the in-memory reader.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import schema
from ..errors import DataError
from .base import Source, Window, check_tick
from .cleaning import (
    METRIC_COLUMNS,
    TRUE_TEXT,
    Cube,
    ReadOptions,
    normalize,
    parquet_origin,
    place_rows,
    range_of,
    unit_factor,
)
from .memory import CubeSource, text_array
from .metadata import Checked, file_identity, parquet_read_error

log = logging.getLogger(__name__)
_CACHED_GROUPS = 8  # decoded Arrow row groups
_CACHED_GROUP_CUBES = 24  # row groups placed on the tick x server axes (a few windows' worth)


_STATE_CODE = {name: k for k, name in enumerate(schema.STATES)}
_DEFAULT_STATE = schema.STATES.index(schema.DEFAULT_STATE)


class _Irregular(Exception):
    """Rows the direct decoder leaves to :func:`normalize` (which repairs or refuses them)."""


def _dictionary_chunks(column: pa.ChunkedArray):
    """``(indices, dictionary)`` per chunk; indices are int64 numpy, -1 for a null."""
    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        if not pa.types.is_dictionary(chunk.type):
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                raise _Irregular()
            chunk = chunk.dictionary_encode()
        values = chunk.dictionary
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise _Irregular()
        idx = chunk.indices
        if chunk.null_count:
            idx = pc.fill_null(idx, -1)
        yield idx.to_numpy(zero_copy_only=False).astype(np.int64, copy=False), values


def _stripped(values: pa.Array) -> np.ndarray:
    """A string dictionary as stripped Python strings (None for a null)."""
    out = values.to_numpy(zero_copy_only=False).astype(object)
    for k, v in enumerate(out):
        if v is not None:
            out[k] = v.strip()
    return out


def _true_flags(column: pa.Array) -> np.ndarray:
    """Which rows of a ``problem_child`` column are set, read as normalize reads them
    (booleans, 1/0, or true/yes/... text); a missing value is not set."""
    if pa.types.is_boolean(column.type):
        flags = column.fill_null(False)
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        flags = pc.fill_null(pc.equal(pc.cast(column, pa.float64()), 1.0), False)
    else:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        text = pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string())))
        flags = pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(TRUE_TEXT))), False)
    return flags.to_numpy(zero_copy_only=False)


def _wrap(path: Path, what: str, exc: Exception) -> DataError:
    return parquet_read_error(path, what, exc)


class LazyParquetSource(Source):
    name = "parquet"
    description = "a large Parquet file read lazily by row group"

    @classmethod
    def try_open(
        cls, path: Path, pf: pq.ParquetFile, checked: Checked, **options: Any
    ) -> tuple[LazyParquetSource | None, str | None]:
        """The lazy source, or None and the reason the file cannot be read lazily.

        ``checked``: the file's checks against its metadata, started by the caller; the sha256
        runs while the tick and server axes are read and is collected before returning.
        """
        opts = ReadOptions.from_options(**options)
        names = pf.schema_arrow.names
        to_file = {v: k for k, v in (opts.columns or {}).items() if k in names}
        col = {c: to_file.get(c, c) for c in schema.ALL_COLUMNS}
        col = {c: f for c, f in col.items() if f in names}
        mapped = set(col.values())
        for field in pf.schema_arrow:  # extra metrics: other numeric columns, under their own names
            numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
            if numeric and field.name not in mapped and schema.may_be_extra_metric(field.name):
                col[field.name] = field.name
        reason = None
        if schema.TIMESTAMP not in col or schema.SERVER not in col:
            reason = "it lacks a timestamp or server column"
        elif not pa.types.is_timestamp(pf.schema_arrow.field(col[schema.TIMESTAMP]).type):
            reason = "its timestamps are not a Parquet timestamp type"
        elif opts.resample or opts.tz:
            reason = "resample= and tz= need the whole file"
        if reason is None:
            try:
                return cls(path, pf, col, opts, options, checked), None
            except _NotSorted:
                reason = "it is not sorted by timestamp"
        log.warning("%s: read into memory, not lazily: %s", path, reason)
        return None, reason

    def __init__(
        self,
        path: Path,
        pf: pq.ParquetFile,
        col: dict[str, str],
        opts: ReadOptions,
        options: dict[str, Any],
        checked: Checked,
    ) -> None:
        self.path = Path(path)
        self._pf = pf
        self._col = col
        self._extras = tuple(c for c in col if c not in schema.ALL_COLUMNS)
        self._opts = opts
        self._options = options
        md = pf.metadata
        self._group_start = np.zeros(md.num_row_groups + 1, dtype=np.int64)
        self._group_start[1:] = np.cumsum(
            [md.row_group(r).num_rows for r in range(md.num_row_groups)]
        )
        self._read_axes()
        self._server_names = np.asarray(self._servers, dtype=object)
        self._tick_seconds: float | None = None
        self._luts: dict[str, tuple[pa.Array, np.ndarray]] = {}  # column -> last dictionary, lookup
        # The profile column is not read again: the server axis fixes each server's profile.
        self._read_columns = [f for c, f in self._col.items() if c != schema.PROFILE]
        checked.confirm()
        self._metadata = checked.metadata
        self._identity = file_identity("parquet", [self.path], options)
        self._groups: OrderedDict[int, pa.Table] = OrderedDict()
        self._slice_cache: tuple[tuple[int, int], CubeSource] | None = None
        self._group_cubes: OrderedDict[int, tuple[int, Cube | None]] = OrderedDict()
        self._phase_names: list[str] = []
        self._phase_index: dict[str, int] = {}
        self._lock = threading.Lock()  # the caches are shared by the threads of one worker
        self._report = [
            f"{self.path}: {md.num_rows} rows in {md.num_row_groups} row groups, read lazily by row group "
            "(values are validated as their row group is read)"
        ]
        self._report.extend(self._notes)
        self._report.extend(checked.notes)

    # -- opening ---------------------------------------------------------
    def _read_axes(self) -> None:
        """Tick axis from the timestamp column, server axis from the server column's dictionaries.

        Streams the few columns it needs batch by batch, so memory stays bounded by the
        tick axis, not the file.
        """
        ts_col, server_col = self._col[schema.TIMESTAMP], self._col[schema.SERVER]
        prof_name = self._col.get(schema.PROFILE)
        pc_name = self._col.get(schema.PROBLEM_CHILD)
        columns = [ts_col, server_col, *(c for c in (prof_name, pc_name) if c)]
        ts_type = self._pf.schema_arrow.field(ts_col).type
        self._notes: list[str] = []
        if ts_type.tz is None:
            self._notes.append(f"{self.path}: timestamps carry no time zone; read as UTC")
        elif ts_type.tz not in ("UTC", "utc", "+00:00", "Etc/UTC", "Z"):
            self._notes.append(f"{self.path}: timestamps in {ts_type.tz} converted to UTC")
        names: dict[str, int] = {}
        profiles: list[str] = []
        pc_flags: list[bool] = []
        tick_values: list[np.ndarray] = []
        tick_starts: list[np.ndarray] = []
        last_ts: int | None = None
        row = 0
        prev_dictionary = None
        lookup = np.zeros(0, dtype=np.int64)
        try:
            axes_file = pq.ParquetFile(
                self.path,
                read_dictionary=[c for c in (server_col, prof_name) if c],
                page_checksum_verification=True,
            )
            batches = axes_file.iter_batches(batch_size=1 << 18, columns=columns, use_threads=True)
            for batch in batches:
                n = batch.num_rows
                if n == 0:
                    continue
                ts_arr = batch.column(ts_col)
                if ts_arr.null_count:
                    first = int(np.flatnonzero(ts_arr.is_null().to_numpy(zero_copy_only=False))[0])
                    raise DataError(
                        f"{self.path}: column {ts_col!r}, row {row + first + 1}: missing timestamp: None"
                    )
                ts = (
                    pc.cast(ts_arr, pa.timestamp("ns", tz=ts_type.tz))
                    .to_numpy(zero_copy_only=False)
                    .view(np.int64)
                )
                if (last_ts is not None and ts[0] < last_ts) or not bool((ts[1:] >= ts[:-1]).all()):
                    raise _NotSorted()
                change = np.flatnonzero(ts[1:] != ts[:-1]) + 1
                if last_ts is None or ts[0] != last_ts:
                    change = np.concatenate(([0], change))
                tick_values.append(ts[change])
                tick_starts.append(change + row)
                last_ts = int(ts[-1])
                # server axis: the union of the dictionaries, in order of first appearance
                servers = batch.column(server_col)
                if not pa.types.is_dictionary(servers.type):
                    servers = servers.dictionary_encode()
                idx = servers.indices.to_numpy(zero_copy_only=False)
                # lookup: dictionary entry -> server axis; -1 not seen yet, -2 a blank name.
                # A dictionary shared by many batches keeps its lookup, and entries that no
                # row used so far (a server that appears late) are looked for again.
                if prev_dictionary is None or not servers.dictionary.equals(prev_dictionary):
                    prev_dictionary = servers.dictionary
                    dictionary = servers.dictionary.to_pylist()
                    lookup = np.fromiter(
                        (names.get(str(d), -1) for d in dictionary),
                        dtype=np.int64,
                        count=len(dictionary),
                    )
                new = np.flatnonzero(lookup == -1)
                if new.size and idx.dtype.kind in "iu":  # only the entries these rows use
                    used = np.zeros(lookup.shape[0], dtype=bool)
                    used[idx] = True
                    new = new[used[new]]
                if new.size:
                    used, first = np.unique(idx, return_index=True)
                    first_of = dict(zip(used.tolist(), first.tolist(), strict=True))
                    prof_values = None
                    if prof_name:
                        prof_col = batch.column(prof_name)
                        if pa.types.is_dictionary(prof_col.type):
                            pdict = prof_col.dictionary.to_pylist()
                            pidx = prof_col.indices.to_numpy(zero_copy_only=False)
                            prof_values = [
                                pdict[k] if k >= 0 else None for k in pidx[first].tolist()
                            ]
                        else:
                            prof_values = prof_col.take(pa.array(first)).to_pylist()
                        prof_of = dict(zip(used.tolist(), prof_values, strict=True))
                    for k in sorted(new.tolist(), key=lambda d: first_of.get(d, 1 << 62)):
                        name = dictionary[k]
                        if k not in first_of:
                            continue
                        if name is None or str(name).strip() == "":
                            lookup[k] = -2
                            continue
                        names[str(name)] = len(profiles)
                        lookup[k] = names[str(name)]
                        p = prof_of.get(k) if prof_values is not None else None
                        profiles.append(schema.DEFAULT_PROFILE if p is None else str(p))
                        pc_flags.append(False)
                if pc_name:
                    flags = _true_flags(batch.column(pc_name))
                    hit = (
                        lookup[np.unique(idx[flags])]
                        if flags.any()
                        else np.zeros(0, dtype=np.int64)
                    )
                    for h in hit[hit >= 0].tolist():
                        pc_flags[h] = True
                row += n
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _wrap(self.path, "reading the timestamp and server columns", exc) from None
        if row == 0:
            raise DataError(f"{self.path}: the file has no data rows")
        self._ticks = np.concatenate(tick_values)
        self._tick_start = np.append(np.concatenate(tick_starts), row).astype(np.int64)
        self._ticks_dt = self._ticks.astype("datetime64[ns]")
        self._ticks_dt.flags.writeable = False
        self._servers = pd.Index(list(names), dtype=object)
        self._profiles = np.array(profiles, dtype=object)
        self._axis = (
            text_array(np.asarray(self._servers, dtype=object)),
            text_array(self._profiles),
        )
        self._problem_child = np.array(pc_flags, dtype=bool) if pc_name else None

    # -- reading ---------------------------------------------------------
    def _group(self, r: int) -> pa.Table:
        table = self._groups.get(r)
        if table is None:
            try:
                table = self._pf.read_row_group(r, columns=self._read_columns, use_threads=True)
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise _wrap(self.path, f"reading row group {r}", exc) from None
            self._groups[r] = table
            while len(self._groups) > _CACHED_GROUPS:
                self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(r)
        return table

    def _slice(self, first: int, last: int, *, whole_groups: bool) -> CubeSource:
        """Ticks ``first..last`` (inclusive) as an in-memory source on the fixed axes."""
        with self._lock:
            key = (first, last)
            if self._slice_cache and self._slice_cache[0] == key:
                return self._slice_cache[1]
            g0, g1 = self._groups_of(first, last)
            if whole_groups or all(r in self._group_cubes for r in range(g0, g1 + 1)):
                cube = self._from_group_cubes(first, last, g0, g1)
            else:
                rows = int(self._tick_start[first]), int(self._tick_start[last + 1])
                cube = self._rows_cube(*rows, first, last)
            src = CubeSource(
                cube, metadata=self._metadata, tick_seconds=self.tick_seconds(), axis=self._axis
            )
            self._slice_cache = (key, src)
            return src

    def _groups_of(self, first: int, last: int) -> tuple[int, int]:
        row0, row1 = int(self._tick_start[first]), int(self._tick_start[last + 1])
        g0 = int(np.searchsorted(self._group_start, row0, side="right") - 1)
        g1 = int(np.searchsorted(self._group_start, row1 - 1, side="right") - 1)
        return g0, g1

    def _tick_of_row(self, row: int) -> int:
        return int(np.searchsorted(self._tick_start, row, side="right") - 1)

    def _phase_code(self, name: str) -> int:
        code = self._phase_index.get(name)
        if code is None:
            code = self._phase_index[name] = len(self._phase_names)
            self._phase_names.append(name)
        return code

    def _rows_cube(self, row0: int, row1: int, first: int, last: int) -> Cube:
        """Rows ``row0..row1-1`` validated and placed on ticks ``first..last`` x all servers."""
        g0 = int(np.searchsorted(self._group_start, row0, side="right") - 1)
        g1 = int(np.searchsorted(self._group_start, row1 - 1, side="right") - 1)
        parts = []
        for r in range(g0, g1 + 1):
            table = self._group(r)
            lo = max(row0, int(self._group_start[r])) - int(self._group_start[r])
            hi = min(row1, int(self._group_start[r + 1])) - int(self._group_start[r])
            parts.append(table.slice(lo, hi - lo))
        try:
            table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        except (pa.ArrowException, ValueError) as exc:
            raise _wrap(self.path, f"decoding rows {row0 + 1}..{row1}", exc) from None
        try:
            return self._direct_cube(table, row0, row1, first, last)
        except (_Irregular, pa.ArrowException, ValueError, TypeError, OverflowError):
            pass  # normalize repairs what the policy allows and words the errors
        return self._normalized_cube(table, row0, row1, first, last)

    def _lookup(self, column: str, values: pa.Array, build) -> np.ndarray:
        """``build(values)`` for a dictionary, kept while the next chunks share that dictionary.

        The result has one more slot at the end, for index -1 (a null).
        """
        hit = self._luts.get(column)
        if hit is not None and (hit[0] is values or hit[0].equals(values)):
            return hit[1]
        lut = build(values)
        self._luts[column] = (values, lut)
        return lut

    def _server_lut(self, values: pa.Array) -> np.ndarray:
        names = _stripped(values)
        lut = np.full(len(names) + 1, -1, dtype=np.int64)
        ok = np.array([v is not None and v != "" for v in names], dtype=bool)
        if ok.any():
            lut[:-1][ok] = self._servers.get_indexer(pd.Index(names[ok], dtype=object))
        return lut

    @staticmethod
    def _state_lut(values: pa.Array) -> np.ndarray:
        codes = [
            _DEFAULT_STATE if not v else _STATE_CODE.get(v.lower(), -2) for v in _stripped(values)
        ]
        return np.array([*codes, _DEFAULT_STATE], dtype=np.int8)

    def _direct_cube(
        self, table: pa.Table, row0: int, row1: int, first: int, last: int
    ) -> Cube:
        """The rows decoded from their Arrow arrays without pandas; raises :class:`_Irregular`
        for anything :func:`normalize` would repair, report as an error or read differently."""
        col = self._col
        n_t, n_s = last - first + 1, len(self._server_names)
        metric_names = [m for m in METRIC_COLUMNS if m in col] + list(self._extras)
        if not metric_names:
            raise _Irregular()
        # rows -> ticks, checked against the timestamps read at open
        bounds = np.clip(self._tick_start[first : last + 2], row0, row1)
        tick_idx = np.repeat(np.arange(n_t, dtype=np.int64), np.diff(bounds))
        ts_col = table.column(col[schema.TIMESTAMP])
        ts_type = ts_col.type
        if not pa.types.is_timestamp(ts_type) or ts_col.null_count:
            raise _Irregular()
        ts = pc.cast(ts_col, pa.timestamp("ns", tz=ts_type.tz)).to_numpy().view(np.int64)
        if tick_idx.shape[0] != ts.shape[0] or not np.array_equal(
            ts, self._ticks[first : last + 1][tick_idx]
        ):
            raise _Irregular()
        # servers: dictionary indices through a lookup onto the server axis
        server_col = col[schema.SERVER]
        codes = np.concatenate(
            [
                self._lookup(server_col, values, self._server_lut)[idx]
                for idx, values in _dictionary_chunks(table.column(server_col))
            ]
        )
        if codes.shape[0] != ts.shape[0] or (codes < 0).any():
            raise _Irregular()
        key = tick_idx * n_s + codes
        present = np.zeros(n_t * n_s, dtype=bool)
        present[key] = True
        if int(np.count_nonzero(present)) != key.shape[0]:
            raise _Irregular()  # duplicate (timestamp, server) rows
        state = np.full(n_t * n_s, -1, dtype=np.int8)
        if schema.STATE in col:
            state_col = col[schema.STATE]
            rows = np.concatenate(
                [
                    self._lookup(state_col, values, self._state_lut)[idx]
                    for idx, values in _dictionary_chunks(table.column(state_col))
                ]
            )
            if (rows < 0).any():
                raise _Irregular()
            state[key] = rows
        else:
            state[key] = _DEFAULT_STATE
        units = dict(self._opts.units or {})
        metrics: dict[str, np.ndarray] = {}
        for name in metric_names:
            arr = table.column(col[name])
            if pa.types.is_integer(arr.type):
                values = pc.cast(arr, pa.float64(), safe=False).to_numpy()
            elif pa.types.is_float32(arr.type) or pa.types.is_float64(arr.type):
                values = arr.to_numpy()
            else:
                raise _Irregular()
            extra = name in self._extras
            if name in units and not extra:
                factor = unit_factor(name, units[name])
                if factor != 1.0:
                    values = values.astype(np.float64) * factor
            low, high = (-np.inf, np.inf) if extra else range_of(name)
            if np.isinf(values).any() or ((values < low) | (values > high)).any():
                raise _Irregular()
            cube = np.full(n_t * n_s, np.nan, dtype=np.float32)
            cube[key] = values
            metrics[name] = cube.reshape(n_t, n_s)
        phase = None
        if schema.PHASE in col:
            phase_col = col[schema.PHASE]
            local: dict[str, int] = {}

            def local_lut(values: pa.Array) -> np.ndarray:
                out = [local.setdefault(v, len(local)) if v else -1 for v in _stripped(values)]
                return np.array([*out, -1], dtype=np.int64)

            rows = np.concatenate(
                [local_lut(values)[idx] for idx, values in _dictionary_chunks(table.column(phase_col))]
            )
            names = list(local)
            has = rows >= 0
            to_code = np.full(len(names) + 1, -1, dtype=np.int16)
            if has.any():  # source-wide codes, given in order of first appearance
                used, first_row = np.unique(rows[has], return_index=True)
                for k in used[np.argsort(first_row, kind="stable")].tolist():
                    to_code[k] = self._phase_code(names[k])
            flat = np.full(n_t * n_s, -1, dtype=np.int16)
            flat[key] = to_code[rows]
            phase = flat.reshape(n_t, n_s)
        flags = col.get(schema.PROBLEM_CHILD)
        if flags is not None and not pa.types.is_boolean(table.column(flags).type):
            raise _Irregular()  # 0/1 or text flags: normalize checks them
        return Cube(
            self._ticks[first : last + 1],
            self._server_names,
            self._profiles,
            present.reshape(n_t, n_s),
            metrics,
            state.reshape(n_t, n_s),
            tuple(self._phase_names) if phase is not None else None,
            phase,
            self._problem_child,
            [],
        )

    def _normalized_cube(
        self, table: pa.Table, row0: int, row1: int, first: int, last: int
    ) -> Cube:
        """The rows through pandas and :func:`normalize`: the messy-data policy in full."""
        try:
            frame = table.to_pandas()
        except (pa.ArrowException, ValueError) as exc:
            raise _wrap(self.path, f"decoding rows {row0 + 1}..{row1}", exc) from None
        frame.columns = list(table.column_names)
        opts = ReadOptions(
            self._opts.columns,
            self._opts.units,
            None,
            None,
            self._opts.server,
            self._opts.epoch_unit,
        )
        piece = normalize(frame, parquet_origin(self.path, row0), opts)
        cube = place_rows(
            piece, self._ticks[first : last + 1], self._servers, self._profiles, str(self.path)
        )
        cube.problem_child = self._problem_child
        if cube.phase is not None:  # phase codes into the source-wide list of phase names
            lut = np.array([*map(self._phase_code, cube.phase_names or ()), -1], dtype=np.int16)
            cube.phase = lut[cube.phase]
            cube.phase_names = tuple(self._phase_names)
        return cube

    def _group_cube(self, r: int) -> tuple[int, Cube]:
        """Row group ``r`` as a cube of the ticks it touches, and the first of those ticks."""
        hit = self._group_cubes.get(r)
        if hit is not None:
            self._group_cubes.move_to_end(r)
            return hit
        row0, row1 = int(self._group_start[r]), int(self._group_start[r + 1])
        if row1 == row0:
            hit = (0, None)
        else:
            t0, t1 = self._tick_of_row(row0), self._tick_of_row(row1 - 1)
            hit = (t0, self._rows_cube(row0, row1, t0, t1))
        self._group_cubes[r] = hit
        while len(self._group_cubes) > _CACHED_GROUP_CUBES:
            self._group_cubes.popitem(last=False)
        return hit

    def _from_group_cubes(self, first: int, last: int, g0: int, g1: int) -> Cube:
        """Ticks ``first..last`` copied out of the (cached) cubes of the row groups holding them."""
        n_t, n_s = last - first + 1, len(self._servers)
        present = np.zeros((n_t, n_s), dtype=bool)
        state = np.full((n_t, n_s), -1, dtype=np.int8)
        metrics: dict[str, np.ndarray] = {}
        phase = None
        for r in range(g0, g1 + 1):
            t0, cube = self._group_cube(r)
            if cube is None:
                continue
            a, b = max(first, t0), min(last, t0 + cube.shape[0] - 1)
            if a > b:
                continue
            src, dst = slice(a - t0, b - t0 + 1), slice(a - first, b - first + 1)
            mask = cube.present[src]
            whole = bool(mask.all())
            pairs = [(state, cube.state)]
            for name, values in cube.metrics.items():
                if name not in metrics:
                    metrics[name] = np.full((n_t, n_s), np.nan, dtype=np.float32)
                pairs.append((metrics[name], values))
            if cube.phase is not None:
                if phase is None:
                    phase = np.full((n_t, n_s), -1, dtype=np.int16)
                pairs.append((phase, cube.phase))
            for out, values in pairs:
                if whole:
                    out[dst] = values[src]
                else:  # a tick split between row groups: the later group's rows win
                    np.copyto(out[dst], values[src], where=mask)
            present[dst] |= mask
        return Cube(
            self._ticks[first : last + 1],
            np.asarray(self._servers, dtype=object),
            self._profiles,
            present,
            metrics,
            state,
            tuple(self._phase_names) if phase is not None else None,
            phase,
            self._problem_child,
            [],
        )

    # -- Source interface ------------------------------------------------
    def n_ticks(self) -> int:
        return int(self._ticks.shape[0])

    def timestamps(self) -> np.ndarray:
        return self._ticks_dt

    def servers(self) -> pd.DataFrame:
        return pd.DataFrame({schema.SERVER: self._axis[0], schema.PROFILE: self._axis[1]})

    def metadata(self) -> dict[str, Any] | None:
        return self._metadata

    def report(self) -> list[str]:
        return list(self._report)

    def metric_units(self) -> dict[str, str]:
        units = dict(self._opts.units or {})
        out = {m: schema.METRIC_BY_NAME[m].unit for m in schema.METRIC_NAMES if m in self._col}
        out.update({m: str(units.get(m, "")).strip() for m in self._extras})
        return out

    def identity(self) -> str:
        return self._identity

    def tick_seconds(self) -> float:
        if self._metadata and self._metadata.get("tick_seconds"):
            return float(self._metadata["tick_seconds"])
        if self._tick_seconds is None:  # the tick axis is fixed: its median interval once
            self._tick_seconds = super().tick_seconds()
        return self._tick_seconds

    def batch(self, i: int) -> pd.DataFrame:
        # from the decoded row group when it is at hand, else only this tick's rows are decoded
        j = check_tick(i, self.n_ticks())
        return self._slice(j, j, whole_groups=False).batch(0)

    def window(self, end: int, length: int) -> Window:
        j = check_tick(end, self.n_ticks())
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise DataError(f"window length must be a positive integer, got {length!r}")
        start = max(0, j - int(length) + 1)
        win = self._slice(start, j, whole_groups=True).window(j - start, j - start + 1)
        return Window(
            timestamps=self._ticks_dt[start : j + 1],
            servers=win.servers,
            profiles=win.profiles,
            metrics=win.metrics,
            end=j,
            tick_seconds=win.tick_seconds,
            phase=win.phase,
            problem_child=win.problem_child,
            extra=win.extra,
        )

    def close(self) -> None:
        self._groups.clear()
        self._group_cubes.clear()
        self._slice_cache = None


class _NotSorted(Exception):
    pass
