"""Per-refresh cost of the Live tab's tick callback, through Dash's real HTTP endpoint.

Drives ``POST /_dash-update-component`` with Flask's test client, shaped the way the
browser sends it, at 1,000 and 5,000 servers with a 60-tick window, and reports:

* first paint: the full answer after a page load (bytes, server ms);
* steady state: one refresh after another, as partial updates (median/p95 ms, bytes),
  with scores computed on the spot ("cold") and already cached ("warm", the usual case
  when several viewers watch the same source);
* full rebuild: the same refreshes forced to send all figures in full;
* naive rebuild: what the seed's design sends every refresh, all five figures rebuilt,
  the heat map with one row per server (built in the same run from the same scores).

    python benchmarks/bench_tick.py              # 1,000 and 5,000 servers
    python benchmarks/bench_tick.py --sizes 200  # quicker
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from typing import Any

import numpy as np
from dash._utils import to_json

from dashboard.app import arrays, create_app, figures
from dashboard.app.captions import PANEL_METRICS
from dashboard.app.live import ids
from dashboard.app.live.callbacks import tick_request
from dashboard.app.live.render import kpi_values
from dashboard.app.live.view import kpi_tiles
from dashboard.app.shell import ids as shell_ids
from dashboard.settings import Settings

WINDOW = 60
DURATION_MIN = 10  # 120 ticks at 5 s: a full window, then 50+ steady refreshes


# Wall time is what a user waits for on a quiet machine; CPU time (this thread's, which
# serves the request in the test client) stays comparable while other work shares the machine.
CPU: list[float] = []


def post(client, values: dict, store: Any, changed: list[str]) -> tuple[float, bytes]:
    payload = json.dumps(tick_request(values, store, changed))
    start, cpu = time.perf_counter(), time.thread_time()
    response = client.post("/_dash-update-component", data=payload, content_type="application/json")
    elapsed = (time.perf_counter() - start) * 1000
    CPU.append((time.thread_time() - cpu) * 1000)
    if response.status_code != 200:
        raise SystemExit(f"tick request failed: {response.status_code} {response.data[:300]!r}")
    return elapsed, response.data


def naive_response(app, spec: str, model: str, tick: int) -> bytes:
    """All five figures rebuilt in full, the strip with every server as a row (the seed's way)."""
    services = app.services
    fleet = services.fleet(spec)
    scorer = services.scorer(spec, model)
    source = services.source(spec)
    first = max(0, tick - WINDOW + 1)
    probability = scorer.probabilities(first, tick)
    scores = scorer.at(tick)
    window = source.window(tick, tick - first + 1)
    times = fleet.times[first : tick + 1]
    top = arrays.top_servers(scores.probability)
    top5 = figures.top5_figure(
        fleet.names[top], fleet.profiles[top], scores.probability[top], scores.alert[top], 0.5, "r"
    )
    with np.errstate(all="ignore"):
        mean, peak = np.nanmean(probability, axis=1), np.nanmax(probability, axis=1)
    trend = figures.trend_figure(
        times,
        mean,
        peak,
        {},
        phase_bands=figures.phase_bands(fleet.phases, fleet.times),
        threshold=0.5,
        clear_threshold=0.3,
        uirevision="r",
    )
    order = np.argsort(-scores.probability)
    strip = figures.strip_figure(
        times, np.round(probability[:, order], 3), fleet.names[order].tolist(), "r"
    )
    bands = {m: arrays.fleet_bands(window.metric(m)) for m in PANEL_METRICS}
    metrics = figures.metrics_figure(times, bands, {}, "r")
    summary = arrays.kpi_summary(scores.probability, scores.alert, 0.5)
    kpi = {f"{i}": {p: v} for (i, p), v in kpi_values(kpi_tiles(summary, riskiest_name=None, since=None, since_clock=None, truth_phase=None)).items()}
    return to_json(
        {
            "multi": True,
            "response": {
                **kpi,
                "a": {"figure": top5},
                "b": {"figure": trend},
                "c": {"figure": strip},
                "d": {"figure": metrics},
            },
        }
    ).encode()


def summarise(label: str, ms: list[float], sizes: list[int], cpu: list[float] | None = None) -> str:
    ms_sorted = sorted(ms)
    p95 = ms_sorted[min(len(ms_sorted) - 1, int(round(0.95 * (len(ms_sorted) - 1))))]
    cpu_text = f"   cpu {statistics.median(cpu):6.1f} ms" if cpu else ""
    return (
        f"  {label:<34} median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms   "
        f"median {statistics.median(sizes) / 1024:8.1f} KB{cpu_text}"
    )


def run(n_servers: int, steady: int, model: str) -> dict:
    spec = f"scenario:default?fleet_size={n_servers}&duration={DURATION_MIN}"
    app = create_app(Settings(default_source=spec, refresh_sec=1.0, default_model=model))
    client = app.server.test_client()
    t0 = time.perf_counter()
    app.services.fleet(spec)
    open_s = time.perf_counter() - t0
    start_tick = WINDOW - 1
    search = f"?source={spec.replace('&', '%26').replace('?', '%3F')}&tick={start_tick + 1}"  # links count from 1

    # First paint (scores for the window computed on the spot).
    first_ms, first = post(client, {(shell_ids.URL, "search"): search}, None, [])
    store = json.loads(first)["response"][ids.VIEW]["data"]
    assert store["tick"] == start_tick, store

    def play(store: dict, ticks: int, *, full: bool) -> tuple[list[float], list[int], dict]:
        ms, sizes = [], []
        for n in range(1, ticks + 1):
            sent = dict(store, shown_key=None) if full else store
            elapsed, data = post(
                client, {(ids.INTERVAL, "n_intervals"): n}, sent, [f"{ids.INTERVAL}.n_intervals"]
            )
            answer = json.loads(data)["response"]
            store = answer[ids.VIEW]["data"]
            if not full:
                assert "__dash_patch_update" in json.dumps(answer[ids.TREND]["figure"])[:40]
            ms.append(elapsed)
            sizes.append(len(data))
        return ms, sizes, store

    CPU.clear()
    cold_ms, cold_sizes, _ = play(store, steady, full=False)
    cold_cpu = list(CPU)
    CPU.clear()
    warm_ms, warm_sizes, _ = play(store, steady, full=False)  # same ticks again: scores cached
    warm_cpu = list(CPU)
    full_ms, full_sizes, _ = play(store, steady, full=True)
    naive_ms, naive_sizes = [], []
    for tick in range(start_tick + 1, start_tick + 1 + steady):
        t = time.perf_counter()
        data = naive_response(app, spec, model, tick)
        naive_ms.append((time.perf_counter() - t) * 1000)
        naive_sizes.append(len(data))
    print(
        f"\n{n_servers:,} servers, {WINDOW}-tick window, model {model} (source opened in {open_s:.1f} s)"
    )
    print(
        f"  first paint (full figures)         {first_ms:7.1f} ms              {len(first) / 1024:8.1f} KB"
        f"  ({len(gzip.compress(first)) / 1024:.1f} KB gzip)"
    )
    print(summarise("steady refresh, scores cold", cold_ms, cold_sizes, cold_cpu))
    print(summarise("steady refresh, scores cached", warm_ms, warm_sizes, warm_cpu))
    print(summarise("full rebuild every refresh (ours)", full_ms, full_sizes))
    print(summarise("naive rebuild (seed: all rows)", naive_ms, naive_sizes))
    share = statistics.median(warm_sizes) / statistics.median(naive_sizes)
    print(f"  steady bytes / naive bytes: {share:.1%}")
    return {
        "servers": n_servers,
        "first_paint_bytes": len(first),
        "steady_ms_cold": statistics.median(cold_ms),
        "steady_ms_warm": statistics.median(warm_ms),
        "steady_bytes": statistics.median(warm_sizes),
        "naive_bytes": statistics.median(naive_sizes),
        "full_bytes": statistics.median(full_sizes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--steady", type=int, default=50, help="refreshes measured per mode")
    parser.add_argument("--model", default="adaptive")
    args = parser.parse_args(argv)
    for n in args.sizes:
        run(n, args.steady, args.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
