"""A CSV file that keeps growing (``follow:path``): appended ticks appear, like ``tail -f``.

Every call that asks about the data first checks the file's size (one ``stat``); new
complete lines are parsed, validated and added. A last line without its newline is
still being written and waits for the next check. The file may not exist yet or be
empty: the source then has no ticks until rows arrive. A file that shrinks or is
replaced (log rotation) is read again from the start.

``identity()`` stays the same while whole ticks are appended (what was already read does
not change) and changes when appended rows land in a tick already seen, when a new
server joins, or when the file is truncated or replaced.

Appended rows that cannot be used do not stop the stream: they are skipped and the
refusal (file, line, column, value) is listed in ``report()`` and kept in
``last_error``. Progress reads ``None`` (live); new servers join the end of the server
axis.
"""

from __future__ import annotations

import csv
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .cleaning import Cube, Normalized, Origin, ReadOptions, build_cube, concat_pieces, normalize
from .files import READ_PARAMETERS, load_metadata, read_csv_frame
from .memory import CubeSource
from .paths import safe_path


def _empty_cube() -> Cube:
    return Cube(
        ticks=np.zeros(0, dtype=np.int64),
        servers=np.zeros(0, dtype=object),
        profiles=np.zeros(0, dtype=object),
        present=np.zeros((0, 0), dtype=bool),
        metrics={},
        state=np.zeros((0, 0), dtype=np.int8),
    )


class FollowSource(CubeSource):
    name = "follow"
    description = (
        "a CSV file that keeps growing; appended ticks appear at the next refresh (progress: live)"
    )
    parameters = READ_PARAMETERS
    live = True

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

    def __init__(self, path: str | os.PathLike, *, metadata: Any = None, **options: Any):
        self.path = Path(path)
        self._opts = ReadOptions.from_options(**options)
        self._options = options
        self.last_error: str | None = None
        self._lock = threading.RLock()  # one poll at a time among the threads of a worker
        self._errors: list[str] = []
        super().__init__(_empty_cube(), metadata=metadata if isinstance(metadata, dict) else None)
        self._restart()
        self._poll(initial=True)

    def _restart(self) -> None:
        self._header: list[str] | None = None
        self._offset = 0  # bytes consumed: whole lines only
        self._lines = 0  # lines consumed (the header included)
        self._inode: tuple[int, int] | None = None
        self._pieces: list[Normalized] = []
        self._revision = getattr(self, "_revision", -1) + 1
        self._set_cube(_empty_cube(), self._metadata)

    def _poll(self, initial: bool = False) -> None:
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
            self._note(
                f"{self.path}: the file was truncated or replaced; read again from the start"
            )
            self._restart()
        self._inode = inode
        if st.st_size <= self._offset:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read(st.st_size - self._offset)
        end = chunk.rfind(b"\n")
        if end < 0:
            return  # a line still being written
        chunk = chunk[: end + 1]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.path}: not UTF-8 text near byte {self._offset + exc.start}"
            ) from None
        first_line = self._lines + 1
        consumed_lines = chunk.count(b"\n")
        if self._header is None:
            header_line, _, text = text.partition("\n")
            self._header = next(csv.reader([header_line.lstrip("\ufeff")]), [])
            first_line += 1
            if not any(h.strip() for h in self._header):
                raise DataError(f"{self.path}: line 1 is empty; expected a CSV header")
        self._offset += len(chunk)
        self._lines += consumed_lines
        if not text.strip():
            return
        try:
            frame = read_csv_frame(self.path, self._opts, text=text, header=self._header)
            piece = normalize(frame, Origin(str(self.path), first_line, "line"), self._opts)
        except DataError as exc:
            if initial and not self._pieces:
                raise
            self.last_error = f"lines {first_line}..{self._lines} skipped: {exc}"
            self._note(self.last_error)
            return
        if self._pieces:
            piece.report = []  # column notes were made for the first piece already
        last = self._cube.ticks[-1] if self._cube.ticks.size else None
        n_servers = self._cube.servers.shape[0]
        self._pieces = [concat_pieces([*self._pieces, piece])]  # one piece: appends stay O(rows)
        cube = build_cube(self._pieces, self._opts.resample, str(self.path))
        if (last is not None and piece.ts.min() <= last) or cube.servers.shape[0] != n_servers:
            self._revision += 1  # rows changed ticks already seen, or the server axis grew
        self._set_cube(cube, self._metadata)

    def _note(self, message: str) -> None:
        self._errors.append(message)
        del self._errors[:-20]

    # -- every question about the data checks the file first --------------------
    def n_ticks(self) -> int:
        self._poll()
        return super().n_ticks()

    def timestamps(self) -> np.ndarray:
        self._poll()
        return super().timestamps()

    def servers(self):
        self._poll()
        return super().servers()

    def report(self) -> list[str]:
        return [*super().report(), *self._errors]

    def identity(self) -> str:
        """Stable while ticks are only appended (earlier ticks are unchanged, so scores cached
        for them stay valid); changes when rows land in ticks already seen, when a new
        server joins the axis, or when the file is truncated or replaced."""
        self._poll()
        return f"follow:{self.path}:{self._revision}"

    def refresh(self) -> int:
        """Check the file now; the number of ticks afterwards."""
        return self.n_ticks()
