"""Reproducible incident datasets: turn a scenario into fleet metrics (CSV, Parquet, metadata).

Every value is a pure function of the resolved scenario and the tick index, generated in
fixed blocks of whole ticks, so the same scenario and seed give byte-identical files whether
the data is built in memory (:func:`generate_table`) or streamed to disk in chunks
(:func:`generate_demo_dataset`, ``python -m dashboard.generate``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from . import schema
from .argtypes import non_negative_int, positive_float, positive_int
from .datasets import Cancel, DatasetWriter
from .errors import DashboardError, OutputExistsError, ScenarioError
from .scenario import FAILOVER_PEER_EFFECTS, Scenario, load_scenario
from .settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = "default"
DEFAULT_OUTPUT_DIR = "demo_data"
DEFAULT_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
FORMATS = ("csv", "parquet")
FILE_NAMES = {
    "csv": "demo_dataset.csv",
    "parquet": "demo_dataset.parquet",
    "metadata": "demo_dataset_metadata.json",
}
# 2: Parquet written with page checksums (``files.<name>.page_checksums``), sets committed whole.
METADATA_SCHEMA_VERSION = 2
# Parquet row groups (and generation blocks) hold whole ticks, about this many rows each.
TARGET_ROWS_PER_GROUP = 120_000
# Writer options pinned so that two runs write the same bytes.
PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": [schema.SERVER, schema.PROFILE, schema.STATE, schema.PHASE],
    "write_statistics": True,
    "data_page_version": "1.0",
    "store_schema": True,
    "write_page_index": False,
    # A CRC per data page: a flipped bit is an error when the page is read, never a quiet
    # wrong value (readers open Parquet with page_checksum_verification=True).
    "write_page_checksum": True,
}
# Tick times every reader can hold: numpy/pandas nanosecond timestamps (1677-09-21 to 2262-04-11).
_NS_LIMIT_MS = (2**63 - 1) // 1_000_000

METRICS = schema.METRIC_NAMES
_M = {name: i for i, name in enumerate(METRICS)}
# Decimal places kept per metric (CSV and Parquet hold the same rounded values).
_DECIMALS = np.array([2, 2, 2, 4, 3, 3, 3, 2])

# Healthy baselines per profile, in METRICS order:
# cpu %, mem %, latency ms, error share, disk MB/s, net in MB/s, net out MB/s, GC pause ms.
PROFILE_BASELINES: dict[str, tuple[float, ...]] = {
    "web": (35.0, 55.0, 45.0, 0.004, 5.0, 40.0, 60.0, 8.0),
    "database": (45.0, 62.0, 12.0, 0.001, 80.0, 20.0, 30.0, 3.0),
    "cache": (22.0, 58.0, 1.5, 0.0005, 1.0, 60.0, 90.0, 2.0),
    "ml_compute": (58.0, 60.0, 120.0, 0.002, 30.0, 15.0, 10.0, 20.0),
}
# Hour of peak load per profile (daily rhythm), and per-metric rhythm depth and noise.
_PROFILE_PEAK_HOUR = {"web": 14.0, "database": 15.0, "cache": 14.5, "ml_compute": 3.0}
_RHYTHM_DEPTH = np.array([0.15, 0.03, 0.08, 0.10, 0.20, 0.25, 0.25, 0.10])
_NOISE_SIGMA = np.array([0.06, 0.015, 0.10, 0.25, 0.15, 0.10, 0.10, 0.20])
_SERVER_SPREAD = 0.10  # log-normal spread of one server's baselines around its profile's

# Healthy servers stay below these (so they never look like an incident), spikes included.
HEALTHY_CPU_MAX = 78.0
HEALTHY_MEM_MAX = 84.0
HEALTHY_ERROR_MAX = 0.04
HEALTHY_LATENCY_MAX_FACTOR = 2.2  # x the profile's baseline latency

# Short harmless spikes on any server: chance a spike starts on a tick, and its effect.
SPIKE_CHANCE = 0.004
SPIKE_CPU = 0.35
SPIKE_LATENCY = 0.8
SPIKE_ERROR = 0.01
SPIKE_NET = 0.3

# State thresholds (latency as a multiple of the profile's baseline latency).
WARNING = {"cpu_pct": 80.0, "mem_pct": 85.0, "error_rate": 0.05, "latency_x": 2.5}
CRITICAL = {"cpu_pct": 90.0, "mem_pct": 95.0, "error_rate": 0.20, "latency_x": 5.0}

_STATE_INDEX = {s: i for i, s in enumerate(schema.STATES)}
_SHAPE_CODE = {"flat": 0, "ramp": 1, "sine": 2}
_SALT_PARAMS, _SALT_NOISE, _SALT_SPIKES = 1, 2, 3


def ticks_per_group(n_servers: int) -> int:
    """Ticks per Parquet row group and generation block: about 120k rows, whole ticks."""
    return max(1, round(TARGET_ROWS_PER_GROUP / max(1, n_servers)))


def iso_utc(moment: datetime) -> str:
    """ISO 8601 with a ``Z`` suffix; milliseconds only when the time has them."""
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _start_time(start: datetime | str | None) -> datetime:
    if start is None:
        return DEFAULT_START
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(
                f"start: not an ISO 8601 time: {start!r}", [("start", "not an ISO time")]
            ) from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    return start.astimezone(timezone.utc).replace(microsecond=start.microsecond // 1000 * 1000)


def _check_time_range(start: datetime, scenario: Scenario) -> None:
    """Refuse a start whose ticks the readers could not hold (nanosecond timestamps)."""
    first_ms = int(round(start.timestamp() * 1000))
    last_ms = first_ms + int(round(scenario.tick_s * 1000)) * (scenario.n_ticks - 1)
    low = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=-_NS_LIMIT_MS)
    high = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=_NS_LIMIT_MS)
    window = f"{iso_utc(low)} to {iso_utc(high)}, the times that nanosecond timestamps can hold"
    if first_ms < -_NS_LIMIT_MS:
        raise ScenarioError(
            f"start: {iso_utc(start)} is before {window}", [("start", "too early")]
        )
    if last_ms > _NS_LIMIT_MS:
        end = start + timedelta(milliseconds=last_ms - first_ms)
        raise ScenarioError(
            f"start: the dataset would run from {iso_utc(start)} to {iso_utc(end)}, outside {window}",
            [("start", "too late")],
        )


# -- the plan: everything fixed per scenario, computed once ------------------


@dataclass
class _Timeline:
    """The phase timeline as arrays: what :func:`_intensity` needs."""

    phase_names: list[str]
    phase_starts_ms: np.ndarray  # (P,) float
    phase_ends_ms: np.ndarray
    phase_shape: np.ndarray  # (P,) int
    phase_target: np.ndarray
    phase_prev: np.ndarray  # intensity at each phase's start (previous phase's target)
    phase_amp: np.ndarray
    phase_recovers: np.ndarray  # (P,) bool: a recovery-kind phase
    phase_period_ms: np.ndarray


def _timeline(scenario: Scenario) -> _Timeline:
    phases = scenario.phases
    prev = [0.0] + [p.intensity for p in phases[:-1]]
    period = [
        (p.period_s if p.period_s is not None else min(60.0, (p.end - p.start) / 4)) * 1000.0
        for p in phases
    ]
    return _Timeline(
        phase_names=[p.name for p in phases],
        phase_starts_ms=np.array([p.start * 1000.0 for p in phases]),
        phase_ends_ms=np.array([p.end * 1000.0 for p in phases]),
        phase_shape=np.array([_SHAPE_CODE[p.shape] for p in phases]),
        phase_target=np.array([p.intensity for p in phases]),
        phase_prev=np.array(prev),
        phase_amp=np.array([p.amplitude for p in phases]),
        phase_recovers=np.array([p.kind == "recovery" for p in phases]),
        phase_period_ms=np.array(period),
    )


@dataclass
class _Plan(_Timeline):
    scenario: Scenario
    start: datetime
    start_ms: int
    tick_ms: int
    n_ticks: int
    block_ticks: int
    names: list[str]
    profiles: list[str]
    profile_codes: np.ndarray  # (N,) int32 index into profile_names
    profile_names: list[str]
    base: np.ndarray  # (N, M) healthy baseline per server and metric
    rhythm_phase: np.ndarray  # (N,) radians
    latency_ref: np.ndarray  # (N,) profile baseline latency (state thresholds, healthy cap)
    affected: list[dict[str, Any]]
    groups: list[dict[str, Any]] = field(default_factory=list)
    disturbances: list[dict[str, Any]] = field(default_factory=list)
    # Healthy soft caps per server (normally hot servers have theirs raised): (N,) knee and cap.
    cpu_knee: np.ndarray | float = 62.0
    cpu_cap: np.ndarray | float = HEALTHY_CPU_MAX
    mem_knee: np.ndarray | float = 74.0
    mem_cap: np.ndarray | float = HEALTHY_MEM_MAX


def _plan(
    scenario: Scenario,
    start: datetime | str | None = None,
    affected: list[dict[str, Any]] | None = None,
) -> _Plan:
    start_dt = _start_time(start)
    servers = scenario.fleet.server_names()
    names = [n for n, _ in servers]
    profiles = [p for _, p in servers]
    profile_names = list(scenario.fleet.counts())
    codes = np.array([profile_names.index(p) for p in profiles], dtype=np.int32)
    n = len(names)
    rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, _SALT_PARAMS]))
    profile_base = np.array([PROFILE_BASELINES[p] for p in profile_names])  # (K, M)
    base = profile_base[codes] * rng.lognormal(0.0, _SERVER_SPREAD, size=(n, len(METRICS)))
    peak_hour = np.array([_PROFILE_PEAK_HOUR[p] for p in profile_names])[codes]
    # sin() peaks at pi/2: shift so each profile peaks at its hour, plus a little per server.
    rhythm_phase = math.pi / 2 - 2 * math.pi * peak_hour / 24.0 + rng.normal(0.0, 0.25, size=n)

    affected = scenario.affected_servers() if affected is None else affected
    by_group: dict[int, list[int]] = {}
    for a in affected:
        by_group.setdefault(a["group"], []).append(a["index"])
    groups = []
    for g, group in enumerate(scenario.affected):
        members = np.array(by_group.get(g, []), dtype=np.int64)
        if members.size == 0:
            continue
        effects = group.effects if group.effects is not None else scenario.effects
        groups.append(
            {
                "members": members,
                "delay_ms": group.delay_s * 1000.0,
                "effects": [(_M[m], e.mode, e.target, e.spread) for m, e in effects.items()],
                "oom": group.oom if group.oom is not None else scenario.oom,
            }
        )
    _check_time_range(start_dt, scenario)
    cpu_knee, cpu_cap = np.full(n, 62.0), np.full(n, HEALTHY_CPU_MAX)
    mem_knee, mem_cap = np.full(n, 74.0), np.full(n, HEALTHY_MEM_MAX)
    for i, (cpu_level, mem_level) in scenario.hot_server_levels().items():
        # A hot server's normal is its level; its healthy values bend just above it instead.
        base[i, _M["cpu_pct"]] = cpu_level
        cpu_knee[i], cpu_cap[i] = max(cpu_level - 3.0, 62.0), min(99.5, max(cpu_level + 4.0, HEALTHY_CPU_MAX))
        if mem_level is not None:
            base[i, _M["mem_pct"]] = mem_level
            mem_knee[i], mem_cap[i] = max(mem_level - 3.0, 74.0), min(99.0, max(mem_level + 5.0, HEALTHY_MEM_MAX))
    disturbances = []
    for event, resolved in zip(scenario.disturbances, scenario.disturbance_servers(), strict=True):
        if not resolved["indices"]:
            continue
        restart_s = event.restart_s if event.restart_s is not None else 2 * scenario.tick_s
        disturbances.append(
            {
                "kind": event.kind,
                "members": np.array(resolved["indices"], dtype=np.int64),
                "peers": np.array(resolved["peer_indices"], dtype=np.int64),
                "start_ms": event.start * 1000.0,
                "end_ms": event.end * 1000.0,
                "restart_ms": restart_s * 1000.0,
                "intensity": event.intensity,
                "effects": _effect_list(event.resolved_effects()),
                "peer_effects": _effect_list(FAILOVER_PEER_EFFECTS),
            }
        )
    return _Plan(
        scenario=scenario,
        start=start_dt,
        start_ms=int(round(start_dt.timestamp() * 1000)),
        tick_ms=int(round(scenario.tick_s * 1000)),
        n_ticks=scenario.n_ticks,
        block_ticks=ticks_per_group(n),
        names=names,
        profiles=profiles,
        profile_codes=codes,
        profile_names=profile_names,
        base=base,
        rhythm_phase=rhythm_phase,
        latency_ref=profile_base[codes, _M["latency_ms"]],
        **vars(_timeline(scenario)),
        affected=affected,
        groups=groups,
        disturbances=disturbances,
        cpu_knee=cpu_knee,
        cpu_cap=cpu_cap,
        mem_knee=mem_knee,
        mem_cap=mem_cap,
    )


def _effect_list(effects: dict[str, Any]) -> list[tuple[int, str, float, float]]:
    return [(_M[m], e.mode, e.target, e.spread) for m, e in effects.items()]


def _disturbance_level(plan: _Plan, event: dict[str, Any], t_ms: np.ndarray) -> np.ndarray:
    """How strongly a disturbance acts (0..1) at times ``t_ms``: ``(T, members)``.

    Flat events switch on and off within a tick; a busy hour rises and falls (sin²); a
    deploy takes its servers down one after another, each for ``restart_ms``.
    """
    start, end, tick = event["start_ms"], event["end_ms"], float(plan.tick_ms)
    t = t_ms[:, None]
    k = len(event["members"])
    if event["kind"] == "busy_hour":
        u = np.clip((t - start) / (end - start), 0.0, 1.0)
        level = np.sin(np.pi * u) ** 2
    elif event["kind"] == "deploy":
        restart = min(event["restart_ms"], end - start)
        step = (end - start - restart) / max(k - 1, 1)
        begins = start + step * np.arange(k)[None, :]
        level = ((t >= begins) & (t < begins + restart)).astype(np.float64)
    else:
        level = np.clip((t - start + tick) / tick, 0.0, 1.0) * np.clip((end - t) / tick, 0.0, 1.0)
    return np.broadcast_to(level * event["intensity"], (len(t_ms), k))


def _apply_effects(
    sub: np.ndarray, level: np.ndarray, effects: list[tuple[int, str, float, float]], z: np.ndarray
) -> None:
    """Move metrics of ``sub`` (T, K, M) towards the effects' targets by ``level`` (T, 1 or K).

    ``level``: from the healthy value towards ``target ± spread`` (jitter from ``z``);
    ``factor``: the healthy value times up to ``target``.
    """
    for m, mode, target, spread in effects:
        healthy = sub[:, :, m]
        if mode == "level":
            jitter = spread * np.clip(z[:, :, m] / 2.5, -1.0, 1.0)
            sub[:, :, m] = (1.0 - level) * healthy + level * (target + jitter)
        else:
            sub[:, :, m] = healthy * (1.0 + level * (target - 1.0))


def _phase_index(plan: _Timeline, t_ms: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(plan.phase_starts_ms, t_ms, side="right") - 1
    return np.clip(idx, 0, len(plan.phase_names) - 1)


def _intensity(plan: _Timeline, t_ms: np.ndarray) -> np.ndarray:
    """Scenario intensity 0..1 at times ``t_ms`` (ms from the start; before 0 counts as the start)."""
    t_ms = np.maximum(t_ms, 0.0)
    p = _phase_index(plan, t_ms)
    s, e = plan.phase_starts_ms[p], plan.phase_ends_ms[p]
    target, prev, shape = plan.phase_target[p], plan.phase_prev[p], plan.phase_shape[p]
    u = np.clip((t_ms - s) / (e - s), 0.0, 1.0)
    ramp = prev + (target - prev) * u
    wave = target * (
        1.0
        - plan.phase_amp[p] * (0.5 - 0.5 * np.cos(2 * np.pi * (t_ms - s) / plan.phase_period_ms[p]))
    )
    return np.clip(np.select([shape == 1, shape == 2], [ramp, wave], default=target), 0.0, 1.0)


def _response(plan: _Timeline, t_ms: np.ndarray) -> np.ndarray:
    """How far metrics move (0..1) at times ``t_ms``, from the scenario's intensity.

    Trouble shows early and builds (ease-out) while an incident grows; once it is fixed,
    metrics settle quickly (ease-in) during recovery phases. Intensity 1 is the full effect.
    """
    intensity = _intensity(plan, t_ms)
    recovering = plan.phase_recovers[_phase_index(plan, np.maximum(t_ms, 0.0))]
    return np.where(recovering, intensity**2, 1.0 - (1.0 - intensity) ** 2)


def _hash_uniform(
    seed: int, ticks: np.ndarray, servers: int | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counter-based uniforms for (tick, server): independent of how ticks are chunked.

    ``servers``: the fleet size (every server) or the indices of some servers.
    Returns ``(u, bits)``: floats in [0, 1) and a second independent bit per cell.
    """
    key = np.uint64((seed * 0x9E3779B97F4A7C15 + _SALT_SPIKES) & 0xFFFFFFFFFFFFFFFF)
    index = np.arange(servers) if np.ndim(servers) == 0 else np.asarray(servers)
    x = ticks.astype(np.uint64)[:, None] * np.uint64(0xD1B54A32D192ED03)
    x = x + index.astype(np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15) + key
    # splitmix64 finaliser
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    u = (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return u, (x & np.uint64(1)).astype(bool)


def _spikes(plan: _Plan, k0: int, k1: int) -> np.ndarray:
    """Spike strength 0..1 per (tick, server) for ticks ``k0..k1``: 1-2 tick harmless bursts.

    A spike may not start right after another one, so bursts never merge into longer runs.
    """
    ticks = np.arange(k0 - 3, k1, dtype=np.int64)
    u, long = _hash_uniform(plan.scenario.seed, np.maximum(ticks, 0), len(plan.names))
    raw = (u < SPIKE_CHANCE) & (ticks >= 0)[:, None]
    starts = raw.copy()
    starts[2:] &= ~raw[1:-1] & ~(raw[:-2] & long[:-2])
    strength = np.where(starts, 0.5 + 0.5 * (u / SPIKE_CHANCE), 0.0)
    carried = np.where(starts[:-1] & long[:-1], strength[:-1], 0.0)
    return np.maximum(strength[1:], carried)[2:]


def _spikes_at(plan: _Plan, ticks: np.ndarray, servers: np.ndarray) -> np.ndarray:
    """:func:`_spikes` at any ticks for some servers: each tick looks at the three before it."""
    window = ticks[:, None] + np.arange(-3, 1)[None, :]  # (S, 4): t-3 .. t
    u, long = _hash_uniform(plan.scenario.seed, np.maximum(window, 0).reshape(-1), servers)
    u = u.reshape(len(ticks), 4, len(servers))
    long = long.reshape(len(ticks), 4, len(servers))
    raw = (u < SPIKE_CHANCE) & (window >= 0)[:, :, None]
    # A spike starts at t-1 and t as in _spikes; one started at t-1 carries into t when long.
    before = raw[:, 2] & ~raw[:, 1] & ~(raw[:, 0] & long[:, 0])
    now = raw[:, 3] & ~raw[:, 2] & ~(raw[:, 1] & long[:, 1])
    strength = np.where(now, 0.5 + 0.5 * (u[:, 3] / SPIKE_CHANCE), 0.0)
    carried = np.where(before & long[:, 2], 0.5 + 0.5 * (u[:, 2] / SPIKE_CHANCE), 0.0)
    return np.maximum(strength, carried)


def _block_noise(
    plan: _Plan, block: int, rows: np.ndarray | None = None, servers: np.ndarray | None = None
) -> np.ndarray:
    """Standard normals (ticks, servers, metrics) for one fixed block of ticks, clipped at 3 sigma.

    ``rows`` (offsets into the block) and ``servers`` pick cells: only the stream up to the
    last cell picked is drawn, so the block's first ticks of its first servers are cheap.
    """
    k0 = block * plan.block_ticks
    k1 = min(plan.n_ticks, k0 + plan.block_ticks)
    rng = np.random.default_rng(np.random.SeedSequence([plan.scenario.seed, _SALT_NOISE, block]))
    n, m = len(plan.names), len(METRICS)
    if rows is None and servers is None:
        z = rng.standard_normal((k1 - k0, n, m), dtype=np.float32)
    else:
        rows = np.arange(k1 - k0) if rows is None else np.asarray(rows)
        servers = np.arange(n) if servers is None else np.asarray(servers)
        drawn = rng.standard_normal(int((rows.max() * n + servers.max() + 1) * m), dtype=np.float32)
        z = drawn.reshape(-1, m)[rows[:, None] * n + servers[None, :]]
    return np.clip(z, -3.0, 3.0)


def _block_arrays(plan: _Plan, block: int) -> dict[str, np.ndarray]:
    """All columns of one block of ticks as (T, N) numpy arrays."""
    k0 = block * plan.block_ticks
    k1 = min(plan.n_ticks, k0 + plan.block_ticks)
    ticks = np.arange(k0, k1, dtype=np.int64)
    return _cells(plan, ticks, None, _block_noise(plan, block), _spikes(plan, k0, k1))


def _cells(
    plan: _Plan, ticks: np.ndarray, index: np.ndarray | None, z: np.ndarray, spike: np.ndarray
) -> dict[str, np.ndarray]:
    """The columns at ``ticks`` of the servers ``index`` (None: all) as (T, N) arrays, given
    their noise ``z`` (T, N, M) and spikes (T, N)."""
    whole = index is None
    index = np.arange(len(plan.names)) if whole else index
    t_ms = (ticks * plan.tick_ms).astype(np.float64)
    n = len(index)

    # Healthy values: baseline x daily rhythm x noise, plus short spikes, capped below alarms.
    day = 2 * np.pi * ((plan.start_ms + t_ms) / 86_400_000.0)
    base = plan.base if whole else plan.base[index]
    wave = np.sin(day[:, None] + plan.rhythm_phase[index][None, :])  # (T, N)
    values = base[None, :, :] * (1.0 + _RHYTHM_DEPTH * wave[:, :, None])
    values *= 1.0 + _NOISE_SIGMA * z
    cpu, mem, lat, err = _M["cpu_pct"], _M["mem_pct"], _M["latency_ms"], _M["error_rate"]
    values[:, :, cpu] *= 1.0 + SPIKE_CPU * spike
    values[:, :, lat] *= 1.0 + SPIKE_LATENCY * spike
    values[:, :, err] += SPIKE_ERROR * spike
    for m in ("net_in_mb_s", "net_out_mb_s"):
        values[:, :, _M[m]] *= 1.0 + SPIKE_NET * spike
    np.maximum(values, 0.0, out=values)
    caps = [np.asarray(c) for c in (plan.cpu_knee, plan.cpu_cap, plan.mem_knee, plan.mem_cap)]
    if not whole:  # per-server caps (normally hot servers): those of the picked servers
        caps = [c[index] if c.ndim else c for c in caps]
    cpu_knee, cpu_cap, mem_knee, mem_cap = caps
    values[:, :, cpu] = np.maximum(_soft_cap(values[:, :, cpu], cpu_knee, cpu_cap), 1.0)
    values[:, :, mem] = np.maximum(_soft_cap(values[:, :, mem], mem_knee, mem_cap), 5.0)
    values[:, :, err] = _soft_cap(values[:, :, err], 0.02, HEALTHY_ERROR_MAX)
    lat_ref = plan.latency_ref[index][None, :]
    values[:, :, lat] = lat_ref * _soft_cap(
        values[:, :, lat] / lat_ref, 1.6, HEALTHY_LATENCY_MAX_FACTOR
    )

    # Fleet phase for every server; affected servers follow their own (delayed) timeline.
    phase = np.broadcast_to(_phase_index(plan, t_ms)[:, None], (len(ticks), n)).copy()
    oom = np.zeros((len(ticks), n), dtype=np.int8)
    offline = np.zeros((len(ticks), n), dtype=bool)
    # Harmless disturbances first (never labelled: phases and problem_child ignore them),
    # then incidents, which move affected servers from wherever they are.
    for event in plan.disturbances:
        members = event["members"]
        level = _disturbance_level(plan, event, t_ms)
        first = level[:, :1]  # what the peers of a failover follow
        peers = event["peers"]
        if not whole:  # the picked servers among the event's, with their own columns of level
            hit = np.isin(index, members)
            order = np.argsort(members, kind="stable")
            level = level[:, order[np.searchsorted(members[order], index[hit])]]
            members = np.flatnonzero(hit)
            peers = np.flatnonzero(np.isin(index, peers))
        sub = values[:, members, :]
        _apply_effects(sub, level, event["effects"], z[:, members, :])
        values[:, members, :] = sub
        if event["kind"] == "deploy":
            offline[:, members] |= level >= 0.5
        if event["kind"] == "failover" and peers.size:
            sub = values[:, peers, :]
            _apply_effects(sub, first, event["peer_effects"], z[:, peers, :])
            values[:, peers, :] = sub
    for group in plan.groups:
        members = group["members"]
        if not whole:  # positions of the picked servers that belong to this group
            members = np.flatnonzero(np.isin(index, members))
            if members.size == 0:
                continue
        shifted = t_ms - group["delay_ms"]
        phase[:, members] = _phase_index(plan, np.maximum(shifted, 0.0))[:, None]
        level = _response(plan, shifted)[:, None]  # (T, 1)
        sub = values[:, members, :]
        _apply_effects(sub, level, group["effects"], z[:, members, :])
        if group["oom"] is not None:
            kills, down = _oom_ticks(plan, group, ticks) if whole else _oom_at(plan, group, ticks)
            oom[:, members] = kills[:, None]
            offline[:, members] = down[:, None]
            sub[down, :, cpu] *= 0.05
            sub[down, :, mem] = 15.0
            sub[down, :, err] = 1.0
            sub[down, :, _M["gc_pause_ms"]] = 0.0
            for m in ("disk_io_mb_s", "net_in_mb_s", "net_out_mb_s"):
                sub[down, :, _M[m]] *= 0.02
        values[:, members, :] = sub

    for i, metric in enumerate(METRICS):
        spec = schema.METRIC_BY_NAME[metric]
        np.clip(values[:, :, i], spec.low, spec.high, out=values[:, :, i])
    values = _rounded(values)

    # State follows the metrics.
    lat_x = values[:, :, lat] / plan.latency_ref[index][None, :]
    critical = (
        (values[:, :, cpu] >= CRITICAL["cpu_pct"])
        | (values[:, :, mem] >= CRITICAL["mem_pct"])
        | (values[:, :, err] >= CRITICAL["error_rate"])
        | (lat_x >= CRITICAL["latency_x"])
    )
    warning = (
        (values[:, :, cpu] >= WARNING["cpu_pct"])
        | (values[:, :, mem] >= WARNING["mem_pct"])
        | (values[:, :, err] >= WARNING["error_rate"])
        | (lat_x >= WARNING["latency_x"])
    )
    state = np.select(
        [offline, critical, warning],
        [_STATE_INDEX["offline"], _STATE_INDEX["critical_issue"], _STATE_INDEX["warning"]],
        default=_STATE_INDEX["online"],
    ).astype(np.int8)
    return {
        "ticks": ticks,
        "values": values,
        "state": state,
        "phase": phase.astype(np.int16),
        "oom": oom,
    }


def _soft_cap(x: np.ndarray, knee: float, cap: float) -> np.ndarray:
    """Identity below ``knee``, then bends smoothly towards ``cap`` without reaching it.

    Keeps healthy servers realistic (no flat ceiling) yet always below the alarm thresholds.
    """
    room = cap - knee
    return np.where(x > knee, knee + room * np.tanh((x - knee) / room), x)


def _rounded(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=np.float64)
    for i, d in enumerate(_DECIMALS):
        np.round(values[:, :, i], int(d), out=out[:, :, i])
    return out


def _oom_ticks(
    plan: _Plan, group: dict[str, Any], ticks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """OOM kills and offline ticks for one group: kills when intensity first reaches the
    threshold, then every ``every_s`` (on the group's delayed clock) while it stays there."""
    lookback = group["oom"].offline_ticks
    kills = _kills(plan, group, np.arange(ticks[0] - lookback, ticks[-1] + 1, dtype=np.int64))
    # A server is offline on the kill tick and the (offline_ticks - 1) ticks after it.
    window = np.lib.stride_tricks.sliding_window_view(kills, lookback)
    down = window.any(axis=1)[1:] if lookback > 0 else kills
    return kills[lookback:].astype(np.int8), down


# -- tables ------------------------------------------------------------------


def _oom_at(plan: _Plan, group: dict[str, Any], ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_oom_ticks` at any ticks: a tick is offline when a kill fell in its window."""
    span = ticks[:, None] + np.arange(-group["oom"].offline_ticks + 1, 1)[None, :]  # (S, window)
    kills = _kills(plan, group, span)
    return kills[:, -1].astype(np.int8), kills.any(axis=1)


def _kills(plan: _Plan, group: dict[str, Any], span: np.ndarray) -> np.ndarray:
    """Whether a group's servers are OOM-killed at each tick of ``span`` (any shape)."""
    rule = group["oom"]
    t = span * plan.tick_ms - group["delay_ms"]
    t_prev = t - plan.tick_ms
    hot = (_intensity(plan, t) >= rule.min_intensity - 1e-12) & (span >= 0)
    hot_prev = (_intensity(plan, t_prev) >= rule.min_intensity - 1e-12) & (span >= 1)
    every_ms = rule.every_s * 1000.0
    crossed = np.floor(t / every_ms) != np.floor(t_prev / every_ms)
    return hot & (~hot_prev | crossed)


def _dictionary(indices: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32)), pa.array(list(values), pa.string())
    )


def _table(plan: _Plan, arrays: dict[str, np.ndarray], *, csv: bool = False) -> pa.Table:
    ticks, values = arrays["ticks"], arrays["values"]
    t, n = len(ticks), len(plan.names)
    tick_index = np.repeat(np.arange(t, dtype=np.int32), n)
    if csv:
        # One format for the whole column: milliseconds everywhere when any tick has them.
        unit = "s" if plan.tick_ms % 1000 == 0 and plan.start_ms % 1000 == 0 else "ms"
        moments = (plan.start_ms + ticks * plan.tick_ms).astype("datetime64[ms]")
        times = np.char.add(np.datetime_as_string(moments, unit=unit), "Z")
        timestamp: pa.Array = _dictionary(tick_index, times.tolist())
    else:
        ms = np.repeat(plan.start_ms + ticks * plan.tick_ms, n)
        timestamp = pa.array(ms, type=pa.timestamp("ms", tz="UTC"))
    server_index = np.tile(np.arange(n, dtype=np.int32), t)
    affected = np.zeros(n, dtype=bool)
    affected[[a["index"] for a in plan.affected]] = True
    columns: dict[str, pa.Array] = {
        schema.TIMESTAMP: timestamp,
        schema.SERVER: _dictionary(server_index, plan.names),
        schema.PROFILE: _dictionary(np.tile(plan.profile_codes, t), plan.profile_names),
        schema.STATE: _dictionary(arrays["state"].reshape(-1), schema.STATES),
    }
    flat = values.reshape(t * n, len(METRICS))
    for i, metric in enumerate(METRICS):
        columns[metric] = pa.array(np.ascontiguousarray(flat[:, i]))
    columns[schema.PHASE] = _dictionary(arrays["phase"].reshape(-1), plan.phase_names)
    columns[schema.PROBLEM_CHILD] = pa.array(np.tile(affected, t))
    columns[schema.OOM] = pa.array(arrays["oom"].reshape(-1))
    return pa.table(columns)


def _n_blocks(plan: _Plan) -> int:
    return math.ceil(plan.n_ticks / plan.block_ticks)


def iter_tick_chunks(
    scenario: Scenario, *, start: datetime | str | None = None, csv: bool = False
) -> Iterator[pa.Table]:
    """Yield the dataset as tables of whole ticks (one Parquet row group each), in order.

    ``csv=True`` yields the CSV form (timestamps as ISO strings with ``Z``).
    """
    plan = _plan(scenario, start)
    for block in range(_n_blocks(plan)):
        yield _table(plan, _block_arrays(plan, block), csv=csv)


@dataclass
class GeneratedDataset:
    """An in-memory dataset: the rows and the metadata that explains them (without ``files``)."""

    table: pa.Table
    metadata: dict[str, Any]


def generate_table(scenario: Scenario, *, start: datetime | str | None = None) -> GeneratedDataset:
    """Generate the whole dataset of ``scenario`` in memory (same rows as the written files)."""
    plan = _plan(scenario, start)
    blocks = [_block_arrays(plan, b) for b in range(_n_blocks(plan))]
    if len(blocks) == 1:
        arrays = blocks[0]
    else:
        arrays = {key: np.concatenate([b[key] for b in blocks], axis=0) for key in blocks[0]}
    return GeneratedDataset(_table(plan, arrays), build_metadata(plan))


# -- samples: a few servers at a few ticks, exactly as generated ------------------

SAMPLE_POINTS = 240  # ticks a sample holds at most
SAMPLE_DRAWS = 3_000_000  # random normals a sample may draw (its main cost: 40-70 M/s)


def sample_ticks(
    n_ticks: int,
    block_ticks: int,
    n_servers: int,
    last_server: int,
    *,
    points: int = SAMPLE_POINTS,
    draws: int = SAMPLE_DRAWS,
) -> np.ndarray:
    """The ticks a sample can afford: evenly spaced when the noise they need is cheap enough.

    Noise is drawn per block of ticks, tick by tick and server by server, so a cell costs
    every draw before it in its block. When evenly spaced ticks cost more than ``draws``,
    the sample takes ticks from the start of each block (cheap), spread over as much of it as
    the budget allows.
    """
    m = len(METRICS)
    if n_ticks <= points:
        even = np.arange(n_ticks, dtype=np.int64)
    else:
        even = np.unique(np.round(np.linspace(0, n_ticks - 1, points)).astype(np.int64))
    blocks = np.unique(even // block_ticks)
    last_row = np.zeros(blocks.max() + 1, dtype=np.int64)
    np.maximum.at(last_row, even // block_ticks, even % block_ticks)
    cost = int(((last_row[blocks] * n_servers + last_server + 1) * m).sum())
    if cost <= draws:
        return even
    n_blocks = math.ceil(n_ticks / block_ticks)
    if n_blocks >= points:
        picked = np.unique(np.round(np.linspace(0, n_blocks - 1, points)).astype(np.int64))
        return picked * block_ticks
    per_block = draws / n_blocks / m - last_server - 1
    reach = min(block_ticks, int(max(0, per_block) // n_servers) + 1)  # affordable rows
    wanted = max(1, min(reach, math.ceil(points / n_blocks)))
    rows = np.unique(np.round(np.linspace(0, reach - 1, wanted)).astype(np.int64))
    ticks = (np.arange(n_blocks, dtype=np.int64) * block_ticks)[:, None] + rows[None, :]
    ticks = ticks.reshape(-1)
    return ticks[ticks < n_ticks]


def sample_servers(
    scenario: Scenario,
    servers: Sequence[int],
    ticks: np.ndarray | None = None,
    *,
    start: datetime | str | None = None,
    affected: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The columns of a few servers (fleet indices) at a few ticks, equal to the generated ones.

    ``ticks`` default to :func:`sample_ticks`; ``affected``, when the caller has it already,
    is ``scenario.affected_servers()``. Returns the arrays of :func:`_cells`
    (``values`` (T, N, M), ``state``, ``phase``, ``oom``) plus ``ticks``, ``servers`` (names),
    their ``profiles``, ``phase_names`` and ``affected`` (:meth:`Scenario.affected_servers`); cost grows with the ticks and servers asked for, not the fleet.
    """
    plan = _plan(scenario, start, affected)
    index = np.unique(np.asarray(servers, dtype=np.int64))
    if index.size == 0 or index[0] < 0 or index[-1] >= len(plan.names):
        raise ValueError(f"server indices must lie in 0..{len(plan.names) - 1}, got {list(servers)}")
    if ticks is None:
        ticks = sample_ticks(plan.n_ticks, plan.block_ticks, len(plan.names), int(index[-1]))
    ticks = np.unique(np.asarray(ticks, dtype=np.int64))
    if ticks.size == 0 or ticks[0] < 0 or ticks[-1] >= plan.n_ticks:
        raise ValueError(f"ticks must lie in 0..{plan.n_ticks - 1}")
    blocks = ticks // plan.block_ticks
    cuts = np.flatnonzero(np.diff(blocks)) + 1
    z = np.concatenate(
        [
            _block_noise(plan, int(b[0]), rows=t - b[0] * plan.block_ticks, servers=index)
            for t, b in zip(np.split(ticks, cuts), np.split(blocks, cuts), strict=True)
        ]
    )
    arrays = _cells(plan, ticks, index, z, _spikes_at(plan, ticks, index))
    arrays["servers"] = [plan.names[i] for i in index]
    arrays["profiles"] = [plan.profiles[i] for i in index]
    arrays["phase_names"] = plan.phase_names
    arrays["affected"] = plan.affected
    return arrays


def intensity_curve(scenario: Scenario, times_s: np.ndarray, delay_s: float = 0.0) -> np.ndarray:
    """The scenario's intensity (0..1) at ``times_s`` seconds, on a clock ``delay_s`` late."""
    times_ms = (np.asarray(times_s, dtype=np.float64) - delay_s) * 1000.0
    return _intensity(_timeline(scenario), times_ms)


# -- metadata ----------------------------------------------------------------


def _column_docs() -> list[dict[str, str]]:
    units = {schema.TIMESTAMP: "UTC", schema.PROBLEM_CHILD: "", schema.OOM: "count"}
    docs = []
    for name in schema.ALL_COLUMNS:
        type_, description = schema.COLUMN_DOCS[name]
        unit = (
            schema.METRIC_BY_NAME[name].unit
            if name in schema.METRIC_BY_NAME
            else units.get(name, "")
        )
        docs.append({"name": name, "type": type_, "unit": unit, "description": description})
    return docs


def build_metadata(plan: _Plan, files: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The metadata document of docs/architecture.md (``files`` only when given)."""
    sc = plan.scenario
    tick_times = np.arange(plan.n_ticks, dtype=np.float64) * plan.tick_ms

    def at(ms: float) -> str:
        return iso_utc(plan.start + timedelta(milliseconds=ms))

    phases = []
    for i, p in enumerate(sc.phases):
        start_tick = int(np.searchsorted(tick_times, plan.phase_starts_ms[i], side="left"))
        end_tick = int(np.searchsorted(tick_times, plan.phase_ends_ms[i], side="left"))
        phases.append(
            {
                "name": p.name,
                "kind": p.kind,
                "shape": p.shape,
                "start_s": p.start,
                "end_s": p.end,
                "start_tick": start_tick,
                "end_tick": end_tick,
                "start_time": at(plan.phase_starts_ms[i]),
                "end_time": at(plan.phase_ends_ms[i]),
            }
        )
    meta: dict[str, Any] = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "scenario_name": sc.name,
        "scenario": sc.to_dict(),
        "seed": sc.seed,
        "tick_seconds": sc.tick_s,
        "start_time": iso_utc(plan.start),
        "duration_s": sc.duration_s,
        "n_ticks": plan.n_ticks,
        "n_servers": len(plan.names),
        "n_rows": plan.n_ticks * len(plan.names),
        "profiles": sc.fleet.counts(),
        "phases": phases,
        "affected_servers": [
            {k: a[k] for k in ("server_name", "profile", "reason", "delay_s", "metrics")}
            for a in plan.affected
        ],
        "disturbances": [
            {k: d[k] for k in ("kind", "title", "start_s", "end_s", "servers", "peers", "metrics")}
            | {"start_time": at(d["start_s"] * 1000.0), "end_time": at(d["end_s"] * 1000.0)}
            for d in sc.disturbance_servers()
        ],
        "hot_servers": [
            {"server_name": plan.names[i], "cpu_pct": cpu, "mem_pct": mem}
            for i, (cpu, mem) in sorted(sc.hot_server_levels().items())
        ],
        "columns": _column_docs(),
    }
    if files is not None:
        meta["files"] = files
    return meta


def _dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


# -- writing -----------------------------------------------------------------

Progress = Callable[[int, int], None]  # (ticks done, ticks in all)


class _Bar:
    """Progress as a tqdm bar on a terminal; silent when stderr is not one (piped, CI)."""

    def __init__(self, total: int, progress: bool | Progress | None):
        self.callback: Progress | None = progress if callable(progress) else None
        self.bar = None
        show = progress is True or (progress is None and sys.stderr.isatty())
        if show and total > 1:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a declared dependency
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(
                    total=total, unit="tick", desc="generating", file=sys.stderr, leave=False
                )
        self.total = total
        self.done = 0

    def update(self, ticks: int) -> None:
        self.done += ticks
        if self.bar is not None:
            self.bar.update(ticks)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _normalise_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = []
    for item in items:
        fmt = str(item).strip().lower()
        if fmt not in FORMATS:
            raise ScenarioError(
                f"format: unknown format {item!r}; choose from {', '.join(FORMATS)}",
                [("format", "unknown")],
            )
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise ScenarioError(
            f"format: give at least one of {', '.join(FORMATS)}", [("format", "empty")]
        )
    return tuple(f for f in FORMATS if f in out)


def _resolve(
    scenario: Scenario | str | Path,
    *,
    seed: int | None,
    duration: float | None,
    fleet_size: int | None,
    tick: float | None,
    scenario_dir: str | Path | None,
) -> Scenario:
    sc = (
        scenario
        if isinstance(scenario, Scenario)
        else load_scenario(scenario, scenario_dir=scenario_dir)
    )
    if any(v is not None for v in (seed, duration, fleet_size, tick)):
        sc = sc.resolved(duration_min=duration, fleet_size=fleet_size, tick_s=tick, seed=seed)
    return sc


def generate_demo_dataset(
    output_dir: str | Path = DEFAULT_OUTPUT_DIR,
    scenario: Scenario | str | Path = DEFAULT_SCENARIO,
    *,
    seed: int | None = None,
    duration: float | None = None,
    fleet_size: int | None = None,
    tick: float | None = None,
    formats: str | Iterable[str] = FORMATS,
    force: bool = False,
    progress: bool | Progress | None = None,
    start: datetime | str | None = None,
    scenario_dir: str | Path | None = None,
    wait: bool | float = False,
    cancel: Cancel = None,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Generate a scenario's dataset into ``output_dir`` and return ``{"csv"|"parquet"|"metadata": path}``.

    ``duration`` is in minutes (stretches the phases), ``tick`` in seconds.

    The files are written as one set (:class:`~dashboard.datasets.DatasetWriter`): readers
    see the previous dataset or the new one, whole, never a mix. An existing dataset raises
    :class:`OutputExistsError` unless ``force``. Another generation writing into the same
    folder raises :class:`FolderBusyError`, or is waited for: ``wait=True`` (as long as it
    takes) or a number of seconds (``on_wait`` is told, once, in words). ``cancel`` (a
    :class:`threading.Event` or a callable
    returning True to stop) is checked between blocks of ticks and raises
    :class:`CancelledError`. File-system errors (a full disk) raise :class:`WriteError`;
    in every failure the folder keeps what it held before.

    ``progress``: ``None`` shows a bar only on a terminal, ``False`` never, ``True`` always,
    or a callable ``(ticks_done, ticks_total)``.
    """
    fmts = _normalise_formats(formats)
    sc = _resolve(
        scenario,
        seed=seed,
        duration=duration,
        fleet_size=fleet_size,
        tick=tick,
        scenario_dir=scenario_dir,
    )
    plan = _plan(sc, start)
    out = Path(output_dir)
    names = {key: FILE_NAMES[key] for key in (*FORMATS, "metadata")}
    bar = _Bar(plan.n_ticks, progress)
    try:
        with DatasetWriter(
            out, list(names.values()), force=force, wait=wait, cancel=cancel, on_wait=on_wait
        ) as w:
            tmp = {fmt: w.path(names[fmt]) for fmt in fmts}
            with w.guard():
                _write_data(plan, tmp, bar, w.check_cancel)
            files = {names[fmt]: w.record(names[fmt]) for fmt in fmts}
            if "parquet" in fmts:
                files[names["parquet"]]["page_checksums"] = True
            w.write_bytes(names["metadata"], _dump_json(build_metadata(plan, files)))
            w.commit(last=names["metadata"])
    finally:
        bar.close()
    log.info(
        "wrote %s rows of scenario %r to %s", f"{plan.n_ticks * len(plan.names):,}", sc.name, out
    )
    return {key: out / names[key] for key in (*fmts, "metadata")}


def _write_data(
    plan: _Plan, tmp: dict[str, Path], bar: _Bar, check_cancel: Callable[[], None]
) -> None:
    pq_writer = csv_writer = csv_file = None
    try:
        for block in range(_n_blocks(plan)):
            check_cancel()
            arrays = _block_arrays(plan, block)
            if "parquet" in tmp:
                table = _table(plan, arrays)
                if pq_writer is None:
                    pq_writer = pq.ParquetWriter(tmp["parquet"], table.schema, **PARQUET_OPTIONS)
                pq_writer.write_table(table, row_group_size=table.num_rows)
            if "csv" in tmp:
                table = _table(plan, arrays, csv=True)
                if csv_writer is None:
                    csv_file = open(tmp["csv"], "wb")  # noqa: SIM115 - closed in finally
                    csv_file.write((",".join(table.column_names) + "\n").encode())
                    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
                    csv_writer = pa_csv.CSVWriter(csv_file, table.schema, write_options=options)
                csv_writer.write_table(table)
            bar.update(len(arrays["ticks"]))
    finally:
        if pq_writer is not None:
            pq_writer.close()
        if csv_writer is not None:
            csv_writer.close()
        if csv_file is not None:
            csv_file.close()


# -- CLI ---------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and sys.exit(2)
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m dashboard.generate`` argument parser."""
    parser = _Parser(
        prog="python -m dashboard.generate",
        description="Generate a reproducible incident dataset (CSV, Parquet and a metadata JSON) from a scenario.",
        epilog=(
            "Writes demo_dataset.csv, demo_dataset.parquet and demo_dataset_metadata.json into the output "
            "directory as one set: readers see the previous dataset or the new one, never a mix. "
            "Same scenario and seed give byte-identical files. One generation at a time writes "
            "into a folder (.dataset.lock). "
            "Exit codes: 0 success, 2 invalid input (scenario, flags, existing output without --force), "
            "1 other failures (another generation writing into the folder, a full disk), 130 interrupted."
        ),
    )
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help="scenario name from the scenarios/ folder (see --list) or a path to a scenario JSON file (default: %(default)s)",
    )
    parser.add_argument(
        "--scenario-dir",
        default=None,
        help="look up scenario names here (default: FLEET_SCENARIO_DIR, else the bundled scenarios/)",
    )
    parser.add_argument(
        "--output-dir", default=DEFAULT_OUTPUT_DIR, help="directory to write the dataset into (default: %(default)s)"
    )
    parser.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        help="total length in minutes; the phases stretch proportionally (default: the scenario's own)",
    )
    parser.add_argument(
        "--fleet-size",
        type=positive_int,
        default=None,
        help="number of servers, split by the scenario's profile mix (default: the scenario's own)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=None,
        help="random seed (default: the scenario's own, 42 for the bundled ones)",
    )
    parser.add_argument(
        "--tick",
        type=positive_float,
        default=None,
        help="seconds between ticks (default: the scenario's own, usually 5)",
    )
    parser.add_argument(
        "--format",
        default=",".join(FORMATS),
        help="comma-separated output formats: csv, parquet or both (default: %(default)s)",
    )
    parser.add_argument(
        "--start",
        default=None,
        help=f"time of the first tick, ISO 8601 (default: {iso_utc(DEFAULT_START)})",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing dataset in the output directory"
    )
    parser.add_argument(
        "--wait",
        nargs="?",
        type=positive_float,
        const=math.inf,
        default=False,
        metavar="SECONDS",
        help="when another generation is writing into the output directory, wait for it "
        "(at most SECONDS when given) instead of stopping with an error",
    )
    parser.add_argument("--list", action="store_true", help="list the available scenarios and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    """Run the generator CLI; returns the exit code (0 ok, 2 bad input, 1 other failure).

    Scenario names are looked up in ``--scenario-dir``, else ``settings.scenario_dir``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"{parser.prog}: error: {exc} (see --help)", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.scenario_dir is None:
        args.scenario_dir = (settings or Settings()).scenario_dir
    try:
        if args.list:
            from .scenario import list_scenarios

            for info in list_scenarios(args.scenario_dir):
                line = (
                    f"{info.name:24} {info.title}"
                    if info.error is None
                    else f"{info.name:24} BROKEN: {info.error.splitlines()[-1]}"
                )
                print(line)
            return 0
        paths = generate_demo_dataset(
            args.output_dir,
            args.scenario,
            seed=args.seed,
            duration=args.duration,
            fleet_size=args.fleet_size,
            tick=args.tick,
            formats=args.format,
            force=args.force,
            progress=False if args.quiet else None,
            start=args.start,
            scenario_dir=args.scenario_dir,
            wait=True if args.wait == math.inf else args.wait,
        )
    except (ScenarioError, OutputExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write the dataset: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; {args.output_dir} is unchanged", file=sys.stderr)
        return 130
    if not args.quiet:
        meta = json.loads(paths["metadata"].read_text(encoding="utf-8"))
        print(
            f"scenario {meta['scenario_name']!r} (seed {meta['seed']}): {meta['n_rows']:,} rows, "
            f"{meta['n_servers']} servers x {meta['n_ticks']} ticks of {meta['tick_seconds']:g} s, "
            f"{len(meta['affected_servers'])} affected"
        )
        for path in paths.values():
            print(f"  {path}")
    return 0


if __name__ == "__main__":  # the entry point reads the environment
    try:
        _settings = Settings.from_env()
    except DashboardError as _exc:  # a bad variable: its message, never a traceback
        print(f"error: {_exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(settings=_settings))
