"""File sources: CSV, Parquet, and a directory or glob of such files read as one dataset.

Files are checked before a parser sees them (size, magic bytes, a last row cut off
mid-way), and every parser error is turned into a :class:`~dashboard.errors.DataError`
that names the file. The messy-data policy lives in :mod:`dashboard.sources.cleaning`.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import DataError
from .cleaning import Normalized, ReadOptions, build_cube, csv_origin, normalize, parquet_origin
from .memory import CubeSource
from .metadata import file_identity, load_metadata
from .paths import is_glob, safe_glob, safe_path

PARQUET_MAGIC = b"PAR1"
READ_PARAMETERS = {
    "columns": "mapping from file column to schema column: JSON object, JSON file, or host=server_name,cpu=cpu_pct",
    "units": "units of the file's values, e.g. net_in_mb_s=bytes/s,latency_ms=s (converted to the schema's)",
    "tz": "time zone of naive timestamps, e.g. Europe/Paris (default: UTC)",
    "resample": "floor timestamps to buckets of this width, e.g. 30s",
    "server": "server name for a file without a server column (default: the file name)",
    "epoch_unit": "unit of numeric timestamps: s, ms, us or ns",
    "metadata": "JSON metadata file with ground truth (default: <name>_metadata.json or metadata.json beside the data)",
}
_STRING_COLUMNS = (schema.TIMESTAMP, schema.SERVER, schema.PROFILE, schema.STATE, schema.PHASE)


def sniff(path: Path) -> str:
    """``"parquet"`` or ``"csv"`` from the file's first bytes (and its name when empty)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == PARQUET_MAGIC:
        return "parquet"
    return "csv"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


# -- CSV ------------------------------------------------------------------------------


def _check_csv_file(path: Path) -> tuple[list[str], int]:
    """The header's column names and the file's size; refuses what pandas would misread."""
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); expected a CSV header and rows")
    with open(path, "rb") as fh:
        head = fh.read(65536)
        if head.startswith(PARQUET_MAGIC):
            raise DataError(f"{path}: this is a Parquet file, not CSV; open it as parquet:{path}")
        if b"\x00" in head:
            raise DataError(f"{path}: not a text file (binary bytes at the start); expected CSV")
        if not _looks_like_text(head):
            try:
                head.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: not UTF-8 text (byte {exc.start}: {head[exc.start : exc.start + 1]!r}); "
                    "save the file as UTF-8"
                ) from None
        first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
        header = next(csv.reader([first]), [])
        if not any(h.strip() for h in header):
            raise DataError(f"{path}: the first line is empty; expected a CSV header")
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if not tail.endswith((b"\n", b"\r")):
        last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")
        fields = next(csv.reader([last]), [])
        if len(fields) < len(header) or last.count('"') % 2:
            line = _count_lines(path)
            raise DataError(
                f"{path}: line {line} is cut off mid-row ({len(fields)} of {len(header)} fields, no final newline): "
                f"{last[:80]!r}; the file may still be being written or was truncated"
            )
    return header, size


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
    return n + 1


def read_csv_frame(
    path: Path, opts: ReadOptions, text: str | None = None, header: list[str] | None = None
) -> pd.DataFrame:
    """The CSV as a DataFrame (types inferred; schema string columns read as text).

    With ``text`` and ``header`` (the follow source), parses ``text``, lines appended
    after a header already read, instead of the file.
    """
    if header is None:
        header, _ = _check_csv_file(path)
    mapping = dict(opts.columns or {})
    dtype = {c: str for c in header if mapping.get(c, c) in _STRING_COLUMNS}
    try:
        source: Any = io.StringIO(text) if text is not None else path
        frame = pd.read_csv(
            source,
            dtype=dtype,
            skipinitialspace=True,
            encoding="utf-8",
            names=header if text is not None else None,
            header=None if text is not None else "infer",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file has no CSV header or rows") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})"
        ) from None
    except (pd.errors.ParserError, ValueError, OSError, MemoryError) as exc:
        raise DataError(f"{path}: cannot parse as CSV: {str(exc).strip()}") from None
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:")]
    if unnamed and frame[unnamed].isna().all().all():
        frame = frame.drop(columns=unnamed)  # trailing commas
    return frame


class CSVSource(CubeSource):
    name = "csv"
    description = "a CSV file (one row per server per tick), mapped and validated"
    parameters = READ_PARAMETERS

    @classmethod
    def open(cls, target: str, *, data_roots, **options: Any) -> CSVSource:
        path = safe_path(target, data_roots)
        if path.is_dir():
            raise DataError(f"{path}: is a directory; open it as dir:{target}")
        return cls(path, data_roots=data_roots, **options)

    def __init__(
        self, path: str | os.PathLike, *, data_roots=None, metadata: Any = None, **options: Any
    ):
        path = Path(path)
        opts = ReadOptions.from_options(**options)
        frame = read_csv_frame(path, opts)
        piece = normalize(frame, csv_origin(path), opts)
        cube = build_cube([piece], opts.resample, str(path))
        meta = load_metadata(path, metadata, data_roots)
        super().__init__(cube, metadata=meta, identity=file_identity("csv", [path], options))
        self.path = path


# -- Parquet --------------------------------------------------------------------------


def check_parquet_file(path: Path) -> pq.ParquetFile:
    """Open the Parquet footer, refusing CSV in disguise, truncated and corrupt files."""
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); expected Parquet")
    with open(path, "rb") as fh:
        head = fh.read(4096)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if not head.startswith(PARQUET_MAGIC):
        if _looks_like_text(head):
            raise DataError(
                f"{path}: named like a Parquet file but holds text (CSV?); "
                f"open it as csv:{path} or rename it"
            )
        raise DataError(f"{path}: not a Parquet file (no PAR1 magic bytes at the start)")
    if size < 12 or tail != PARQUET_MAGIC:
        raise DataError(
            f"{path}: truncated Parquet file (no footer at the end, {size} bytes); was it fully written?"
        )
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise DataError(f"{path}: corrupt Parquet file: {exc}") from None


def read_parquet_frame(path: Path, pf: pq.ParquetFile | None = None) -> pd.DataFrame:
    pf = pf or check_parquet_file(path)
    try:
        table = pf.read(use_threads=True)
        return table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, IndexError, MemoryError) as exc:
        raise DataError(f"{path}: corrupt Parquet file (while reading rows): {exc}") from None


class ParquetSource(CubeSource):
    name = "parquet"
    description = "a Parquet file; files over lazy_rows rows are read lazily by row group"
    parameters = {
        **READ_PARAMETERS,
        "lazy": "auto (default), true or false: read row groups on demand instead of loading the file",
        "lazy_rows": "row count above which lazy=auto reads lazily (default 5,000,000)",
    }
    LAZY_ROWS = 5_000_000

    @classmethod
    def open(
        cls, target: str, *, data_roots, lazy: Any = "auto", lazy_rows: Any = None, **options: Any
    ):
        path = safe_path(target, data_roots)
        if path.is_dir():
            raise DataError(f"{path}: is a directory; open it as dir:{target}")
        pf = check_parquet_file(path)
        mode = str(lazy).strip().lower()
        if mode not in ("auto", "true", "false", "1", "0", "yes", "no"):
            raise DataError(f"lazy: expected auto, true or false, got {lazy!r}")
        try:
            threshold = cls.LAZY_ROWS if lazy_rows in (None, "") else int(lazy_rows)
        except (TypeError, ValueError):
            raise DataError(f"lazy_rows: expected an integer, got {lazy_rows!r}") from None
        want_lazy = mode in ("true", "1", "yes") or (
            mode == "auto" and pf.metadata.num_rows > threshold
        )
        if want_lazy:
            from .lazy import LazyParquetSource

            src, reason = LazyParquetSource.try_open(path, pf, data_roots=data_roots, **options)
            if src is not None:
                return src
            source = cls(path, data_roots=data_roots, _file=pf, **options)
            source._extra_report.append(f"{path}: read into memory, not lazily: {reason}")
            return source
        return cls(path, data_roots=data_roots, _file=pf, **options)

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        data_roots=None,
        metadata: Any = None,
        _file=None,
        **options: Any,
    ):
        path = Path(path)
        opts = ReadOptions.from_options(**options)
        frame = read_parquet_frame(path, _file)
        piece = normalize(frame, parquet_origin(path), opts)
        cube = build_cube([piece], opts.resample, str(path))
        meta = load_metadata(path, metadata, data_roots)
        super().__init__(cube, metadata=meta, identity=file_identity("parquet", [path], options))
        self.path = path


# -- directory / glob -----------------------------------------------------------------

_DATA_SUFFIXES = (".parquet", ".pq", ".csv")


def read_any(path: Path, opts: ReadOptions) -> Normalized:
    """One file, CSV or Parquet by content, normalized."""
    if path.suffix.lower() in (".parquet", ".pq") or sniff(path) == "parquet":
        return normalize(read_parquet_frame(path), parquet_origin(path), opts)
    return normalize(read_csv_frame(path, opts), csv_origin(path), opts)


class DirectorySource(CubeSource):
    name = "dir"
    description = "a directory or glob of Parquet/CSV files read as one dataset"
    parameters = READ_PARAMETERS

    @classmethod
    def open(cls, target: str, *, data_roots, **options: Any) -> DirectorySource:
        if is_glob(target):
            files = safe_glob(target, data_roots)
            where = target
        else:
            folder = safe_path(target, data_roots)
            if not folder.is_dir():
                raise DataError(
                    f"{folder}: not a directory; open a single file as csv: or parquet:"
                )
            files = [
                safe_path(p, data_roots)
                for p in sorted(folder.iterdir())
                if p.suffix.lower() in _DATA_SUFFIXES and p.is_file()
            ]
            where = str(folder)
        files = [f for f in files if f.suffix.lower() in _DATA_SUFFIXES]
        if not files:
            raise DataError(f"{where}: no .parquet or .csv files found")
        source = cls(files, label=where, data_roots=data_roots, **options)
        source.label = Path(where).name or where
        return source

    def __init__(
        self,
        files: list[Path],
        *,
        label: str = "files",
        data_roots=None,
        metadata: Any = None,
        **options: Any,
    ):
        opts = ReadOptions.from_options(**options)
        pieces = [read_any(Path(f), opts) for f in files]
        cube = build_cube(pieces, opts.resample, label)
        folder = Path(files[0]).parent
        meta = load_metadata(folder, metadata, data_roots)
        note = [
            f"{label}: {len(files)} files read as one dataset: "
            + ", ".join(Path(f).name for f in files[:10])
            + (" ..." if len(files) > 10 else "")
        ]
        super().__init__(
            cube,
            metadata=meta,
            identity=file_identity("dir", [Path(f) for f in files], options),
            report=note,
        )
        self.files = [Path(f) for f in files]
