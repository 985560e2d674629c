"""Time one vectorised ``score`` call per model on synthetic fleets (60-tick windows).

    python benchmarks/bench_models.py [--servers 1000 10000] [--repeats 30]

Prints the median, best and 90th-percentile time of each model per fleet size, and
whether it meets the targets (1,000 servers <= 5 ms, 10,000 servers <= 50 ms).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dashboard import schema
from dashboard.models import get_model, model_names
from dashboard.sources.base import Window

TARGET_MS = {1_000: 5.0, 10_000: 50.0}
PROFILES = ("web", "database", "cache", "ml_compute")


def synthetic_window(n_servers: int, n_ticks: int = 60, seed: int = 0) -> Window:
    """A healthy fleet with a few degraded servers and some missing values."""
    rng = np.random.default_rng(seed)
    metrics = {}
    for name in schema.METRIC_NAMES:
        base = rng.uniform(10, 60, n_servers).astype(np.float32)
        values = base * (1 + 0.05 * rng.standard_normal((n_ticks, n_servers), dtype=np.float32))
        values[-10:, : n_servers // 100] *= 1.8  # one server in a hundred is degrading
        values[rng.random((n_ticks, n_servers)) < 0.001] = np.nan
        metrics[name] = values.astype(np.float32)
    start = np.datetime64("2026-01-01T00:00:00", "ns")
    return Window(
        timestamps=start + np.arange(n_ticks) * np.timedelta64(5, "s"),
        servers=np.array([f"srv-{i:05d}" for i in range(n_servers)], dtype=object),
        profiles=np.array([PROFILES[i % len(PROFILES)] for i in range(n_servers)], dtype=object),
        metrics=metrics,
        end=n_ticks - 1,
        tick_seconds=5.0,
        phase=np.zeros((n_ticks, n_servers), dtype=np.int8),
        problem_child=np.zeros(n_servers, dtype=bool),
    )


def time_model(name: str, window: Window, repeats: int) -> list[float]:
    model = get_model(name)
    model.score(window)  # warm-up (imports, profile grouping)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.score(window)
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--models", nargs="+", default=None, help="models to time (default: all registered)")
    args = parser.parse_args(argv)

    print(f"{'model':<14} {'servers':>8} {'median ms':>10} {'best ms':>8} {'p90 ms':>8}  target")
    ok = True
    for n in args.servers:
        window = synthetic_window(n, args.ticks)
        for name in args.models or model_names():
            times = np.array(time_model(name, window, args.repeats))
            median = float(np.median(times))
            target = TARGET_MS.get(n)
            verdict = "" if target is None else (f"<= {target:g} ms: " + ("ok" if median <= target else "MISSED"))
            ok &= target is None or median <= target
            print(f"{name:<14} {n:>8} {median:>10.2f} {times.min():>8.2f} {np.percentile(times, 90):>8.2f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
