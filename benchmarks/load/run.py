"""Load benchmark of the team server: locust against ``gunicorn -w 2``, DiskCache then Redis.

    .venv/bin/python benchmarks/load/run.py [--users 100] [--seconds 60] [--steps 10,25,50,75,150]

Three 1,000-server sources (generated Parquet, 15 minutes at 5 s ticks) in a temporary
data root; clients poll once a second, spread over the sources at staggered ticks. For
each cache it runs ``--users`` clients for ``--seconds`` (the headline: errors, median
and p95 of the tick callback), then the ``--steps`` client counts for ``--step-seconds``
each (in order) until p95 passes 1 s, and prints the first count where it did. Locust runs from its own
virtual environment (``benchmarks/load/.venv``, created on first use) because it needs
a newer urllib3 than the browser-test tools pin. Loopback only; everything it starts is
stopped at the end. It loads the whole machine: run it alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import Gunicorn, redis_server, wait_until  # noqa: E402

LOCUST_VENV = HERE / ".venv"


def locust_binary() -> Path:
    binary = LOCUST_VENV / "bin" / "locust"
    if not binary.exists():
        print("creating benchmarks/load/.venv with locust (once)...", flush=True)
        venv.create(LOCUST_VENV, with_pip=True)
        subprocess.run([str(LOCUST_VENV / "bin" / "pip"), "install", "-q", "locust>=2.20"], check=True)
    return binary


def templates(path: Path) -> None:
    from dashboard.app.live import ids
    from dashboard.app.live.callbacks import TICK_INPUTS, tick_request
    from dashboard.app.shell import ids as shell_ids

    opened = tick_request({(shell_ids.URL, "search"): ""})
    tick = tick_request({(ids.INTERVAL, "n_intervals"): 0}, {}, [f"{ids.INTERVAL}.n_intervals"])
    body = {
        "open": opened,
        "search_index": TICK_INPUTS.index((shell_ids.URL, "search")),
        "tick": tick,
        "n_index": TICK_INPUTS.index((ids.INTERVAL, "n_intervals")),
        "view_id": ids.VIEW,
    }
    path.write_text(json.dumps(body))


def make_sources(data: Path) -> list[str]:
    from dashboard.generate import generate_demo_dataset

    specs = []
    for seed in (1, 2, 3):
        folder = data / f"fleet{seed}"
        if not (folder / "demo_dataset.parquet").exists():
            generate_demo_dataset(folder, seed=seed, fleet_size=1000, duration=15, formats=("parquet",), progress=False)
        specs.append(str(folder / "demo_dataset.parquet"))
    return specs


def run_locust(base: str, users: int, seconds: int, work: Path, env: dict) -> dict:
    prefix = work / f"locust-{users}"
    subprocess.run(
        [str(locust_binary()), "-f", str(HERE / "locustfile.py"), "--headless", "-H", base,
         "-u", str(users), "-r", str(max(10, users // 5)), "-t", f"{seconds}s", "--csv", str(prefix),
         "--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0"],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120,
    )
    with open(f"{prefix}_stats.csv") as fh:
        rows = {row["Name"]: row for row in csv.DictReader(fh)}
    tick = rows.get("tick", {})
    total = rows["Aggregated"]
    return {
        "users": users,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "tick_median_ms": float(tick.get("50%", "nan")),
        "tick_p95_ms": float(tick.get("95%", "nan")),
        "tick_rps": float(tick.get("Requests/s", "nan")),
    }


def bench(kind: str, args, data: Path, work: Path, specs: list[str], redis_url: str | None) -> None:
    env = {
        "FLEET_DATA_ROOTS": str(data),
        "FLEET_DATA": specs[0],
        "FLEET_SCORER_SOURCES": ";".join(specs[1:]),
        "FLEET_DEMO_DIR": str(work / "no-demo"),
    }
    if redis_url:
        env["FLEET_CACHE_URL"] = redis_url
        env["FLEET_JOBS_URL"] = redis_url
    server = Gunicorn(env, workers=2, cwd=work, log=work / f"gunicorn-{kind}.log",
                      extra=["--access-logfile", "/dev/null"])
    server.start()
    try:
        wait_until(lambda: server.get("/health")[0] == 200, 60, "the server")
        locust_env = {**os.environ, "FLEET_BENCH_SOURCES": ";".join(specs),
                      "FLEET_BENCH_TEMPLATES": str(work / "templates.json")}
        head = run_locust(server.base, args.users, args.seconds, work, locust_env)
        print(f"{kind}: {head['users']} clients x {args.seconds} s: {head['requests']} requests, "
              f"{head['failures']} errors, tick median {head['tick_median_ms']:.0f} ms, "
              f"p95 {head['tick_p95_ms']:.0f} ms, {head['tick_rps']:.1f} ticks/s", flush=True)
        crossed = None
        for users in args.steps:
            step = run_locust(server.base, users, args.step_seconds, work, locust_env)
            print(f"{kind}:   {users} clients x {args.step_seconds} s: p95 {step['tick_p95_ms']:.0f} ms, "
                  f"{step['failures']} errors of {step['requests']}", flush=True)
            if step["tick_p95_ms"] > 1000:
                crossed = users
                break
        print(f"{kind}: p95 crosses 1 s at " + (f"{crossed} clients" if crossed else f"more than {args.steps[-1]} clients"), flush=True)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--steps", default="10,25,50,75,150", help="client counts to step through after the headline")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--only", choices=("diskcache", "redis"), default=None)
    args = parser.parse_args()
    args.steps = [int(s) for s in args.steps.split(",") if s]
    locust_binary()
    with tempfile.TemporaryDirectory(prefix="fleet-load-") as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "data"
        data.mkdir()
        specs = make_sources(data)
        templates(tmp_path / "templates.json")
        print(f"machine: {os.cpu_count()} cores; gunicorn -w 2; sources: 3 x 1,000 servers", flush=True)
        if args.only in (None, "diskcache"):
            work = tmp_path / "diskcache"
            work.mkdir()
            (work / "templates.json").write_text((tmp_path / "templates.json").read_text())
            bench("diskcache", args, data, work, specs, None)
        if args.only in (None, "redis"):
            work = tmp_path / "redis"
            work.mkdir()
            (work / "templates.json").write_text((tmp_path / "templates.json").read_text())
            with redis_server(work / "redis") as redis:
                bench("redis", args, data, work, specs, redis.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
