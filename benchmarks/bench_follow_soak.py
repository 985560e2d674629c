"""Soak test of the follow source: memory stays flat while a file grows for an hour.

    python benchmarks/bench_follow_soak.py                       # 60 min, 1,000 servers, keep=10min
    python benchmarks/bench_follow_soak.py --minutes 5 --keep 1min

A writer process appends one tick of ``--servers`` rows (every server, eight metrics) to a
CSV once a second; this process follows the file as the dashboard does, once a second:
``n_ticks()``, ``window(newest, 60)`` and ``batch(newest)``, and every ``--sample`` seconds
notes its resident memory. The source keeps ``--keep`` of the newest data in memory and
reads older ticks back from the file; at the end it also reads back a window from the first
minutes of the file. Printed: resident memory over time, its growth over the last half of
the run (MB per hour), the refresh time (median, p99, max) and the file's size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WRITER = r"""
import sys, time
import numpy as np
path, servers, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
names = np.array([f"{('web', 'database', 'cache', 'ml_compute')[i % 4]}-{i:05d}" for i in range(servers)])
profiles = np.array([n.rsplit("-", 1)[0] for n in names])
rng = np.random.default_rng(0)
start = time.time()
t0 = np.datetime64("2026-01-01T00:00:00", "s")
with open(path, "a", encoding="utf-8") as fh:
    fh.write("timestamp,server_name,profile,cpu_pct,mem_pct,latency_ms,error_rate,"
             "disk_io_mb_s,net_in_mb_s,net_out_mb_s,gc_pause_ms\n")
    fh.flush()
    k = 0
    while time.time() - start < seconds:
        ts = str(t0 + np.timedelta64(k, "s")) + "Z"
        v = rng.uniform(0.0, 1.0, (8, servers))
        rows = [
            f"{ts},{n},{p},{a:.1f},{b:.1f},{c:.1f},{d:.4f},{e:.1f},{f:.1f},{g:.1f},{h:.1f}\n"
            for n, p, a, b, c, d, e, f, g, h in zip(
                names, profiles, 90 * v[0], 90 * v[1], 200 * v[2], 0.05 * v[3],
                50 * v[4], 80 * v[5], 80 * v[6], 20 * v[7],
            )
        ]
        fh.write("".join(rows))
        fh.flush()
        k += 1
        time.sleep(max(0.0, start + k - time.time()))
"""


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--keep", default="10min", help="follow source option keep= (default 10min)")
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between memory samples")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fleet-soak")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "growing.csv"
    path.unlink(missing_ok=True)
    seconds = args.minutes * 60
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(args.servers), str(seconds)])
    try:
        from dashboard.sources import open_source

        while not path.exists() or path.stat().st_size == 0:
            time.sleep(0.1)
        source = open_source(f"follow:{path}?keep={args.keep}", data_roots=[args.out])
        start = time.monotonic()
        samples: list[tuple[float, float, int, int]] = []  # minutes, RSS MB, ticks, ticks in memory
        refresh_ms: list[float] = []
        next_sample = 0.0
        print(f"following {path}: {args.servers} servers, one tick a second, keep={args.keep}")
        while time.monotonic() - start < seconds + 2:
            t = time.perf_counter()
            n = source.n_ticks()
            if n:
                source.window(n - 1, 60)
                source.batch(n - 1)
            refresh_ms.append((time.perf_counter() - t) * 1000)
            elapsed = time.monotonic() - start
            if elapsed >= next_sample:
                held = source.source._grid.t
                samples.append((elapsed / 60, rss_mb(), n, held))
                print(
                    f"  {elapsed / 60:6.1f} min  RSS {samples[-1][1]:7.1f} MB  ticks {n:6d}  "
                    f"in memory {held:6d}",
                    flush=True,
                )
                next_sample += args.sample
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))
        t = time.perf_counter()
        old = source.window(min(120, source.n_ticks() - 1), 60)
        read_back_ms = (time.perf_counter() - t) * 1000
        assert old.metrics["cpu_pct"].shape[0] == 60
    finally:
        writer.kill()
        writer.wait()
    minutes = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    late = minutes >= minutes[-1] / 2
    slope = np.polyfit(minutes[late], rss[late], 1)[0] * 60 if late.sum() > 2 else float("nan")
    ms = np.array(refresh_ms)
    print(f"\nfile: {path.stat().st_size / 1e6:,.0f} MB, {samples[-1][2]:,} ticks x {args.servers} servers")
    print(
        f"resident memory: {rss[0]:.0f} MB at {minutes[0]:.1f} min, {rss.max():.0f} MB peak, "
        f"{rss[-1]:.0f} MB at the end; over the second half {rss[late].min():.0f}-{rss[late].max():.0f} MB, "
        f"trend {slope:+.1f} MB/hour"
    )
    print(
        f"refresh (n_ticks + window(newest, 60) + batch(newest)): {np.median(ms):.1f} ms median, "
        f"{np.percentile(ms, 99):.1f} ms p99, {ms.max():.1f} ms max"
    )
    print(f"a 60-tick window from the first minutes, read back from the file: {read_back_ms:.0f} ms")
    path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
