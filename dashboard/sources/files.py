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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..datasets import VERIFY_MODES
from ..errors import DataError, listed, quote, shorten
from ..parameters import INTEGER, TEXT, Parameter
from .cleaning import (
    MAX_COLUMNS,
    Normalized,
    ReadOptions,
    build_cube,
    csv_origin,
    normalize,
    parquet_origin,
    too_many_columns,
)
from .memory import CubeSource
from .metadata import (
    VERIFY_HELP,
    DatasetChanged,
    check_data_file,
    check_folder_files,
    file_identity,
    parquet_read_error,
)
from .paths import is_glob, safe_glob, safe_path

PARQUET_MAGIC = b"PAR1"
READ_PARAMETERS = (
    Parameter(
        "columns",
        None,
        "mapping from file column to schema column: JSON object, JSON file, or host=server_name,cpu=cpu_pct",
        kind=TEXT,
        objects=True,
    ),
    Parameter(
        "units",
        None,
        "units of the file's values, e.g. net_in_mb_s=bytes/s,latency_ms=s (converted to the schema's)",
        kind=TEXT,
        objects=True,
    ),
    Parameter("tz", None, "time zone of naive timestamps, e.g. Europe/Paris (default: UTC)", kind=TEXT),
    Parameter("resample", None, "floor timestamps to buckets of this width, e.g. 30s", kind=TEXT),
    Parameter("server", None, "the one server of a file without a server column (such a file needs it)", kind=TEXT),
    Parameter("epoch_unit", None, "unit of numeric timestamps", choices=("s", "ms", "us", "ns")),
    Parameter(
        "metadata",
        None,
        "JSON metadata file with ground truth (default: <name>_metadata.json or metadata.json beside the data)",
        kind=TEXT,
        objects=True,
    ),
    Parameter("verify", "auto", VERIFY_HELP, choices=VERIFY_MODES),
)
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


MAX_HEADER_BYTES = 1 << 20  # a header line longer than this is not a metrics table's
_BLOCK = 1 << 24  # bytes scanned at a time for line breaks and fields


def _check_csv_file(path: Path) -> tuple[list[str], int]:
    """The header's column names and the file's size; refuses what pandas would misread.

    Reads at most the first megabyte for the header and the last 64 KiB for a cut-off last
    row, so a hostile file (one 100 MB line, 200,000 columns) is refused at once.
    """
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); expected a CSV header and rows")
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 1)
        if head.startswith(PARQUET_MAGIC):
            raise DataError(f"{path}: this is a Parquet file, not CSV; open it as parquet:{path}")
        if b"\x00" in head[:65536]:
            raise DataError(f"{path}: not a text file (binary bytes at the start); expected CSV")
        if not _looks_like_text(head[:65536]):
            try:
                head[:65536].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: not UTF-8 text (byte {exc.start}: {head[exc.start : exc.start + 1]!r}); "
                    "save the file as UTF-8"
                ) from None
        end = _first_break(head)
        if end < 0 and size > MAX_HEADER_BYTES:
            if head.count(b",") >= MAX_COLUMNS:
                raise too_many_columns(str(path), head.count(b",") + 1, at_least=True)
            raise DataError(
                f"{path}: no line break in the first {MAX_HEADER_BYTES // (1 << 20)} MB: "
                f"not a CSV header (it starts {quote(head[:80].decode('utf-8', errors='replace'))})"
            )
        first = head[: end if end >= 0 else len(head)].decode("utf-8", errors="replace").lstrip("\ufeff")
        try:
            header = next(csv.reader([first]), [])
        except csv.Error as exc:
            raise DataError(f"{path}: line 1 is not a CSV header: {exc}") from None
        if len(header) > MAX_COLUMNS:
            raise too_many_columns(str(path), len(header))
        if not any(h.strip() for h in header):
            raise DataError(f"{path}: the first line is empty; expected a CSV header")
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if not tail.endswith((b"\n", b"\r")):
        cut = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
        last = tail[cut + 1 :].decode("utf-8", errors="replace")
        try:
            fields = next(csv.reader([last]), [])
        except csv.Error:
            fields = []
        if len(fields) < len(header) or last.count('"') % 2:
            line = _count_lines(path)
            raise DataError(
                f"{path}: line {line} is cut off mid-row ({len(fields)} of {len(header)} fields, no final newline): "
                f"{quote(last[:80])}; the file may still be being written or was truncated"
            )
    return header, size


def _first_break(data: bytes) -> int:
    """Index of the first line break (``\\n`` or ``\\r``), -1 when there is none."""
    breaks = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(breaks) if breaks else -1


def _blocks(path: Path):
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(_BLOCK), b"")


def _count_lines(path: Path) -> int:
    """The number of the file's last line (``\\n``, ``\\r\\n`` or a lone ``\\r`` end a line)."""
    n, prev_cr = 0, False
    for block in _blocks(path):
        n += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
        n -= prev_cr and block.startswith(b"\n")
        prev_cr = block.endswith(b"\r")
    return n + 1


def first_short_row(
    source: Path | bytes, needed: int, first_line: int = 1, header: bool = True
) -> tuple[int, int] | None:
    """``(line, fields)`` of the first row of ``source`` (a file or bytes) with fewer than
    ``needed`` fields, or None.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a row; blank lines are skipped, as the
    parser skips them. Lines count from ``first_line`` (a row spanning lines is named by its
    first); with ``header`` the first row is the header and is not checked. Text without a
    quote character is counted vectorised; text with quotes goes through :mod:`csv` (quoted
    values may hold commas and line breaks), which is linear but slower.
    """
    def blocks():
        if isinstance(source, bytes):
            yield source
        else:
            yield from _blocks(source)

    if any(b'"' in block for block in blocks()):
        if isinstance(source, bytes):
            return _first_short_quoted(
                io.StringIO(source.decode("utf-8", "replace"), newline=""), needed, first_line, header
            )
        with open(source, encoding="utf-8", errors="replace", newline="") as fh:
            return _first_short_quoted(fh, needed, first_line, header)
    return _first_short_plain(blocks(), needed, first_line, header)


def _first_short_quoted(lines, needed: int, first_line: int, header: bool):
    rows = csv.reader(lines)
    done = 0  # lines read so far
    try:
        for row in rows:
            start, done = done, rows.line_num
            if not row:
                continue
            if header:
                header = False
            elif len(row) < needed:
                return first_line + start, len(row)
    except csv.Error:
        return None  # the parser has refused or read this file already; nothing to add
    return None


def _first_short_plain(blocks, needed: int, first_line: int, header: bool):
    fields, length = 1, 0  # fields and bytes so far of the row being read
    line = row_line = first_line  # line of the next byte; line where that row began
    skip = header
    it = iter(blocks)
    block, carry = next(it, b""), b""
    while block or carry:
        following = next(it, b"")
        data, carry = carry + block, b""
        if following and data.endswith(b"\r"):  # a "\r\n" may straddle two blocks
            data, carry = data[:-1], b"\r"
        block = following
        if not data:
            continue
        a = np.frombuffer(data, dtype=np.uint8)
        lf = a == 10
        cr = a == 13
        cr[:-1] &= ~lf[1:]  # the "\r" of "\r\n" is not a break of its own
        ends = np.flatnonzero(lf | cr)
        commas = np.flatnonzero(a == 44)
        if ends.size == 0:
            fields += commas.size
            length += a.size
            continue
        before = np.searchsorted(commas, ends)  # commas before each row end
        counts = np.diff(before, prepend=0) + 1
        counts[0] += fields - 1
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts - ((ends > starts) & (a[np.maximum(ends - 1, 0)] == 13))
        lengths[0] += length
        row_lines = line + np.arange(ends.size)
        row_lines[0] = row_line
        real = lengths > 0
        if skip and real.any():
            real[int(np.argmax(real))] = False
            skip = False
        short = np.flatnonzero(real & (counts < needed))
        if short.size:
            k = int(short[0])
            return int(row_lines[k]), int(counts[k])
        fields = 1 + commas.size - int(before[-1])
        length = a.size - int(ends[-1]) - 1
        line += ends.size
        row_line = line
    if length > 0 and not skip and fields < needed:
        return row_line, fields
    return None


def read_csv_frame(
    path: Path,
    opts: ReadOptions,
    text: str | None = None,
    header: list[str] | None = None,
    first_line: int = 2,
) -> pd.DataFrame:
    """The CSV as a DataFrame (types inferred; schema string columns read as text).

    With ``text`` and ``header`` (the follow source), parses ``text``, lines appended
    after a header already read (``text`` starts at line ``first_line``), instead of the file.
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
        raise DataError(f"{path}: cannot parse as CSV: {shorten(str(exc).strip())}") from None
    _refuse_short_rows(path, frame, header, text, first_line)
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed:")]
    if unnamed and frame[unnamed].isna().all().all():
        frame = frame.drop(columns=unnamed)  # trailing commas
    return frame


def _refuse_short_rows(
    path: Path, frame: pd.DataFrame, header: list[str], text: str | None, first_line: int
) -> None:
    """Refuse a row with fewer fields than the header (pandas would fill it with missing values).

    Only a row that lacks the last named column can be short, so the file is scanned only
    when that column has a missing value.
    """
    named = [k for k, h in enumerate(header) if h.strip()]
    if not named or named[-1] >= frame.shape[1] or len(frame) == 0:
        return
    needed = named[-1] + 1
    if not frame.iloc[:, named[-1]].isna().any():
        return
    if text is not None:
        found = first_short_row(text.encode("utf-8"), needed, first_line, header=False)
    else:
        found = first_short_row(path, needed)
    if found is not None:
        line, fields = found
        raise DataError(
            f"{path}: line {line} has {fields} of the header's {len(header)} fields; a row cut "
            "short is not a row of missing values: complete it or remove it"
        )


class CSVSource(CubeSource):
    name = "csv"
    description = "a CSV file (one row per server per tick), mapped and validated"
    parameters = READ_PARAMETERS

    @classmethod
    def open(cls, target: str, *, data_roots, **options: Any) -> CSVSource:
        path = safe_path(target, data_roots)
        if path.is_dir():
            raise DataError(f"{path}: is a directory; open it as dir:{target}")
        return reopened(lambda: cls(path, data_roots=data_roots, **options))

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        data_roots=None,
        metadata: Any = None,
        verify: Any = "auto",
        **options: Any,
    ):
        path = Path(path)
        opts = ReadOptions.from_options(**options)
        checked = check_data_file(path, metadata, data_roots, verify)
        frame = read_csv_frame(path, opts)
        piece = normalize(frame, csv_origin(path), opts)
        cube = build_cube([piece], opts.resample, str(path))
        checked.confirm()
        super().__init__(
            cube,
            metadata=checked.metadata,
            identity=file_identity("csv", [path], options),
            report=checked.notes,
        )
        self.path = path


def reopened(open_once):
    """``open_once()``, once more if its dataset was replaced while it was being opened
    (a generation committed meanwhile): the second reads the new set, whole."""
    try:
        return open_once()
    except DatasetChanged:
        return open_once()


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
        pf = pq.ParquetFile(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise DataError(f"{path}: corrupt Parquet file: {shorten(str(exc))}") from None
    if pf.metadata.num_columns > MAX_COLUMNS:
        raise too_many_columns(str(path), pf.metadata.num_columns)
    return pf


def read_parquet_frame(path: Path, pf: pq.ParquetFile | None = None) -> pd.DataFrame:
    pf = pf or check_parquet_file(path)
    try:
        table = pf.read(use_threads=True)
        return table.to_pandas()
    except (pa.ArrowException, OSError, ValueError, IndexError, MemoryError) as exc:
        raise parquet_read_error(path, "while reading rows", exc) from None



class ParquetSource(CubeSource):
    name = "parquet"
    description = "a Parquet file; files over lazy_rows rows are read lazily by row group"
    parameters = (
        *READ_PARAMETERS,
        Parameter("lazy", "auto", "read row groups on demand instead of loading the file (auto: above lazy_rows rows)",
                  choices=("auto", "true", "false")),
        Parameter("lazy_rows", None, "row count above which lazy=auto reads lazily (default 5,000,000)", low=1, kind=INTEGER),
    )
    LAZY_ROWS = 5_000_000

    @classmethod
    def open(
        cls, target: str, *, data_roots, lazy: Any = "auto", lazy_rows: Any = None, **options: Any
    ):
        path = safe_path(target, data_roots)
        if path.is_dir():
            raise DataError(f"{path}: is a directory; open it as dir:{target}")
        return reopened(lambda: cls._open(path, data_roots, lazy, lazy_rows, options))

    @classmethod
    def _open(cls, path: Path, data_roots, lazy: Any, lazy_rows: Any, options: dict[str, Any]):
        options = dict(options)
        verify = options.pop("verify", "auto")
        # the sha256 runs while the file is read; confirm() collects it before the source is used
        checked = check_data_file(
            path, options.get("metadata"), data_roots, verify, background=True
        )
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

            src, reason = LazyParquetSource.try_open(path, pf, checked, **options)
            if src is not None:
                return src
            source = cls(path, data_roots=data_roots, _file=pf, _checked=checked, **options)
            source._extra_report.append(f"{path}: read into memory, not lazily: {reason}")
            return source
        return cls(path, data_roots=data_roots, _file=pf, _checked=checked, **options)

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        data_roots=None,
        metadata: Any = None,
        verify: Any = "auto",
        _file=None,
        _checked=None,
        **options: Any,
    ):
        path = Path(path)
        opts = ReadOptions.from_options(**options)
        checked = _checked or check_data_file(path, metadata, data_roots, verify, background=True)
        frame = read_parquet_frame(path, _file)
        piece = normalize(frame, parquet_origin(path), opts)
        cube = build_cube([piece], opts.resample, str(path))
        checked.confirm()
        super().__init__(
            cube,
            metadata=checked.metadata,
            identity=file_identity("parquet", [path], options),
            report=checked.notes,
        )
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
        verify: Any = "auto",
        **options: Any,
    ):
        opts = ReadOptions.from_options(**options)
        folder = Path(files[0]).parent
        meta, checks = check_folder_files([Path(f) for f in files], folder, metadata, data_roots, verify)
        pieces = [read_any(Path(f), opts) for f in files]
        cube = build_cube(pieces, opts.resample, label)
        note = [
            f"{label}: {len(files)} files read as one dataset: "
            + listed(Path(f).name for f in files[:10])
            + (" ..." if len(files) > 10 else ""),
            *checks,
        ]
        super().__init__(
            cube,
            metadata=meta,
            identity=file_identity("dir", [Path(f) for f in files], options),
            report=note,
        )
        self.files = [Path(f) for f in files]
