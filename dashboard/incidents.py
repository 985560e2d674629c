"""Incident logs: the ground truth teams keep (postmortems, pager exports), read from CSV or JSON.

An incident names a server (``*``: the whole fleet), when it started and ended (both
inclusive) and optionally when it peaked, how severe it was and what it was::

    server_name,start,end,peak,severity,title
    db-01,2025-03-02T14:05:00Z,2025-03-02T14:40:00Z,2025-03-02T14:20:00Z,SEV2,replica lag
    *,2025-03-09T02:00:00Z,2025-03-09T02:30:00Z,,SEV1,network partition

Three formats are read, told apart by their content:

* **CSV** with a header holding at least ``server_name``, ``start`` and ``end``
  (``server``/``host``/``instance``, ``started_at``/``start_time``/``begin`` and
  ``ended_at``/``end_time``/``resolved_at`` are accepted for them when the canonical
  name is absent; other columns are ignored);
* **JSON**: a list of such objects, or an object with an ``incidents`` list;
* **NAB's windows JSON**: ``{"realKnownCause/<file>.csv": [[start, end], ...]}``, each
  file being one server named by the file's stem.

Times are ISO 8601. Times with a UTC offset are converted to UTC; naive times are read
in the ``tz`` option's zone when given, else as UTC (reported), like the data sources.
Every problem is refused with the file, the row (CSV: line, counting the header as
line 1; JSON: entry, counting from 0), the field and the value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .errors import DataError

FLEET = "*"  # the server name of an incident that hits the whole fleet
MAX_LOG_BYTES = 64 * 1024 * 1024
_FIELDS = ("server_name", "start", "end", "peak", "severity", "title")
_ALIASES = {
    "server_name": ("server", "host", "hostname", "instance"),
    "start": ("started_at", "start_time", "begin"),
    "end": ("ended_at", "end_time", "resolved_at"),
    "peak": ("peak_time", "peak_at"),
}


class IncidentLogError(DataError):
    """An incident log cannot be used: unreadable, a missing column, a bad time or order."""


@dataclass(frozen=True)
class Incident:
    """One incident: a server (or :data:`FLEET`), its inclusive ``[start, end]``, maybe a peak."""

    server_name: str
    start: pd.Timestamp  # UTC
    end: pd.Timestamp  # UTC, inclusive
    peak: pd.Timestamp | None = None
    severity: str | None = None
    title: str | None = None
    where: str = ""  # where it was read ("line 3", "entry 2"), for messages

    @property
    def fleet_wide(self) -> bool:
        return self.server_name == FLEET

    def to_dict(self) -> dict[str, Any]:
        return {
            "server_name": self.server_name,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "peak": None if self.peak is None else _iso(self.peak),
            "severity": self.severity,
            "title": self.title,
        }


@dataclass(frozen=True)
class IncidentLog:
    """The incidents of a log, in the order read, and what was assumed while reading it."""

    incidents: tuple[Incident, ...]
    label: str = "incident log"
    report: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.incidents)

    def servers(self) -> list[str]:
        """The servers named (``*`` included), in order of first mention."""
        return list(dict.fromkeys(i.server_name for i in self.incidents))


def load_incidents(
    log: str | os.PathLike | IncidentLog | pd.DataFrame | list | dict,
    *,
    tz: str | None = None,
    label: str | None = None,
) -> IncidentLog:
    """An :class:`IncidentLog` from a CSV or JSON file, a DataFrame or records (see the module doc)."""
    if isinstance(log, IncidentLog):
        return log
    if isinstance(log, pd.DataFrame):
        return _from_frame(log, label or "incidents", tz, "row", 0)
    if isinstance(log, (list, dict)):
        return _from_json(log, label or "incidents", tz)
    if not isinstance(log, (str, os.PathLike)):
        raise IncidentLogError(f"an incident log is a CSV or JSON file, got {type(log).__name__}")
    path = Path(os.fspath(log))
    name = label or str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise IncidentLogError(f"{name}: not a file; an incident log is a CSV or JSON file")
        if size > MAX_LOG_BYTES:
            raise IncidentLogError(
                f"{name}: {size:,} bytes is too large for an incident log (at most {MAX_LOG_BYTES:,})"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise IncidentLogError(f"{name}: cannot read the incident log ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IncidentLogError(f"{name}: not UTF-8 text (byte {exc.start}); save the log as UTF-8") from None
    if not text.strip():
        raise IncidentLogError(f"{name}: the incident log is empty")
    if text.lstrip()[:1] in "[{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IncidentLogError(
                f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            ) from None
        return _from_json(data, name, tz)
    import io

    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IncidentLogError(f"{name}: cannot parse as CSV: {str(exc).strip()}") from None
    return _from_frame(frame, name, tz, "line", 2)


# -- readers --------------------------------------------------------------------------
def _from_json(data: Any, name: str, tz: str | None) -> IncidentLog:
    if isinstance(data, dict) and "incidents" in data:
        data = data["incidents"]
    elif isinstance(data, dict):
        return _from_nab_windows(data, name, tz)
    if not isinstance(data, list):
        raise IncidentLogError(
            f"{name}: expected a list of incidents, an object with an 'incidents' list, or NAB "
            f"windows ({{file: [[start, end], ...]}}), got {type(data).__name__}"
        )
    for k, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise IncidentLogError(f"{name}: entry {k}: expected an object with server_name, start, end; got {entry!r}")
    frame = pd.DataFrame.from_records(data) if data else pd.DataFrame(columns=["server_name", "start", "end"])
    frame = frame.astype(object).where(frame.notna(), "")
    return _from_frame(frame, name, tz, "entry", 0)


def _from_nab_windows(data: dict, name: str, tz: str | None) -> IncidentLog:
    rows = []
    for key, windows in data.items():
        server = Path(str(key)).stem
        if not isinstance(windows, list):
            raise IncidentLogError(f"{name}: {key!r}: expected a list of [start, end] windows, got {windows!r}")
        for k, window in enumerate(windows):
            if not (isinstance(window, list) and len(window) == 2):
                raise IncidentLogError(f"{name}: {key!r} window {k}: expected [start, end], got {window!r}")
            rows.append({"server_name": server, "start": window[0], "end": window[1], "where": f"{key!r} window {k}"})
    frame = pd.DataFrame(rows, columns=["server_name", "start", "end", "where"])
    log = _from_frame(frame, name, tz, "entry", 0)
    note = f"{name}: NAB windows of {len(data)} file(s), each file one server named by its stem"
    return IncidentLog(log.incidents, log.label, (note, *log.report))


def _from_frame(frame: pd.DataFrame, name: str, tz: str | None, unit: str, first: int) -> IncidentLog:
    columns = {str(c).strip(): c for c in frame.columns}
    chosen: dict[str, Any] = {}
    for fld in _FIELDS:
        for candidate in (fld, *_ALIASES.get(fld, ())):
            if candidate in columns:
                chosen[fld] = columns[candidate]
                break
    missing = [f for f in ("server_name", "start", "end") if f not in chosen]
    if missing:
        raise IncidentLogError(
            f"{name}: missing column(s) {', '.join(missing)}; an incident log needs server_name "
            f"(or * for the whole fleet), start and end; columns found: {', '.join(map(str, frame.columns)) or 'none'}"
        )
    n = len(frame)
    where = frame["where"].astype(str).tolist() if "where" in frame.columns else [f"{unit} {k + first}" for k in range(n)]

    def text(fld: str) -> list[str]:
        if fld not in chosen:
            return [""] * n
        return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() for v in frame[chosen[fld]]]

    servers = text("server_name")
    for k, s in enumerate(servers):
        if not s:
            raise IncidentLogError(f"{name}: {where[k]}, field 'server_name': empty (use * for the whole fleet)")
    report: list[str] = []
    starts = _times(text("start"), "start", name, where, tz, report, required=True)
    ends = _times(text("end"), "end", name, where, tz, report, required=True)
    peaks = _times(text("peak"), "peak", name, where, tz, report, required=False)
    severity, title = text("severity"), text("title")
    incidents = []
    for k in range(n):
        start, end, peak = starts[k], ends[k], peaks[k]
        if end < start:
            raise IncidentLogError(
                f"{name}: {where[k]}, field 'end': {_iso(end)} is before start {_iso(start)}"
            )
        if peak is not None and not start <= peak <= end:
            raise IncidentLogError(
                f"{name}: {where[k]}, field 'peak': {_iso(peak)} is outside [start, end] = [{_iso(start)}, {_iso(end)}]"
            )
        incidents.append(Incident(servers[k], start, end, peak, severity[k] or None, title[k] or None, where[k]))
    if not incidents:
        report.append(f"{name}: the incident log lists no incidents")
    return IncidentLog(tuple(incidents), name, tuple(dict.fromkeys(report)))


def _times(
    values: list[str], fld: str, name: str, where: list[str], tz: str | None, report: list[str], required: bool
) -> list[pd.Timestamp | None]:
    out: list[pd.Timestamp | None] = []
    naive = False
    for k, value in enumerate(values):
        if not value:
            if required:
                raise IncidentLogError(f"{name}: {where[k]}, field {fld!r}: missing time")
            out.append(None)
            continue
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            stamp = None
        if stamp is None or pd.isna(stamp):
            raise IncidentLogError(
                f"{name}: {where[k]}, field {fld!r}: not a time (expected ISO 8601, e.g. 2025-03-02T14:05:00Z): {value!r}"
            )
        if stamp.tzinfo is None:
            naive = True
            try:
                stamp = stamp.tz_localize(tz or "UTC", ambiguous=True, nonexistent="shift_forward")
            except Exception as exc:  # pandas raises several types for bad zones
                raise IncidentLogError(f"{name}: tz: cannot read times in {tz!r}: {exc}") from None
        out.append(stamp.tz_convert("UTC"))
    if naive:
        report.append(
            f"{name}: incident times without a UTC offset read as {tz}"
            if tz
            else f"{name}: incident times without a UTC offset read as UTC (pass tz=... for local time)"
        )
    return out


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{stamp.microsecond:06d}".rstrip("0") if stamp.microsecond else ""
    ) + "Z"


def find_beside(data_path: str | os.PathLike) -> Path | None:
    """An incident log kept beside a data file: ``<stem>_incidents.csv`` or ``.json``."""
    path = Path(os.fspath(data_path))
    folder = path if path.is_dir() else path.parent
    stem = "incidents" if path.is_dir() else path.stem
    for suffix in (".csv", ".json"):
        candidate = folder / f"{stem}_incidents{suffix}" if stem != "incidents" else folder / f"incidents{suffix}"
        if candidate.is_file():
            return candidate
    return None


__all__ = ["FLEET", "Incident", "IncidentLog", "IncidentLogError", "find_beside", "load_incidents", "schema"]
