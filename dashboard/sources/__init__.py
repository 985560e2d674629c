"""Data sources: a registry of source kinds, ``open_source(spec)`` and the :class:`DataSource` facade.

A spec is a local path (the kind follows from the extension or the content) or
``kind:target?options``::

    open_source("data/fleet.parquet")
    open_source("csv:exports/metrics.csv?tz=Europe/Paris", columns={"host": "server_name"})
    open_source("dir:data/2024-*.parquet")
    open_source("scenario:default?seed=7&fleet_size=50")
    open_source("follow:/var/lib/fleet/metrics.csv")

Built-in kinds are listed by :func:`list_sources`; third-party kinds register through the
``fleet_dashboard.sources`` entry-point group or :func:`register_source`. Only local paths
under the data roots are read (:mod:`dashboard.sources.paths`); the messy-data policy
is documented in :mod:`dashboard.sources.cleaning`.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from ..errors import DashboardError, DataError, SourceError, shorten
from ..parameters import Parameter, ParameterError, declared, parse_value
from ..registry import Registry
from ..settings import Settings
from .base import Source, Window, check_tick
from .paths import is_glob, parse_spec, resolve_roots, safe_path

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "fleet_dashboard.sources"
BUILTIN_SOURCES = {
    "csv": "dashboard.sources.files:CSVSource",
    "parquet": "dashboard.sources.files:ParquetSource",
    "dir": "dashboard.sources.files:DirectorySource",
    "scenario": "dashboard.sources.scenario_source:ScenarioSource",
    "follow": "dashboard.sources.follow:FollowSource",
    "prometheus": "dashboard.sources.prometheus:PrometheusSource",
}
_SUFFIX_KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "scenario"}
_LOOKS_LIKE_KIND = re.compile(r"^([A-Za-z][A-Za-z0-9_\-]*):(?!//)")


def _check_source_class(obj: Any) -> str | None:
    if not (inspect.isclass(obj) and issubclass(obj, Source)):
        return "expected a subclass of dashboard.sources.base.Source"
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        return f"it does not implement {missing}"
    parameters = getattr(obj, "parameters", ())
    if not isinstance(parameters, dict) and not (
        isinstance(parameters, (tuple, list)) and all(isinstance(p, Parameter) for p in parameters)
    ):
        return "its 'parameters' must be a tuple of dashboard.parameters.Parameter"
    return None


SOURCES: Registry[type[Source]] = Registry(
    "data source", BUILTIN_SOURCES, ENTRY_POINT_GROUP, _check_source_class
)


def register_source(name: str, target: type[Source] | str, replace: bool = False) -> None:
    """Register a source class (or ``"module:Class"``) under ``name``; refuses a taken name."""
    SOURCES.register(name, target, replace=replace)


def list_sources() -> list[dict[str, Any]]:
    """Every known source kind as ``{name, description, parameters}`` for the UI."""
    out = []
    for name in SOURCES.names():
        try:
            cls = SOURCES.get(name)
        except DashboardError as exc:
            out.append(
                {
                    "name": name,
                    "description": f"unavailable: {exc}",
                    "parameters": [],
                    "available": False,
                }
            )
            continue
        out.append(
            {
                "name": name,
                "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
                # an incident log is read beside files; a remote kind's links never name one
                "parameters": [
                    p.describe() for p in (*declared(cls.parameters), *(() if cls.remote else (INCIDENTS,)))
                ],
                "available": True,
            }
        )
    return out


def remote_kinds() -> tuple[str, ...]:
    """The kinds whose targets name configured endpoints (``Source.remote``), not paths."""
    found = []
    for name in SOURCES.names():
        try:
            if getattr(SOURCES.get(name), "remote", False):
                found.append(name)
        except DashboardError:
            continue  # a plug-in that cannot load is refused when it is opened
    return tuple(found)


def _detect_kind(target: str, roots) -> str:
    if is_glob(target):
        return "dir"
    path = safe_path(target, roots)
    if path.is_dir():
        return "dir"
    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind:
        return kind
    from .files import sniff

    return sniff(path) if path.is_file() else "csv"


def _canonical(kind: str, target: str, options: dict[str, Any]) -> str:
    simple = {k: v for k, v in sorted(options.items()) if isinstance(v, (str, int, float, bool))}
    query = urlencode(simple)
    return f"{kind}:{target}" + (f"?{query}" if query else "")


def open_source(
    spec: str | os.PathLike | Source,
    *,
    columns: dict[str, str] | str | None = None,
    data_roots=None,
    settings: Settings | None = None,
    **options: Any,
) -> DataSource:
    """Open ``spec`` (a path or ``kind:target?options``) as a :class:`DataSource`.

    ``columns`` maps file columns to schema columns; ``settings`` (default:
    ``Settings()``, the environment is not read here) give the data roots and the
    scenario folder, ``data_roots`` overrides their roots; other keyword options are the
    kind's ``parameters`` (they win over the same option in the spec string only when
    not both are given).
    """
    return DataSource(spec, columns=columns, data_roots=data_roots, settings=settings, **options)


def _accepts_settings(cls: type[Source]) -> bool:
    """Whether a kind's ``open`` takes the settings (built-ins that need them do)."""
    try:
        return "settings" in inspect.signature(cls.open).parameters
    except (TypeError, ValueError):
        return False


INCIDENTS_OPTION = "incidents"
INCIDENTS = Parameter(
    INCIDENTS_OPTION,
    None,
    "incident log (CSV or JSON, or NAB windows JSON) giving the ground truth to evaluate "
    "against (default: <name>_incidents.csv or .json beside the data)",
    kind="text",
    objects=True,
)


def _open(
    spec: Any,
    data_format: str,
    columns: Any,
    data_roots: Any,
    options: dict[str, Any],
    settings: Settings | None = None,
) -> tuple[Source, str, str, tuple[Any, Any]]:
    roots = resolve_roots(data_roots if data_roots is not None else (settings or Settings()).data_roots)
    names = SOURCES.names()
    parsed = parse_spec(spec, names, remote_kinds())
    kind = parsed.kind
    if data_format not in (None, "", "auto"):
        if data_format not in names:
            raise SourceError(
                f"unknown data format {data_format!r}; known: auto, {', '.join(names)}"
            )
        if kind is not None and kind != data_format:
            raise SourceError(f"spec {spec!r} names kind {kind!r} but data_format={data_format!r}")
        kind = data_format
    if kind is None:
        m = _LOOKS_LIKE_KIND.match(parsed.target)
        if m and not Path(parsed.target).exists() and len(m.group(1)) > 1:
            raise SourceError(
                f"unknown source kind {m.group(1)!r} in {spec!r}; known: {', '.join(names)}"
            )
        kind = _detect_kind(parsed.target, roots)
    twice = sorted(set(parsed.options) & set(options))
    if twice:
        raise SourceError(f"option(s) {', '.join(twice)} given both in the spec and as arguments")
    merged: dict[str, Any] = {**parsed.options, **options}
    incidents = merged.pop(INCIDENTS_OPTION, None)
    if columns is not None:
        if "columns" in merged:
            raise SourceError("columns given both in the spec and as an argument")
        merged["columns"] = columns
    cls = SOURCES.get(kind)
    allowed = {p.name: p for p in declared(cls.parameters)}
    unknown = sorted(k for k in merged if k not in allowed)
    if unknown:
        raise SourceError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for source kind {kind!r}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    merged = typed_options(kind, allowed, merged)
    incidents = parse_option(kind, INCIDENTS, incidents)
    for key in ("columns", "units", "metadata"):
        # mapping and metadata files are read like data: only from under the roots
        value = merged.get(key)
        if isinstance(value, os.PathLike) or (
            isinstance(value, str)
            and not value.lstrip().startswith("{")
            and (value.endswith(".json") or (os.sep in value and "=" not in value))
        ):
            merged[key] = str(safe_path(value, roots))
    try:
        extra = {"settings": settings or Settings()} if _accepts_settings(cls) else {}
        src = cls.open(parsed.target, data_roots=roots, **extra, **merged)
    except DashboardError:
        raise
    except Exception as exc:  # a plug-in (or a parser) failed in a way nobody planned for
        log.exception("source %r failed to open %r", kind, parsed.target)
        raise DataError(
            f"{parsed.target}: the {kind} source cannot read it: {type(exc).__name__}: "
            f"{shorten(str(exc))}"
        ) from exc
    if not isinstance(src, Source):
        raise SourceError(f"source kind {kind!r} returned {type(src).__name__}, not a Source")
    canonical = getattr(src, "canonical_spec", None) or _canonical(
        kind, str(getattr(src, "path", parsed.target)), merged
    )
    if not getattr(src, "canonical_spec", None):
        src.canonical_spec = canonical  # the default identity is built from it
    if incidents not in (None, "") and not isinstance(incidents, (str, os.PathLike)):
        incident_log = incidents  # an IncidentLog, DataFrame or records given from Python
    elif incidents not in (None, ""):
        incident_log = safe_path(incidents, roots)
        canonical += ("&" if "?" in canonical else "?") + urlencode({INCIDENTS_OPTION: str(incident_log)})
    else:
        incident_log = None
    return src, canonical, kind, (incident_log, merged.get("tz"))


def parse_option(kind: str, parameter: Parameter, value: Any) -> Any:
    """One option's value typed by its declaration; DataError naming the kind and option."""
    try:
        return parse_value(parameter, value)
    except ParameterError as exc:
        raise DataError(f"{kind}: {exc}") from None


def typed_options(kind: str, allowed: dict[str, Parameter], given: dict[str, Any]) -> dict[str, Any]:
    """The options of a spec or a call typed by the kind's declared parameters (every bad one
    named at once); options that end up None (not given, no default) are left out."""
    out: dict[str, Any] = {}
    problems = []
    for name, value in given.items():
        try:
            out[name] = parse_value(allowed[name], value)
        except ParameterError as exc:
            problems.append(str(exc))
    if problems:
        raise DataError(f"{kind}: " + "; ".join(problems))
    return {k: v for k, v in out.items() if v is not None}


def _incident_log(src: Source, given: Any, tz: Any) -> tuple[Any, Any, list[str]]:
    """The source's incident log (given, or found beside its file), the error reading it, notes."""
    from ..incidents import find_beside, load_incidents

    found = False
    if given is None:
        where = getattr(src, "path", None) or (getattr(src, "files", None) or [None])[0]
        given = find_beside(where) if where is not None else None
        found = given is not None
    if given is None:
        return None, None, []
    try:
        log = load_incidents(given, tz=tz if isinstance(tz, str) and tz else None)
    except DashboardError as exc:
        return None, exc, [f"incident log not usable: {exc}"]
    notes = list(log.report)
    if found:
        notes.insert(0, f"incident log found beside the data: {given} ({len(log)} incidents)")
    return log, None, notes


class DataSource:
    """A source with random access plus the seed's sequential API.

    ``DataSource(path_or_spec, data_format="auto", **options)`` opens like
    :func:`open_source`; ``data_format`` may name a kind (``"csv"``, ``"parquet"``...)
    to skip detection. Random access: :meth:`n_ticks`, :meth:`timestamps`,
    :meth:`batch`, :meth:`window`. Sequential (the seed's API): :meth:`get_next_batch`,
    :meth:`reset`, :meth:`get_current_progress`; a live source's progress is ``None``.
    """

    def __init__(
        self,
        path_or_spec: str | os.PathLike | Source,
        data_format: str = "auto",
        *,
        columns: dict[str, str] | str | None = None,
        data_roots=None,
        settings: Settings | None = None,
        **options: Any,
    ):
        self._incidents = self._incidents_error = None
        self._incident_notes: list[str] = []
        if isinstance(path_or_spec, Source):
            if options or columns is not None:
                raise SourceError("options cannot be given with an already opened Source")
            self._source = path_or_spec
            self.kind = type(path_or_spec).name or type(path_or_spec).__name__
            self.spec = (
                getattr(path_or_spec, "canonical_spec", None)
                or f"{self.kind}:{path_or_spec.identity()}"
            )
        else:
            self._source, self.spec, self.kind, (log, tz) = _open(
                path_or_spec, data_format, columns, data_roots, options, settings
            )
            self._incidents, self._incidents_error, self._incident_notes = _incident_log(
                self._source, log, tz
            )
        self._cursor = 0

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        label: str = "frame",
        metadata: dict | None = None,
        columns: dict[str, str] | None = None,
        **options: Any,
    ) -> DataSource:
        """A DataFrame in memory as a source (mapped and validated like a file)."""
        from .memory import FrameSource

        return cls(FrameSource(frame, label=label, metadata=metadata, columns=columns, **options))

    # -- random access ---------------------------------------------------
    @property
    def source(self) -> Source:
        return self._source

    @property
    def live(self) -> bool:
        return bool(self._source.live)

    @property
    def name(self) -> str:
        label = getattr(self._source, "label", None)
        if label:
            return str(label)
        path = getattr(self._source, "path", None)
        return Path(path).name if path is not None else self.kind

    def n_ticks(self) -> int:
        return self._source.n_ticks()

    def __len__(self) -> int:
        return self.n_ticks()

    def timestamps(self) -> np.ndarray:
        return self._source.timestamps()

    def servers(self) -> pd.DataFrame:
        return self._source.servers()

    def batch(self, i: int) -> pd.DataFrame:
        """All servers at tick ``i`` (negative counts from the end)."""
        check_tick(i, self._source.n_ticks())
        return self._source.batch(i)

    def window(self, end: int, length: int) -> Window:
        """The last ``length`` ticks up to tick ``end`` (fewer near the start)."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise DataError(f"window length must be a positive integer, got {length!r}")
        check_tick(end, self._source.n_ticks())
        return self._source.window(end, length)

    def metadata(self) -> dict[str, Any] | None:
        return self._source.metadata()

    def tick_seconds(self) -> float:
        return self._source.tick_seconds()

    def report(self) -> list[str]:
        return [*self._source.report(), *self._incident_notes]

    def metric_units(self) -> dict[str, str]:
        """Every metric the data holds -> its unit: the core metrics it has, then extras."""
        return self._source.metric_units()

    def row_counts(self) -> np.ndarray | None:
        return self._source.row_counts()

    def incidents(self):
        """The incident log that came with the data (``incidents=`` or found beside the
        file), or None; raises the log's error when it could not be read."""
        if self._incidents_error is not None:
            raise self._incidents_error
        return self._incidents

    def identity(self) -> str:
        return self._source.identity()

    def problem(self) -> str | None:
        """What keeps a live source from updating now, or None (see :meth:`Source.problem`)."""
        return self._source.problem()

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> DataSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DataSource({self.spec!r})"

    # -- the seed's sequential API ---------------------------------------
    @property
    def cursor(self) -> int:
        """The tick :meth:`get_next_batch` returns next."""
        return self._cursor

    def seek(self, i: int) -> None:
        """Move the cursor to tick ``i`` (may equal ``n_ticks()``: the end)."""
        n = self._source.n_ticks()
        j = int(i) + n if i < 0 else int(i)
        if not 0 <= j <= n:
            raise DataError(f"cannot seek to tick {i}: the source has ticks 0..{n - 1}")
        self._cursor = j

    def get_next_batch(self) -> pd.DataFrame | None:
        """The tick at the cursor, advancing it; None at the end (for a live source: no new tick yet)."""
        if self._cursor >= self._source.n_ticks():
            return None
        frame = self._source.batch(self._cursor)
        self._cursor += 1
        return frame

    def reset(self) -> None:
        """Back to the first tick."""
        self._cursor = 0

    def get_current_progress(self) -> float | None:
        """Share of ticks consumed, 0.0 to 1.0; ``None`` for a live source (it has no end)."""
        if self.live:
            return None
        n = self._source.n_ticks()
        return 1.0 if n == 0 else min(1.0, self._cursor / n)


__all__ = [
    "ENTRY_POINT_GROUP",
    "SOURCES",
    "DataSource",
    "Source",
    "Window",
    "check_tick",
    "list_sources",
    "open_source",
    "register_source",
]
