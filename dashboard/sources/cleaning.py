"""Column mapping, validation and the messy-data policy, shared by every file-backed source.

Data passes two stages. :func:`normalize` maps one file's columns onto the schema and
validates them, giving plain numpy arrays; :func:`build_cube` turns one or more
normalized pieces into dense ``(ticks, servers)`` arrays that make ``batch`` and
``window`` a matter of slicing. Everything is vectorised.

Messy-data policy
-----------------
Every tolerated problem is repaired as below and listed in the source's ``report()``;
everything else is refused with a :class:`~dashboard.errors.DataError` whose message
names the file, the column, the row (CSV: ``line``, counting the header as line 1;
Parquet: ``row``, counting from 1) and the value.

Columns
    A mapping ``{file column: schema column}`` (``columns=`` option, a JSON file, or
    ``"host=server_name,cpu=cpu_pct"``) renames columns instead of rewriting the file.
    Required: ``timestamp`` and at least one metric. A file without a server column is
    refused unless a column is mapped to ``server_name`` or the ``server`` option names
    the one server the file holds. A missing ``profile`` reads as ``"unknown"``, a
    missing ``state`` as ``"online"``. Missing metrics stay missing: NaN in batches and
    windows, never zero. Other numeric columns are kept as **extra metrics** under their
    own names (NAB's ``value``, SMD's ``m00``..``m37``), with the unit ``units=`` gives
    them; ground-truth and bookkeeping columns (``label``, ``split``, ``is_anomaly``...)
    never are. Text columns outside the schema are ignored. Both are listed. A file with
    more than 2,000 columns is refused.
Timestamps
    ISO 8601 strings, datetimes, or epoch numbers with ``epoch_unit=s|ms|us|ns``.
    Values with a UTC offset are converted to UTC, so a daylight-saving change in
    offset-carrying data needs no help. Naive values are local time in the ``tz``
    option when given: a wall-clock time that the autumn change repeats is read as
    summer time the first time it appears for a server (in file order) and as winter
    time the second time; a time that the spring change skips is refused. Naive
    values without ``tz`` are read as UTC (reported).
Order and duplicates
    Rows are sorted by time (stable). Duplicate ``(timestamp, server)`` rows keep the
    last one in file order; the count is reported. In a file of one server named by
    ``server``, a repeated timestamp is a sample of its own: each row stays a tick, in
    file order, and the count is reported.
Intervals
    The ticks are the distinct timestamps; ``resample="30s"`` floors them to buckets
    first (the last row of a server in a bucket wins). Irregular intervals and gaps
    (intervals over 1.5x the median) are reported, never filled.
Servers
    The server axis holds every server seen, in order of first appearance. A server
    that appears late or vanishes is NaN (absent) where it has no row; a server
    listed under two profiles keeps its first one.
Units
    ``units={"net_in_mb_s": "bytes/s", "latency_ms": "s", "cpu_pct": "share"}``
    converts to the schema's units (MB/s = 10**6 bytes/s, ms, percent). Throughput
    whose median looks like bytes/s is reported as suspicious. An extra metric's unit
    (``units=value=°F``) is recorded as given, never converted.
Values
    Non-numeric text in a metric, infinities and values out of the schema's range
    (``cpu_pct`` 150, negative latency) are refused. Empty cells are missing values.
Rows
    CSV line endings may be ``\n``, ``\r\n`` or ``\r``. A row with fewer fields than the
    header is refused with its line (a row cut short is not a row of missing values).
    Messages quote at most 200 characters of the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import DataError, listed, quote

NS_PER_S = 1_000_000_000
# A metrics file has a few dozen columns; more than this is refused before any parsing.
MAX_COLUMNS = 2_000
_METRIC_COLUMNS = (*schema.METRIC_NAMES, schema.OOM)
METRIC_COLUMNS = _METRIC_COLUMNS  # the numeric columns normalize reads, in order
_THROUGHPUT = ("disk_io_mb_s", "net_in_mb_s", "net_out_mb_s")
_DURATION = ("latency_ms", "gc_pause_ms")
_PERCENT = ("cpu_pct", "mem_pct")
_CONVERTIBLE = (*_PERCENT, "error_rate", *_DURATION, *_THROUGHPUT)

# Factor from a unit to the schema's unit, per kind of metric.
_THROUGHPUT_UNITS = {
    "mb/s": 1.0,
    "b/s": 1e-6,
    "bytes/s": 1e-6,
    "bytes": 1e-6,
    "kb/s": 1e-3,
    "kib/s": 1024 / 1e6,
    "mib/s": 1024**2 / 1e6,
    "gb/s": 1e3,
    "gib/s": 1024**3 / 1e6,
    "bit/s": 1.25e-7,
    "bits/s": 1.25e-7,
    "bps": 1.25e-7,
    "kbit/s": 1.25e-4,
    "mbit/s": 0.125,
    "gbit/s": 125.0,
}
_DURATION_UNITS = {"ms": 1.0, "s": 1e3, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}
_PERCENT_UNITS = {
    "%": 1.0,
    "pct": 1.0,
    "percent": 1.0,
    "share": 100.0,
    "fraction": 100.0,
    "ratio": 100.0,
}
_SHARE_UNITS = {
    "share": 1.0,
    "fraction": 1.0,
    "ratio": 1.0,
    "%": 0.01,
    "pct": 0.01,
    "percent": 0.01,
}
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$")
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n", ""}
TRUE_TEXT = frozenset(_TRUE)  # text read as a set flag (after strip and lower)


def unit_factor(column: str, unit: str) -> float:
    """The factor that converts ``column`` given in ``unit`` to the schema's unit."""
    key = str(unit).strip().lower()
    if column in _THROUGHPUT:
        table = _THROUGHPUT_UNITS
    elif column in _DURATION:
        table = _DURATION_UNITS
    elif column in _PERCENT:
        table = _PERCENT_UNITS
    elif column == "error_rate":
        table = _SHARE_UNITS
    else:
        raise DataError(
            f"units: column {column!r} has no convertible unit; convertible: "
            f"{', '.join((*_PERCENT, 'error_rate', *_DURATION, *_THROUGHPUT))}"
        )
    if key not in table:
        raise DataError(f"units: unknown unit {unit!r} for {column}; known: {', '.join(table)}")
    return table[key]


def parse_mapping(value: Any, what: str) -> dict[str, str] | None:
    """A mapping given as a dict, a JSON object string, ``a=b,c=d`` or a JSON file path."""
    if value is None or isinstance(value, Mapping):
        out = None if value is None else dict(value)
    elif isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        if not text:
            return None
        if text.startswith("{"):
            try:
                out = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{what}: not valid JSON ({exc.msg} at character {exc.pos})"
                ) from None
        elif text.endswith(".json") or (os.sep in text and "=" not in text):
            try:
                out = json.loads(Path(text).read_text(encoding="utf-8"))
            except OSError as exc:
                raise DataError(
                    f"{what}: cannot read mapping file {text!r} ({exc.strerror})"
                ) from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DataError(
                    f"{what}: mapping file {quote(text)} is not valid JSON ({quote(str(exc))})"
                ) from None
        else:
            out = {}
            for item in filter(None, (p.strip() for p in text.split(","))):
                key, sep, val = item.partition("=")
                if not sep or not key.strip() or not val.strip():
                    raise DataError(
                        f"{what}: expected name=value pairs separated by commas, got {quote(item)}"
                    )
                out[key.strip()] = val.strip()
    else:
        raise DataError(f"{what}: expected a mapping, got {type(value).__name__}")
    if out is None:
        return None
    if not isinstance(out, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in out.items()
    ):
        raise DataError(f"{what}: expected an object of strings to strings, got {quote(out)}")
    return out


@dataclass(frozen=True)
class ReadOptions:
    """How to read real data; every field is optional."""

    columns: Mapping[str, str] | None = None  # file column -> schema column
    units: Mapping[str, str] | None = None  # schema column -> unit of the file's values
    tz: str | None = None  # time zone of naive timestamps
    resample: str | None = None  # bucket width, e.g. "30s"
    server: str | None = None  # name of the one server of a file without a server column
    epoch_unit: str | None = None  # unit of numeric timestamps

    @classmethod
    def from_options(cls, columns: Any = None, **options: Any) -> ReadOptions:
        mapping = parse_mapping(columns, "columns")
        if mapping:
            bad = sorted({v for v in mapping.values() if v not in schema.ALL_COLUMNS})
            if bad:
                raise DataError(
                    f"columns: {listed(map(repr, bad))} is not a schema column; "
                    f"schema columns: {', '.join(schema.ALL_COLUMNS)}"
                )
            twice = sorted(t for t, k in Counter(mapping.values()).items() if k > 1)
            if twice:
                raise DataError(f"columns: several file columns map to {', '.join(twice)}")
        units = parse_mapping(options.get("units"), "units")
        for col, unit in (units or {}).items():
            if col in _CONVERTIBLE or not schema.may_be_extra_metric(col):
                unit_factor(col, unit)  # a schema column: its unit must convert
            elif not unit.strip():
                raise DataError(f"units: the unit of {col!r} is empty")
        tz = options.get("tz") or None
        if tz is not None:
            try:
                pd.Timestamp("2000-01-01").tz_localize(tz)
            except Exception:
                raise DataError(
                    f"tz: unknown time zone {tz!r} (use an IANA name such as 'Europe/Paris')"
                ) from None
        resample = options.get("resample") or None
        if resample is not None:
            try:
                width = pd.Timedelta(resample)
            except (ValueError, TypeError):
                raise DataError(
                    f"resample: {resample!r} is not a duration (e.g. '30s', '1min')"
                ) from None
            if width <= pd.Timedelta(0):
                raise DataError(f"resample: the bucket width must be positive, got {resample!r}")
        epoch_unit = options.get("epoch_unit") or None
        if epoch_unit is not None and epoch_unit not in ("s", "ms", "us", "ns"):
            raise DataError(f"epoch_unit: expected one of s, ms, us, ns, got {epoch_unit!r}")
        server = options.get("server") or None
        return cls(mapping, units, tz, resample, server, epoch_unit)


@dataclass(frozen=True)
class Origin:
    """Where rows come from, for messages: ``line`` numbers for CSV, ``row`` for Parquet."""

    file: str
    first_line: int = 2  # what the first data row is called (CSV: line 2 after the header)
    label: str = "line"

    def at(self, row: int) -> str:
        return f"{self.label} {int(row) + self.first_line}"


def csv_origin(path: str | os.PathLike) -> Origin:
    return Origin(os.fspath(path), 2, "line")


def parquet_origin(path: str | os.PathLike, first_row: int = 0) -> Origin:
    return Origin(os.fspath(path), first_row + 1, "row")


@dataclass
class Normalized:
    """One file's rows in schema terms, as numpy arrays of equal length (file order)."""

    ts: np.ndarray  # int64 ns UTC
    server: np.ndarray  # object str
    profile: np.ndarray | None  # object str
    state: np.ndarray | None  # int8 codes into schema.STATES
    metrics: dict[str, np.ndarray]  # float64
    phase: np.ndarray | None  # object str (None entries allowed)
    problem_child: np.ndarray | None  # bool
    report: list[str] = field(default_factory=list)
    # one server named by the ``server`` option: a repeated timestamp is a sample, not a duplicate
    single_server: bool = False
    units: dict[str, str] = field(default_factory=dict)  # extra metric -> its unit, when given

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def _is_datetime(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _fail(
    origin: Origin, column: str, row: int, value: Any, why: str, count: int = 1, hint: str = ""
) -> DataError:
    more = f" ({count} rows in all)" if count > 1 else ""
    tail = f"; {hint}" if hint else ""
    return DataError(
        f"{origin.file}: column {quote(column)}, {origin.at(row)}: {why}: {quote(_plain(value))}{more}{tail}"
    )


def _apply_mapping(
    df: pd.DataFrame, origin: Origin, opts: ReadOptions, report: list[str]
) -> pd.DataFrame:
    if df.shape[1] > MAX_COLUMNS:
        raise too_many_columns(origin.file, df.shape[1])
    df.columns = [str(c).strip() for c in df.columns]
    found = list(df.columns)
    mapping = dict(opts.columns or {})
    absent = [k for k in mapping if k not in df.columns]
    mapping = {k: v for k, v in mapping.items() if k in df.columns and k != v}
    for src, dst in mapping.items():
        if dst in df.columns and dst not in mapping:
            raise DataError(
                f"{origin.file}: the mapping renames {quote(src)} to {quote(dst)}, but the file already "
                f"has a {quote(dst)} column; columns found: {listed(found)}"
            )
    if mapping:
        df = df.rename(columns=mapping)
        report.append(
            f"{origin.file}: columns mapped: "
            + listed(f"{k} -> {v}" for k, v in mapping.items())
        )
    if absent:
        report.append(f"{origin.file}: mapped columns not in the file: {listed(absent)}")
    dupes = sorted(c for c, k in Counter(df.columns).items() if k > 1)
    if dupes:
        raise DataError(
            f"{origin.file}: column(s) {listed(dupes)} appear more than once; columns found: {listed(found)}"
        )
    missing = [c for c in (schema.TIMESTAMP,) if c not in df.columns]
    extras, ignored = extra_metric_columns(df)
    has_metric = bool(extras) or any(m in df.columns for m in schema.METRIC_NAMES)
    if missing or not has_metric:
        need = missing + (
            []
            if has_metric
            else ["at least one metric (" + ", ".join(schema.METRIC_NAMES) + ", or any numeric column)"]
        )
        raise DataError(
            f"{origin.file}: missing required column(s) {'; '.join(need)}; columns found: "
            f"{listed(found) or 'none'}; map yours with columns={{'file column': 'schema column'}}"
        )
    if extras:
        report.append(f"{origin.file}: extra metrics kept: {listed(extras)}")
    if ignored:
        report.append(f"{origin.file}: ignored columns: {listed(ignored)}")
    return df


def extra_metric_columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns kept as extra metrics (numeric, outside the schema, not ground truth or
    bookkeeping) and the other columns outside the schema, which are ignored."""
    extras, ignored = [], []
    for name in df.columns:
        if name in schema.ALL_COLUMNS:
            continue
        dtype = df[name].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        (extras if numeric and schema.may_be_extra_metric(name) else ignored).append(name)
    return extras, ignored


def too_many_columns(file: str, n: int, at_least: bool = False) -> DataError:
    return DataError(
        f"{file}: {'at least ' if at_least else ''}{n:,} columns, more than the "
        f"{MAX_COLUMNS:,} a metrics file may have; is it a metrics table (one row per server "
        "per tick)? Keep the columns you need"
    )


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    idx = np.flatnonzero(mask)
    return int(idx[0]), int(idx.size)


def _to_utc_ns(
    col: pd.Series, server: np.ndarray, origin: Origin, opts: ReadOptions, report: list[str]
) -> np.ndarray:
    name = schema.TIMESTAMP
    if col.isna().any():
        row, n = _first_bad(col.isna().to_numpy())
        raise _fail(origin, name, row, None, "missing timestamp", n)
    if pd.api.types.is_bool_dtype(col):
        raise _fail(origin, name, 0, col.iloc[0], "timestamps cannot be booleans")
    if (
        opts.epoch_unit is not None
        and not pd.api.types.is_numeric_dtype(col)
        and not _is_datetime(col)
    ):
        col = pd.Series(_numeric(col, name, origin), index=col.index)
    if pd.api.types.is_numeric_dtype(col):
        if opts.epoch_unit is None:
            raise _fail(
                origin,
                name,
                0,
                col.iloc[0],
                "timestamps are numbers",
                hint="pass epoch_unit='s' (or ms, us, ns) to read them as epoch time",
            )
        values = col.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row, n = _first_bad(bad)
            raise _fail(origin, name, row, col.iloc[row], "not a finite epoch time", n)
        scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[opts.epoch_unit]
        ns = values * scale
        bad = (ns < -9.2e18) | (ns > 9.2e18)
        if bad.any():
            row, n = _first_bad(bad)
            raise _fail(origin, name, row, col.iloc[row], "epoch time out of range", n)
        return ns.astype(np.int64)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return _as_ns(pd.DatetimeIndex(col).tz_convert("UTC"), col, None, origin).asi8.copy()
    if pd.api.types.is_datetime64_dtype(col):
        naive = _as_ns(pd.DatetimeIndex(col), col, None, origin)
        return _localize(naive, None, server, origin, opts, report)
    # Text: parse each distinct value once (a file has far fewer ticks than rows).
    codes, uniques = pd.factorize(col.astype(str).str.strip())
    texts = pd.Index(uniques).astype(str)
    has_offset = texts.str.contains(_OFFSET)
    parsed = pd.to_datetime(pd.Series(texts), format="ISO8601", utc=True, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad[codes])[0])
        hint = ""
        if pd.notna(pd.to_numeric(pd.Series([texts[codes[first]]]), errors="coerce").iloc[0]):
            hint = "timestamps look like numbers: pass epoch_unit='s' (or ms, us, ns) to read them as epoch time"
        raise _fail(
            origin,
            name,
            first,
            col.iloc[first],
            "not a timestamp (expected ISO 8601, e.g. 2024-03-31T01:30:00Z)",
            int(bad[codes].sum()),
            hint,
        )
    if not has_offset.any():
        naive = _as_ns(pd.DatetimeIndex(parsed.dt.tz_localize(None)), col, codes, origin)
        return _localize(naive, codes, server, origin, opts, report)
    if not has_offset.all():
        k = int(np.flatnonzero(~np.asarray(has_offset))[0])
        first = int(np.flatnonzero(codes == k)[0])
        raise _fail(
            origin,
            name,
            first,
            col.iloc[first],
            "timestamp without a UTC offset in a file whose other timestamps have one",
        )
    if opts.tz:
        report.append(f"{origin.file}: timestamps carry UTC offsets; tz={opts.tz} not needed")
    return _as_ns(pd.DatetimeIndex(parsed), col, codes, origin).asi8[codes]


def _as_ns(
    idx: pd.DatetimeIndex, col: pd.Series, codes: np.ndarray | None, origin: Origin
) -> pd.DatetimeIndex:
    """``idx`` in nanoseconds; times outside what nanoseconds can hold are refused with their row."""
    try:
        return idx.as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        naive = idx.tz_localize(None) if idx.tz is not None else idx
        bad = np.asarray((naive < pd.Timestamp.min) | (naive > pd.Timestamp.max))
        rows = bad if codes is None else bad[codes]
        row, n = _first_bad(rows) if rows.any() else (0, 1)
        raise _fail(
            origin,
            schema.TIMESTAMP,
            row,
            col.iloc[row],
            "timestamp outside the supported range (years 1678 to 2261)",
            n,
        ) from None


def _localize(
    naive: pd.DatetimeIndex,
    codes: np.ndarray | None,
    server: np.ndarray,
    origin: Origin,
    opts: ReadOptions,
    report: list[str],
) -> np.ndarray:
    """Naive wall-clock times (distinct values, expanded by ``codes``) as UTC ns per row."""
    if codes is None:
        codes = np.arange(len(naive))
    if not opts.tz:
        report.append(
            f"{origin.file}: timestamps carry no time zone; read as UTC (pass tz=... for local time)"
        )
        return naive.asi8[codes]
    try:
        local = naive.tz_localize(opts.tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # pandas raises several types here
        raise DataError(f"{origin.file}: cannot localize timestamps to {opts.tz}: {exc}") from None
    nat = np.asarray(local.isna())
    if not nat.any():
        report.append(f"{origin.file}: naive timestamps read as {opts.tz} and converted to UTC")
        return local.as_unit("ns").asi8[codes]
    summer = naive.tz_localize(opts.tz, ambiguous=np.ones(len(naive), bool), nonexistent="NaT")
    winter = naive.tz_localize(opts.tz, ambiguous=np.zeros(len(naive), bool), nonexistent="NaT")
    missing = np.asarray(summer.isna())
    if missing.any():
        k = int(np.flatnonzero(missing[codes])[0])
        raise _fail(
            origin,
            schema.TIMESTAMP,
            k,
            str(naive[codes[k]]),
            f"this wall-clock time does not exist in {opts.tz} (skipped by a daylight-saving change)",
            int(missing[codes].sum()),
        )
    utc_summer = summer.as_unit("ns").asi8
    utc_winter = winter.as_unit("ns").asi8
    out = utc_summer[codes].copy()
    rows = np.flatnonzero(nat[codes])
    # The n-th appearance of a repeated wall time for one server, in file order.
    key = pd.DataFrame({"s": server[rows], "c": codes[rows]})
    nth = key.groupby(["s", "c"], sort=False).cumcount().to_numpy()
    out[rows[nth >= 1]] = utc_winter[codes[rows[nth >= 1]]]
    report.append(
        f"{origin.file}: {rows.size} rows at wall-clock times repeated by a daylight-saving change in {opts.tz} "
        "were resolved by order of appearance (first = summer time, second = winter time)"
    )
    return out


def _numeric(col: pd.Series, name: str, origin: Origin) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    text = col.astype(object)
    values = pd.to_numeric(text, errors="coerce")
    values = np.asarray(values, dtype=np.float64)
    blank = (
        col.isna().to_numpy()
        | col.astype(str).str.strip().isin(["", "nan", "NaN", "NA", "null", "None"]).to_numpy()
    )
    bad = np.isnan(values) & ~blank
    if bad.any():
        row, n = _first_bad(bad)
        raise _fail(origin, name, row, col.iloc[row], "not a number", n)
    return values


def _bools(col: pd.Series, name: str, origin: Origin) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return col.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=np.float64, na_value=0.0)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            row, n = _first_bad(bad)
            raise _fail(origin, name, row, col.iloc[row], "expected true/false or 1/0", n)
        return values == 1.0
    text = col.astype(str).str.strip().str.lower()
    text = text.where(~col.isna().to_numpy(), "")
    is_true = text.isin(_TRUE).to_numpy()
    bad = ~(is_true | text.isin(_FALSE).to_numpy())
    if bad.any():
        row, n = _first_bad(bad)
        raise _fail(origin, name, row, col.iloc[row], "expected true/false or 1/0", n)
    return is_true


def _text_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``col`` as codes (-1: missing) into its distinct stripped strings (an object array)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = np.asarray(col.cat.codes, dtype=np.int64)
        uniques = col.cat.categories
    else:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = pd.Index(uniques)
    if not pd.api.types.is_string_dtype(text.dtype) or text.dtype == object:
        text = text.astype(str)
    return codes, text.str.strip().to_numpy(dtype=object)


def _strings(col: pd.Series, name: str, origin: Origin, allow_missing: bool) -> np.ndarray:
    codes, uniq = _text_codes(col)
    empty_u = np.append(uniq == "", True)  # the extra slot is code -1, a missing value
    empty = empty_u[codes]
    if empty.any() and not allow_missing:
        row, n = _first_bad(empty)
        raise _fail(origin, name, row, col.iloc[row], "empty value", n)
    values = np.append(uniq, None)
    values[empty_u] = None if allow_missing else ""
    return values[codes]


def normalize(df: pd.DataFrame, origin: Origin, opts: ReadOptions) -> Normalized:
    """Map and validate one file's rows (see the module docstring for the policy)."""
    report: list[str] = []
    if len(df) == 0:
        raise DataError(
            f"{origin.file}: the file has no data rows (columns found: {listed(map(str, df.columns)) or 'none'})"
        )
    df = _apply_mapping(df, origin, opts, report)
    n = len(df)
    single = False
    if schema.SERVER in df.columns:
        server = _strings(df[schema.SERVER], schema.SERVER, origin, allow_missing=False)
    elif opts.server:
        server = np.full(n, opts.server, dtype=object)
        single = True
        report.append(
            f"{origin.file}: no {schema.SERVER} column; all rows are one server, {quote(opts.server)} (server=)"
        )
    else:
        raise DataError(
            f"{origin.file}: no {schema.SERVER} column, so which server each row belongs to is "
            f"unknown; map the column that names servers (columns={{'host': '{schema.SERVER}'}}), "
            f"or, when the whole file is one server, name it (server=web-01); columns found: "
            f"{listed(df.columns)}"
        )
    ts = _to_utc_ns(df[schema.TIMESTAMP], server, origin, opts, report)
    profile = None
    if schema.PROFILE in df.columns:
        codes, uniq = _text_codes(df[schema.PROFILE])
        missing_u = np.append(uniq == "", True)
        if missing_u[codes].any():
            report.append(
                f"{origin.file}: {int(missing_u[codes].sum())} rows without a profile read as "
                f"{schema.DEFAULT_PROFILE!r}"
            )
        values = np.append(uniq, schema.DEFAULT_PROFILE)
        values[missing_u] = schema.DEFAULT_PROFILE
        profile = values[codes]
    else:
        report.append(
            f"{origin.file}: no {schema.PROFILE} column; profile {schema.DEFAULT_PROFILE!r} used"
        )
    state = None
    if schema.STATE in df.columns:
        codes, uniq = _text_codes(df[schema.STATE])
        known = {name: k for k, name in enumerate(schema.STATES)}
        lookup = np.array(
            [known.get(u.lower(), -1 if u == "" else -2) for u in uniq]
            + [schema.STATES.index(schema.DEFAULT_STATE)],
            dtype=np.int8,
        )
        state = lookup[codes]
        state[state == -1] = lookup[-1]  # blank cells read as the default state
        if (state < 0).any():
            row, k = _first_bad(state < 0)
            raise _fail(
                origin,
                schema.STATE,
                row,
                df[schema.STATE].iloc[row],
                f"unknown state (known: {', '.join(schema.STATES)})",
                k,
            )
    else:
        report.append(
            f"{origin.file}: no {schema.STATE} column; state {schema.DEFAULT_STATE!r} used"
        )
    units = dict(opts.units or {})
    metrics: dict[str, np.ndarray] = {}
    for name in _METRIC_COLUMNS:
        if name not in df.columns:
            continue
        values = _numeric(df[name], name, origin)
        if np.isinf(values).any():
            row, k = _first_bad(np.isinf(values))
            raise _fail(origin, name, row, df[name].iloc[row], "infinite value", k)
        if name in units:
            factor = unit_factor(name, units[name])
            if factor != 1.0:
                values = values * factor
                report.append(f"{origin.file}: {name} converted from {units[name]} (x{factor:g})")
        _check_range(values, name, df[name], origin, converted=name in units)
        metrics[name] = values
    extras, _ = extra_metric_columns(df)
    for name in extras:
        values = df[name].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            row, k = _first_bad(np.isinf(values))
            raise _fail(origin, name, row, df[name].iloc[row], "infinite value", k)
        metrics[name] = values
    extra_units = {name: str(units[name]).strip() for name in extras if name in units}
    unknown_units = sorted(c for c in units if c not in df.columns)
    if unknown_units:
        report.append(f"{origin.file}: units given for columns not in the file: {', '.join(unknown_units)}")
    absent = [m for m in schema.METRIC_NAMES if m not in metrics]
    if absent:
        report.append(f"{origin.file}: metrics not in the file (missing, NaN): {', '.join(absent)}")
    for name in _THROUGHPUT:
        if name in metrics and name not in units:
            med = np.nanmedian(metrics[name]) if np.isfinite(metrics[name]).any() else 0.0
            if med > 1e5:
                report.append(
                    f"{origin.file}: {name} has a median of {med:.3g} MB/s, which looks like bytes/s; "
                    f"pass units={{'{name}': 'bytes/s'}} if so"
                )
    phase = None
    if schema.PHASE in df.columns:
        phase = _strings(df[schema.PHASE], schema.PHASE, origin, allow_missing=True)
    problem_child = None
    if schema.PROBLEM_CHILD in df.columns:
        problem_child = _bools(df[schema.PROBLEM_CHILD], schema.PROBLEM_CHILD, origin)
    return Normalized(
        ts, server, profile, state, metrics, phase, problem_child, report, single, extra_units
    )


def range_of(name: str) -> tuple[float, float]:
    """The valid range ``(low, high)`` of a numeric column (a metric or ``container_oom``)."""
    if name == schema.OOM:
        return 0.0, math.inf
    metric = schema.METRIC_BY_NAME[name]
    return metric.low, metric.high


def _check_range(
    values: np.ndarray, name: str, raw: pd.Series, origin: Origin, converted: bool
) -> None:
    low, high = range_of(name)
    with np.errstate(invalid="ignore"):
        bad = (values < low) | (values > high)
    if not bad.any():
        return
    row, n = _first_bad(bad)
    hint = ""
    if (
        name == "error_rate"
        and not converted
        and np.nanmax(values) <= 100
        and np.nanmin(values) >= 0
    ):
        hint = "error_rate is a share 0-1; pass units={'error_rate': '%'} if the file holds percentages"
    limits = f"{low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
    shown = raw.iloc[row] if not converted else f"{values[row]:g} after unit conversion"
    raise _fail(origin, name, row, shown, f"out of range (valid: {limits})", n, hint)


# -- dense cubes ----------------------------------------------------------------------


@dataclass
class Cube:
    """A whole dataset as dense ``(T, N)`` arrays; absent cells are NaN / -1 / False."""

    ticks: np.ndarray  # int64 ns UTC, (T,), increasing (repeats only for one server named by server=)
    servers: np.ndarray  # object str, (N,)
    profiles: np.ndarray  # object str, (N,)
    present: np.ndarray  # bool (T, N)
    metrics: dict[str, np.ndarray]  # float32 (T, N), only the metrics the data has
    state: np.ndarray  # int8 (T, N), code into schema.STATES, -1 absent
    phase_names: tuple[str, ...] | None = None
    phase: np.ndarray | None = None  # int16 (T, N) into phase_names, -1 none
    problem_child: np.ndarray | None = None  # bool (N,)
    report: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # extra metric -> unit, when given
    # File rows merged into each cell (duplicates): None when every present cell is one row.
    row_counts: np.ndarray | None = None  # int32 (T, N)

    @property
    def shape(self) -> tuple[int, int]:
        return self.present.shape

    @classmethod
    def empty(cls) -> Cube:
        """No ticks and no servers yet (a live source before its first rows)."""
        return cls(
            ticks=np.zeros(0, dtype=np.int64),
            servers=np.zeros(0, dtype=object),
            profiles=np.zeros(0, dtype=object),
            present=np.zeros((0, 0), dtype=bool),
            metrics={},
            state=np.zeros((0, 0), dtype=np.int8),
        )


def concat_pieces(pieces: Sequence[Normalized]) -> Normalized:
    if len(pieces) == 1:
        return pieces[0]
    n = [len(p) for p in pieces]

    def cat(get, fill, dtype):
        if all(get(p) is None for p in pieces):
            return None
        return np.concatenate(
            [
                get(p) if get(p) is not None else np.full(k, fill, dtype=dtype)
                for p, k in zip(pieces, n, strict=True)
            ]
        )

    names = [m for m in _METRIC_COLUMNS if any(m in p.metrics for p in pieces)]
    names += [m for m in dict.fromkeys(k for p in pieces for k in p.metrics) if m not in names]
    metrics = {
        m: np.concatenate(
            [p.metrics.get(m, np.full(k, np.nan)) for p, k in zip(pieces, n, strict=True)]
        )
        for m in names
    }
    return Normalized(
        ts=np.concatenate([p.ts for p in pieces]),
        server=np.concatenate([p.server for p in pieces]),
        profile=cat(lambda p: p.profile, schema.DEFAULT_PROFILE, object),
        state=cat(lambda p: p.state, 0, np.int8),
        metrics=metrics,
        phase=cat(lambda p: p.phase, None, object),
        problem_child=cat(lambda p: p.problem_child, False, bool),
        report=[line for p in pieces for line in p.report],
        single_server=all(p.single_server for p in pieces),
        units={k: v for p in pieces for k, v in p.units.items()},
    )


def build_cube(
    pieces: Sequence[Normalized], resample: str | None = None, label: str = "data"
) -> Cube:
    """Sort, deduplicate, pivot: the normalized rows as a :class:`Cube` (policy in the module docstring)."""
    data = concat_pieces(pieces)
    report = list(data.report)
    ts = data.ts
    if resample:
        width = pd.Timedelta(resample).value
        ts = (ts // width) * width
        report.append(f"{label}: timestamps floored to {resample} buckets")
    rows = len(ts)
    order = None
    if rows > 1 and not bool((ts[1:] >= ts[:-1]).all()):
        order = np.argsort(ts, kind="stable")
        report.append(f"{label}: rows were not in time order; sorted by timestamp")
        ts = ts[order]
    if data.single_server and rows > 1 and bool((ts[1:] == ts[:-1]).any()):
        # one named server: each row is a sample, repeated timestamps included (file order)
        starts = np.arange(rows)
        repeats = int((ts[1:] == ts[:-1]).sum())
        report.append(
            f"{label}: {repeats} rows repeat the timestamp of the row before; one server "
            "(server=), so each is kept as a tick of its own, in file order"
        )
    elif rows > 1:
        starts = np.concatenate(([0], np.flatnonzero(ts[1:] != ts[:-1]) + 1))
    else:
        starts = np.zeros(1, dtype=np.int64)
    ticks = ts[starts]
    tick_idx = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, rows)))
    server = data.server if order is None else data.server[order]
    server_codes, server_names = pd.factorize(server, sort=False)
    cube = _assemble(
        data,
        order,
        ticks,
        tick_idx,
        server_codes,
        np.asarray(server_names, dtype=object),
        None,
        report,
        label,
    )
    cube.report.extend(timeline_notes(ticks, cube.present, cube.servers, label))
    return cube


def place_rows(
    piece: Normalized,
    ticks: np.ndarray,
    servers: pd.Index,
    profiles: np.ndarray,
    label: str = "data",
    tick_idx: np.ndarray | None = None,
) -> Cube:
    """Rows placed on a fixed axis (``ticks`` x ``servers``): a slice of a larger dataset.

    Each row goes to the tick with its time, or to ``tick_idx`` when given (one named
    server, whose ticks may repeat a time).
    """
    if tick_idx is None:
        tick_idx = np.searchsorted(ticks, piece.ts)
    bad = (tick_idx >= len(ticks)) | (ticks[np.minimum(tick_idx, len(ticks) - 1)] != piece.ts)
    codes = servers.get_indexer(piece.server)
    if bad.any() or (codes < 0).any():
        raise DataError(
            f"{label}: rows changed while the file was open (unknown tick or server); reopen it"
        )
    return _assemble(
        piece, None, ticks, tick_idx, codes, np.asarray(servers, dtype=object), profiles, [], label
    )


def _assemble(
    data: Normalized,
    order: np.ndarray | None,
    ticks: np.ndarray,
    tick_idx: np.ndarray,
    server_codes: np.ndarray,
    server_names: np.ndarray,
    profiles: np.ndarray | None,
    report: list[str],
    label: str,
) -> Cube:
    rows = len(tick_idx)
    n_ticks, n_servers = len(ticks), len(server_names)
    key = tick_idx.astype(np.int64) * n_servers + server_codes
    keep = None
    row_counts = None
    counts = np.bincount(key, minlength=n_ticks * n_servers)
    if (counts > 1).any():
        # kept so that scoring by file rows (NAB) can give each merged row its tick's score
        row_counts = counts.astype(np.int32).reshape(n_ticks, n_servers)
        by_key = np.argsort(key, kind="stable")
        sorted_key = key[by_key]
        last = np.append(sorted_key[1:] != sorted_key[:-1], True)
        keep = np.sort(by_key[last])
        dropped = rows - keep.size
        report.append(
            f"{label}: {dropped} duplicate (timestamp, server) rows; the last of each kept"
        )
        key = key[keep]

    def rows_of(arr):
        if arr is None:
            return None
        if order is not None:
            arr = arr[order]
        return arr if keep is None else arr[keep]

    codes_kept = server_codes if keep is None else server_codes[keep]
    present = np.zeros(n_ticks * n_servers, dtype=bool)
    present[key] = True
    metrics = {}
    for name, values in data.metrics.items():
        cube = np.full(n_ticks * n_servers, np.nan, dtype=np.float32)
        cube[key] = rows_of(values)
        metrics[name] = cube.reshape(n_ticks, n_servers)
    state = np.full(n_ticks * n_servers, -1, dtype=np.int8)
    state[key] = rows_of(data.state) if data.state is not None else 0
    if profiles is None:
        if data.profile is not None:
            # Each server's profile: the first one seen (rows are in time order).
            if keep is None and len(codes_kept):
                # factorize numbers servers by first appearance: a row opens a server where its
                # code exceeds every code before it
                prev = np.maximum.accumulate(codes_kept)
                first_row = np.flatnonzero(np.append(True, codes_kept[1:] > prev[:-1]))
            else:
                first_row = np.unique(codes_kept, return_index=True)[1]
            prof_rows = rows_of(data.profile)
            profiles = np.asarray(prof_rows[first_row], dtype=object)
            differ = prof_rows != profiles[codes_kept]
            if differ.any():
                names = listed(dict.fromkeys(server_names[codes_kept[differ]][:50].tolist()))
                report.append(
                    f"{label}: servers listed under several profiles keep their first one: {names}"
                )
        else:
            profiles = np.full(n_servers, schema.DEFAULT_PROFILE, dtype=object)
    phase_names = phase = None
    if data.phase is not None:
        phase_rows = rows_of(data.phase)
        has = pd.notna(phase_rows)
        pcodes, puniq = pd.factorize(pd.Series(phase_rows[has], dtype=object), sort=False)
        phase_names = tuple(str(u) for u in puniq)
        flat = np.full(n_ticks * n_servers, -1, dtype=np.int16)
        flat[key[has]] = pcodes.astype(np.int16)
        phase = flat.reshape(n_ticks, n_servers)
    problem_child = None
    if data.problem_child is not None:
        problem_child = np.zeros(n_servers, dtype=bool)
        problem_child[codes_kept[rows_of(data.problem_child)]] = True
    return Cube(
        ticks,
        server_names,
        profiles,
        present.reshape(n_ticks, n_servers),
        metrics,
        state.reshape(n_ticks, n_servers),
        phase_names,
        phase,
        problem_child,
        report,
        dict(data.units),
        row_counts,
    )


def _fmt_s(ns: float) -> str:
    return f"{ns / NS_PER_S:g}s"


def timeline_notes(
    ticks: np.ndarray, present: np.ndarray, servers: np.ndarray, label: str
) -> list[str]:
    """Report lines about a timeline: gaps and irregular intervals, late and vanishing servers."""
    notes = []
    if len(ticks) > 1:
        gaps = np.diff(ticks)
        med = float(np.median(gaps))
        irregular = int((gaps != med).sum())
        big = gaps > 1.5 * med
        if big.any():
            worst = int(np.argmax(gaps))
            when = pd.Timestamp(int(ticks[worst]), tz="UTC").isoformat()
            notes.append(
                f"{label}: {int(big.sum())} gap(s) longer than 1.5x the median interval ({_fmt_s(med)}); "
                f"the longest, {_fmt_s(gaps[worst])}, follows {when}; gaps are not filled"
            )
        if irregular:
            notes.append(
                f"{label}: {irregular} of {len(gaps)} intervals differ from the median ({_fmt_s(med)})"
            )
    if present.size and not present.all():
        first = present.argmax(axis=0)
        last = present.shape[0] - 1 - present[::-1].argmax(axis=0)
        late = np.flatnonzero(first > 0)
        gone = np.flatnonzero(last < present.shape[0] - 1)
        if late.size:
            notes.append(
                f"{label}: {late.size} server(s) appear after the first tick (absent = NaN): "
                + listed(servers[late[:5]])
                + (" ..." if late.size > 5 else "")
            )
        if gone.size:
            notes.append(
                f"{label}: {gone.size} server(s) stop before the last tick (absent = NaN): "
                + listed(servers[gone[:5]])
                + (" ..." if gone.size > 5 else "")
            )
        holes = int((~present).sum())
        notes.append(f"{label}: {holes} of {present.size} (tick, server) cells have no row")
    return notes
