"""Generator speed and memory: prints wall time and peak memory for the sizes the project promises.

    .venv/bin/python benchmarks/bench_generate.py            # all cases
    .venv/bin/python benchmarks/bench_generate.py --quick    # skip the 10,000-server case

Each case runs in a fresh subprocess so that its peak RSS (``resource.getrusage``) is its own.
Targets: 1,000 servers x 1 h at 5 s (720k rows) Parquet + metadata <= 5 s, with CSV <= 10 s;
10,000 servers x 1 h (7.2M rows) Parquet <= 30 s with peak memory <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CASES = [
    # (label, fleet size, minutes, formats, target seconds, target peak MB)
    ("1,000 x 1 h parquet+metadata", 1_000, 60, "parquet", 5.0, None),
    ("1,000 x 1 h csv+parquet+metadata", 1_000, 60, "csv,parquet", 10.0, None),
    ("1,000 x 60 ticks in memory (generate_table)", 1_000, 5, "memory", 1.0, None),
    ("10,000 x 1 h parquet+metadata", 10_000, 60, "parquet", 30.0, 4096.0),
]

CHILD = r"""
import json, resource, sys, time
fleet, minutes, formats, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
import_start = time.perf_counter()
from dashboard.generate import generate_demo_dataset, generate_table
from dashboard.scenario import load_scenario
imported = time.perf_counter() - import_start
start = time.perf_counter()
if formats == "memory":
    ds = generate_table(load_scenario("default").resolved(fleet_size=fleet, duration_min=minutes))
    rows, size = ds.table.num_rows, ds.table.nbytes
else:
    paths = generate_demo_dataset(out, fleet_size=fleet, duration=minutes, formats=formats, force=True, progress=False)
    meta = json.loads(paths["metadata"].read_text())
    rows, size = meta["n_rows"], sum(f["bytes"] for f in meta["files"].values())
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
print(json.dumps({"seconds": elapsed, "import_s": imported, "rows": rows, "bytes": size, "peak_mb": peak_mb}))
"""


def run_case(fleet: int, minutes: float, formats: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as out:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(fleet), str(minutes), formats, out],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark case failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-server case")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(
        f"{'case':46} {'rows':>10} {'seconds':>8} {'target':>7} {'peak MB':>8} {'MB out':>7}  verdict"
    )
    failed = 0
    for label, fleet, minutes, formats, target_s, target_mb in CASES:
        if args.quick and fleet >= 10_000:
            continue
        r = run_case(fleet, minutes, formats)
        ok = r["seconds"] <= target_s and (target_mb is None or r["peak_mb"] <= target_mb)
        failed += not ok
        print(
            f"{label:46} {r['rows']:>10,} {r['seconds']:>8.2f} {target_s:>7.1f} "
            f"{r['peak_mb']:>8.0f} {r['bytes'] / 1e6:>7.1f}  {'ok' if ok else 'TOO SLOW/BIG'}"
        )
    print("(seconds exclude interpreter start and imports; peak MB is the whole process's max RSS)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
