"""Budgets for sources opened from a browser: their cost estimated before any work.

A link can name any spec (``/?source=scenario:default?fleet_size=100000``), so what a
browser may open is bounded by ``Settings.web_budget`` (:class:`~dashboard.settings.Budget`):

- :func:`estimate` reads only what is cheap (a scenario's size, a file's length, a
  Parquet footer) and tells rows, server-ticks and memory;
- :func:`check` refuses a source over the budget with a message, before any work;
- a source over ``inline_server_ticks`` is prepared by a background job
  (:func:`materialize_job`: generated or converted to Parquet in the jobs folder) and
  opened lazily from there once ready, so no request ever does the heavy work.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DashboardError, DataError
from ..settings import Budget, Settings
from .paths import is_glob, parse_spec, safe_glob, safe_path

BYTES_PER_ROW = 64  # a row in memory once parsed into the (ticks x servers) cube, with overhead
CSV_PARSE_FACTOR = 4  # a CSV's parse holds about this many times its size at its peak
SAMPLE_BYTES = 64 * 1024


DATA_SUFFIXES = (".csv", ".parquet", ".pq")
_SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_FILE_OPTIONS = ("columns", "units", "metadata")


class OverBudget(DataError):
    """A source is too large to open from a browser request."""


class NotFromTheWeb(DataError):
    """A spec a browser may not open (a file that is not data, a path to a scenario...)."""


def check_web_spec(spec: str, known_kinds: tuple[str, ...]) -> None:
    """Refuse, before anything is read, what a browser may not open.

    Only files with data extensions are read; scenarios only by name from the scenario
    folder; column mappings only inline, never from a file. (So ``?source=.env`` or
    ``columns=creds.json`` never reach a parser that could quote the file back.)
    """
    parsed = parse_spec(spec, known_kinds, _remote_kinds())
    if parsed.kind == "scenario":
        target = parsed.target.strip()
        name = target or "default"
        if not _SCENARIO_NAME.fullmatch(name) or name.endswith(".json"):
            raise NotFromTheWeb("from the browser, scenarios are opened by name from the scenario folder (e.g. scenario:default)")
    for option in _FILE_OPTIONS:
        value = str(parsed.options.get(option, ""))
        if value and not value.lstrip().startswith("{") and "=" not in value:
            raise NotFromTheWeb(f"from the browser, {option} is given inline (e.g. columns=host=server_name), never as a file")


def _remote_kinds() -> tuple[str, ...]:
    from . import remote_kinds

    return remote_kinds()


@dataclass(frozen=True)
class Estimate:
    """What opening a source would cost (None: unknown)."""

    kind: str
    rows: int | None = None
    server_ticks: int | None = None
    memory_bytes: int | None = None


def estimate(spec: str, settings: Settings, known_kinds: tuple[str, ...]) -> Estimate | None:
    """The cost of opening ``spec`` from what is cheap to read; None for kinds it cannot tell."""
    parsed = parse_spec(spec, known_kinds, _remote_kinds())
    kind = parsed.kind
    roots = tuple(Path(r).resolve() for r in settings.data_roots)
    if kind == "scenario":
        return _scenario(parsed.target, parsed.options, settings, roots)
    if kind == "prometheus":
        _prometheus_from_the_web(parsed.target, parsed.options, settings)
        return None
    if kind in (None, "csv", "parquet", "dir", "follow"):
        target = parsed.target
        if is_glob(target) or kind == "dir":
            files = safe_glob(target if is_glob(target) else os.path.join(target, "*"), roots)
            files = [p for p in files if p.suffix.lower() in DATA_SUFFIXES]
        else:
            path = safe_path(target, roots)
            if path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
            elif path.suffix.lower() in DATA_SUFFIXES:
                files = [path]
            else:
                raise NotFromTheWeb(
                    f"only data files ({', '.join(DATA_SUFFIXES)}) are opened from the browser; {path.name[:60]} is not one"
                )
        return _files(kind or "file", files)
    return None


def _prometheus_from_the_web(name: str, options: dict[str, str], settings: Settings) -> None:
    """A link may read no more history than the operator configured for the target: what
    Prometheus evaluates and the server holds stays the operator's choice."""
    from ..parameters import ParameterError, parse_value
    from .prometheus import HISTORY

    target = settings.prometheus_target(name.strip())
    try:
        history = parse_value(HISTORY, options.get("history"))
    except ParameterError as exc:
        raise NotFromTheWeb(str(exc)) from None
    if history is not None and history > target.history:
        raise NotFromTheWeb(
            f"from the browser, prometheus:{target.name} reads at most the {target.history:,} ticks of history "
            f"its configuration allows, not {history:,}"
        )


def _scenario(target: str, options: dict[str, str], settings: Settings, roots) -> Estimate | None:
    from ..authoring.library import Library
    from ..scenario import load_scenario

    name = (target or "default").strip()
    try:
        if "/" in name or name.startswith(".") or name.endswith(".json"):
            scenario = load_scenario(safe_path(name, roots))
        else:  # bundled, then the user's, then drafts played without saving
            scenario, _ = Library.from_settings(settings).read(name)
        overrides = {
            "fleet_size": int(options["fleet_size"]) if options.get("fleet_size") else None,
            "duration_min": float(options["duration"]) if options.get("duration") else None,
            "tick_s": float(options["tick"]) if options.get("tick") else None,
        }
        if any(v is not None for v in overrides.values()):
            scenario = scenario.resolved(**overrides)
    except (DashboardError, ValueError, OverflowError):
        return None  # opening it reports what is wrong, quickly
    rows = int(scenario.n_ticks) * int(scenario.fleet.size)
    return Estimate("scenario", rows, rows, rows * BYTES_PER_ROW)


def _files(kind: str, files: list[Path]) -> Estimate:
    rows = 0
    memory = 0
    for path in files:
        if path.suffix.lower() in (".parquet", ".pq"):
            n = _parquet_rows(path)
            rows += n
            memory += n * BYTES_PER_ROW
        else:
            size = path.stat().st_size
            rows += _csv_rows(path, size)
            memory += size * CSV_PARSE_FACTOR
    return Estimate(kind, rows, rows, memory)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # not a Parquet file: opening it says so
        return 0


def _csv_rows(path: Path, size: int) -> int:
    """Rows of a CSV from its size and the mean length of its first lines."""
    if size == 0:
        return 0
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    lines = sample.count(b"\n")
    if lines == 0 and size > SAMPLE_BYTES:
        raise NotFromTheWeb(f"{path.name[:60]}: its first line is longer than {SAMPLE_BYTES // 1024} KB; it is not a metrics CSV")
    if lines <= 1:
        return 1  # the header alone: opening it says so
    return max(1, int(size / (len(sample) / lines)))


def check(found: Estimate | None, budget: Budget, spec_name: str) -> None:
    """Raise :class:`OverBudget` when ``found`` exceeds ``budget`` (naming the limit's variable)."""
    if found is None:
        return
    limits = (
        (found.rows, budget.max_rows, "rows", "FLEET_WEB_MAX_ROWS"),
        (found.server_ticks, budget.max_server_ticks, "server-ticks", "FLEET_WEB_MAX_SERVER_TICKS"),
        (found.memory_bytes, budget.max_memory_bytes, "bytes of memory", "FLEET_WEB_MAX_MEMORY_MB"),
    )
    for value, limit, what, variable in limits:
        if value is not None and limit is not None and value > limit:
            shown = f"{value / 2**20:,.0f} MB" if what.startswith("bytes") else f"{value:,} {what}"
            cap = f"{limit / 2**20:,.0f} MB" if what.startswith("bytes") else f"{limit:,}"
            raise OverBudget(
                f"{spec_name} is too large to open from the browser (about {shown}; the limit is {cap}); "
                f"open it with python -m dashboard, or ask the operator to raise {variable}"
            )


def needs_job(found: Estimate | None, budget: Budget) -> bool:
    """Whether opening ``found`` is heavy enough to run as a background job."""
    limit = budget.inline_server_ticks
    return found is not None and limit is not None and (found.server_ticks or 0) > limit


def prepared_path(settings: Settings, spec: str) -> Path:
    """Where the prepared (Parquet) copy of ``spec`` lives: beside the jobs' state."""
    from ..settings import diskcache_path

    base = diskcache_path(settings.jobs_url) if settings.jobs_url and settings.jobs_url.startswith("diskcache:") else None
    folder = (base.parent if base else Path(settings.data_roots[0]) / ".fleet-state") / "prepared"
    digest = hashlib.sha256(spec.encode()).hexdigest()[:24]
    return folder / digest / "demo_dataset.parquet"


def materialize_job(
    ctx, spec: str, output: str, scenario_dir: str, data_roots: list[str], user_scenario_dir: str | None = None
) -> dict[str, Any]:
    """A background job: write ``spec`` as a Parquet dataset at ``output`` (atomically)."""
    from ..authoring.library import Library
    from ..generate import generate_demo_dataset
    from ..scenario import load_scenario
    from . import SOURCES

    parsed = parse_spec(spec, SOURCES.names())
    if parsed.kind != "scenario":
        raise DataError(f"only scenarios are prepared in the background, not {parsed.kind or 'files'}")
    name = (parsed.target or "default").strip()
    roots = tuple(Path(r).resolve() for r in data_roots)
    if "/" in name or name.startswith(".") or name.endswith(".json"):
        scenario = load_scenario(safe_path(name, roots))
    else:  # bundled, then the user's, then drafts played without saving
        scenario, _ = Library(scenario_dir, user_scenario_dir or scenario_dir).read(name)
    options = parsed.options
    folder = Path(output).parent
    ctx.progress(0.0, "generating")
    generate_demo_dataset(
        folder,
        scenario,
        seed=int(options["seed"]) if options.get("seed") else None,
        duration=float(options["duration"]) if options.get("duration") else None,
        fleet_size=int(options["fleet_size"]) if options.get("fleet_size") else None,
        tick=float(options["tick"]) if options.get("tick") else None,
        formats=("parquet",),
        force=True,
        progress=lambda done, total: ctx.progress(done / max(total, 1), f"generated {done:,} of {total:,} ticks"),
        wait=True,
        cancel=ctx.cancelled,
    )
    return {"path": str(Path(output))}


__all__ = [
    "DATA_SUFFIXES",
    "Estimate",
    "NotFromTheWeb",
    "OverBudget",
    "check",
    "check_web_spec",
    "estimate",
    "materialize_job",
    "needs_job",
    "prepared_path",
]
