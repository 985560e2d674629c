"""A CSV file that keeps growing (``follow:path``): appended ticks appear, like ``tail -f``.

Every call that asks about the data first checks the file's size (one ``stat``); new
complete lines are parsed, validated and added. A last line without its newline is
still being written and waits for the next check. The file may not exist yet or be
empty: the source then has no ticks until rows arrive. A file that shrinks or is
replaced (log rotation) is read again from the start.

Reading is incremental: the source remembers the header and the byte offset of the last
complete line, reads only the bytes appended since, parses and validates only those rows
(the policy of :mod:`dashboard.sources.cleaning`) and writes them into dense
``(ticks, servers)`` arrays that keep spare room on both axes (grown by half each time),
so an appended tick costs time in proportion to its own rows, not to the file.

``identity()`` stays the same while whole ticks are appended (what was already read does
not change) and changes when appended rows land in a tick already seen, when a new
server joins, or when the file is truncated or replaced. Rows for the newest tick fill it
in place; rows for older ticks rebuild the arrays from those in memory (the file is not
parsed again), so windows handed out before keep their data.

Appended rows that cannot be used do not stop the stream: they are skipped and the
refusal (file, line, column, value) is listed in ``report()`` and kept in
``last_error``. Progress reads ``None`` (live); new servers join the end of the server
axis.

Memory stays bounded however long the file grows: only the newest ticks are kept in the
arrays (``keep``, default the last 24 hours, and at most :attr:`FollowSource.KEEP_CELLS`
server-ticks). Older ticks are read back from the file when asked for: the source keeps
each tick's time and, per block of lines it read, the byte range and times it held.
Rows that arrive for times older than the kept ticks are skipped and counted. Files are
read in blocks of at most :data:`PIECE_BYTES`, so opening a large file needs memory for
one block, not the whole file. In a file of one server named by ``server``, rows whose
time is before the newest tick are skipped (repeated times are kept, in order).
"""

from __future__ import annotations

import csv
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import DataError, listed, quote
from ..parameters import TEXT, Parameter
from .base import Window, check_tick
from .cleaning import (
    MAX_COLUMNS,
    Cube,
    Normalized,
    Origin,
    ReadOptions,
    concat_pieces,
    normalize,
    place_rows,
    timeline_notes,
    too_many_columns,
)
from .files import MAX_HEADER_BYTES, READ_PARAMETERS, read_csv_frame
from .memory import CubeSource, phase_kind_codes, text_array
from .metadata import load_metadata
from .paths import safe_path

PIECE_BYTES = 8 << 20  # lines parsed at a time
DEFAULT_KEEP = "24h"


def _room(needed: int, current: int, spare: bool) -> int:
    """Capacity for ``needed`` items, half as much again when it must grow (amortised appends).

    Without ``spare`` the first allocation is exact (the server axis stays contiguous until
    a server joins).
    """
    if needed <= current:
        return current
    if not spare and current == 0:
        return needed
    return max(needed + needed // 2, 16)


class _Grid:
    """The rows read so far as dense ``(ticks, servers)`` arrays with spare capacity.

    The live part is ``[:t, :n]``; cells beyond it hold their fill value (NaN, -1, False)
    until rows land there, so a server that joins late has an absent history for free.
    Appends write rows past ``t`` in place, and rows for the newest tick fill its row in
    place; arrays are replaced (windows handed out keep the old ones) when they grow or
    when rows land in ticks before the newest.
    """

    def __init__(self) -> None:
        self.t = 0
        self.n = 0
        self.ticks = np.zeros(0, dtype=np.int64)
        self.full = np.zeros(0, dtype=bool)  # tick row has every server
        self.servers = np.zeros(0, dtype=object)
        self.profiles = np.zeros(0, dtype=object)
        self.problem_child: np.ndarray | None = None
        self.index: dict[str, int] = {}
        # (ticks, servers) arrays by key: "present", "state", "phase", or a metric name
        self.cells: dict[str, np.ndarray] = {}
        self.fills: dict[str, Any] = {}
        self.phase_names: list[str] = []
        self.phase_index: dict[str, int] = {}
        self.duplicates = 0
        self.unsorted = False
        self.moved = False
        self.profile_clashes: dict[str, None] = {}
        self.units: dict[str, str] = {}  # extra metric -> unit, when given

    # -- storage ----------------------------------------------------------------------
    def _new(self, key: str, dtype: Any, fill: Any) -> None:
        self.fills[key] = fill
        self.cells[key] = np.full(self.present.shape, fill, dtype=dtype)

    @property
    def present(self) -> np.ndarray:
        return self.cells["present"]

    def _reserve(self, t: int, n: int, tick_rows: np.ndarray | None = None) -> None:
        """Room for ``t`` ticks and ``n`` servers; ``tick_rows`` moves the old ticks (rebuild)."""
        cap_t, cap_n = self.present.shape
        new_t, new_n = _room(t, cap_t, True), _room(n, cap_n, False)
        if tick_rows is None and (new_t, new_n) == (cap_t, cap_n):
            return
        if tick_rows is None:
            tick_rows = slice(0, self.t)
        for key, old in self.cells.items():
            arr = np.full((new_t, new_n), self.fills[key], dtype=old.dtype)
            arr[tick_rows, : self.n] = old[: self.t, : self.n]
            self.cells[key] = arr
        ticks = np.zeros(new_t, dtype=np.int64)
        ticks[tick_rows] = self.ticks[: self.t]
        self.ticks = ticks
        full = np.zeros(new_t, dtype=bool)
        full[tick_rows] = self.full[: self.t]
        self.full = full
        if new_n != cap_n:
            for name in ("servers", "profiles"):
                arr = np.empty(new_n, dtype=object)
                arr[: self.n] = getattr(self, name)[: self.n]
                setattr(self, name, arr)
            if self.problem_child is not None:
                pc = np.zeros(new_n, dtype=bool)
                pc[: self.n] = self.problem_child[: self.n]
                self.problem_child = pc

    # -- adding rows -------------------------------------------------------------------
    def add(self, piece: Normalized, resample: str | None) -> tuple[bool, bool]:
        """Place ``piece``'s rows; returns (rows landed in ticks already read, servers joined)."""
        if "present" not in self.cells:  # the first rows fix the layout (the header is fixed)
            self.cells["present"] = np.zeros((0, 0), dtype=bool)
            self.fills["present"] = False
            self._new("state", np.int8, -1)
        self.units.update(piece.units)
        ts = piece.ts
        if resample:
            width = pd.Timedelta(resample).value
            ts = (ts // width) * width
        rows = len(ts)
        order = None
        if rows > 1 and not bool((ts[1:] >= ts[:-1]).all()):
            order = np.argsort(ts, kind="stable")
            ts = ts[order]
            self.unsorted = True

        def take(arr):
            return arr if arr is None or order is None else arr[order]

        # ticks: where each distinct timestamp goes
        old_t = self.t
        last = self.ticks[old_t - 1] if old_t else None
        if piece.single_server:
            # one named server: every row is a sample of its own, repeated times included
            # (the caller passes only rows at or after the newest tick)
            uniq, tick_local = ts, np.arange(rows)
            rebuild = touched = False
        else:
            uniq, tick_local = np.unique(ts, return_inverse=True)
            rebuild = last is not None and uniq[0] < last
            touched = last is not None and uniq[0] <= last
        tick_rows = None
        self.moved = bool(rebuild)  # ticks already read moved to make room for earlier ones
        if piece.single_server:
            upos = old_t + np.arange(rows)
            new_t = old_t + rows
        elif rebuild:
            self.unsorted = True
            all_ticks = np.union1d(self.ticks[:old_t], uniq)
            tick_rows = np.searchsorted(all_ticks, self.ticks[:old_t])
            upos = np.searchsorted(all_ticks, uniq)
            new_t = len(all_ticks)
        else:
            first = old_t - 1 if touched else old_t
            upos = first + np.arange(len(uniq))
            new_t = int(upos[-1]) + 1
        # servers: known ones keep their column, new ones join the end in order of appearance
        codes, names = pd.factorize(take(piece.server), sort=False)
        names = np.asarray(names, dtype=object)
        column = np.fromiter((self.index.get(s, -1) for s in names), np.int64, len(names))
        joined = np.flatnonzero(column < 0)
        column[joined] = self.n + np.arange(joined.size)
        new_n = self.n + joined.size
        tpos = upos[tick_local]
        spos = column[codes]
        # duplicates within the rows: the last in file order wins
        key = tpos.astype(np.int64) * max(new_n, 1) + spos
        keep = None
        if rows > 1:
            by_key = np.argsort(key, kind="stable")
            sk = key[by_key]
            if (sk[1:] == sk[:-1]).any():
                last_of = np.append(sk[1:] != sk[:-1], True)
                keep = np.sort(by_key[last_of])
                self.duplicates += rows - keep.size

        def kept(arr):
            arr = take(arr)
            return arr if arr is None or keep is None else arr[keep]

        tk = tpos if keep is None else tpos[keep]
        sc = spos if keep is None else spos[keep]
        # make room (a rebuild moves the old ticks to their places among the new ones)
        self._reserve(new_t, new_n, tick_rows)
        for name in piece.metrics:
            if name not in self.cells:
                self._new(name, np.float32, np.nan)
        if piece.phase is not None and "phase" not in self.cells:
            self._new("phase", np.int16, -1)
        if piece.problem_child is not None and self.problem_child is None:
            self.problem_child = np.zeros(self.present.shape[1], dtype=bool)
        present = self.present
        if touched:
            self.duplicates += int(present[tk, sc].sum())  # cells read before: replaced
        # new servers: names and their first profile (rows are in time order)
        profiles = kept(piece.profile)
        if joined.size:
            self.servers[self.n : new_n] = names[joined]
            for k, name in enumerate(names[joined].tolist()):
                self.index[name] = self.n + k
            if profiles is None:
                self.profiles[self.n : new_n] = schema.DEFAULT_PROFILE
            else:
                is_new = sc >= self.n
                cols, first = np.unique(sc[is_new], return_index=True)
                self.profiles[cols] = profiles[np.flatnonzero(is_new)[first]]
        if profiles is not None:
            differ = profiles != self.profiles[sc]
            if differ.any():
                for name in self.servers[np.unique(sc[differ])].tolist():
                    if len(self.profile_clashes) < 50:
                        self.profile_clashes[name] = None
        # the cells
        present[tk, sc] = True
        self.cells["state"][tk, sc] = kept(piece.state) if piece.state is not None else 0
        for name, arr in self.cells.items():
            if name in ("present", "state", "phase"):
                continue
            values = piece.metrics.get(name)
            arr[tk, sc] = np.nan if values is None else kept(values)
        if "phase" in self.cells:
            phase = kept(piece.phase) if piece.phase is not None else None
            out = np.full(tk.size, -1, dtype=np.int16)
            if phase is not None:
                pcodes, puniq = pd.factorize(pd.Series(phase, dtype=object), sort=False)
                lookup = np.empty(len(puniq) + 1, dtype=np.int16)
                lookup[-1] = -1
                for k, name in enumerate(str(u) for u in puniq):
                    if name not in self.phase_index:
                        self.phase_index[name] = len(self.phase_names)
                        self.phase_names.append(name)
                    lookup[k] = self.phase_index[name]
                out = lookup[pcodes]
            self.cells["phase"][tk, sc] = out
        if self.problem_child is not None and piece.problem_child is not None:
            flagged = sc[kept(piece.problem_child)]
            if not self.problem_child[flagged].all():
                self.problem_child = self.problem_child.copy()  # windows handed out keep theirs
                self.problem_child[flagged] = True
        self.ticks[upos] = uniq
        # rows with every server: a new server is absent from every row it has not reached
        if joined.size:
            self.full[:new_t] = False
        changed = np.arange(new_t) if rebuild else np.unique(upos)
        self.full[changed] = present[changed, :new_n].all(axis=1)
        self.t, self.n = new_t, new_n
        return bool(touched), bool(joined.size)

    def evict(self, k: int) -> np.ndarray:
        """Drop the ``k`` oldest ticks; returns their times. New arrays (windows handed out
        keep the old ones), of the same capacity: memory no longer grows with the file."""
        t = self.t
        k = min(int(k), t)
        gone = self.ticks[:k].copy()
        for key, old in self.cells.items():
            arr = np.full(old.shape, self.fills[key], dtype=old.dtype)
            arr[: t - k, : self.n] = old[k:t, : self.n]
            self.cells[key] = arr
        for name in ("ticks", "full"):
            old = getattr(self, name)
            arr = np.zeros_like(old)
            arr[: t - k] = old[k:t]
            setattr(self, name, arr)
        self.t = t - k
        return gone

    def cube(self) -> Cube:
        t, n = self.t, self.n
        view = {key: arr[:t, :n] for key, arr in self.cells.items()}
        present = view.pop("present", np.zeros((t, n), dtype=bool))
        state = view.pop("state", np.full((t, n), -1, dtype=np.int8))
        phase = view.pop("phase", None)
        return Cube(
            ticks=self.ticks[:t],
            servers=self.servers[:n],
            profiles=self.profiles[:n],
            present=present,
            metrics=view,
            state=state,
            phase_names=tuple(self.phase_names) if phase is not None else None,
            phase=phase,
            problem_child=None if self.problem_child is None else self.problem_child[:n],
            units=dict(self.units),
        )


class FollowSource(CubeSource):
    name = "follow"
    description = (
        "a CSV file that keeps growing; appended ticks appear at the next refresh (progress: live)"
    )
    # a growing file has no checksums to hold it to
    parameters = (
        *(p for p in READ_PARAMETERS if p.name != "verify"),
        Parameter(
            "keep",
            DEFAULT_KEEP,
            "how much of the newest data stays in memory, e.g. 6h; older ticks are read back from the file when asked for",
            kind=TEXT,
        ),
    )
    live = True
    KEEP_CELLS = 10_000_000  # at most this many (tick, server) cells in memory, whatever ``keep``

    @classmethod
    def open(cls, target: str, *, data_roots, **options: Any) -> FollowSource:
        path = safe_path(target, data_roots, must_exist=False)
        if path.is_dir():
            raise DataError(f"{path}: is a directory; follow reads one growing CSV file")
        metadata = options.pop("metadata", None)
        meta = (
            load_metadata(path, metadata, data_roots) if metadata or path.parent.is_dir() else None
        )
        return cls(path, metadata=meta, **options)

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        metadata: Any = None,
        keep: Any = DEFAULT_KEEP,
        **options: Any,
    ):
        self.path = Path(path)
        self._keep_ns = _keep_ns(keep)
        self._opts = ReadOptions.from_options(**options)
        self._options = options
        self.last_error: str | None = None
        self._lock = threading.RLock()  # one poll at a time among the threads of a worker
        self._local = threading.local()  # a window or batch being answered: no poll inside
        self._errors: list[str] = []
        super().__init__(Cube.empty(), metadata=metadata if isinstance(metadata, dict) else None)
        self._restart()
        self._poll(initial=True)

    def _restart(self) -> None:
        self._header: list[str] | None = None
        self._eol = b"\n"  # what ends a line: b"\r" in a file with lone-CR line endings
        self._offset = 0  # bytes consumed: whole lines only
        self._tail = b""  # the last bytes consumed, to notice a file rewritten in place
        self._lines = 0  # lines consumed (the header included)
        self._inode: tuple[int, int] | None = None
        self._grid = _Grid()
        self._column_notes: list[str] | None = None  # what the first rows' columns needed
        self._notes_cache: tuple[tuple, list[str]] | None = None
        self._version = getattr(self, "_version", -1) + 1  # any change to the data
        self._revision = getattr(self, "_revision", -1) + 1
        self._axis_n = -1
        self._phase_n = -1
        # every tick's time (those evicted from memory too), and where in the file rows are
        self._times = np.zeros(0, dtype=np.int64)
        self._base = 0  # ticks evicted from memory: the grid's tick 0 is tick _base
        self._chunks = _Chunks()
        self._too_old = 0  # rows for times before the ticks kept in memory: skipped
        self._read_back: tuple[tuple[int, int, int], CubeSource] | None = None
        self._set_cube(Cube.empty(), self._metadata)

    def _poll(self, initial: bool = False) -> None:
        if getattr(self._local, "quiet", False):
            return
        with self._lock:
            self._poll_locked(initial)

    def _poll_locked(self, initial: bool) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._offset:
                self._note(f"{self.path}: the file disappeared; waiting for it to come back")
                self._restart()
            return
        except OSError as exc:
            raise DataError(f"{self.path}: cannot be read: {exc.strerror or exc}") from None
        inode = (st.st_dev, st.st_ino)
        if self._inode is not None and (inode != self._inode or st.st_size < self._offset):
            self._replaced()
        self._inode = inode
        while st.st_size > self._offset:
            if not self._read_piece(st.st_size, initial):
                return

    def _read_piece(self, size: int, initial: bool) -> bool:
        """Read, parse and add the next block of complete lines; False when none is complete."""
        with open(self.path, "rb") as fh:
            if self._offset:
                # The bytes before the offset are the end of what was read; others mean the
                # file was truncated and written again past the offset in between.
                fh.seek(self._offset - len(self._tail))
                if fh.read(len(self._tail)) != self._tail:
                    self._replaced()
            fh.seek(self._offset)
            chunk = fh.read(min(size - self._offset, PIECE_BYTES))
        if self._header is None:
            # Lines end with "\n" or "\r\n", or with a lone "\r" (old Mac files): the header says.
            brk = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
            if brk < 0 or brk == len(chunk) - 1 and chunk.endswith(b"\r"):
                if len(chunk) >= MAX_HEADER_BYTES:
                    raise DataError(
                        f"{self.path}: no line break in the first {MAX_HEADER_BYTES // (1 << 20)} MB: "
                        "not a CSV header"
                    )
                return False  # the header is still being written
            lone_cr = chunk[brk : brk + 1] == b"\r" and chunk[brk + 1 : brk + 2] != b"\n"
            self._eol = b"\r" if lone_cr else b"\n"
        end = chunk.rfind(self._eol)
        if end < 0:
            if len(chunk) >= PIECE_BYTES:
                raise DataError(
                    f"{self.path}: a line longer than {PIECE_BYTES >> 20} MB at byte {self._offset}"
                )
            return False  # a line still being written
        chunk = chunk[: end + 1]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.path}: not UTF-8 text near byte {self._offset + exc.start}"
            ) from None
        start_byte, first_line = self._offset, self._lines + 1
        consumed_lines = chunk.count(self._eol)
        if self._header is None:
            header_line, _, text = text.partition(self._eol.decode())
            try:
                self._header = next(csv.reader([header_line.rstrip("\r").lstrip("\ufeff")]), [])
            except csv.Error as exc:
                raise DataError(f"{self.path}: line 1 is not a CSV header: {exc}") from None
            if len(self._header) > MAX_COLUMNS:
                raise too_many_columns(str(self.path), len(self._header))
            first_line += 1
            start_byte += len(header_line.encode()) + len(self._eol)
            if not any(h.strip() for h in self._header):
                raise DataError(f"{self.path}: line 1 is empty; expected a CSV header")
        self._offset += len(chunk)
        self._tail = (self._tail + chunk)[-256:]
        self._lines += consumed_lines
        if not text.strip():
            return True
        try:
            piece = self._parse(text, first_line)
        except DataError as exc:
            if initial and self._grid.t == 0 and self._base == 0:
                raise
            self.last_error = f"lines {first_line}..{self._lines} skipped: {exc}"
            self._note(self.last_error)
            return True
        if self._column_notes is None:
            self._column_notes = list(piece.report)  # the columns are the same in every piece
        piece = self._drop_too_old(piece)
        if piece is None:
            return True
        self._chunks.add(
            start_byte,
            self._offset,
            first_line,
            self._floored(piece.ts),
            self._base + self._grid.t if piece.single_server else -1,
        )
        known = self._base + self._grid.t
        touched, joined = self._grid.add(piece, self._opts.resample)
        if touched or joined:
            self._revision += 1  # rows changed ticks already seen, or the server axis grew
        self._version += 1
        self._record_times(self._base if self._grid.moved else max(self._base, known - 1))
        self._evict()
        self._publish()
        return True

    def _record_times(self, since: int) -> None:
        """Copy the grid's tick times from tick ``since`` on into the list of every tick's time
        (a new array when it grows or earlier times moved, so arrays handed out stay as they were)."""
        grid = self._grid
        total = self._base + grid.t
        if total > self._times.shape[0] or grid.moved:
            times = np.zeros(_room(total, self._times.shape[0], True), dtype=np.int64)
            times[: self._base] = self._times[: self._base]
            self._times, since = times, self._base
        self._times[since:total] = grid.ticks[since - self._base : grid.t]

    def _parse(self, text: str, first_line: int) -> Normalized:
        frame = read_csv_frame(
            self.path, self._opts, text=text, header=self._header, first_line=first_line
        )
        return normalize(frame, Origin(str(self.path), first_line, "line"), self._opts)

    def _floored(self, ts: np.ndarray) -> np.ndarray:
        if not self._opts.resample:
            return ts
        width = pd.Timedelta(self._opts.resample).value
        return (ts // width) * width

    def _drop_too_old(self, piece: Normalized) -> Normalized | None:
        """Rows before the oldest tick in memory (or, for one named server, before the
        newest) are skipped: the ticks they belong to are no longer held."""
        grid = self._grid
        if grid.t == 0:
            return piece
        floor = grid.ticks[grid.t - 1] if piece.single_server else grid.ticks[0]
        if self._base == 0 and not piece.single_server:
            return piece
        ts = self._floored(piece.ts)
        old = ts < floor
        if not old.any():
            return piece
        self._too_old += int(old.sum())
        if old.all():
            return None
        return _rows(piece, ~old)

    def _evict(self) -> None:
        """Keep the newest ``keep`` of data and at most KEEP_CELLS cells; evict in batches
        (a quarter of what is held at least), so the copying costs little per tick."""
        grid = self._grid
        t = grid.t
        if t < 2:
            return
        ticks = grid.ticks[:t]
        by_time = int(np.searchsorted(ticks, ticks[-1] - self._keep_ns, side="left"))
        by_cells = t - max(1, self.KEEP_CELLS // max(grid.n, 1))
        k = max(by_time, by_cells)
        if k < max(64, t // 4):
            return
        grid.evict(k)
        self._base += k

    def _replaced(self) -> None:
        self._note(f"{self.path}: the file was truncated or replaced; read again from the start")
        self._restart()

    def _publish(self) -> None:
        """Point the :class:`CubeSource` fields at the grid's live part (no copies)."""
        grid = self._grid
        cube = grid.cube()
        ticks_dt = cube.ticks.view("datetime64[ns]")
        ticks_dt.flags.writeable = False
        if grid.n != self._axis_n:
            self._server_arr = text_array(cube.servers)
            self._profile_arr = text_array(cube.profiles)
            self._axis_n = grid.n
        if cube.phase is not None and len(grid.phase_names) != self._phase_n:
            self._kind_codes = phase_kind_codes(cube.phase_names or (), self._metadata)
            self._phase_name_arr = pd.array([*(cube.phase_names or ()), None], dtype="str")
            self._phase_n = len(grid.phase_names)
        self._ticks_dt = ticks_dt
        self._nan = np.broadcast_to(np.float32(np.nan), cube.shape)
        self._full_rows = grid.full[: grid.t]
        self._cube = cube

    def _note(self, message: str) -> None:
        self._errors.append(message)
        del self._errors[:-20]

    def _loading_notes(self) -> list[str]:
        """What ``build_cube`` would report for the rows read so far (computed when asked)."""
        grid = self._grid
        key = (self._version, grid.t, grid.n, self._base)
        if self._notes_cache is not None and self._notes_cache[0] == key:
            return self._notes_cache[1]
        label = str(self.path)
        notes = list(self._column_notes or [])
        if grid.t:
            if self._opts.resample:
                notes.append(f"{label}: timestamps floored to {self._opts.resample} buckets")
            if grid.unsorted:
                notes.append(f"{label}: rows were not in time order; sorted by timestamp")
            if grid.duplicates:
                notes.append(
                    f"{label}: {grid.duplicates} duplicate (timestamp, server) rows; "
                    "the last of each kept"
                )
            if grid.profile_clashes:
                notes.append(
                    f"{label}: servers listed under several profiles keep their first one: "
                    + listed(sorted(grid.profile_clashes, key=grid.index.__getitem__))
                )
            cube = self._cube
            notes.extend(timeline_notes(cube.ticks, cube.present, cube.servers, label))
        if self._base:
            notes.append(
                f"{label}: the newest {grid.t:,} ticks are in memory; the {self._base:,} before "
                "them are read back from the file when asked for (keep="
                f"{pd.Timedelta(self._keep_ns)}, at most {self.KEEP_CELLS:,} cells)"
            )
        if self._too_old:
            notes.append(
                f"{label}: {self._too_old:,} rows arrived for times before the ticks in memory "
                "and were skipped"
            )
        self._notes_cache = (key, notes)
        return notes

    # -- every question about the data checks the file first --------------------
    def n_ticks(self) -> int:
        self._poll()
        return self._base + super().n_ticks()

    def timestamps(self) -> np.ndarray:
        self._poll()
        if not self._base:
            return super().timestamps()
        every = self._times[: self._base + self._grid.t].view("datetime64[ns]")
        every.flags.writeable = False
        return every

    def servers(self):
        self._poll()
        return super().servers()

    def _answer(self, method, *args):
        """One check of the file, then ``method`` on data that cannot change while it runs."""
        with self._lock:
            self._poll()
            self._local.quiet = True
            try:
                return method(*args)
            finally:
                self._local.quiet = False

    def batch(self, i: int) -> pd.DataFrame:
        return self._answer(self._batch, i)

    def window(self, end: int, length: int) -> Window:
        return self._answer(self._window, end, length)

    def _batch(self, i: int) -> pd.DataFrame:
        j = check_tick(i, self.n_ticks())
        if j >= self._base:
            return super().batch(j - self._base)  # local index into the ticks in memory
        return self._from_file(j, j).batch(0)

    def _window(self, end: int, length: int) -> Window:
        j = check_tick(end, self.n_ticks())
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise DataError(f"window length must be a positive integer, got {length!r}")
        start = max(0, j - int(length) + 1)
        if start >= self._base:
            return replace(super().window(j - self._base, length), end=j)
        return replace(self._from_file(start, j).window(j - start, j - start + 1), end=j)

    def _from_file(self, first: int, last: int) -> CubeSource:
        """Ticks ``first..last`` (global indexes) read back from the file."""
        key = (self._version, first, last)
        if self._read_back is not None and self._read_back[0] == key:
            return self._read_back[1]
        every = self.timestamps().view(np.int64)
        ticks = every[first : last + 1]
        pieces, places = [], []
        for start_byte, end_byte, line, first_tick in self._chunks.covering(
            int(ticks[0]), int(ticks[-1])
        ):
            with open(self.path, "rb") as fh:
                fh.seek(start_byte)
                text = fh.read(end_byte - start_byte).decode("utf-8")
            piece = self._parse(text, line)
            ts = self._floored(piece.ts)
            place = None
            if first_tick >= 0:
                # one named server: the rows the block kept (those not before the newest tick
                # then) became ticks first_tick, first_tick + 1, ... in time order
                kept = np.flatnonzero(ts >= every[first_tick - 1]) if first_tick else np.arange(ts.size)
                tick_of = np.empty(kept.size, dtype=np.int64)
                tick_of[np.argsort(ts[kept], kind="stable")] = first_tick + np.arange(kept.size)
                inside = (tick_of >= first) & (tick_of <= last)
                wanted = np.zeros(ts.size, dtype=bool)
                wanted[kept[inside]] = True
                place = tick_of[inside] - first  # rows stay in file order, as kept[inside] is
            else:
                wanted = np.isin(ts, ticks)
            if wanted.any():
                piece = _rows(piece, wanted)
                piece.ts = ts[wanted]
                pieces.append(piece)
                if place is not None:
                    places.append(place)
        grid = self._grid
        servers = pd.Index(grid.servers[: grid.n], dtype=object)
        if pieces:
            cube = place_rows(
                concat_pieces(pieces),
                ticks,
                servers,
                grid.profiles[: grid.n],
                str(self.path),
                np.concatenate(places) if len(places) == len(pieces) else None,
            )
        else:
            cube = Cube.empty()
            cube.ticks = ticks
        cube.problem_child = None if grid.problem_child is None else grid.problem_child[: grid.n]
        if cube.phase is not None:  # phase codes into the source-wide list of phase names
            lut = np.array(
                [*(grid.phase_index.get(n, -1) for n in cube.phase_names or ()), -1], dtype=np.int16
            )
            cube.phase = lut[cube.phase]
            cube.phase_names = tuple(grid.phase_names)
        source = CubeSource(
            cube,
            metadata=self._metadata,
            tick_seconds=self.tick_seconds(),
            axis=(self._server_arr, self._profile_arr),
        )
        self._read_back = (key, source)
        return source

    def report(self) -> list[str]:
        with self._lock:
            return [*self._extra_report, *self._loading_notes(), *self._errors]

    def identity(self) -> str:
        """Stable while ticks are only appended (earlier ticks are unchanged, so scores cached
        for them stay valid); changes when rows land in ticks already seen, when a new
        server joins the axis, or when the file is truncated or replaced."""
        self._poll()
        return f"follow:{self.path}:{self._revision}"

    def refresh(self) -> int:
        """Check the file now; the number of ticks afterwards."""
        return self.n_ticks()


class _Chunks:
    """Where in the file each block of lines read lies, and the times its rows hold.

    For a file of one named server, also the index of the first tick the block added
    (its rows are that tick and the next ones, in time order); -1 otherwise.
    """

    def __init__(self) -> None:
        # start byte, end byte, first line, min time, max time, first tick
        self._rows: list[tuple[int, int, int, int, int, int]] = []

    def add(self, start: int, end: int, line: int, ts: np.ndarray, first_tick: int) -> None:
        self._rows.append((start, end, line, int(ts.min()), int(ts.max()), first_tick))

    def covering(self, first_ts: int, last_ts: int) -> list[tuple[int, int, int, int]]:
        """Byte ranges whose rows may hold times ``first_ts..last_ts``: ``(start, end, first
        line, first tick)``, neighbouring blocks joined so that each range is parsed once."""
        out: list[tuple[int, int, int, int]] = []
        for s, e, line, lo, hi, tick in self._rows:
            if hi < first_ts or lo > last_ts:
                continue
            if out and out[-1][1] == s and tick < 0 and out[-1][3] < 0:
                out[-1] = (out[-1][0], e, out[-1][2], -1)
            else:
                out.append((s, e, line, tick))
        return out


def _keep_ns(keep: Any) -> int:
    try:
        width = pd.Timedelta(keep if keep not in (None, "") else DEFAULT_KEEP)
    except (ValueError, TypeError):
        raise DataError(f"keep: {quote(keep)} is not a duration (e.g. '24h', '30min')") from None
    if width <= pd.Timedelta(0):
        raise DataError(f"keep: the duration must be positive, got {quote(keep)}")
    return int(width.value)


def _rows(piece: Normalized, mask: np.ndarray) -> Normalized:
    """The rows of ``piece`` where ``mask`` holds."""

    def cut(arr):
        return None if arr is None else arr[mask]

    return replace(
        piece,
        ts=piece.ts[mask],
        server=piece.server[mask],
        profile=cut(piece.profile),
        state=cut(piece.state),
        metrics={k: v[mask] for k, v in piece.metrics.items()},
        phase=cut(piece.phase),
        problem_child=cut(piece.problem_child),
    )
