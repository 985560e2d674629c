"""Time one vectorised ``score`` call per model and fleet size, as the scorer makes it.

    python benchmarks/bench_models.py [--servers 1000 5000 10000] [--repeats 30] [--models adaptive learned]

Per model and fleet size: the median, best and 90th-percentile time of the call that
gives every server's probability for one tick (``explain=0``: no contributions), the time
of the same call with the contributions of the riskiest 5 and one selected server
(what a dashboard refresh asks for), and, for models that learn each server's normal, the
time of estimating that baseline (once per checkpoint, never per tick). Models that cannot
explain subsets compute every server's contributions in both calls.

Targets: probabilities for 5,000 servers with their history <= 30 ms per tick (every
model); the heuristic's 1,000 servers <= 5 ms and 10,000 <= 50 ms.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from dashboard import schema
from dashboard.models import get_model, model_names
from dashboard.sources.base import Window

TARGET_MS = {("*", 5_000): 30.0, ("heuristic", 1_000): 5.0, ("heuristic", 10_000): 50.0}
PROFILES = ("web", "database", "cache", "ml_compute")
HISTORY_TICKS = 240


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


def _tail(window: Window, ticks: int) -> Window:
    cut = slice(window.n_ticks - ticks, None)
    return replace(
        window,
        timestamps=window.timestamps[cut],
        metrics={k: v[cut] for k, v in window.metrics.items()},
        phase=None if window.phase is None else window.phase[cut],
    )


def prepared(model, whole: Window) -> tuple[Window, float | None]:
    """The window the scorer would hand the model (its history, with the baseline attached)
    and how long estimating that baseline took (ms; None for models without one)."""
    window = _tail(whole, max(1, int(getattr(model, "history", 60))))
    if getattr(model, "baseline_policy", None) is None:
        return window, None
    history = replace(_tail(whole, whole.n_ticks), phase=None, problem_child=None)
    t0 = time.perf_counter()
    baseline = model.fit_baseline(history, whole.n_ticks)
    return replace(window, baseline=baseline), (time.perf_counter() - t0) * 1000.0


def time_call(call, repeats: int) -> np.ndarray:
    call()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000.0)
    return np.array(times)


def time_model(model, window: Window, n: int, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Times of the probability-only call and of the call that also explains 6 servers."""
    if not getattr(model, "explains_subsets", False):
        times = time_call(lambda: model.score(window), repeats)
        return times, times
    chosen = np.r_[np.argsort(-model.score(window, explain=0).probability)[:5], [n // 2]]
    times = time_call(lambda: model.score(window, explain=0), repeats)
    return times, time_call(lambda: model.score(window, explain=chosen), max(5, repeats // 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[1_000, 5_000, 10_000])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--models", nargs="+", default=None, help="models to time (default: all registered)")
    args = parser.parse_args(argv)

    print(f"{'model':<12} {'servers':>8} {'p median':>9} {'p best':>7} {'p p90':>7} {'+why 6':>8} {'baseline':>9}  target")
    ok = True
    for n in args.servers:
        whole = synthetic_window(n, HISTORY_TICKS)
        for name in args.models or model_names():
            model = get_model(name)
            window, fit_ms = prepared(model, whole)
            times, explained = time_model(model, window, n, args.repeats)
            median = float(np.median(times))
            target = TARGET_MS.get((name, n), TARGET_MS.get(("*", n)))
            verdict = "" if target is None else (f"<= {target:g} ms: " + ("ok" if median <= target else "MISSED"))
            ok &= target is None or median <= target
            print(
                f"{name:<12} {n:>8} {median:>9.2f} {times.min():>7.2f} {np.percentile(times, 90):>7.2f} "
                f"{np.median(explained):>8.2f} {'' if fit_ms is None else f'{fit_ms:.0f}':>9}  {verdict}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
