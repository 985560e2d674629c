"""CSV, Parquet and directory sources: random access, windows, the seed API, detection, identity."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from dashboard import schema
from dashboard.errors import DataError
from dashboard.sources import DataSource, open_source


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_file_source_random_access(fmt, fleet_frame, write_csv, write_parquet):
    frame = fleet_frame(n_servers=3, n_ticks=5)
    path = write_csv(frame) if fmt == "csv" else write_parquet(frame)
    src = open_source(path.name)
    assert src.kind == fmt
    assert src.n_ticks() == 5 and len(src) == 5
    assert src.timestamps().dtype == np.dtype("datetime64[ns]")
    assert src.timestamps()[1] - src.timestamps()[0] == np.timedelta64(5, "s")
    assert src.servers()[schema.SERVER].tolist() == ["web-000", "database-001", "cache-002"]
    assert src.servers()[schema.PROFILE].tolist() == ["web", "database", "cache"]
    assert src.tick_seconds() == 5.0
    b = src.batch(2)
    assert list(b.columns[: len(schema.REQUIRED_COLUMNS)]) == list(schema.REQUIRED_COLUMNS)
    assert len(b) == 3
    assert str(b[schema.TIMESTAMP].dt.tz) == "UTC"
    expected = frame.iloc[6:9]
    np.testing.assert_allclose(b["cpu_pct"].to_numpy(), expected["cpu_pct"].to_numpy(), rtol=1e-6)
    assert b[schema.SERVER].tolist() == expected[schema.SERVER].tolist()
    pd.testing.assert_frame_equal(src.batch(-1), src.batch(4))
    assert src.metadata() is None
    assert src.live is False


@pytest.mark.parametrize("bad", [5, -6, 1.5, "1", True])
def test_batch_out_of_range_or_not_an_index(bad, fleet_frame, write_csv):
    src = open_source(write_csv(fleet_frame(n_ticks=5)).name)
    with pytest.raises(DataError):
        src.batch(bad)


def test_window_shape_dtype_and_server_axis(fleet_frame, write_parquet):
    src = open_source(write_parquet(fleet_frame(n_servers=4, n_ticks=10)).name)
    w = src.window(7, 3)
    assert w.end == 7 and w.n_ticks == 3 and w.n_servers == 4
    assert list(w.servers) == src.servers()[schema.SERVER].tolist()
    for name in schema.METRIC_NAMES:
        assert w.metrics[name].dtype == np.float32
        assert w.metrics[name].shape == (3, 4)
    np.testing.assert_array_equal(w.timestamps, src.timestamps()[5:8])
    np.testing.assert_allclose(w.metrics["cpu_pct"][-1], src.batch(7)["cpu_pct"].to_numpy())
    near_start = src.window(1, 60)
    assert near_start.n_ticks == 2
    assert src.window(-1, 2).end == 9
    assert w.phase is None and w.problem_child is None
    with pytest.raises(ValueError):
        w.metrics["cpu_pct"][0, 0] = 1.0  # windows are read-only views of the source
    with pytest.raises(DataError, match="window length"):
        src.window(3, 0)


def test_ground_truth_reaches_batch_and_window(fleet_frame, write_parquet):
    src = open_source(write_parquet(fleet_frame(n_servers=3, n_ticks=8, truth=True)).name)
    w = src.window(7, 8)
    assert w.phase.dtype == np.int8 and w.phase.shape == (8, 3)
    assert w.phase[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert w.problem_child.tolist() == [True, False, False]
    b = src.batch(4)
    assert b[schema.PHASE].tolist() == ["peak"] * 3
    assert b[schema.PROBLEM_CHILD].tolist() == [True, False, False]
    assert w.without_truth().phase is None


def test_custom_phase_names_use_the_metadata_kinds(fleet_frame, write_csv, data_dir):
    frame = fleet_frame(n_servers=2, n_ticks=4, truth=True)
    frame[schema.PHASE] = frame[schema.PHASE].map(
        {"stable": "calm", "escalation": "leak", "peak": "oom", "recovery": "after"}
    )
    path = write_csv(frame, "leak.csv")
    meta = {
        "phases": [
            {"name": "calm", "kind": "stable"},
            {"name": "leak", "kind": "escalation"},
            {"name": "oom", "kind": "peak"},
            {"name": "after", "kind": "recovery"},
        ],
        "tick_seconds": 5,
    }
    (data_dir / "leak_metadata.json").write_text(json.dumps(meta))
    src = open_source(path.name)
    assert src.metadata()["phases"][0]["name"] == "calm"
    assert src.window(3, 4).phase[:, 0].tolist() == [0, 1, 2, 3]


def test_unknown_phase_names_without_metadata_are_minus_one(fleet_frame, write_csv):
    frame = fleet_frame(n_servers=1, n_ticks=2, truth=True)
    frame[schema.PHASE] = ["warmup", "peak"]
    assert open_source(write_csv(frame).name).window(1, 2).phase[:, 0].tolist() == [-1, 2]


def test_seed_api(fleet_frame, write_csv):
    path = write_csv(fleet_frame(n_ticks=4))
    src = DataSource(str(path), data_format="auto")
    assert src.get_current_progress() == 0.0
    first = src.get_next_batch()
    assert first[schema.TIMESTAMP].nunique() == 1
    assert src.get_current_progress() == 0.25
    for _ in range(3):
        assert src.get_next_batch() is not None
    assert src.get_current_progress() == 1.0
    assert src.get_next_batch() is None
    src.reset()
    assert src.get_current_progress() == 0.0
    pd.testing.assert_frame_equal(src.get_next_batch(), first)
    src.seek(-1)
    assert src.cursor == 3
    with pytest.raises(DataError):
        src.seek(9)


def test_data_format_forces_the_kind(fleet_frame, data_dir):
    path = data_dir / "metrics.txt"
    fleet_frame().to_csv(path, index=False)
    assert DataSource(str(path), data_format="csv").kind == "csv"
    assert open_source(path.name).kind == "csv"  # detected from content


def test_parquet_without_extension_is_detected_from_content(fleet_frame, write_parquet):
    path = write_parquet(fleet_frame(), "export.bin")
    assert open_source(path.name).kind == "parquet"


def test_directory_and_glob_read_as_one_dataset(fleet_frame, write_csv, write_parquet, data_dir):
    frame = fleet_frame(n_servers=2, n_ticks=6)
    write_parquet(frame.iloc[:4], "parts/a.parquet")
    write_csv(frame.iloc[4:8], "parts/b.csv")
    write_parquet(frame.iloc[8:], "parts/c.parquet")
    (data_dir / "parts" / "notes.txt").write_text("ignored")
    src = open_source("dir:parts")
    assert src.kind == "dir" and src.n_ticks() == 6
    assert "3 files read as one dataset" in src.report()[0]
    assert open_source("parts").kind == "dir"
    glob_src = open_source("parts/*.parquet")
    assert glob_src.kind == "dir" and glob_src.n_ticks() == 4  # ticks 0, 1 from a; 4, 5 from c
    with pytest.raises(DataError, match="no .parquet or .csv files"):
        open_source("parts/*.json")


def test_empty_directory_is_refused(data_dir):
    (data_dir / "empty").mkdir()
    with pytest.raises(DataError, match="no .parquet or .csv files found"):
        open_source("dir:empty")


def test_identity_changes_when_the_file_changes(fleet_frame, write_csv):
    path = write_csv(fleet_frame(n_ticks=3))
    first = open_source(path.name).identity()
    assert open_source(path.name).identity() == first
    write_csv(fleet_frame(n_ticks=4))
    os.utime(path, ns=(1, 1))
    assert open_source(path.name).identity() != first
    assert open_source(path.name, tz="UTC").identity() != open_source(path.name).identity()


def test_generated_dataset_files_with_metadata(data_dir):
    from dashboard.generate import generate_demo_dataset

    paths = generate_demo_dataset(
        data_dir / "demo", "default", progress=False, fleet_size=8, duration=2
    )
    by_parquet = open_source(os.fspath(paths["parquet"].relative_to(data_dir)))
    by_csv = open_source(os.fspath(paths["csv"].relative_to(data_dir)))
    for source, path in ((by_parquet, paths["parquet"]), (by_csv, paths["csv"])):
        # nothing repaired; the file matches what its metadata records
        assert source.report() == [
            f"{path}: sha256 and size match its metadata (demo_dataset_metadata.json)"
        ]
    meta = by_parquet.metadata()
    assert meta["n_ticks"] == by_parquet.n_ticks() == by_csv.n_ticks()
    assert meta["n_servers"] == len(by_parquet.servers())
    w1, w2 = by_parquet.window(-1, 10), by_csv.window(-1, 10)
    for name in schema.METRIC_NAMES:
        np.testing.assert_allclose(w1.metrics[name], w2.metrics[name], rtol=1e-5)
    np.testing.assert_array_equal(w1.phase, w2.phase)
    affected = {a["server_name"] for a in meta["affected_servers"]}
    assert set(w1.servers[w1.problem_child]) == affected
    assert schema.OOM in w1.metrics
    assert by_parquet.tick_seconds() == meta["tick_seconds"]


def test_from_frame(fleet_frame):
    src = DataSource.from_frame(
        fleet_frame(n_ticks=3).rename(columns={"server_name": "host"}),
        columns={"host": "server_name"},
    )
    assert src.n_ticks() == 3 and src.kind == "frame"
    with pytest.raises(DataError):
        DataSource.from_frame("not a frame")
