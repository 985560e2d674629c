"""A scenario generated in memory: ``scenario:default?seed=7&fleet_size=50`` (nothing is written to disk)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..errors import ScenarioError
from ..parameters import INTEGER, NUMBER, Parameter
from ..settings import Settings
from .cleaning import Origin, ReadOptions, build_cube, normalize
from .memory import CubeSource
from .paths import safe_path


def _option(name: str, value: Any, kind: type, low: float, what: str) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ScenarioError(f"{name}: expected {what}, got {value!r}", [(name, f"must be {what}")])
    try:
        number = (
            kind(value)
            if kind is float
            else int(str(value).strip(), 10)
            if isinstance(value, str)
            else int(value)
        )
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{name}: expected {what}, got {value!r}", [(name, f"must be {what}")]
        ) from None
    if (kind is float and not math.isfinite(number)) or number < low:
        raise ScenarioError(f"{name}: expected {what}, got {value!r}", [(name, f"must be {what}")])
    return number


class ScenarioSource(CubeSource):
    name = "scenario"
    description = (
        "a scenario file generated in memory (by name from the scenario folder, or a path)"
    )
    parameters = (
        Parameter("seed", None, "random seed (default: the scenario's)", low=0, kind=INTEGER),
        Parameter("fleet_size", None, "number of servers (default: the scenario's)", low=1, kind=INTEGER),
        Parameter("duration", None, "length in minutes; stretches the phase timeline (default: the scenario's)", kind=NUMBER),
        Parameter("tick", None, "seconds between ticks (default: the scenario's)", kind=NUMBER),
    )

    @classmethod
    def open(
        cls,
        target: str,
        *,
        data_roots=(),
        settings: Settings | None = None,
        seed: Any = None,
        fleet_size: Any = None,
        duration: Any = None,
        tick: Any = None,
    ) -> ScenarioSource:
        from ..scenario import load_scenario

        name = (target or "default").strip()
        looks_like_path = (
            "/" in name
            or "\\" in name
            or name.startswith(".")
            or Path(name).suffix == ".json"
            and Path(name).exists()
        )
        if looks_like_path:
            scenario = load_scenario(safe_path(name, data_roots))
        else:  # bundled scenarios, then the user's, then drafts played without saving
            from ..authoring.library import Library

            scenario, _ = Library.from_settings(settings or Settings()).read(name)
        overrides = {
            "seed": _option("seed", seed, int, 0, "an integer >= 0"),
            "fleet_size": _option("fleet_size", fleet_size, int, 1, "an integer >= 1"),
            "duration_min": _option(
                "duration", duration, float, 1e-9, "a positive number of minutes"
            ),
            "tick_s": _option("tick", tick, float, 1e-9, "a positive number of seconds"),
        }
        if any(v is not None for v in overrides.values()):
            scenario = scenario.resolved(**overrides)
        return cls(scenario, label=name)

    def __init__(self, scenario: Any, *, label: str | None = None):
        from ..generate import generate_table

        dataset = generate_table(scenario)
        frame = dataset.table.to_pandas()
        label = label or scenario.name
        piece = normalize(frame, Origin(f"scenario {label}", 0, "row"), ReadOptions())
        piece.report = []  # generated data is in the schema: nothing to report about its columns
        cube = build_cube([piece], None, f"scenario {label}")
        query = urlencode(
            {
                "duration": f"{scenario.duration_s / 60:g}",
                "fleet_size": scenario.fleet.size,
                "seed": scenario.seed,
                "tick": f"{scenario.tick_s:g}",
            }
        )
        self.canonical_spec = f"scenario:{label}?{query}"
        digest = hashlib.sha256(scenario.to_json().encode()).hexdigest()[:16]
        super().__init__(
            cube,
            metadata=dataset.metadata,
            identity=f"{self.canonical_spec}#{digest}",
            tick_seconds=float(scenario.tick_s),
        )
        self.label = label
        self.scenario = scenario
