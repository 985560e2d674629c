"""Training data at scale for trained risk models, from the scenario library.

Each bundled scenario is a *scenario type* (its incident pattern: which metrics move and
how). :func:`varied_scenarios` draws procedural variants of each type: random fleet size
and mix, tick size, a long healthy stretch before the incident, stretched and weakened or
strengthened phases, effects dropped or rescaled, sometimes a second incident on the same
servers. :func:`augment` then makes the data look more like real fleets: harmless
disturbances on unaffected servers (a batch job: CPU and disk up; a busy hour across a
profile: CPU and traffic up), metrics missing fleet-wide, and core metrics renamed into
unnamed *extra* metrics (their direction unknown, as NAB's ``value`` or SMD's ``m17``).

:func:`span_rows` turns a source into feature rows and labels through exactly the code
the model scores with (the scorer's baselines per checkpoint, :func:`features`), a whole
span of ticks per baseline at a time. The label is the evaluation's: the server is in an
incident (escalation or peak) now or within ``horizon_ticks``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..scenario import Scenario, list_scenarios, load_scenario, parse_scenario
from .baselines import BaselinePolicy
from .features import WINDOW_TICKS, features

HORIZON_TICKS = 3  # the evaluation's default horizon
TICK_CHOICES = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
INCIDENT_KINDS = (schema.PHASE_KINDS.index("escalation"), schema.PHASE_KINDS.index("peak"))


def scenario_types(scenario_dir: Any = None) -> list[str]:
    """The bundled scenarios that load, by name: the scenario types."""
    return [info.name for info in list_scenarios(scenario_dir) if info.error is None]


@dataclass(frozen=True)
class Variant:
    """One procedural scenario and the augmentations to apply to its data."""

    kind: str  # the scenario type it varies
    scenario: Scenario
    seed: int
    disturbances: bool
    missing: tuple[str, ...]  # core metrics left out fleet-wide
    as_extras: tuple[str, ...]  # core metrics renamed into extra metrics


def varied_scenarios(kind: str, count: int, rng: np.random.Generator, scenario_dir: Any = None) -> Iterator[Variant]:
    """``count`` procedural variants of the scenario type ``kind``."""
    base = load_scenario(kind, scenario_dir=scenario_dir)
    for _ in range(count):
        seed = int(rng.integers(0, 2**31 - 1))
        data = base.to_dict()
        data["name"] = f"{kind}-variant"
        data["seed"] = seed
        tick = float(rng.choice(TICK_CHOICES))
        data["tick_s"] = tick
        size = int(rng.integers(8, 33))
        groups = [*data["affected"], *(data.get("disturbances") or []), *(data.get("hot_servers") or [])]
        if any(group.get("rule") == "servers" for group in groups):
            data["fleet"]["size"] = max(size, base.fleet.size)  # the named servers must exist
        else:
            data["fleet"]["size"] = size
            data["fleet"]["mix"] = {p: float(rng.uniform(0.3, 1.5)) for p in data["fleet"]["mix"]}
        incident = [p for p in data["phases"] if p["kind"] != "stable" or p is not data["phases"][0]]
        incident_len = data["duration_s"] - data["phases"][0]["end"]
        ticks_wanted = int(rng.integers(30, 90))  # incident ticks, whatever the tick size
        stretch = max(ticks_wanted * tick / incident_len, 0.2)
        healthy = int(rng.integers(40, 400)) * tick  # a long healthy stretch first
        strength = float(rng.uniform(0.45, 1.1))
        timeline = [{"name": "stable", "kind": "stable", "start": 0.0, "end": healthy, "shape": "flat", "intensity": 0.0}]
        repeats = 2 if rng.random() < 0.25 else 1
        for r in range(repeats):
            for phase in incident:
                start = timeline[-1]["end"]
                length = (phase["end"] - phase["start"]) * stretch
                p = dict(phase)
                p["name"] = f"{phase['name']}{r + 1}" if repeats > 1 else phase["name"]
                p["start"], p["end"] = start, start + length
                if p["kind"] in ("escalation", "peak"):
                    p["intensity"] = min(1.0, p["intensity"] * strength)
                if p.get("period_s") is not None:
                    p["period_s"] = p["period_s"] * stretch
                timeline.append(p)
            if r + 1 < repeats:
                gap = int(rng.integers(20, 80)) * tick
                timeline.append(
                    {"name": "between", "kind": "stable", "start": timeline[-1]["end"], "end": timeline[-1]["end"] + gap,
                     "shape": "flat", "intensity": 0.0}
                )
        tail = int(rng.integers(10, 60)) * tick
        timeline.append({"name": "after", "kind": "stable", "start": timeline[-1]["end"], "end": timeline[-1]["end"] + tail,
                         "shape": "flat", "intensity": 0.0})
        data["phases"] = timeline
        first_end = base.phases[0].end

        for event in data.get("disturbances") or []:
            event["start"] = _moved(event["start"], first_end, healthy, stretch)
            event["end"] = _moved(event["end"], first_end, healthy, stretch)
            for key in ("restart_s", "period_s"):
                if event.get(key) is not None:
                    event[key] = event[key] * stretch
        data["duration_s"] = timeline[-1]["end"]
        for group in data["affected"]:
            group["delay_s"] = group["delay_s"] * stretch
        effects = dict(data["effects"])
        if len(effects) > 1 and rng.random() < 0.4:
            effects.pop(list(effects)[int(rng.integers(0, len(effects)))])
        for effect in effects.values():
            if effect["mode"] == "factor":
                effect["target"] = 1.0 + (effect["target"] - 1.0) * float(rng.uniform(0.5, 1.2))
        data["effects"] = effects
        scenario = parse_scenario(data, source=f"{kind} variant")
        metrics = list(schema.METRIC_NAMES)
        missing = tuple(m for m in metrics if rng.random() < 0.12)
        as_extras: tuple[str, ...] = ()
        if rng.random() < 0.3:
            kept = [m for m in metrics if m not in missing]
            as_extras = tuple(m for m in kept if rng.random() < 0.7)
        yield Variant(kind, scenario, seed, bool(rng.random() < 0.6), missing, as_extras)


def _moved(t: float, first_end: float, healthy: float, stretch: float) -> float:
    """A time of the base scenario's timeline on its variant's: the healthy stretch scaled
    to the variant's, the incident stretched like its phases."""
    return t * healthy / first_end if t <= first_end else healthy + (t - first_end) * stretch


def augment(frame: pd.DataFrame, variant: Variant, rng: np.random.Generator) -> pd.DataFrame:
    """Disturbances on unaffected servers, missing metrics and metrics renamed as extras."""
    frame = frame.copy()
    if variant.disturbances:
        ticks = frame[schema.TIMESTAMP].astype("int64").to_numpy()
        codes, uniq = pd.factorize(ticks, sort=True)
        n_ticks = len(uniq)
        healthy = ~frame[schema.PROBLEM_CHILD].to_numpy(dtype=bool)
        servers = frame[schema.SERVER].to_numpy()
        names = pd.unique(servers[healthy])
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(max(3, n_ticks // 20), max(4, n_ticks // 5)))
            start = int(rng.integers(0, max(1, n_ticks - length)))
            when = (codes >= start) & (codes < start + length)
            if rng.random() < 0.5 and len(names):  # a batch job on a few healthy servers
                chosen = rng.choice(names, size=min(len(names), int(rng.integers(1, 4))), replace=False)
                rows = when & np.isin(servers, chosen)
                frame.loc[rows, "cpu_pct"] = np.clip(rng.uniform(88, 99, rows.sum()), 0, 100)
                frame.loc[rows, "disk_io_mb_s"] *= rng.uniform(3, 8)
            else:  # a busy hour across one profile
                profile = rng.choice(pd.unique(frame[schema.PROFILE]))
                rows = when & (frame[schema.PROFILE].to_numpy() == profile) & healthy
                lift = rng.uniform(1.3, 1.7)
                frame.loc[rows, "cpu_pct"] = np.clip(frame.loc[rows, "cpu_pct"] * lift, 0, 100)
                for metric in ("net_in_mb_s", "net_out_mb_s"):
                    frame.loc[rows, metric] *= lift
    for metric in variant.missing:
        frame[metric] = np.nan
    return frame.rename(columns={m: f"x_{m}" for m in variant.as_extras})


def span_rows(source: Any, model: Any, horizon_ticks: int = HORIZON_TICKS) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows ``(R, F)`` and labels ``(R,)`` for every (tick, server) of ``source``
    that has a baseline, computed the way ``model`` scores (its baseline policy and the
    scorer's checkpoints), one span per checkpoint."""
    from .scoring import Scorer

    n_ticks = int(source.n_ticks())
    whole = source.window(n_ticks - 1, n_ticks)
    phase = np.asarray(whole.phase) if whole.phase is not None else np.full((n_ticks, whole.n_servers), -1)
    affected = np.asarray(whole.problem_child, dtype=bool) if whole.problem_child is not None else np.zeros(whole.n_servers, bool)
    incident = np.isin(phase, INCIDENT_KINDS) & affected[None, :]
    label = incident.copy()
    for k in range(1, horizon_ticks + 1):
        label[:-k] |= incident[k:]
    scorer = Scorer(source, model)
    policy: BaselinePolicy = model.baseline_policy
    rows, labels = [], []
    tick = policy.min_ticks
    while tick < n_ticks:
        baseline = scorer.baseline(tick)
        nxt = tick + 1
        while nxt < n_ticks and policy.checkpoint(nxt) == policy.checkpoint(tick):
            nxt += 1
        span = nxt - tick
        window = replace(source.window(nxt - 1, span + WINDOW_TICKS - 1).without_truth(), baseline=baseline)
        X, _ = features(window, baseline, span)
        rows.append(X.reshape(-1, X.shape[-1]))
        labels.append(label[tick:nxt].reshape(-1))
        tick = nxt
    if not rows:
        return np.zeros((0, 0), np.float32), np.zeros(0, bool)
    return np.concatenate(rows), np.concatenate(labels)


def expected_calibration_error(
    probability: np.ndarray, label: np.ndarray, bins: int = 10, weight: np.ndarray | None = None
) -> float:
    """ECE: the share-weighted gap between mean probability and outcome rate in equal-width
    bins; ``weight`` counts each row that many times (rows kept from a subsample)."""
    probability = np.asarray(probability, dtype=np.float64)
    label = np.asarray(label, dtype=np.float64)
    if probability.size == 0:
        return math.nan
    weight = np.ones_like(probability) if weight is None else np.asarray(weight, dtype=np.float64)
    which = np.minimum((probability * bins).astype(int), bins - 1)
    mass = np.bincount(which, weight, minlength=bins)
    said = np.bincount(which, weight * probability, minlength=bins)
    seen = np.bincount(which, weight * label, minlength=bins)
    used = mass > 0
    return float(np.abs(said[used] - seen[used]).sum() / mass.sum())


__all__ = [
    "HORIZON_TICKS",
    "Variant",
    "augment",
    "expected_calibration_error",
    "scenario_types",
    "span_rows",
    "varied_scenarios",
]
