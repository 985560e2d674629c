"""What the About drawer says, as plain data: the dataset, its phases and affected servers,
the model, the source kinds, and whether the model can be evaluated here. Dash-free."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ...errors import DashboardError
from ..fleet import Fleet
from ..messages import public_message
from ..services import Services
from ..validate import ViewError, clean_model, clean_spec

MAX_LISTED = 50  # affected servers listed; the rest are counted
# The drawer's evaluation scores every tick of the source in the request: beyond this
# many server-ticks it would hold a worker too long, so the drawer points to the CLI instead.
EVALUATE_MAX_CELLS = 2_000_000


@dataclass(frozen=True)
class PhaseRow:
    name: str
    kind: str
    start: str  # HH:MM:SS
    end: str


@dataclass(frozen=True)
class AffectedRow:
    server: str
    profile: str
    reason: str
    metrics: str  # the metrics that move, comma-separated
    delay_s: float | None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    reads_ground_truth: bool
    warning: str | None = None  # it reads none or few of the data's metrics


@dataclass(frozen=True)
class About:
    """Everything the drawer describes; ``error`` set means the data could not be described."""

    title: str = ""
    description: str = ""
    facts: tuple[str, ...] = ()
    phases: tuple[PhaseRow, ...] = ()
    affected: tuple[AffectedRow, ...] = ()
    model: ModelInfo | None = None
    source_kinds: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # the source's loading report
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def describe(services: Services, source: Any, model: Any) -> About:
    """The About drawer's facts for the picked ``source`` and ``model`` (untrusted values)."""
    try:
        spec = clean_spec(source)
        fleet = services.fleet(spec)
    except (ViewError, DashboardError) as exc:
        return About(error=f"cannot describe this data: {public_message(exc, roots(services))}")
    meta = fleet.metadata or {}
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), dict) else {}
    facts = [f"{fleet.n_servers:,} servers", f"{fleet.n_ticks:,} ticks"]
    if meta.get("tick_seconds"):
        facts.append(f"every {meta['tick_seconds']:g} s")
    if meta.get("seed") is not None:
        facts.append(f"seed {meta['seed']}")
    if fleet.live:
        facts.append("live: follows the growing source")
    return About(
        title=str(meta.get("scenario_name") or scenario.get("name") or spec),
        description=str(scenario.get("description") or ""),
        facts=tuple(facts),
        phases=_phase_rows(fleet),
        affected=_affected_rows(meta.get("affected_servers")),
        model=_model_info(services, model, spec),
        source_kinds=tuple(
            (str(k.get("name")), str(k.get("description", ""))) for k in services.source_kinds()
        ),
        notes=_report(services, spec),
    )


def _phase_rows(fleet: Fleet) -> tuple[PhaseRow, ...]:
    last = fleet.n_ticks - 1
    return tuple(
        PhaseRow(
            p.name, p.kind, fleet.times[p.start_tick][11:19], fleet.times[min(p.end_tick, last)][11:19]
        )
        for p in fleet.phases
    )


def _affected_rows(affected: Any) -> tuple[AffectedRow, ...]:
    if not isinstance(affected, list):
        return ()
    rows = []
    for a in affected:
        if not isinstance(a, dict):
            continue
        metrics = a.get("metrics")
        delay = a.get("delay_s")
        rows.append(
            AffectedRow(
                server=str(a.get("server_name", "?")),
                profile=str(a.get("profile", "?")),
                reason=str(a.get("reason", "")),
                metrics=", ".join(map(str, metrics)) if isinstance(metrics, list) else "",
                delay_s=float(delay)
                if isinstance(delay, (int, float)) and not isinstance(delay, bool) and delay
                else None,
            )
        )
    return tuple(rows)


def _model_info(services: Services, model: Any, spec: str) -> ModelInfo | None:
    try:
        name = clean_model(model, services.model_names())
    except ViewError:
        return None
    info = next((m for m in services.models() if m["name"] == name), None)
    if info is None:
        return None
    from ...evaluate import metric_coverage
    from ...models import get_model

    warning = None
    with contextlib.suppress(DashboardError):
        warning = metric_coverage(get_model(name), services.source(spec))[2]
    return ModelInfo(
        name, str(info.get("description", "")), bool(info.get("reads_ground_truth")), warning
    )


def _report(services: Services, spec: str) -> tuple[str, ...]:
    try:
        return tuple(str(r) for r in list(services.source(spec).report())[:10])
    except Exception:  # a plug-in's report is optional
        return ()


def roots(services: Services) -> tuple:
    """The data roots messages show paths relative to."""
    return tuple(services.settings.data_roots)


# -- can the model be evaluated here? --------------------------------------------------
class NotScorable(Exception):
    """The source or model cannot be evaluated here; the message says why."""


def scorable(services: Services, source: Any, model: Any) -> tuple[str, str, Fleet]:
    """The clean source spec, model name and fleet, or :class:`NotScorable` saying why not."""
    try:
        spec = clean_spec(source)
        model_name = clean_model(model, services.model_names())
    except ViewError as exc:
        raise NotScorable(f"cannot evaluate: {public_message(exc)}") from None
    try:
        fleet = services.fleet(spec)
    except DashboardError as exc:
        raise NotScorable(f"cannot evaluate: {public_message(exc, roots(services))}") from None
    if fleet.n_ticks == 0:
        raise NotScorable("the data has no ticks yet, so there is nothing to score")
    from ...evaluate import has_ground_truth

    if not has_ground_truth(services.source(spec)):
        raise NotScorable(
            "This data carries no ground truth, so the model cannot be scored on it. Give it an "
            "incident log (incidents=LOG in the data spec, or <name>_incidents.csv beside the "
            "file); generated scenario data carries its own."
        )
    cells = fleet.n_ticks * fleet.n_servers
    if cells > EVALUATE_MAX_CELLS:
        raise NotScorable(
            f"{fleet.n_servers:,} servers × {fleet.n_ticks:,} ticks is too large to evaluate "
            f"in the browser; run python -m dashboard.evaluate --data "
            f"{public_message(spec, roots(services))} --model {model_name}"
        )
    return spec, model_name, fleet


def evaluate_label(services: Services, model: Any) -> str:
    """The evaluate button's label: every registered model is evaluated, the picked one in detail."""
    n = len(services.model_names())
    with contextlib.suppress(ViewError):
        picked = clean_model(model, services.model_names())
        return f"Compare the {n} models on this data ({picked} in detail)" if n > 1 else f"Evaluate {picked} on this data"
    return "Evaluate"
