"""What a scenario will generate, sampled: fast enough to follow every keystroke.

:func:`preview` returns the intensity timeline, the metrics of one affected and one healthy
server exactly as the generator will write them (at up to ``SAMPLE_POINTS`` ticks it can
afford, see :func:`~dashboard.generate.sample_ticks`), and the list of affected servers.
Its cost grows with the sample, not with the fleet or the duration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..generate import intensity_curve, sample_servers
from ..scenario import Scenario
from ..schema import METRIC_NAMES

CURVE_POINTS = 400  # points of the intensity timeline (plus every phase boundary)
MAX_PANELS = 4  # metrics shown for the two servers
LISTED = 50  # affected servers listed by name
DEFAULT_METRICS = ("cpu_pct", "latency_ms", "error_rate")


@dataclass
class ServerSeries:
    """One server's sampled metrics."""

    name: str
    profile: str
    affected: bool
    reason: str
    values: dict[str, np.ndarray]  # metric -> (T,) values at Preview.sample_s
    state: np.ndarray  # (T,) index into schema.STATES


@dataclass
class Preview:
    """Everything the builder's live preview draws."""

    curve_s: np.ndarray  # times of the intensity curve
    intensity: np.ndarray  # fleet intensity 0..1 at curve_s
    delayed: list[tuple[str, float, np.ndarray]]  # (group label, delay, curve) of late groups
    phases: list[dict[str, Any]]  # name, kind, start, end
    sample_s: np.ndarray  # times of the sampled ticks
    every_tick: bool  # the sample holds every tick (else evenly spaced, or each block's first)
    n_ticks: int
    metrics: list[str]  # what the panels show
    servers: list[ServerSeries] = field(default_factory=list)  # affected first, then healthy
    affected: list[dict[str, Any]] = field(default_factory=list)  # the first LISTED
    n_affected: int = 0
    fleet_size: int = 0


def _curve_times(scenario: Scenario, points: int) -> np.ndarray:
    grid = np.linspace(0.0, scenario.duration_s, points)
    marks = [p.start for p in scenario.phases] + [scenario.duration_s]
    # Both sides of each boundary, so steps between flat phases stay steps.
    around = [m - 1e-6 for m in marks[1:]] + marks
    return np.unique(np.clip(np.concatenate([grid, around]), 0.0, scenario.duration_s))


def _panels(scenario: Scenario) -> list[str]:
    driven = set(scenario.effects)
    for group in scenario.affected:
        driven |= set(group.effects or {})
    chosen = [m for m in METRIC_NAMES if m in driven][:MAX_PANELS]
    return chosen or list(DEFAULT_METRICS)


def preview(scenario: Scenario, *, curve_points: int = CURVE_POINTS) -> Preview:
    """The preview of a valid scenario (see the module's docstring)."""
    curve_s = _curve_times(scenario, curve_points)
    delayed = []
    for g, group in enumerate(scenario.affected):
        if group.delay_s > 0:
            delayed.append((f"affected.{g} (+{group.delay_s:g} s)", float(group.delay_s), intensity_curve(scenario, curve_s, group.delay_s)))
    affected = scenario.affected_servers()
    picked = {a["index"] for a in affected}
    hit = affected[0]["index"] if affected else None
    healthy = next((i for i in range(scenario.fleet.size) if i not in picked), None)
    chosen = [i for i in (hit, healthy) if i is not None]
    result = Preview(
        curve_s=curve_s,
        intensity=intensity_curve(scenario, curve_s),
        delayed=delayed,
        phases=[{"name": p.name, "kind": p.kind, "start": p.start, "end": p.end} for p in scenario.phases],
        sample_s=np.zeros(0),
        every_tick=True,
        n_ticks=scenario.n_ticks,
        metrics=_panels(scenario),
        affected=affected[:LISTED],
        n_affected=len(affected),
        fleet_size=scenario.fleet.size,
    )
    if not chosen:
        return result
    sample = sample_servers(scenario, chosen, affected=affected)
    ticks = sample["ticks"]
    result.sample_s = ticks * scenario.tick_s
    result.every_tick = len(ticks) == scenario.n_ticks
    names = sample["servers"]
    by_index = {a["index"]: a for a in affected}
    for index in chosen:
        column = sorted(chosen).index(index)
        info = by_index.get(index)
        result.servers.append(
            ServerSeries(
                name=names[column],
                profile=sample["profiles"][column],
                affected=info is not None,
                reason=info["reason"] if info else "not affected: a healthy server for comparison",
                values={m: sample["values"][:, column, METRIC_NAMES.index(m)] for m in result.metrics},
                state=sample["state"][:, column],
            )
        )
    return result
