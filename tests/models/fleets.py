"""Hand-made fleets for model, alert, scoring and evaluation tests (no generator needed)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from dashboard import schema
from dashboard.models import RiskModel, RiskScores
from dashboard.sources.base import Source, Window

PROFILES = ("web", "database", "cache", "ml_compute")
BASELINES = {"cpu_pct": 35.0, "mem_pct": 50.0, "latency_ms": 40.0, "error_rate": 0.005, "gc_pause_ms": 10.0,
             "disk_io_mb_s": 20.0, "net_in_mb_s": 30.0, "net_out_mb_s": 30.0}
NOISE = {"cpu_pct": 2.0, "mem_pct": 1.0, "latency_ms": 3.0, "error_rate": 0.001, "gc_pause_ms": 1.0,
         "disk_io_mb_s": 2.0, "net_in_mb_s": 2.0, "net_out_mb_s": 2.0}
PEAK_SHIFT = {"cpu_pct": 50.0, "mem_pct": 20.0, "latency_ms": 400.0, "error_rate": 0.08, "gc_pause_ms": 60.0}


def make_window(metrics: dict[str, np.ndarray], *, profiles=None, phase=None, problem_child=None,
                tick_seconds: float = 5.0, end: int | None = None) -> Window:
    """A Window from ``(T, N)`` arrays; servers are named ``s0..``."""
    first = next(iter(metrics.values()))
    t, n = first.shape
    profiles = np.array(profiles if profiles is not None else ["web"] * n, dtype=object)
    return Window(
        timestamps=(np.datetime64("2026-01-01T00:00:00", "ns") + np.arange(t) * np.timedelta64(int(tick_seconds * 1e9), "ns")),
        servers=np.array([f"s{i}" for i in range(n)], dtype=object),
        profiles=profiles,
        metrics={k: np.asarray(v, dtype=np.float32) for k, v in metrics.items()},
        end=t - 1 if end is None else end,
        tick_seconds=tick_seconds,
        phase=None if phase is None else np.asarray(phase, dtype=np.int8),
        problem_child=None if problem_child is None else np.asarray(problem_child, dtype=bool),
    )


class ArraySource(Source):
    """An in-memory source over full ``(T, N)`` arrays, with optional ground truth."""

    name = "array"

    def __init__(self, metrics, profiles, *, phase=None, problem_child=None, tick_seconds=5.0, ident="array"):
        self._metrics = {k: np.asarray(v, dtype=np.float32) for k, v in metrics.items()}
        first = next(iter(self._metrics.values()))
        self._t, self._n = first.shape
        self._profiles = np.asarray(profiles, dtype=object)
        self._servers = np.array([f"{p}-{i:03d}" for i, p in enumerate(profiles)], dtype=object)
        self._phase = None if phase is None else np.asarray(phase, dtype=np.int8)
        self._pc = None if problem_child is None else np.asarray(problem_child, dtype=bool)
        self._tick = tick_seconds
        self._ident = ident
        self.windows_built = 0

    def n_ticks(self):
        return self._t

    def timestamps(self):
        return np.datetime64("2026-01-01T00:00:00", "ns") + np.arange(self._t) * np.timedelta64(int(self._tick * 1e9), "ns")

    def servers(self):
        return pd.DataFrame({schema.SERVER: self._servers, schema.PROFILE: self._profiles})

    def batch(self, i):
        raise NotImplementedError

    def window(self, end, length):
        self.windows_built += 1
        lo = max(0, end - length + 1)
        return Window(
            timestamps=self.timestamps()[lo : end + 1],
            servers=self._servers,
            profiles=self._profiles,
            metrics={k: v[lo : end + 1] for k, v in self._metrics.items()},
            end=end,
            tick_seconds=self._tick,
            phase=None if self._phase is None else self._phase[lo : end + 1],
            problem_child=self._pc,
        )

    def tick_seconds(self):
        return self._tick

    def identity(self):
        return self._ident


def synthetic_fleet(*, n_per_profile=5, seed=0, stable=18, escalation=12, peak=12, recovery=18,
                    metrics=("cpu_pct", "latency_ms", "error_rate"), labelled=True, tick_seconds=5.0):
    """The seed's incident shape on a small fleet: the first server of each profile is hit.

    Intensity ramps 0 -> 1 through escalation, holds at 1 in the peak and decays in recovery.
    """
    rng = np.random.default_rng(seed)
    profiles = [p for p in PROFILES for _ in range(n_per_profile)]
    n = len(profiles)
    affected = np.array([i % n_per_profile == 0 for i in range(n)])
    t = stable + escalation + peak + recovery
    intensity = np.concatenate([
        np.zeros(stable),
        np.linspace(1.0 / escalation, 1.0, escalation),
        np.ones(peak),
        np.linspace(1.0, 0.0, recovery + 1)[1:],
    ])
    kinds = np.concatenate([np.full(stable, 0), np.full(escalation, 1), np.full(peak, 2), np.full(recovery, 3)])
    data = {}
    for name in schema.METRIC_NAMES:
        base = BASELINES[name] * rng.uniform(0.8, 1.2, n)
        values = base[None, :] + rng.normal(0.0, NOISE[name], (t, n))
        if name in metrics and name in PEAK_SHIFT:
            values += np.outer(intensity, affected * PEAK_SHIFT[name])
        data[name] = np.clip(values, 0.0, 100.0 if name.endswith("_pct") else None)
    data["error_rate"] = np.clip(data["error_rate"], 0.0, 1.0)
    phase = np.where(affected[None, :], kinds[:, None], 0).astype(np.int8)
    src = ArraySource(data, profiles, phase=phase if labelled else None,
                      problem_child=affected if labelled else None, tick_seconds=tick_seconds)
    return src


class Scripted(RiskModel):
    """Replays a fixed table of probabilities (ticks x servers), whatever the metrics say."""

    name: ClassVar[str] = "scripted"
    history: ClassVar[int] = 1
    metrics: ClassVar[tuple[str, ...]] = ("cpu_pct",)

    def __init__(self, table):
        super().__init__()
        self.table = np.asarray(table, dtype=float)

    def score(self, window):
        p = self.table[window.end]
        return RiskScores(p, p[:, None].copy(), ("cpu",))

    def key(self):
        return f"scripted-{id(self)}"
