"""Scenario files: a versioned, validated description of a fleet and its incident timeline.

A scenario says how big the fleet is and which profiles it mixes, how the incident unfolds
(an ordered timeline of phases, each with an intensity shape), which servers are hit and how
intensity moves each metric. :func:`parse_scenario` and :func:`load_scenario` let only
:class:`~dashboard.errors.ScenarioError` escape; its message lists every problem as
``source: field.path: rule``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import schema, settings
from .errors import ScenarioError
from .jsontext import DuplicateKeyError, loads_strict
from .scenario_versions import upgrade

SCHEMA_VERSION = 1

# Limits that keep a scenario generatable on one machine; each appears in its refusal message.
MAX_FLEET_SIZE = 100_000
MIN_TICK_S = 0.1
MAX_TICK_S = 3600.0
MAX_DURATION_S = 31 * 24 * 3600.0
MAX_ROWS = 500_000_000
MAX_PHASES = 64
MAX_GROUPS = 32
MAX_FILE_BYTES = 1_000_000

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
_CLOCK_RE = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$")

PROFILES = ("web", "database", "cache", "ml_compute")
SHAPES = ("flat", "ramp", "sine")
RULES = ("first_of_each_profile", "servers", "share", "profiles")
DISTURBANCE_KINDS = ("batch_job", "busy_hour", "deploy", "noisy_neighbour", "failover")
MAX_DISTURBANCES = 64

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
PhaseKind = Literal["stable", "escalation", "peak", "recovery"]
ProfileName = Literal["web", "database", "cache", "ml_compute"]
MetricName = Literal[
    "cpu_pct",
    "mem_pct",
    "latency_ms",
    "error_rate",
    "disk_io_mb_s",
    "net_in_mb_s",
    "net_out_mb_s",
    "gc_pause_ms",
]


def parse_clock(value: Any) -> Any:
    """Accept ``"m:ss"`` / ``"h:mm:ss"`` strings for times in seconds; leave numbers to the model."""
    if isinstance(value, str):
        match = _CLOCK_RE.match(value)
        if not match:
            raise ValueError(
                f"expected seconds as a number or a 'm:ss' / 'h:mm:ss' string, got {value!r}"
            )
        hours, minutes, seconds = match.groups()
        if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
            raise ValueError(
                f"{value!r} is not a valid 'm:ss' / 'h:mm:ss' time (minutes and seconds must be below 60)"
            )
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return value


Seconds = Annotated[float, BeforeValidator(parse_clock)]


def format_clock(seconds: float) -> str:
    """``90`` -> ``"1:30"``; ``3725`` -> ``"1:02:05"`` (fractions kept when present)."""
    whole = int(seconds)
    frac = seconds - whole
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    sec = f"{s:02d}" if frac < 1e-9 else f"{s + frac:06.3f}".rstrip("0")
    return f"{h}:{m:02d}:{sec}" if h else f"{m}:{sec}"


class _CrossFieldProblems(ValueError):
    """Problems found across fields, each with its own location (turned into ScenarioError)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{loc}: {msg}" for loc, msg in problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_default=True
    )


class Fleet(_Model):
    """How many servers, and the share of each profile (weights, normalised)."""

    size: int = Field(
        20, ge=1, le=MAX_FLEET_SIZE, description=f"number of servers, 1..{MAX_FLEET_SIZE:,}"
    )
    mix: dict[ProfileName, float] = Field(
        default_factory=lambda: {p: 1.0 for p in PROFILES},
        min_length=1,
        description="relative weight of each profile; server counts are split by largest remainder",
    )

    @field_validator("mix")
    @classmethod
    def _weights(cls, mix: dict[str, float]) -> dict[str, float]:
        for profile, weight in mix.items():
            if weight < 0 or weight > 1e6:
                raise ValueError(f"weight of {profile!r} must be between 0 and 1e6, got {weight}")
        if sum(mix.values()) <= 0:
            raise ValueError("at least one profile needs a positive weight")
        return mix

    def counts(self) -> dict[str, int]:
        """Servers per profile, in mix order (largest-remainder split of ``size``)."""
        total = sum(self.mix.values())
        exact = [self.size * w / total for w in self.mix.values()]
        counts = [math.floor(x) for x in exact]
        leftover = self.size - sum(counts)
        # Stable ordering: largest fractional part first, ties by mix order.
        order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
        for i in order[:leftover]:
            counts[i] += 1
        return {p: c for p, c in zip(self.mix, counts, strict=True) if c > 0}

    def server_names(self) -> list[tuple[str, str]]:
        """``(server_name, profile)`` in fleet order: profiles in mix order, numbered within each."""
        return list(_server_names(tuple(self.counts().items())))

    def ranges(self) -> dict[str, range]:
        """Each profile's servers as fleet indices (profiles are contiguous, in mix order)."""
        out: dict[str, range] = {}
        start = 0
        for profile, count in self.counts().items():
            out[profile] = range(start, start + count)
            start += count
        return out

    def index_of(self, name: str) -> int | None:
        """The fleet index of the server called ``name`` (``web-003``), or None."""
        profile, _, number = name.rpartition("-")
        found = self.ranges().get(profile)
        if found is None or not number.isdigit() or not number.isascii() or f"{int(number):03d}" != number:
            return None
        return found.start + int(number) if int(number) < len(found) else None


@functools.lru_cache(maxsize=16)
def _server_names(counts: tuple[tuple[str, int], ...]) -> tuple[tuple[str, str], ...]:
    # Names depend only on the counts; a 10,000-server fleet is named once, not per use.
    return tuple((f"{p}-{i:03d}", p) for p, c in counts for i in range(c))


class Phase(_Model):
    """One stretch of the timeline: ``[start, end)`` seconds, an intensity shape and target."""

    name: Name
    kind: PhaseKind | None = Field(
        None,
        description="stable/escalation/peak/recovery; inferred from a name that is one of them",
    )
    start: Seconds = Field(ge=0)
    end: Seconds = Field(gt=0)
    shape: Literal["flat", "ramp", "sine"] = "flat"
    intensity: float = Field(
        0.0, ge=0, le=1, description="target intensity 0..1 (ramp: reached at the end)"
    )
    amplitude: float = Field(
        0.3, ge=0, le=1, description="sine only: relative depth of the oscillation"
    )
    period_s: float | None = Field(
        None,
        gt=0,
        le=MAX_DURATION_S,
        description="sine only: period (default: a quarter of the phase, at most 60 s)",
    )

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and data.get("kind") is None
            and data.get("name") in schema.PHASE_KINDS
        ):
            data = {**data, "kind": data["name"]}
        return data

    @model_validator(mode="after")
    def _check(self) -> Phase:
        if self.kind is None:
            raise _CrossFieldProblems(
                [
                    (
                        "kind",
                        f"required when the phase name {self.name!r} is not one of {', '.join(schema.PHASE_KINDS)}",
                    )
                ]
            )
        return self


class Effect(_Model):
    """How intensity moves one metric on an affected server.

    ``level``: the metric moves from its healthy value towards ``target`` (in the metric's unit),
    reaching ``target ± spread`` at intensity 1. ``factor``: the healthy value is multiplied by up
    to ``target`` at intensity 1.
    """

    mode: Literal["level", "factor"] = "level"
    target: float
    spread: float = Field(0.0, ge=0)


class Oom(_Model):
    """Out-of-memory kills: while intensity is at least ``min_intensity``, one kill every ``every_s``."""

    min_intensity: float = Field(0.9, gt=0, le=1)
    every_s: float = Field(60.0, gt=0, le=MAX_DURATION_S)
    offline_ticks: int = Field(1, ge=1, le=100, description="ticks a killed server stays offline")


class _Selector(_Model):
    """Which servers, by one rule (shared by affected groups, disturbances and hot servers)."""

    rule: Literal["first_of_each_profile", "servers", "share", "profiles"]
    servers: list[str] | None = Field(
        None, max_length=MAX_FLEET_SIZE, description="rule 'servers': server names"
    )
    share: float | None = Field(
        None, gt=0, le=1, description="rule 'share': share of the (filtered) fleet"
    )
    profiles: list[ProfileName] | None = Field(
        None,
        min_length=1,
        description="rule 'profiles': whole profiles; other rules: restrict to these",
    )

    @model_validator(mode="after")
    def _check(self) -> _Selector:
        problems = []
        if self.rule == "servers" and not self.servers:
            problems.append(("servers", "rule 'servers' needs a non-empty list of server names"))
        if self.rule != "servers" and self.servers is not None:
            problems.append(("servers", f"only allowed with rule 'servers', not {self.rule!r}"))
        if self.rule == "share" and self.share is None:
            problems.append(("share", "rule 'share' needs a share in (0, 1]"))
        if self.rule != "share" and self.share is not None:
            problems.append(("share", f"only allowed with rule 'share', not {self.rule!r}"))
        if self.rule == "profiles" and not self.profiles:
            problems.append(("profiles", "rule 'profiles' needs a non-empty list of profiles"))
        problems += self._more_problems()
        if problems:
            raise _CrossFieldProblems(problems)
        return self

    def _more_problems(self) -> list[tuple[str, str]]:
        return []


class AffectedGroup(_Selector):
    """Which servers are hit, by one rule, optionally later than the fleet timeline."""

    delay_s: Seconds = Field(0.0, ge=0, description="this group enters each phase this much later")
    effects: dict[MetricName, Effect] | None = Field(
        None, description="overrides the scenario's effects"
    )
    oom: Oom | None = Field(None, description="overrides the scenario's OOM rule")


class Disturbance(_Selector):
    """A harmless event that moves metrics but is not an incident, and is never labelled one.

    Kinds and what they do by default (``effects`` overrides them, metric by metric):

    * ``batch_job``: a scheduled job pins CPU at 95%+ with heavy disk I/O and more memory;
      latency and errors do not change;
    * ``busy_hour``: traffic rises and falls across a tier: network in/out about doubled, CPU
      up, latency a little;
    * ``deploy``: the servers restart one by one across the window (each down for
      ``restart_s``): CPU and traffic drop to nothing, memory starts low;
    * ``noisy_neighbour``: a neighbour steals I/O and CPU: disk throughput down, latency
      half as much again, CPU up;
    * ``failover``: the servers hand their traffic to the rest of their profile and take
      it back at the end; the peers run hotter meanwhile.
    """

    kind: Literal["batch_job", "busy_hour", "deploy", "noisy_neighbour", "failover"]
    title: str = Field("", max_length=200)
    start: Seconds = Field(ge=0)
    end: Seconds = Field(gt=0)
    intensity: float = Field(1.0, ge=0, le=1, description="how strongly the event moves metrics, 0..1")
    effects: dict[MetricName, Effect] | None = Field(
        None, description="overrides the kind's effects, metric by metric"
    )
    restart_s: Seconds | None = Field(
        None, gt=0, le=MAX_DURATION_S, description="deploy only: how long each server is down (default 2 ticks)"
    )

    def _more_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.end <= self.start:
            problems.append(("end", f"must be after start ({self.start:g} s), got {self.end:g} s"))
        if self.restart_s is not None and self.kind != "deploy":
            problems.append(("restart_s", f"only allowed for kind 'deploy', not {self.kind!r}"))
        return problems

    def resolved_effects(self) -> dict[str, Effect]:
        """The kind's default effects with ``effects`` laid over them."""
        return {**DISTURBANCE_EFFECTS[self.kind], **(self.effects or {})}


class HotServers(_Selector):
    """Servers that normally run hot (an ML box at 95% CPU is healthy), not in trouble."""

    cpu_pct: float = Field(92.0, ge=0, le=100, description="their normal CPU, %")
    mem_pct: float | None = Field(None, ge=0, le=100, description="their normal memory, % (default: unchanged)")


DISTURBANCE_EFFECTS: dict[str, dict[str, Effect]] = {
    "batch_job": {
        "cpu_pct": Effect(mode="level", target=96.0, spread=2.0),
        "disk_io_mb_s": Effect(mode="factor", target=8.0),
        "mem_pct": Effect(mode="level", target=80.0, spread=3.0),
        "net_out_mb_s": Effect(mode="factor", target=1.5),
    },
    "busy_hour": {
        "cpu_pct": Effect(mode="factor", target=1.6),
        "net_in_mb_s": Effect(mode="factor", target=2.2),
        "net_out_mb_s": Effect(mode="factor", target=2.2),
        "latency_ms": Effect(mode="factor", target=1.25),
    },
    "deploy": {
        "cpu_pct": Effect(mode="factor", target=0.08),
        "net_in_mb_s": Effect(mode="factor", target=0.03),
        "net_out_mb_s": Effect(mode="factor", target=0.03),
        "mem_pct": Effect(mode="level", target=30.0, spread=3.0),
        "gc_pause_ms": Effect(mode="factor", target=0.1),
    },
    "noisy_neighbour": {
        "disk_io_mb_s": Effect(mode="factor", target=0.5),
        "latency_ms": Effect(mode="factor", target=1.5),
        "cpu_pct": Effect(mode="factor", target=1.3),
    },
    "failover": {
        "cpu_pct": Effect(mode="factor", target=0.3),
        "net_in_mb_s": Effect(mode="factor", target=0.05),
        "net_out_mb_s": Effect(mode="factor", target=0.05),
    },
}
# What the rest of a failed-over server's profile takes on meanwhile.
FAILOVER_PEER_EFFECTS: dict[str, Effect] = {
    "cpu_pct": Effect(mode="factor", target=1.35),
    "net_in_mb_s": Effect(mode="factor", target=1.6),
    "net_out_mb_s": Effect(mode="factor", target=1.6),
    "latency_ms": Effect(mode="factor", target=1.1),
}


class Expectations(_Model):
    """What a good model must achieve on this scenario (``python -m dashboard.check`` runs them)."""

    lead_time_s: Seconds | None = Field(
        None, ge=0, description="every incident is caught (an alert starts) at least this long before its peak"
    )
    quiet_disturbed_servers: bool = Field(
        False, description="no alert on servers touched only by disturbances"
    )
    top5_in_peak: float | None = Field(
        None, ge=0, le=1, description="the top 5 hold every affected server in at least this share of peak ticks"
    )
    max_false_alarm_episodes: int | None = Field(
        None, ge=0, le=1_000_000, description="at most this many false-alarm episodes, all servers together"
    )


def _default_effects() -> dict[str, Effect]:
    # The seed's peak: 80-90% CPU and high latency on affected servers, errors and GC up.
    return {
        "cpu_pct": Effect(mode="level", target=85.0, spread=4.0),
        "latency_ms": Effect(mode="factor", target=6.0, spread=0.0),
        "error_rate": Effect(mode="level", target=0.12, spread=0.02),
        "gc_pause_ms": Effect(mode="factor", target=3.0, spread=0.0),
    }


def _default_affected() -> list[AffectedGroup]:
    return [AffectedGroup(rule="first_of_each_profile")]


class Scenario(_Model):
    """A whole scenario file (``schema_version`` 1; older versions are migrated on load)."""

    schema_version: Literal[1]
    name: Name
    title: str = Field("", max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    duration_s: Seconds = Field(
        gt=0, le=MAX_DURATION_S, description=f"total length, up to {MAX_DURATION_S / 86400:g} days"
    )
    tick_s: float = Field(settings.DEFAULT_TICK_SECONDS, ge=MIN_TICK_S, le=MAX_TICK_S)
    seed: int = Field(settings.DEFAULT_SEED, ge=0, le=2**63 - 1)
    fleet: Fleet = Field(default_factory=Fleet)
    phases: list[Phase] = Field(min_length=1, max_length=MAX_PHASES)
    affected: list[AffectedGroup] = Field(default_factory=_default_affected, max_length=MAX_GROUPS)
    effects: dict[MetricName, Effect] = Field(default_factory=_default_effects)
    oom: Oom | None = None
    disturbances: list[Disturbance] = Field(
        default_factory=list,
        max_length=MAX_DISTURBANCES,
        description="harmless events that move metrics but are never labelled incidents",
    )
    hot_servers: list[HotServers] = Field(
        default_factory=list, max_length=MAX_GROUPS, description="servers that normally run hot"
    )
    expectations: Expectations | None = None

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        problems = self._timeline_problems() + self._size_problems()
        problems += self._effect_problems("effects", self.effects)
        problems += self._affected_problems()
        problems += self._disturbance_problems()
        if problems:
            raise _CrossFieldProblems(problems)
        return self

    # -- cross-field rules ---------------------------------------------
    def _timeline_problems(self) -> list[tuple[str, str]]:
        return timeline_problems(
            [(p.name, p.start, p.end) for p in self.phases], self.duration_s
        )

    def _size_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.duration_s < self.tick_s:
            problems.append(
                (
                    "duration_s",
                    f"must be at least one tick ({self.tick_s:g} s), got {self.duration_s:g}",
                )
            )
        if abs(self.tick_s * 1000 - round(self.tick_s * 1000)) > 1e-6:
            problems.append(
                ("tick_s", f"must be a whole number of milliseconds, got {self.tick_s!r}")
            )
        rows = self.n_ticks * self.fleet.size
        if rows > MAX_ROWS:
            problems.append(
                (
                    "fleet.size",
                    f"{self.fleet.size:,} servers x {self.n_ticks:,} ticks = {rows:,} rows exceeds the limit of {MAX_ROWS:,} rows; use fewer servers, a shorter duration or a longer tick",
                )
            )
        return problems

    @staticmethod
    def _effect_problems(where: str, effects: Mapping[str, Effect]) -> list[tuple[str, str]]:
        problems = []
        for metric, effect in effects.items():
            m = schema.METRIC_BY_NAME[metric]
            if effect.mode == "level" and not (m.low <= effect.target <= min(m.high, 1e9)):
                problems.append(
                    (
                        f"{where}.{metric}.target",
                        f"level target must be within {m.low:g}..{min(m.high, 1e9):g} {m.unit}, got {effect.target:g}",
                    )
                )
            if effect.mode == "factor" and not (0 < effect.target <= 1000):
                problems.append(
                    (
                        f"{where}.{metric}.target",
                        f"factor must be in (0, 1000], got {effect.target:g}",
                    )
                )
            if effect.spread > max(abs(effect.target), 1.0):
                problems.append(
                    (
                        f"{where}.{metric}.spread",
                        f"must not exceed the target's size ({abs(effect.target):g}), got {effect.spread:g}",
                    )
                )
        return problems

    def _selector_problems(self, loc: str, group: _Selector) -> list[tuple[str, str]]:
        problems = []
        counts = self.fleet.counts()
        for p, profile in enumerate(group.profiles or []):
            if profile not in counts:
                problems.append(
                    (
                        f"{loc}.profiles.{p}",
                        f"profile {profile!r} has no servers in this fleet (fleet has {', '.join(counts)})",
                    )
                )
        for k, server in enumerate(group.servers or []):
            if not self._knows(server):
                problems.append(
                    (
                        f"{loc}.servers.{k}",
                        f"no server named {server!r} in this fleet of {self.fleet.size} ({_name_hint(counts)})",
                    )
                )
        return problems

    def _knows(self, server: str) -> bool:
        """Whether this fleet has a server called ``server`` (parsed, not looked up in a set)."""
        return self.fleet.size <= MAX_FLEET_SIZE and self.fleet.index_of(server) is not None

    def _disturbance_problems(self) -> list[tuple[str, str]]:
        problems = []
        for d, event in enumerate(self.disturbances):
            loc = f"disturbances.{d}"
            problems += self._selector_problems(loc, event)
            if event.end > self.duration_s + 1e-6:
                problems.append(
                    (f"{loc}.end", f"must be within the scenario (duration_s = {self.duration_s:g}), got {event.end:g}")
                )
            if event.effects is not None:
                problems += self._effect_problems(f"{loc}.effects", event.effects)
        for h, group in enumerate(self.hot_servers):
            problems += self._selector_problems(f"hot_servers.{h}", group)
        return problems

    def _affected_problems(self) -> list[tuple[str, str]]:
        problems = []
        counts = self.fleet.counts()
        for g, group in enumerate(self.affected):
            loc = f"affected.{g}"
            for p, profile in enumerate(group.profiles or []):
                if profile not in counts:
                    problems.append(
                        (
                            f"{loc}.profiles.{p}",
                            f"profile {profile!r} has no servers in this fleet (fleet has {', '.join(counts)})",
                        )
                    )
            for s, server in enumerate(group.servers or []):
                if not self._knows(server):
                    problems.append(
                        (
                            f"{loc}.servers.{s}",
                            f"no server named {server!r} in this fleet of {self.fleet.size} ({_name_hint(counts)})",
                        )
                    )
            if group.delay_s >= self.duration_s:
                problems.append(
                    (
                        f"{loc}.delay_s",
                        f"must be shorter than duration_s ({self.duration_s:g}), got {group.delay_s:g}",
                    )
                )
            if group.effects is not None:
                problems += self._effect_problems(f"{loc}.effects", group.effects)
        return problems

    # -- derived values ------------------------------------------------
    @property
    def n_ticks(self) -> int:
        """Number of ticks: ``ceil(duration / tick)``."""
        return max(1, math.ceil(self.duration_s / self.tick_s - 1e-9))

    def affected_servers(self) -> list[dict[str, Any]]:
        """Who is hit and why: ``{server_name, profile, index, group, reason, delay_s, metrics}``.

        The first group that selects a server wins; a server appears once. Sorted in fleet order.
        """
        servers = self.fleet.server_names()
        chosen: dict[int, dict[str, Any]] = {}
        for g, group in enumerate(self.affected):
            picked, reason = self._pick(group, _SALT_AFFECTED, g)
            effects = group.effects if group.effects is not None else self.effects
            oom = group.oom if group.oom is not None else self.oom
            metrics = sorted(effects) + (["container_oom"] if oom is not None else [])
            for i in picked:
                chosen.setdefault(
                    i,
                    {
                        "server_name": servers[i][0],
                        "profile": servers[i][1],
                        "index": i,
                        "group": g,
                        "reason": f"affected.{g}: {reason}",
                        "delay_s": float(group.delay_s),
                        "metrics": metrics,
                    },
                )
        return [chosen[i] for i in sorted(chosen)]

    def _pick(self, group: _Selector, salt: int, g: int) -> tuple[list[int], str]:
        """The fleet indices ``group`` selects (in fleet order) and why."""
        by_profile = self.fleet.ranges()
        allowed = group.profiles or list(by_profile)
        ranges = [by_profile[p] for p in allowed if len(by_profile.get(p, ()))]
        if group.rule == "first_of_each_profile":
            return [r.start for r in ranges], "first server of its profile"
        if group.rule == "servers":
            found = (self.fleet.index_of(s) for s in group.servers or [])
            return [i for i in found if i is not None], "listed by name"
        if group.rule == "profiles":
            return [i for r in ranges for i in r], "whole profile affected"
        pool = np.concatenate([np.arange(r.start, r.stop, dtype=np.int64) for r in ranges] or [np.zeros(0, np.int64)])
        k = max(1, round(len(pool) * (group.share or 0)))
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, salt, g]))
        picked = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False)).tolist()
        return picked, f"random {group.share:g} share of {'/'.join(allowed)} servers (seeded)"

    def disturbance_servers(self) -> list[dict[str, Any]]:
        """Each disturbance resolved: ``{index, kind, title, start_s, end_s, servers, indices,
        peers, metrics}`` (``peers``: the profile-mates a failover hands its load to)."""
        names = self.fleet.server_names()
        out = []
        for d, event in enumerate(self.disturbances):
            picked, _ = self._pick(event, _SALT_DISTURBANCE, d)
            peers: list[int] = []
            if event.kind == "failover":
                chosen = set(picked)
                mates = {names[i][1] for i in picked}
                peers = [i for i, (_, p) in enumerate(names) if p in mates and i not in chosen]
            out.append(
                {
                    "index": d,
                    "kind": event.kind,
                    "title": event.title,
                    "start_s": float(event.start),
                    "end_s": float(event.end),
                    "servers": [names[i][0] for i in picked],
                    "indices": picked,
                    "peers": [names[i][0] for i in peers],
                    "peer_indices": peers,
                    "metrics": sorted(event.resolved_effects()),
                }
            )
        return out

    def hot_server_levels(self) -> dict[int, tuple[float, float | None]]:
        """Fleet index -> (normal CPU %, normal memory % or None) of the servers that run hot."""
        levels: dict[int, tuple[float, float | None]] = {}
        for h, group in enumerate(self.hot_servers):
            for i in self._pick(group, _SALT_HOT, h)[0]:
                levels.setdefault(i, (group.cpu_pct, group.mem_pct))
        return levels

    def resolved(
        self,
        duration_min: float | None = None,
        fleet_size: int | None = None,
        tick_s: float | None = None,
        seed: int | None = None,
    ) -> Scenario:
        """A copy with overrides applied; ``duration_min`` stretches every phase (and delay) proportionally.

        Raises :class:`ScenarioError` naming the overridden field when the result is invalid.
        """
        data = self.model_dump(mode="python")
        if duration_min is not None:
            if (
                isinstance(duration_min, bool)
                or not isinstance(duration_min, int | float)
                or not math.isfinite(duration_min)
                or duration_min <= 0
            ):
                raise ScenarioError(
                    f"duration: must be a positive number of minutes, got {duration_min!r}",
                    [("duration_s", "must be positive")],
                )
            new_duration = float(duration_min) * 60.0
            factor = new_duration / self.duration_s
            bounds = [p.start for p in self.phases] + [self.duration_s]
            bounds = [b * factor for b in bounds]
            bounds[-1] = new_duration
            for i, phase in enumerate(data["phases"]):
                phase["start"], phase["end"] = bounds[i], bounds[i + 1]
                if phase.get("period_s") is not None:
                    phase["period_s"] = phase["period_s"] * factor
            for group in data["affected"]:
                group["delay_s"] = group["delay_s"] * factor
            for event in data["disturbances"]:
                event["start"], event["end"] = event["start"] * factor, event["end"] * factor
                if event.get("restart_s") is not None:
                    event["restart_s"] = event["restart_s"] * factor
            data["duration_s"] = new_duration
        if fleet_size is not None:
            data["fleet"]["size"] = fleet_size
        if tick_s is not None:
            data["tick_s"] = (
                float(tick_s)
                if isinstance(tick_s, int) and not isinstance(tick_s, bool)
                else tick_s
            )
        if seed is not None:
            data["seed"] = seed
        return parse_scenario(data, source=f"{self.name} (with overrides)")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with every default filled in (the resolved, canonical form)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """Canonical JSON: fields in model order, defaults filled, 2-space indent, trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# Seeds of the random "share" selections: one stream per kind of selection.
_SALT_AFFECTED, _SALT_DISTURBANCE, _SALT_HOT = 7919, 7927, 7933


def timeline_problems(
    phases: Sequence[tuple[Any, float | None, float | None]], duration_s: float | None
) -> list[tuple[str, str]]:
    """Where a phase timeline does not tile ``0..duration_s``: duplicate names, gaps,
    overlaps, empty phases, a wrong end. ``None`` stands for a value that is itself invalid
    (reported on its own): the checks that need it are left out."""
    problems = []
    names: dict[Any, int] = {}
    expected_start: float | None = 0.0
    for i, (name, start, end) in enumerate(phases):
        if name is not None and name in names:
            problems.append(
                (f"phases.{i}.name", f"duplicate phase name {name!r} (also phases.{names[name]})")
            )
        if name is not None:
            names.setdefault(name, i)
        if start is not None and expected_start is not None and not _close(start, expected_start):
            what = "the timeline starts at 0" if i == 0 else f"phases.{i - 1}.end = {expected_start:g}"
            rule = "gap" if start > expected_start else "overlap"
            problems.append(
                (
                    f"phases.{i}.start",
                    f"must equal {what} ({rule}: got {start:g}); phases must tile the timeline",
                )
            )
        if start is not None and end is not None and end <= start:
            problems.append(
                (
                    f"phases.{i}.end",
                    f"must be after start ({start:g} s), got {end:g} s: zero or negative length",
                )
            )
        expected_start = end
    last = phases[-1][2] if phases else None
    if last is not None and duration_s is not None and not _close(last, duration_s):
        problems.append(
            (
                f"phases.{len(phases) - 1}.end",
                f"the last phase must end at duration_s = {duration_s:g}, got {last:g}",
            )
        )
    return problems


def _raw_seconds(value: Any) -> float | None:
    """A time in seconds as a scenario file gives it, or None when it is not one."""
    try:
        number = parse_clock(value)
    except ValueError:
        return None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        return None
    return float(number)


def _raw_timeline_problems(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The timeline checks on a file whose fields did not all validate (a bad ``shape`` must
    not hide a gap in the same file): read what can be read, check what can be checked."""
    phases = obj.get("phases")
    if not isinstance(phases, list) or not phases:
        return []
    rows = [
        (p.get("name"), _raw_seconds(p.get("start")), _raw_seconds(p.get("end")))
        if isinstance(p, Mapping)
        else (None, None, None)
        for p in phases
    ]
    rows = [(n if isinstance(n, str) else None, s, e) for n, s, e in rows]
    return timeline_problems(rows, _raw_seconds(obj.get("duration_s")))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _name_hint(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{p}-000..{p}-{c - 1:03d}" for p, c in counts.items())


# -- parsing -----------------------------------------------------------------


def _loc(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _problems_from(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, _CrossFieldProblems):
            base = [p for p in loc if p != "function-after[_check(), Phase]"]
            problems += [(_loc((*base, sub)), msg) for sub, msg in inner.problems]
            continue
        msg = err.get("msg", "invalid")
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            msg = "unknown field (not part of the scenario format; check its spelling)"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "finite_number":
            msg = "must be a finite number (NaN and Infinity are refused)"
        elif kind == "literal_error" and loc and loc[-1] == "schema_version":
            got = err.get("input")
            newer = isinstance(got, int) and not isinstance(got, bool) and got > SCHEMA_VERSION
            msg = (
                f"unsupported schema_version {_short(got)}; "
                + (
                    f"the file was written by a newer version of the dashboard (this one reads up to {SCHEMA_VERSION})"
                    if newer
                    else f"this version reads schema_version 1 to {SCHEMA_VERSION}"
                )
            )
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif kind == "json_invalid":
            msg = f"not valid JSON: {(err.get('ctx') or {}).get('error', msg)}"
        elif kind in _BOUNDS:
            op, key = _BOUNDS[kind]
            msg = f"must be {op} {(err.get('ctx') or {}).get(key)} (got {_short(err.get('input'))})"
        elif (
            kind.startswith(("float_", "int_", "string_", "bool_", "dict_", "list_", "model_"))
            and "input" in err
        ):
            msg = f"{msg} (got {_short(err['input'])})"
        hint = _LIMIT_HINTS.get(str(loc[-1])) if loc else None
        if hint and kind in _BOUNDS:
            msg = f"{msg}; {hint}"
        problems.append((_loc(loc), msg))
    return problems


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}
_LIMIT_HINTS = {
    "size": f"a fleet has 1 to {MAX_FLEET_SIZE:,} servers",
    "duration_s": f"a scenario lasts more than 0 s and at most {MAX_DURATION_S / 86400:g} days ({MAX_DURATION_S:,.0f} s)",
    "tick_s": f"ticks are {MIN_TICK_S:g} s to {MAX_TICK_S:g} s apart",
    "intensity": "intensity is a share from 0 (healthy) to 1 (full incident)",
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a scenario (numbers must be finite)")


def parse_scenario(
    data: bytes | str | Mapping[str, Any], *, source: str = "<scenario>"
) -> Scenario:
    """Validate a scenario given as JSON text/bytes or as a dict.

    Raises only :class:`ScenarioError`, listing every problem as ``source: field.path: rule``.
    """
    if isinstance(data, Scenario):
        data = data.model_dump(mode="python")
    try:
        if isinstance(data, bytes | bytearray | str):
            if len(data) > MAX_FILE_BYTES:
                raise ScenarioError(
                    f"{source}: (file): larger than the {MAX_FILE_BYTES:,}-byte limit for a scenario file",
                    [("(file)", "too large")],
                )
            try:
                text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
                obj = loads_strict(text, parse_constant=_reject_constant)
            except DuplicateKeyError as exc:
                raise ScenarioError(
                    f"{source}: {exc.location}: {exc}; JSON readers keep only the last "
                    "without a word, so remove the others",
                    [(exc.location, str(exc))],
                ) from None
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise ScenarioError(
                    f"{source}: (file): not valid JSON: {exc}",
                    [("(file)", f"not valid JSON: {exc}")],
                ) from None
        else:
            obj = data
        if not isinstance(obj, Mapping):
            raise ScenarioError(
                f"{source}: (top level): a scenario must be a JSON object, got {type(obj).__name__}",
                [("(top level)", "must be a JSON object")],
            )
        return Scenario.model_validate(upgrade(obj, SCHEMA_VERSION, source=source))
    except ValidationError as exc:
        problems = _problems_from(exc)
        if isinstance(obj, Mapping):  # the whole-file rules pydantic skipped after a field error
            seen = set(problems)
            problems += [p for p in _raw_timeline_problems(obj) if p not in seen]
        raise _scenario_error(source, problems) from None
    except _CrossFieldProblems as exc:
        # Normally wrapped by pydantic; kept so that nothing else can escape.
        raise _scenario_error(source, exc.problems) from None
    except ScenarioError:
        raise
    except (TypeError, ValueError, RecursionError, OverflowError) as exc:
        raise _scenario_error(
            source, [("(top level)", f"cannot be read as a scenario: {exc}")]
        ) from None


def _scenario_error(source: str, problems: list[tuple[str, str]]) -> ScenarioError:
    lines = [f"{source}: {loc}: {msg}" for loc, msg in problems]
    head = (
        f"{source}: invalid scenario ({len(problems)} problem{'s' if len(problems) != 1 else ''})"
    )
    return ScenarioError("\n".join([head, *lines]) if len(lines) > 1 else lines[0], problems)


# -- files -------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioInfo:
    """One entry of :func:`list_scenarios`: a file and its title, or the error that breaks it."""

    name: str
    path: Path
    title: str = ""
    description: str = ""
    error: str | None = None


def _scenario_dir(scenario_dir: str | Path | None) -> Path:
    return Path(scenario_dir) if scenario_dir is not None else settings.BUNDLED_SCENARIOS


def _read_limited(path: Path) -> bytes:
    """The file's bytes, reading at most one byte past the size limit (the parser refuses it)."""
    with open(path, "rb") as fh:
        return fh.read(MAX_FILE_BYTES + 1)


def list_scenarios(scenario_dir: str | Path | None = None) -> list[ScenarioInfo]:
    """Every ``*.json`` in the scenario directory, sorted by name; broken files carry their error."""
    directory = _scenario_dir(scenario_dir)
    infos = []
    try:
        paths = sorted(p for p in directory.glob("*.json") if p.is_file())
    except OSError:
        return []
    for path in paths:
        try:
            sc = parse_scenario(_read_limited(path), source=str(path))
            infos.append(ScenarioInfo(path.stem, path, sc.title or sc.name, sc.description))
        except ScenarioError as exc:
            infos.append(ScenarioInfo(path.stem, path, error=str(exc)))
        except OSError as exc:
            infos.append(
                ScenarioInfo(
                    path.stem, path, error=f"{path}: cannot be read: {exc.strerror or exc}"
                )
            )
    return infos


def load_scenario(name_or_path: str | Path, *, scenario_dir: str | Path | None = None) -> Scenario:
    """Load a scenario by bare name (``default``, ``.json`` optional) or by path.

    A bare name is looked up in ``scenario_dir`` (default: the bundled ``scenarios/``).
    A missing file raises :class:`ScenarioError` naming it and listing the available names.
    """
    raw = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or "/" in raw or "\\" in raw or raw.startswith(".")
    directory = _scenario_dir(scenario_dir)
    if is_path:
        path = Path(raw)
    else:
        stem = raw[:-5] if raw.endswith(".json") else raw
        if not _NAME_RE.match(stem):
            raise ScenarioError(
                f"{raw!r}: not a scenario name (names match {NAME_PATTERN}) and not a path",
                [("(name)", f"must match {NAME_PATTERN}")],
            )
        path = directory / f"{stem}.json"
    if not path.is_file():
        names = ", ".join(i.name for i in list_scenarios(directory)) or "none"
        raise ScenarioError(
            f"{path}: scenario file not found; available scenarios in {directory}: {names}",
            [("(file)", "not found")],
        )
    try:
        data = _read_limited(path)
    except OSError as exc:
        raise ScenarioError(
            f"{path}: cannot be read: {exc.strerror or exc}", [("(file)", "unreadable")]
        ) from None
    return parse_scenario(data, source=str(path))
