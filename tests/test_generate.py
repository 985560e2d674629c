"""The generator: rows, ground truth, reproducibility, atomic files and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard import generate, schema
from dashboard.datasets import LOCK_FILE
from dashboard.errors import CancelledError, OutputExistsError, ScenarioError, WriteError
from dashboard.generate import (
    CRITICAL,
    FILE_NAMES,
    WARNING,
    generate_demo_dataset,
    generate_table,
    iter_tick_chunks,
    main,
    ticks_per_group,
)
from dashboard.scenario import list_scenarios, load_scenario, parse_scenario
from dashboard.sources import open_source

PROJECT = Path(__file__).resolve().parents[1]
BUNDLED = [info.name for info in list_scenarios()]  # tests/test_scenario.py pins the list
METADATA_KEYS = {
    "schema_version",
    "scenario",
    "scenario_name",
    "seed",
    "tick_seconds",
    "start_time",
    "duration_s",
    "n_ticks",
    "n_servers",
    "n_rows",
    "profiles",
    "phases",
    "affected_servers",
    "disturbances",
    "hot_servers",
    "columns",
    "files",
}


def visible(folder) -> dict[str, bytes]:
    """The folder's files as a user lists them (hidden bookkeeping files left out)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def frame(scenario) -> tuple[pd.DataFrame, dict]:
    ds = generate_table(scenario)
    return ds.table.to_pandas(), ds.metadata


@pytest.fixture(scope="module")
def default_frame():
    return frame(load_scenario("default"))


# -- the rows ----------------------------------------------------------------------------


def test_default_table_layout(default_frame):
    df, meta = default_frame
    assert len(df) == 1200 == meta["n_rows"]
    assert list(df.columns) == list(schema.ALL_COLUMNS)
    ds = generate_table(load_scenario("default"))
    fields = ds.table.schema
    assert fields.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    for name in (schema.SERVER, schema.PROFILE, schema.STATE, schema.PHASE):
        assert pa.types.is_dictionary(fields.field(name).type), name
    for name in schema.METRIC_NAMES:
        assert fields.field(name).type == pa.float64()
    assert fields.field(schema.PROBLEM_CHILD).type == pa.bool_()
    assert "files" not in ds.metadata


def test_rows_sorted_by_time_then_fleet_order(default_frame):
    df, _ = default_frame
    names = [f"{p}-{i:03d}" for p in ("web", "database", "cache", "ml_compute") for i in range(5)]
    assert df["server_name"].astype(str).tolist() == names * 60
    ts = df["timestamp"].to_numpy()
    assert (np.diff(ts[::20]) == np.timedelta64(5, "s")).all()
    assert df["timestamp"].iloc[0] == pd.Timestamp("2025-01-01T00:00:00Z")
    assert (df.groupby("timestamp").size() == 20).all()
    assert (
        df["profile"].astype(str) == df["server_name"].astype(str).str.rsplit("-", n=1).str[0]
    ).all()


def test_values_lie_in_their_ranges():
    df, _ = frame(load_scenario("memory_leak"))
    for metric in schema.METRICS:
        col = df[metric.name]
        assert col.notna().all(), metric.name
        assert (col >= metric.low).all() and (col <= metric.high).all(), metric.name
    assert set(df["state"].astype(str)) <= set(schema.STATES)


@pytest.mark.parametrize("minutes", [5, 7, 10, 13.3, 60])
def test_phases_at_the_right_ticks(minutes):
    sc = load_scenario("default").resolved(duration_min=minutes)
    df, meta = frame(sc)
    healthy = df[~df["problem_child"]]
    per_tick = (
        healthy.groupby("timestamp", sort=True)["incident_phase"].first().astype(str).tolist()
    )
    assert len(per_tick) == sc.n_ticks == meta["n_ticks"]
    for phase in meta["phases"]:
        # Tick k is in the phase whose [start, end) holds k * tick.
        expected = [
            k for k in range(sc.n_ticks) if phase["start_s"] <= k * sc.tick_s < phase["end_s"]
        ]
        assert expected == list(range(phase["start_tick"], phase["end_tick"]))
        assert {per_tick[k] for k in expected} <= {phase["name"]}
    scale = minutes / 5
    assert [p["start_s"] for p in meta["phases"]] == pytest.approx(
        [0, 90 * scale, 150 * scale, 210 * scale]
    )
    assert meta["phases"][-1]["end_tick"] == sc.n_ticks


def test_phase_times_in_metadata():
    _, meta = frame(load_scenario("default"))
    assert [
        (p["name"], p["kind"], p["start_time"], p["end_time"], p["start_tick"])
        for p in meta["phases"]
    ] == [
        ("stable", "stable", "2025-01-01T00:00:00Z", "2025-01-01T00:01:30Z", 0),
        ("escalation", "escalation", "2025-01-01T00:01:30Z", "2025-01-01T00:02:30Z", 18),
        ("peak", "peak", "2025-01-01T00:02:30Z", "2025-01-01T00:03:30Z", 30),
        ("recovery", "recovery", "2025-01-01T00:03:30Z", "2025-01-01T00:05:00Z", 42),
    ]


@pytest.mark.parametrize("name", BUNDLED)
def test_affected_servers_match_metadata(name):
    df, meta = frame(load_scenario(name))
    flagged = df.loc[df["problem_child"], "server_name"].astype(str).unique().tolist()
    listed = [a["server_name"] for a in meta["affected_servers"]]
    assert flagged == listed
    for a in meta["affected_servers"]:
        assert set(a) == {"server_name", "profile", "reason", "delay_s", "metrics"}
        assert a["reason"] and a["metrics"]
    # problem_child is constant per server
    assert (df.groupby("server_name", observed=True)["problem_child"].nunique() == 1).all()


@pytest.mark.parametrize("seed", [42, 0, 1, 7, 12345])
def test_affected_cpu_80_to_90_during_peak(seed):
    df, _ = frame(load_scenario("default").resolved(seed=seed, fleet_size=40))
    peak = df[df["problem_child"] & (df["incident_phase"] == "peak")]
    assert len(peak) == 4 * 12
    assert peak["cpu_pct"].between(80, 90).all()
    baseline = df[~df["problem_child"]].groupby("profile", observed=True)["latency_ms"].median()
    latency_x = peak["latency_ms"].to_numpy() / baseline.loc[peak["profile"].astype(str)].to_numpy()
    assert (latency_x > 3).all()
    assert (peak["error_rate"] >= 0.08).all()
    assert (peak["state"].astype(str).isin(["warning", "critical_issue"])).all()


def test_escalation_rises_and_recovery_falls(default_frame):
    df, _ = default_frame
    hit = df[df["problem_child"]]
    by_tick = hit.groupby("timestamp")["cpu_pct"].mean().to_numpy()
    stable, escalation, recovery = by_tick[:18], by_tick[18:30], by_tick[42:]
    assert escalation[:4].mean() < escalation[4:8].mean() < escalation[8:].mean()
    assert escalation[-4:].mean() > stable.mean() + 20
    assert recovery[:4].mean() > recovery[-4:].mean() + 20
    assert abs(recovery[-3:].mean() - stable.mean()) < 10


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("seed", [42, 3])
def test_healthy_servers_stay_healthy(name, seed):
    df, meta = frame(load_scenario(name).resolved(seed=seed, fleet_size=60))
    # servers that disturbances touch or that normally run hot are healthy but not quiet
    touched = {s for d in meta["disturbances"] for s in (*d["servers"], *d["peers"])}
    touched |= {h["server_name"] for h in meta["hot_servers"]}
    healthy = df[~df["problem_child"] & ~df["server_name"].isin(touched)]
    assert (healthy["cpu_pct"] < WARNING["cpu_pct"]).all()
    assert (healthy["mem_pct"] < WARNING["mem_pct"]).all()
    assert (healthy["error_rate"] < WARNING["error_rate"]).all()
    assert (healthy["state"] == "online").all()
    assert (healthy["container_oom"] == 0).all()
    # ... but they are not flat: daily rhythm, noise and spikes move them.
    assert healthy.groupby("server_name", observed=True)["cpu_pct"].std().min() > 0.5


def test_healthy_servers_have_short_harmless_spikes():
    sc = load_scenario("default").resolved(fleet_size=200, duration_min=60)
    plan = generate._plan(sc)
    spikes = generate._spikes(plan, 0, sc.n_ticks) > 0
    assert spikes.sum() > 50  # they exist
    # Every spike lasts one or two ticks.
    padded = np.vstack([np.zeros((1, 200), bool), spikes, np.zeros((1, 200), bool)]).astype(np.int8)
    edges = np.diff(padded, axis=0)
    starts, ends = np.nonzero(edges.T == 1), np.nonzero(edges.T == -1)
    lengths = ends[1] - starts[1]
    assert set(np.unique(lengths)) <= {1, 2} and 2 in lengths and 1 in lengths
    # ... and they stay harmless on healthy servers.
    df, _ = frame(sc)
    healthy = df[~df["problem_child"]]
    assert healthy["cpu_pct"].max() < WARNING["cpu_pct"]
    assert (healthy["state"] == "online").all()


def test_spikes_do_not_depend_on_chunking():
    sc = load_scenario("default").resolved(fleet_size=50, duration_min=10)
    plan = generate._plan(sc)
    whole = generate._spikes(plan, 0, sc.n_ticks)
    parts = np.vstack(
        [generate._spikes(plan, k, min(k + 7, sc.n_ticks)) for k in range(0, sc.n_ticks, 7)]
    )
    np.testing.assert_array_equal(whole, parts)


def test_state_follows_the_metrics():
    df, _ = frame(load_scenario("cascading_failure"))
    baseline = {p: v[2] for p, v in generate.PROFILE_BASELINES.items()}
    lat_x = df["latency_ms"] / df["profile"].astype(str).map(baseline)
    critical = (
        (df["cpu_pct"] >= CRITICAL["cpu_pct"])
        | (df["mem_pct"] >= CRITICAL["mem_pct"])
        | (df["error_rate"] >= CRITICAL["error_rate"])
        | (lat_x >= CRITICAL["latency_x"])
    )
    state = df["state"].astype(str)
    assert (state[critical] == "critical_issue").all()
    assert (state[state == "online"].index.isin(df.index[~critical])).all()
    assert {"online", "warning", "critical_issue"} <= set(state)


def test_delayed_group_enters_phases_later():
    df, meta = frame(load_scenario("cascading_failure"))
    by = {a["server_name"]: a["delay_s"] for a in meta["affected_servers"]}
    assert by["database-000"] == 0 and by["web-000"] == 60
    first_peak = (
        df[df["incident_phase"] == "peak"].groupby("server_name", observed=True)["timestamp"].min()
    )
    assert first_peak["database-000"] == pd.Timestamp("2025-01-01T00:03:30Z")
    assert first_peak["web-000"] == pd.Timestamp("2025-01-01T00:04:30Z")
    assert first_peak["cache-000"] == pd.Timestamp("2025-01-01T00:03:30Z")  # healthy: fleet clock


def test_memory_leak_ends_in_oom_kills():
    df, meta = frame(load_scenario("memory_leak"))
    kills = df[df["container_oom"] > 0]
    assert len(kills) >= 4
    assert set(kills["server_name"].astype(str)) == {"web-001", "web-003"}
    assert (kills["state"] == "offline").all()
    assert (kills["mem_pct"] < 50).all()
    assert "container_oom" in meta["affected_servers"][0]["metrics"]
    leak = df[(df["server_name"] == "web-001") & (df["incident_phase"] == "leak")][
        "mem_pct"
    ].to_numpy()
    assert leak[-5:].mean() > leak[:5].mean() + 20


@pytest.mark.parametrize("name", BUNDLED)
def test_every_scenario_is_reproducible_in_memory(name):
    a = generate_table(load_scenario(name))
    b = generate_table(load_scenario(name))
    assert a.table.equals(b.table) and a.metadata == b.metadata


def test_different_seeds_give_different_data():
    a = generate_table(load_scenario("default")).table
    b = generate_table(load_scenario("default").resolved(seed=43)).table
    assert not a.equals(b)
    assert a.column("cpu_pct").to_pylist() != b.column("cpu_pct").to_pylist()


def test_chunks_equal_the_whole_table():
    sc = load_scenario("default").resolved(fleet_size=5000, duration_min=2)
    assert ticks_per_group(5000) == 24 == sc.n_ticks
    chunks = list(iter_tick_chunks(sc))
    assert len(chunks) == 1 and chunks[0].num_rows == 24 * 5000
    sc = sc.resolved(duration_min=10)  # 120 ticks: five blocks
    chunks = list(iter_tick_chunks(sc))
    assert [c.num_rows for c in chunks] == [120_000] * 5
    whole = generate_table(sc).table
    assert pa.concat_tables(chunks).equals(whole)


def test_in_memory_generation_is_fast_enough():
    import time

    sc = load_scenario("default").resolved(fleet_size=1000)
    generate_table(sc)
    started = time.perf_counter()
    generate_table(sc)
    assert time.perf_counter() - started < 1.0


def test_csv_timestamps_share_one_format_with_subsecond_ticks():
    sc = load_scenario("default").resolved(tick_s=0.5, fleet_size=2)
    times = pa.concat_tables(iter_tick_chunks(sc, csv=True)).column("timestamp").to_pylist()
    assert times[:4] == [
        "2025-01-01T00:00:00.000Z",
        "2025-01-01T00:00:00.000Z",
        "2025-01-01T00:00:00.500Z",
        "2025-01-01T00:00:00.500Z",
    ]
    assert all(len(t) == 24 and t.endswith("Z") for t in times)
    parsed = pd.to_datetime(pd.Series(times), utc=True)
    assert (parsed.diff().dropna().isin([pd.Timedelta(0), pd.Timedelta("500ms")])).all()


def test_start_time_can_be_set():
    ds = generate_table(load_scenario("default"), start="2024-06-01T12:00:00Z")
    assert ds.metadata["start_time"] == "2024-06-01T12:00:00Z"
    assert ds.table.column("timestamp")[0].as_py() == pd.Timestamp("2024-06-01T12:00:00Z")
    with pytest.raises(ScenarioError, match="start"):
        generate_table(load_scenario("default"), start="yesterday")


# -- files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    paths = generate_demo_dataset(out, progress=False)
    return out, paths


def test_writes_three_files(written):
    out, paths = written
    assert set(paths) == {"csv", "parquet", "metadata"}
    # the folder's lock stays (empty, reused); nothing else is left behind
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILE_NAMES.values(), LOCK_FILE])


def test_metadata_document(written):
    out, paths = written
    meta = json.loads(paths["metadata"].read_text())
    assert set(meta) == METADATA_KEYS
    assert meta["schema_version"] == 2 and meta["scenario_name"] == "default" and meta["seed"] == 42
    assert (meta["n_ticks"], meta["n_servers"], meta["n_rows"]) == (60, 20, 1200)
    assert meta["tick_seconds"] == 5 and meta["duration_s"] == 300
    assert meta["start_time"] == "2025-01-01T00:00:00Z"
    assert meta["profiles"] == {"web": 5, "database": 5, "cache": 5, "ml_compute": 5}
    assert parse_scenario(meta["scenario"]) == load_scenario("default")
    cols = {c["name"]: c for c in meta["columns"]}
    assert list(cols) == list(schema.ALL_COLUMNS)
    assert cols["cpu_pct"]["unit"] == "%" and cols["latency_ms"]["unit"] == "ms"
    assert all(set(c) == {"name", "type", "unit", "description"} for c in meta["columns"])
    for kind in ("csv", "parquet"):
        entry = meta["files"][paths[kind].name]
        data = paths[kind].read_bytes()
        record = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        assert entry == (record if kind == "csv" else {**record, "page_checksums": True})


def test_parquet_pages_carry_checksums(written):
    _, paths = written
    data = bytearray(paths["parquet"].read_bytes())
    pq.read_table(paths["parquet"], page_checksum_verification=True)  # intact: reads
    data[len(data) // 3] ^= 0x01  # one bit in a data page
    broken = paths["parquet"].with_name("flipped.parquet")
    broken.write_bytes(bytes(data))
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        pq.read_table(broken, page_checksum_verification=True)


def test_parquet_layout_and_content(written):
    _, paths = written
    pf = pq.ParquetFile(paths["parquet"])
    table = pf.read()
    assert table.equals(generate_table(load_scenario("default")).table)
    assert pf.schema_arrow.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert pa.types.is_dictionary(pf.schema_arrow.field("server_name").type)


def test_parquet_row_groups_hold_whole_ticks(tmp_path):
    paths = generate_demo_dataset(
        tmp_path, fleet_size=3000, duration=5, formats="parquet", progress=False
    )
    pf = pq.ParquetFile(paths["parquet"])
    assert pf.metadata.num_row_groups == 2
    for i in range(pf.metadata.num_row_groups):
        rows = pf.metadata.row_group(i).num_rows
        assert rows % 3000 == 0 and rows <= 130_000
    assert "csv" not in paths and not (tmp_path / FILE_NAMES["csv"]).exists()
    meta = json.loads(paths["metadata"].read_text())
    assert list(meta["files"]) == [FILE_NAMES["parquet"]]


def test_csv_matches_parquet(written):
    _, paths = written
    text = paths["csv"].read_text()
    first = text.splitlines()[:2]
    assert first[0] == ",".join(schema.ALL_COLUMNS)
    assert first[1].startswith("2025-01-01T00:00:00Z,web-000,web,")
    csv = pd.read_csv(paths["csv"])
    par = pd.read_parquet(paths["parquet"])
    csv_ts = pd.to_datetime(csv["timestamp"], utc=True).astype("datetime64[ms, UTC]")
    assert (csv_ts == par["timestamp"].astype("datetime64[ms, UTC]")).all()
    for name in schema.METRIC_NAMES:
        np.testing.assert_array_equal(csv[name].to_numpy(), par[name].to_numpy())
    assert csv["problem_child"].dtype == bool
    assert (csv["state"] == par["state"].astype(str)).all()
    assert (csv["incident_phase"] == par["incident_phase"].astype(str)).all()


def test_byte_identical_across_runs_and_processes(tmp_path):
    a = generate_demo_dataset(tmp_path / "a", "memory_leak", progress=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard.generate",
            "--scenario",
            "memory_leak",
            "--output-dir",
            str(tmp_path / "b"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for name in FILE_NAMES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    c = generate_demo_dataset(tmp_path / "c", "memory_leak", seed=1, progress=False)
    assert a["parquet"].read_bytes() != c["parquet"].read_bytes()
    assert a["csv"].read_bytes() != c["csv"].read_bytes()


def test_existing_output_needs_force(tmp_path):
    generate_demo_dataset(tmp_path, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(OutputExistsError, match="--force"):
        generate_demo_dataset(tmp_path, seed=5, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    generate_demo_dataset(tmp_path, seed=5, force=True, progress=False)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(after) == set(before) and after != before


def test_force_with_fewer_formats_removes_the_stale_file(tmp_path):
    generate_demo_dataset(tmp_path, progress=False)
    generate_demo_dataset(tmp_path, seed=9, formats="parquet", force=True, progress=False)
    assert sorted(visible(tmp_path)) == [FILE_NAMES["parquet"], FILE_NAMES["metadata"]]


def test_failure_mid_write_leaves_nothing_behind(tmp_path, monkeypatch):
    generate_demo_dataset(tmp_path, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = generate._table
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(generate, "_table", failing)
    with pytest.raises(WriteError) as info:
        generate_demo_dataset(tmp_path, fleet_size=10000, duration=5, force=True, progress=False)
    assert str(info.value) == (
        f"{tmp_path}: cannot write the dataset: no space left on device; nothing was changed"
    )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # old data intact
    fresh = tmp_path / "fresh"
    with pytest.raises(WriteError):
        calls["n"] = 0
        generate_demo_dataset(fresh, fleet_size=10000, duration=5, progress=False)
    assert [p.name for p in fresh.iterdir()] == [LOCK_FILE]


def test_progress_callback_reports_every_tick(tmp_path):
    seen = []
    generate_demo_dataset(
        tmp_path,
        fleet_size=6000,
        duration=5,
        formats=["parquet"],
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (60, 60)
    assert len(seen) == 3 and all(t == 60 for _, t in seen)


def test_progress_bar_when_asked(tmp_path, capsys, monkeypatch):
    # What the bar counted, read from the bar itself: its last redraw depends on timing.
    import tqdm

    counted = []

    class Recording(tqdm.tqdm):
        def close(self):
            if not self.disable:  # tqdm closes again when collected
                counted.append((self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm, "tqdm", Recording)
    generate_demo_dataset(tmp_path, fleet_size=40, duration=5, formats="parquet", progress=True)
    assert counted == [(60, 60)]
    assert "generating" in capsys.readouterr().err  # drawn when the bar starts


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"formats": "xlsx"}, ScenarioError, "unknown format"),
        ({"formats": []}, ScenarioError, "at least one"),
        ({"scenario": "missing"}, ScenarioError, "available scenarios"),
        ({"fleet_size": 0}, ScenarioError, "fleet.size"),
        ({"tick": 0.01}, ScenarioError, "tick_s"),
    ],
)
def test_api_refusals(tmp_path, kwargs, error, words):
    with pytest.raises(error, match=words):
        generate_demo_dataset(tmp_path, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_success(tmp_path, capsys):
    assert (
        main(
            [
                "--output-dir",
                str(tmp_path),
                "--duration",
                "2",
                "--fleet-size",
                "8",
                "--seed",
                "3",
                "--tick",
                "10",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "8 servers x 12 ticks of 10 s" in out
    meta = json.loads((tmp_path / FILE_NAMES["metadata"]).read_text())
    assert (meta["seed"], meta["n_servers"], meta["n_ticks"], meta["duration_s"]) == (3, 8, 12, 120)


def test_cli_help_explains_every_flag(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--scenario",
        "--output-dir",
        "--duration",
        "--fleet-size",
        "--seed",
        "--tick",
        "--format",
        "--force",
    ):
        assert flag in out
    assert (
        "(default: demo_data)" in " ".join(out.split()) and "minutes" in out and "Exit codes" in out
    )


def test_cli_list(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in BUNDLED:
        assert name in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--scenario", "missing"], "available scenarios"),
        (["--fleet-size", "0"], "--fleet-size"),
        (["--fleet-size", "many"], "--fleet-size"),
        (["--fleet-size", "1000000000"], "fleet.size"),
        (["--duration", "-1"], "--duration"),
        (["--duration", "nan"], "--duration"),
        (["--duration", "5256000"], "duration_s"),
        (["--tick", "0"], "--tick"),
        (["--seed", "-4"], "--seed"),
        (["--format", "xml"], "unknown format"),
        (["--bogus"], "unrecognized arguments"),
        (["--start", "soon"], "start"),
        (["--scenario", "memory_leak", "--fleet-size", "4"], "no server named 'web-003'"),
        (["--scenario", "../etc/passwd"], "not found"),
    ],
)
def test_cli_bad_input_exits_2_with_one_clear_message(tmp_path, capsys, argv, words):
    assert main(["--output-dir", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_existing_output_exits_2(tmp_path, capsys):
    assert main(["--output-dir", str(tmp_path), "--quiet"]) == 0
    assert main(["--output-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert main(["--output-dir", str(tmp_path), "--quiet", "--force"]) == 0


def test_cli_write_failure_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["--output-dir", str(blocker / "sub"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {blocker / 'sub'}: cannot create the folder: not a directory\n"


def test_cli_module_entry_point_quiet_when_piped(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard.generate",
            "--output-dir",
            str(tmp_path),
            "--fleet-size",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    assert "4 servers x 60 ticks" in proc.stdout


# -- one writer per folder, interrupted writers, full disks -----------------------------------

HELD_GENERATION = """
import sys
from dashboard.generate import generate_demo_dataset

def hold_at_first_block(done, total):
    if done < total:
        print("holding", flush=True)
        sys.stdin.readline()

generate_demo_dataset(
    sys.argv[1], seed=1, fleet_size=3000, duration=5, formats="parquet",
    progress=hold_at_first_block,
)
"""


@pytest.fixture
def held_generation(tmp_path):
    """A generator process (seed 1) stopped half-way through writing ``tmp_path / "out"``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HELD_GENERATION, str(tmp_path / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "holding", proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(60)
        proc.stdout.close()
        proc.stderr.close()
        proc.stdin.close()


def _cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.generate", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(120) == 0, proc.stderr.read()


def test_cli_second_generation_into_a_busy_folder_is_refused(tmp_path, held_generation):
    out = tmp_path / "out"
    second = _cli("--output-dir", str(out), "--seed", "2", "--fleet-size", "4", "--quiet")
    assert second.returncode == 1
    assert second.stderr == (
        f"error: {out}: another dataset is being written into this folder by process "
        f"{held_generation.pid} since {json.loads((out / '.dataset-writer.json').read_text())['since']}; "
        "wait for it (--wait), or write into another folder\n"
    )
    _release(held_generation)
    meta = json.loads((out / FILE_NAMES["metadata"]).read_text())
    assert meta["seed"] == 1 and meta["n_servers"] == 3000  # the first generation, whole


def test_cli_wait_waits_then_honours_force(tmp_path, held_generation):
    out = tmp_path / "out"
    args = ("--output-dir", str(out), "--seed", "2", "--fleet-size", "4", "--quiet")
    gave_up = _cli(*args, "--wait", "0.5")
    assert gave_up.returncode == 1 and "gave up after waiting 0.5 s" in gave_up.stderr
    waiting = subprocess.Popen(
        [sys.executable, "-m", "dashboard.generate", *args, "--wait", "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _release(held_generation)
    assert waiting.wait(120) == 0, waiting.stderr.read()
    waiting.stdout.close()
    waiting.stderr.close()
    meta = json.loads((out / FILE_NAMES["metadata"]).read_text())
    assert meta["seed"] == 2 and meta["n_servers"] == 4  # written after the first finished


def test_leftovers_of_a_killed_generation_are_removed_by_the_next(tmp_path, held_generation):
    out = tmp_path / "out"
    held_generation.kill()  # kill -9 half-way through the Parquet file
    held_generation.wait(60)
    leftovers = [p for p in out.rglob("*") if p.is_file() and p.name != LOCK_FILE]
    assert leftovers and all(p.relative_to(out).parts[0].startswith(".") for p in leftovers)
    assert sum(p.stat().st_size for p in leftovers) > 0
    assert visible(out) == {}
    legacy = out / ".demo_dataset.parquet.0123abcd4567.tmp"  # what earlier versions left
    legacy.write_bytes(b"x" * 4096)
    proc = _cli("--output-dir", str(out), "--fleet-size", "4", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILE_NAMES.values(), LOCK_FILE])


def test_cancel_stops_the_generation_and_keeps_the_old_dataset(tmp_path):
    generate_demo_dataset(tmp_path, fleet_size=4, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        stop.set()  # the user pressed "cancel" after the first block

    with pytest.raises(CancelledError, match="cancelled; nothing was changed"):
        generate_demo_dataset(
            tmp_path, fleet_size=6000, duration=5, force=True, progress=progress, cancel=stop
        )
    assert seen == [20]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


LIMITED_FILE_SIZE = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
sys.argv = sys.argv[1:]
if sys.argv[0] == "-m":
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("entry", ["run.py", "generate"])
def test_a_disk_that_cannot_take_the_data_gives_one_clear_message(tmp_path, entry):
    """No more room for the files (here a file size limit; a full disk reads the same):
    run.py and generate both say so in one line, and leave nothing behind."""
    demo = tmp_path / "demo"
    if entry == "run.py":
        argv = [str(PROJECT / "run.py"), "--no-browser", "--port", "1", "--fleet-size", "2000"]
        folder = demo / "demo-n2000"
    else:
        argv = ["-m", "dashboard.generate", "--output-dir", str(demo), "--fleet-size", "2000"]
        folder = demo
    proc = subprocess.run(
        [sys.executable, "-c", LIMITED_FILE_SIZE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "FLEET_DEMO_DIR": str(demo)},
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {folder}: cannot write the dataset: file too large for this file system "
        "(or the process's file size limit); nothing was changed"
    )
    assert [p.name for p in folder.rglob("*")] == [LOCK_FILE]


def test_cli_start_the_readers_cannot_hold_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--output-dir", str(out), "--start", "2262-06-01T00:00:00Z"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: start: the dataset would run from 2262-06-01T00:00:00Z to 2262-06-01T00:04:55Z, "
        "outside 1677-09-21T00:12:43.146Z to 2262-04-11T23:47:16.854Z, the times that "
        "nanosecond timestamps can hold\n"
    )
    assert main(["--output-dir", str(out), "--start", "1600-01-01T00:00:00Z"]) == 2
    assert "start: 1600-01-01T00:00:00Z is before 1677-09-21" in capsys.readouterr().err
    assert not out.exists()


def test_the_latest_start_allowed_gives_a_dataset_the_readers_open(tmp_path):
    paths = generate_demo_dataset(
        tmp_path, start="2262-04-11T23:40:00Z", duration=5, progress=False
    )
    for kind in ("csv", "parquet"):
        source = open_source(paths[kind], data_roots=[tmp_path])
        assert str(source.timestamps()[-1]).startswith("2262-04-11T23:44:55")


# -- disturbances and hot servers ------------------------------------------------------


def _disturbed(**event) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The same small scenario with and without one disturbance: (with, without, metadata)."""
    base = {
        "schema_version": 1,
        "name": "calm",
        "description": "0:00-5:00 stable; nothing happens but the disturbance under test.",
        "duration_s": 300,
        "tick_s": 5,
        "seed": 3,
        "fleet": {"size": 8, "mix": {"web": 1, "database": 1}},
        "phases": [{"name": "stable", "start": 0, "end": 300}],
        "affected": [{"rule": "servers", "servers": ["web-003"]}],
    }
    calm, _ = frame(parse_scenario(base))
    busy, meta = frame(parse_scenario({**base, "disturbances": [event]}))
    return busy, calm, meta


def _cells(df: pd.DataFrame, server: str, start_s: float, end_s: float) -> pd.DataFrame:
    t = (df["timestamp"] - df["timestamp"].min()).dt.total_seconds()
    return df[(df["server_name"] == server) & (t >= start_s) & (t < end_s)]


def test_a_disturbance_is_never_labelled_an_incident():
    busy, calm, meta = _disturbed(
        kind="batch_job", start=60, end=180, rule="servers", servers=["database-000"]
    )
    assert busy["incident_phase"].tolist() == calm["incident_phase"].tolist()
    assert busy["problem_child"].tolist() == calm["problem_child"].tolist()
    assert "database-000" not in {a["server_name"] for a in meta["affected_servers"]}
    (event,) = meta["disturbances"]
    assert event["kind"] == "batch_job" and event["servers"] == ["database-000"]
    assert event["start_time"] == "2025-01-01T00:01:00Z" and "cpu_pct" in event["metrics"]
    # only database-000, only inside its window, moved
    outside = busy[busy["server_name"] != "database-000"]
    pd.testing.assert_frame_equal(outside, calm[calm["server_name"] != "database-000"])


def test_a_batch_job_pins_cpu_and_disk_but_leaves_latency_and_errors():
    busy, calm, _ = _disturbed(kind="batch_job", start=60, end=180, rule="servers", servers=["database-000"])
    hot, quiet = _cells(busy, "database-000", 70, 170), _cells(calm, "database-000", 70, 170)
    assert hot["cpu_pct"].min() >= 93 and hot["disk_io_mb_s"].mean() > 5 * quiet["disk_io_mb_s"].mean()
    np.testing.assert_array_equal(hot["latency_ms"], quiet["latency_ms"])
    np.testing.assert_array_equal(hot["error_rate"], quiet["error_rate"])
    after = _cells(busy, "database-000", 185, 300)
    np.testing.assert_array_equal(after["cpu_pct"], _cells(calm, "database-000", 185, 300)["cpu_pct"])


def test_a_busy_hour_rises_and_falls_across_a_tier():
    busy, calm, _ = _disturbed(kind="busy_hour", start=0, end=300, rule="profiles", profiles=["web"])
    web = busy[busy["profile"] == "web"].groupby("timestamp")["net_in_mb_s"].mean().to_numpy()
    was = calm[calm["profile"] == "web"].groupby("timestamp")["net_in_mb_s"].mean().to_numpy()
    ratio = web / was
    assert ratio[28:32].mean() > 1.9 and ratio[:3].mean() < 1.1 and ratio[-3:].mean() < 1.1
    db = busy[busy["profile"] == "database"]
    pd.testing.assert_frame_equal(db, calm[calm["profile"] == "database"])


def test_a_deploy_restarts_its_servers_one_by_one():
    busy, _, _ = _disturbed(kind="deploy", start=30, end=270, rule="profiles", profiles=["web"], restart_s=10)
    down = busy[busy["state"] == "offline"]
    assert set(down["server_name"]) == {f"web-{i:03d}" for i in range(4)}
    first_down = down.groupby("server_name", observed=True)["timestamp"].min().sort_index()
    assert first_down.is_monotonic_increasing and first_down.nunique() == 4
    assert (down.groupby("server_name", observed=True).size() == 2).all()  # 10 s = 2 ticks each
    assert (down["cpu_pct"] < 10).all()


def test_a_failover_hands_traffic_to_its_peers_and_takes_it_back():
    busy, calm, meta = _disturbed(kind="failover", start=60, end=180, rule="servers", servers=["web-001"])
    assert meta["disturbances"][0]["peers"] == ["web-000", "web-002", "web-003"]
    moved = _cells(busy, "web-001", 70, 170)["net_in_mb_s"].mean() / _cells(calm, "web-001", 70, 170)["net_in_mb_s"].mean()
    peer = _cells(busy, "web-000", 70, 170)["net_in_mb_s"].mean() / _cells(calm, "web-000", 70, 170)["net_in_mb_s"].mean()
    assert moved < 0.1 and peer > 1.4
    np.testing.assert_array_equal(_cells(busy, "web-001", 190, 300)["net_in_mb_s"], _cells(calm, "web-001", 190, 300)["net_in_mb_s"])


def test_a_noisy_neighbour_slows_disk_and_raises_latency():
    busy, calm, _ = _disturbed(kind="noisy_neighbour", start=60, end=180, rule="servers", servers=["database-001"])
    b, c = _cells(busy, "database-001", 70, 170), _cells(calm, "database-001", 70, 170)
    assert b["latency_ms"].mean() > 1.3 * c["latency_ms"].mean()
    assert b["disk_io_mb_s"].mean() < 0.6 * c["disk_io_mb_s"].mean()


def test_effects_and_intensity_can_be_tuned():
    busy, calm, _ = _disturbed(
        kind="batch_job", start=60, end=180, rule="servers", servers=["web-000"],
        intensity=0.5, effects={"cpu_pct": {"mode": "level", "target": 70}},
    )
    cpu = _cells(busy, "web-000", 70, 170)["cpu_pct"]
    healthy = _cells(calm, "web-000", 70, 170)["cpu_pct"]
    np.testing.assert_allclose(cpu, np.round(0.5 * healthy + 0.5 * 70, 2), atol=0.011)


def test_normally_hot_servers_run_hot_and_stay_unlabelled():
    scenario = load_scenario("busy_fleet")
    df, meta = frame(scenario)
    ml = df[(df["profile"] == "ml_compute")]
    assert {h["server_name"] for h in meta["hot_servers"]} == set(ml["server_name"])
    assert ml["cpu_pct"].median() > 90 and ml["cpu_pct"].max() <= 99.5
    assert not ml["problem_child"].any() and set(ml["incident_phase"]) <= {"stable", "escalation", "peak", "recovery"}


def test_repeat_offender_labels_two_incidents_on_the_same_servers():
    df, meta = frame(load_scenario("repeat_offender"))
    db0 = df[df["server_name"] == "database-000"]
    kinds = {p["name"]: p["kind"] for p in meta["phases"]}
    in_incident = db0["incident_phase"].map(kinds).isin(["escalation", "peak"]).to_numpy()
    starts = np.flatnonzero(np.diff(in_incident.astype(int)) == 1)
    assert len(starts) == 2 and db0["problem_child"].all()
