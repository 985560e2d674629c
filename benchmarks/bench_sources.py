"""Data-source speed and memory: open time, batch(i), window(i, 60), peak RSS.

    python benchmarks/bench_sources.py [--out DIR] [--small-only] [--repeat N]
        [--follow-only] [--appends N] [--follow-before OLD_follow.py]

Writes (once, then reuses) a 1,000-server x 1 h Parquet (720 ticks, 720k rows) and a
10,000-server x 6 h Parquet (4,320 ticks, 43.2M rows) in the schema, with page checksums
and a metadata file recording their sha256 as the generator writes them, then measures each
in a fresh subprocess so that peak RSS belongs to that file alone. Opening verifies the file
against its metadata (sha256 up to 1 GB, page checksums as pages are read), as users get it.
Targets (from the issues): small file open <= 1 s, batch <= 2 ms, window(i, 60) <= 10 ms;
large file open <= 5 s, batch <= 50 ms, peak memory <= 3 GB. Also printed: the cold
verification of each file (sha256 of the whole file in a fresh process; with
--drop-caches, after asking the kernel to drop its page cache, which needs root).

The follow case grows a 1,000-server CSV to 60, 720 (one hour at 5 s ticks, 720k rows)
and, without --small-only, 2,880 ticks, then times how long an appended tick takes to
show (median over --appends appends): it should stay flat as the file grows.
--follow-before times a copy of an earlier follow.py on the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROFILES = ("web", "database", "cache", "ml_compute")
STATES = ("online", "warning", "critical_issue", "offline")
METRICS = {  # name -> (mean, spread, low, high)
    "cpu_pct": (35.0, 10.0, 0.0, 100.0),
    "mem_pct": (55.0, 8.0, 0.0, 100.0),
    "latency_ms": (80.0, 20.0, 0.0, None),
    "error_rate": (0.01, 0.005, 0.0, 1.0),
    "disk_io_mb_s": (20.0, 5.0, 0.0, None),
    "net_in_mb_s": (40.0, 10.0, 0.0, None),
    "net_out_mb_s": (30.0, 8.0, 0.0, None),
    "gc_pause_ms": (5.0, 2.0, 0.0, None),
}


def write_fleet_parquet(
    path: Path,
    n_servers: int,
    n_ticks: int,
    tick_s: float = 5.0,
    ticks_per_group: int = 1,
    seed: int = 0,
) -> None:
    """A schema-shaped Parquet written vectorised, whole ticks per row group, sorted by time."""
    rng = np.random.default_rng(seed)
    prof_idx = np.arange(n_servers) % len(PROFILES)
    names = [f"{PROFILES[p]}-{i // len(PROFILES):05d}" for i, p in enumerate(prof_idx)]
    server_dict = pa.array(names)
    profile_dict = pa.array(PROFILES)
    state_dict = pa.array(STATES)
    start = np.datetime64("2026-01-01T00:00:00", "ms").astype(np.int64)
    step = int(tick_s * 1000)
    schema = pa.schema(
        [
            ("timestamp", pa.timestamp("ms", tz="UTC")),
            ("server_name", pa.dictionary(pa.int32(), pa.string())),
            ("profile", pa.dictionary(pa.int32(), pa.string())),
            ("state", pa.dictionary(pa.int32(), pa.string())),
            *((m, pa.float32()) for m in METRICS),
            ("incident_phase", pa.dictionary(pa.int32(), pa.string())),
            ("problem_child", pa.bool_()),
        ]
    )
    phase_dict = pa.array(["stable", "escalation", "peak", "recovery"])
    affected = np.zeros(n_servers, dtype=bool)
    affected[: len(PROFILES)] = True
    with pq.ParquetWriter(path, schema, compression="snappy", write_page_checksum=True) as writer:
        for t0 in range(0, n_ticks, ticks_per_group):
            k = min(ticks_per_group, n_ticks - t0)
            rows = k * n_servers
            ticks = np.repeat(start + step * np.arange(t0, t0 + k, dtype=np.int64), n_servers)
            sidx = np.tile(np.arange(n_servers, dtype=np.int32), k)
            phase = np.minimum(
                (np.repeat(np.arange(t0, t0 + k), n_servers) * 4) // max(n_ticks, 1), 3
            ).astype(np.int32)
            cols = [
                pa.array(ticks, type=pa.timestamp("ms", tz="UTC")),
                pa.DictionaryArray.from_arrays(pa.array(sidx), server_dict),
                pa.DictionaryArray.from_arrays(
                    pa.array(prof_idx[sidx].astype(np.int32)), profile_dict
                ),
                pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(rows, dtype=np.int32)), state_dict
                ),
            ]
            for mean, spread, low, high in METRICS.values():
                values = rng.normal(mean, spread, rows).astype(np.float32)
                np.clip(values, low, high if high is not None else np.inf, out=values)
                cols.append(pa.array(values))
            cols.append(pa.DictionaryArray.from_arrays(pa.array(phase), phase_dict))
            cols.append(pa.array(affected[sidx]))
            writer.write_table(pa.Table.from_arrays(cols, schema=schema), row_group_size=rows)


def metadata_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}_metadata.json")


def write_metadata(path: Path, tick_s: float = 5.0) -> None:
    """The metadata a generated dataset carries, as far as readers check it: each file's record."""
    from dashboard.datasets import file_record

    record = {**file_record(path), "page_checksums": True}
    meta = {"schema_version": 2, "tick_seconds": tick_s, "files": {path.name: record}}
    metadata_path(path).write_text(json.dumps(meta, indent=1))


def measure_verify(path: str) -> dict:
    """Run in a subprocess: the sha256 of the whole file, as ``verify=full`` computes it (cold,
    then again from the page cache), and what checking page checksums adds to reading row
    groups (process CPU time, which a shared machine disturbs less than wall time)."""
    from dashboard.datasets import file_record

    t0 = time.perf_counter()
    file_record(path)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    file_record(path)
    warm = time.perf_counter() - t0
    plain = pq.ParquetFile(path)
    checked = pq.ParquetFile(path, page_checksum_verification=True)
    groups = range(0, plain.metadata.num_row_groups, max(1, plain.metadata.num_row_groups // 40))

    def cpu(pf) -> float:
        t = time.process_time()
        for r in groups:
            pf.read_row_group(r, use_threads=False)
        return time.process_time() - t

    cpu(plain)  # from the page cache for both
    base, crc = min(cpu(plain) for _ in range(3)), min(cpu(checked) for _ in range(3))
    return {
        "verify_s": cold,
        "verify_warm_s": warm,
        "crc_pct": 100.0 * (crc - base) / base,
        "bytes": Path(path).stat().st_size,
    }


def drop_page_cache() -> bool:
    """Ask the kernel to drop clean cached pages (root only); True when it did."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("1\n")
        return True
    except OSError:
        return False


def measure(path: str, repeat: int, window_len: int = 60) -> dict:
    """Run in a subprocess: open the file through the registry, time batch and window."""
    from dashboard.sources import open_source

    t0 = time.perf_counter()
    src = open_source(path, data_roots=[Path(path).parent])
    open_s = time.perf_counter() - t0
    n = src.n_ticks()
    rng = np.random.default_rng(1)
    picks = rng.integers(0, n, repeat)
    src.batch(int(picks[0]))  # first touch
    batch_ms = []
    for i in picks:
        t = time.perf_counter()
        src.batch(int(i))
        batch_ms.append((time.perf_counter() - t) * 1000)
    seq_ms = []
    for i in range(min(repeat, n)):
        t = time.perf_counter()
        src.batch(i)
        seq_ms.append((time.perf_counter() - t) * 1000)
    window_ms = []
    for i in picks[: max(3, repeat // 4)]:
        t = time.perf_counter()
        w = src.window(int(i), window_len)
        window_ms.append((time.perf_counter() - t) * 1000)
    return {
        "file": Path(path).name,
        "verified": [line for line in src.report() if "metadata" in line],
        "rows": n * len(src.servers()),
        "ticks": n,
        "servers": len(src.servers()),
        "kind": src.kind,
        "open_s": open_s,
        "batch_ms_median": float(np.median(batch_ms)),
        "batch_ms_p90": float(np.percentile(batch_ms, 90)),
        "batch_ms_max": float(np.max(batch_ms)),
        "batch_seq_ms_median": float(np.median(seq_ms)),
        "window60_ms_median": float(np.median(window_ms)),
        "window60_ms_max": float(np.max(window_ms)),
        "window_shape": list(w.metrics["cpu_pct"].shape),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _follow_class(implementation: str | None):
    """The follow source class, or the one defined in ``implementation`` (a copy of an older
    ``dashboard/sources/follow.py``, for a before/after comparison)."""
    if not implementation:
        from dashboard.sources.follow import FollowSource

        return FollowSource
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard.sources._follow_ref", implementation)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "dashboard.sources"
    spec.loader.exec_module(module)
    return module.FollowSource


def measure_follow(
    folder: Path,
    n_servers: int = 1000,
    n_ticks: int = 120,
    appends: int = 10,
    implementation: str | None = None,
) -> dict:
    """A growing CSV: time from appending one tick to the source showing it (one n_ticks() call).

    The file starts with ``n_ticks`` ticks of ``n_servers`` rows (720 ticks: one hour at 5 s
    ticks, 720k rows); each of ``appends`` appends then writes one more whole tick.
    """
    names = [f"web-{i:05d}" for i in range(n_servers)]
    start = np.datetime64("2026-01-01T00:00:00", "s")

    def tick_text(t: int) -> str:
        ts = str(start + np.timedelta64(5 * t, "s")) + "Z"
        cpu = np.random.default_rng(t).uniform(0, 90, n_servers)
        return "".join(f"{ts},{name},{c:.2f}\n" for name, c in zip(names, cpu, strict=True))

    path = folder / f"follow_{n_servers}x{n_ticks}.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("timestamp,server_name,cpu_pct\n")
        for t in range(n_ticks):
            fh.write(tick_text(t))
    cls = _follow_class(implementation)
    t0 = time.perf_counter()
    src = cls(path)
    open_s = time.perf_counter() - t0
    assert src.n_ticks() == n_ticks
    texts = [tick_text(n_ticks + k) for k in range(appends)]
    seen_ms = []
    for k, text in enumerate(texts):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
        t = time.perf_counter()
        assert src.n_ticks() == n_ticks + k + 1
        seen_ms.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    src.window(src.n_ticks() - 1, 60)
    window_ms = (time.perf_counter() - t) * 1000
    path.unlink()
    return {
        "open_s": open_s,
        "seen_ms_median": float(np.median(seen_ms)),
        "seen_ms_max": float(np.max(seen_ms)),
        "window60_ms": window_ms,
        "rows": (n_ticks + appends) * n_servers,
        "ticks": n_ticks,
    }


def report_follow(folder: Path, sizes: list[int], appends: int, before: str | None) -> None:
    """Print the append latency at each file size (and for the ``before`` implementation)."""
    print("\nfollow: growing CSV of 1,000 servers, one tick (1,000 rows) appended at a time")
    runs = [("after", None)] + ([("before", before)] if before else [])
    for n_ticks in sizes:
        for label, impl in runs:
            f = measure_follow(folder, n_ticks=n_ticks, appends=appends, implementation=impl)
            tag = f"{label:6s} " if before else ""
            print(
                f"  {tag}{n_ticks:5d} ticks ({n_ticks * 1000:>9,} rows): open {f['open_s']:6.2f} s, "
                f"appended tick seen {f['seen_ms_median']:8.2f} ms median, "
                f"{f['seen_ms_max']:8.2f} ms max, window(-1, 60) {f['window60_ms']:.2f} ms"
            )


def _in_subprocess(path: Path, repeat: int, what: str = "measure") -> dict:
    args = f"{str(path)!r}, {repeat}" if what == "measure" else f"{str(path)!r}"
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_sources as b; "
        f"print(json.dumps(b.{what}({args})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark of {path} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fleet-bench")
    ap.add_argument("--small-only", action="store_true")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--appends", type=int, default=9, help="follow: appended ticks timed per size")
    ap.add_argument(
        "--follow-before",
        metavar="FILE",
        help="a copy of an earlier dashboard/sources/follow.py to time beside the current one",
    )
    ap.add_argument("--follow-only", action="store_true", help="run the follow measurement only")
    ap.add_argument(
        "--drop-caches",
        action="store_true",
        help="drop the page cache before each cold verification (root only)",
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = [("fleet_1000x1h.parquet", 1000, 720, 1, (1.0, 2.0, 10.0, None))]
    if args.follow_only:
        cases = []
    elif not args.small_only:
        cases.append(("fleet_10000x6h.parquet", 10_000, 4320, 10, (5.0, 50.0, None, 3072.0)))
    for name, servers, ticks, per_group, (t_open, t_batch, t_window, t_rss) in cases:
        path = args.out / name
        if not path.exists() or not metadata_path(path).exists():
            t = time.perf_counter()
            tmp = path.with_suffix(".tmp")
            write_fleet_parquet(tmp, servers, ticks, ticks_per_group=per_group)
            os.replace(tmp, path)
            write_metadata(path)
            print(
                f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s"
            )
        dropped = drop_page_cache() if args.drop_caches else False
        v = _in_subprocess(path, 0, "measure_verify")
        cache = "page cache dropped" if dropped else "file in the page cache"
        r = _in_subprocess(path, args.repeat)
        print(
            f"\n{r['file']}: {r['servers']} servers x {r['ticks']} ticks = {r['rows']:,} rows ({r['kind']})"
        )
        print(f"  open, verified      {r['open_s']:8.3f} s    (target <= {t_open} s)")
        for line in r["verified"]:
            print(f"    {line.split(': ', 1)[1]}")
        print(
            f"  cold verification   {v['verify_s']:8.3f} s    sha256 of {v['bytes'] / 1e6:,.0f} MB "
            f"in a fresh process ({cache}); {v['verify_warm_s']:.3f} s from the page cache"
        )
        print(f"  page checksums      {v['crc_pct']:+8.1f} %    CPU time of reading row groups")
        print(
            f"  batch(i) random     {r['batch_ms_median']:8.2f} ms   median, {r['batch_ms_p90']:.2f} ms p90, "
            f"{r['batch_ms_max']:.2f} ms max "
            f"(target <= {t_batch} ms)"
        )
        print(f"  batch(i) in order   {r['batch_seq_ms_median']:8.2f} ms   median")
        target = f"(target <= {t_window} ms)" if t_window else "(no target)"
        print(
            f"  window(i, 60)       {r['window60_ms_median']:8.2f} ms   median, {r['window60_ms_max']:.2f} ms max "
            f"{target}  shape {r['window_shape']}"
        )
        target = f"(target <= {t_rss:.0f} MB)" if t_rss else ""
        print(f"  peak RSS            {r['peak_rss_mb']:8.0f} MB   {target}")
    sizes = [60, 720] if args.small_only else [60, 720, 2880]
    report_follow(args.out, sizes, args.appends, args.follow_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
