"""The ``prometheus`` source on a 1,000-server fleet: history load, each new step, memory.

Starts the project's replay exporter (1,000 servers, 13 series each: node_exporter's and an
application's) and Debian's prometheus scraping it every second, both on free loopback
ports with their own folders, waits until Prometheus holds more than the window, then:

* **history**: opening ``prometheus:bench?history=60`` (8 range queries, 8,000 series of
  60 steps), and with ``history=120``; median of a few opens;
* **new step**: one check of the source when a step came due (8 range queries of one step);
* **scoring**: the default model on the new head (what the background scorer adds);
* **memory**: this process's resident set (the dashboard's process) after it all.

    python benchmarks/bench_prometheus.py                  # 1,000 servers, 30 steps
    python benchmarks/bench_prometheus.py --servers 200 --steps 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import Exporter, Prometheus, running, wait_until  # noqa: E402


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(resident now, peak) in MB from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields.get("VmHWM", "0 kB").split()[0]) / 1024


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=30, help="new steps to time")
    parser.add_argument("--opens", type=int, default=3, help="history loads to time per window")
    args = parser.parse_args()

    from dashboard.models import get_model
    from dashboard.models.scoring import Scorer
    from dashboard.prometheus.config import Target
    from dashboard.settings import Settings
    from dashboard.sources import open_source

    folder = Path(tempfile.mkdtemp(prefix="bench-prometheus-"))
    spec = f"scenario:default?fleet_size={args.servers}&duration=10"
    exporter = Exporter(folder, spec, loop=True)
    prometheus = Prometheus(folder / "prometheus", {"replay": [exporter.address]})
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    with running(exporter, prometheus):
        series = wait_until(lambda: (r := prometheus.query('count({job="replay"})')) and int(r[0]["value"][1]), 60, "the first scrape")
        print(f"replay: {args.servers:,} servers, {series:,} series scraped every second; waiting for 70 s of history...", flush=True)
        wait_until(
            lambda: (r := prometheus.query("min(count_over_time(node_memory_MemTotal_bytes[2m]))")) and float(r[0]["value"][1]) >= 70,
            180,
            "70 s of scrapes",
        )
        # a shared machine may be busy: wait for slow answers rather than fail (the figures say how slow)
        settings = Settings(prometheus_targets=(Target("bench", prometheus.url, step_s=1.0, timeout_s=60.0),))
        loads, own_cpu, prom_cpu = {}, {}, {}
        for history in (60, 120):
            times = []
            for _ in range(args.opens):
                started, cpu0, prom0 = time.perf_counter(), time.process_time(), cpu_s(prometheus.process.pid)
                source = open_source(f"prometheus:bench?history={history}", settings=settings)
                times.append(time.perf_counter() - started)
                own_cpu.setdefault(history, []).append(time.process_time() - cpu0)
                prom_cpu.setdefault(history, []).append(cpu_s(prometheus.process.pid) - prom0)
                assert source.n_ticks() >= history and source.servers().shape[0] == args.servers, (source.n_ticks(), source.servers().shape)
                if history == 120:
                    break
                source.close()
            loads[history] = times
        returned = sum(1 for _ in source.source.expressions) * args.servers
        model = get_model("heuristic")
        scorer = Scorer(source, model)
        scorer.at(source.n_ticks() - 1)
        steps, scoring, step_cpu, step_prom = [], [], [], []
        step_ns = 1_000_000_000
        while len(steps) < args.steps:
            last = source.n_ticks() - 1
            due_at = (int(source.timestamps()[last].astype("int64")) + step_ns) / 1e9 + 1.0  # the next tick, after its delay
            time.sleep(max(0.0, due_at - time.time()) + 0.01)
            started, cpu0, prom0 = time.perf_counter(), time.process_time(), cpu_s(prometheus.process.pid)
            n = source.source.refresh()
            elapsed = time.perf_counter() - started
            spent, prom_spent = time.process_time() - cpu0, cpu_s(prometheus.process.pid) - prom0
            if n != last + 2:
                print(f"  (a step came {n - last - 1} ticks at once; not counted)", flush=True)
                continue
            steps.append(elapsed)
            step_cpu.append(spent)
            step_prom.append(prom_spent)
            started = time.perf_counter()
            scorer.at(n - 1)
            scoring.append(time.perf_counter() - started)
        now, peak = rss_mb()
        prom_now, _ = rss_mb(prometheus.process.pid)
        exp_now, _ = rss_mb(exporter.process.pid)
        load = os.getloadavg()
        source.close()

    def ms(values: list[float]) -> str:
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        return f"median {statistics.median(values) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"

    print(f"series returned per step: {returned:,} (8 queries x {args.servers:,} servers)")
    for history, times in loads.items():
        print(f"history load, {history}-tick window ({returned * history:,} samples): {ms(times)} over {len(times)} opens")
        print(f"  CPU: the dashboard {statistics.median(own_cpu[history]) * 1000:.0f} ms, "
              f"Prometheus {statistics.median(prom_cpu[history]) * 1000:.0f} ms (with its scraping meanwhile), medians")
    print(f"each new step ({len(steps)} steps): {ms(steps)}")
    print(f"  CPU: the dashboard {statistics.median(step_cpu) * 1000:.0f} ms, "
          f"Prometheus {statistics.median(step_prom) * 1000:.0f} ms (with its scraping meanwhile), medians")
    print(f"scoring the new head (heuristic): {ms(scoring)}")
    print(f"dashboard process RSS: {now:.0f} MB now, {peak:.0f} MB peak")
    print(f"(for reference: prometheus {prom_now:.0f} MB, the exporter {exp_now:.0f} MB)")
    print(f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
