"""Large Parquet files read lazily by row group give exactly what the in-memory reader gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard import schema
from dashboard.errors import DataError
from dashboard.sources import open_source
from dashboard.sources.lazy import LazyParquetSource


def _pair(path_name: str):
    lazy = open_source(path_name, lazy="true")
    eager = open_source(path_name, lazy="false")
    assert isinstance(lazy.source, LazyParquetSource)
    assert not isinstance(eager.source, LazyParquetSource)
    return lazy, eager


def _same_window(a, b):
    assert a.end == b.end
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.servers, b.servers)
    np.testing.assert_array_equal(a.profiles, b.profiles)
    for name in b.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
    for attr in ("phase", "problem_child"):
        x, y = getattr(a, attr), getattr(b, attr)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("row_group_size", [5, 7, 12, 1000])
def test_lazy_equals_eager(row_group_size, fleet_frame, write_parquet):
    # row groups of 5 or 7 rows cut ticks of 4 servers in pieces; 12 holds whole ticks
    path = write_parquet(
        fleet_frame(n_servers=4, n_ticks=9, truth=True), row_group_size=row_group_size
    )
    lazy, eager = _pair(path.name)
    assert lazy.n_ticks() == eager.n_ticks() == 9
    np.testing.assert_array_equal(lazy.timestamps(), eager.timestamps())
    pd.testing.assert_frame_equal(lazy.servers(), eager.servers())
    for i in (0, 3, 8, -1):
        pd.testing.assert_frame_equal(lazy.batch(i), eager.batch(i))
    for end, length in ((8, 3), (2, 60), (5, 1)):
        _same_window(lazy.window(end, length), eager.window(end, length))
    for i in range(9):  # now from the row groups the windows decoded
        pd.testing.assert_frame_equal(lazy.batch(i), eager.batch(i))
    cold = open_source(path.name, lazy="true")
    for i in range(9):  # decoding only the tick's rows
        pd.testing.assert_frame_equal(cold.batch(i), eager.batch(i))
    assert "read lazily by row group" in lazy.report()[0]


def test_lazy_with_late_servers_and_mapping(data_dir):
    rows = []
    for t in range(6):
        for s in ("a", "b") if t < 3 else ("a", "b", "c"):
            rows.append(
                {
                    "ts": pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=5 * t),
                    "host": s,
                    "cpu": float(t),
                    "kind": "web" if s != "c" else "cache",
                }
            )
    frame = pd.DataFrame(rows)
    frame.to_parquet(data_dir / "late.parquet", row_group_size=4)
    columns = {"ts": "timestamp", "host": "server_name", "cpu": "cpu_pct", "kind": "profile"}
    lazy = open_source("late.parquet", lazy="true", columns=columns)
    eager = open_source("late.parquet", lazy="false", columns=columns)
    assert lazy.servers()[schema.SERVER].tolist() == ["a", "b", "c"]
    assert lazy.servers()[schema.PROFILE].tolist() == ["web", "web", "cache"]
    _same_window(lazy.window(5, 6), eager.window(5, 6))
    assert np.isnan(lazy.window(5, 6).metrics["mem_pct"]).all()


def test_unsorted_large_file_falls_back_to_memory(fleet_frame, write_parquet):
    frame = fleet_frame(n_servers=3, n_ticks=5).iloc[::-1]
    path = write_parquet(frame)
    src = open_source(path.name, lazy="true")
    assert not isinstance(src.source, LazyParquetSource)
    assert "read into memory, not lazily: it is not sorted by timestamp" in "\n".join(src.report())


def test_auto_mode_uses_the_row_threshold(fleet_frame, write_parquet):
    path = write_parquet(fleet_frame(n_servers=3, n_ticks=5))
    assert isinstance(open_source(path.name, lazy_rows=10).source, LazyParquetSource)
    assert not isinstance(open_source(path.name).source, LazyParquetSource)
    with pytest.raises(DataError, match="lazy must be one of auto, true, false, got 'sometimes'"):
        open_source(path.name, lazy="sometimes")
    with pytest.raises(DataError, match="lazy_rows must be a whole number, got 'many'"):
        open_source(path.name, lazy_rows="many")
    assert isinstance(open_source(path.name, lazy=True).source, LazyParquetSource)  # typed like the spec's "true"


def test_bad_values_surface_when_their_row_group_is_read(fleet_frame, write_parquet):
    frame = fleet_frame(n_servers=2, n_ticks=6)
    frame.loc[9, "cpu_pct"] = 300.0
    path = write_parquet(frame, row_group_size=4)
    src = open_source(path.name, lazy="true")
    src.batch(0)
    with pytest.raises(
        DataError, match=r"metrics.parquet: column 'cpu_pct', row 10: out of range .*300"
    ):
        src.batch(4)


def test_dictionary_columns_with_changing_dictionaries(data_dir):
    # Each row group carries its own dictionary; the server axis is their union.
    schema_ = pa.schema(
        [
            ("timestamp", pa.timestamp("ms", tz="UTC")),
            ("server_name", pa.dictionary(pa.int32(), pa.string())),
            ("cpu_pct", pa.float64()),
        ]
    )
    path = data_dir / "dicts.parquet"
    with pq.ParquetWriter(path, schema_) as writer:
        for t, names in enumerate((["x", "y"], ["y", "z"], ["x", "z"])):
            ts = pa.array([t * 5000] * len(names), type=pa.timestamp("ms", tz="UTC"))
            servers = pa.DictionaryArray.from_arrays(
                pa.array(range(len(names)), pa.int32()), pa.array(names)
            )
            writer.write_table(
                pa.Table.from_arrays([ts, servers, pa.array([1.0] * len(names))], schema=schema_)
            )
    src = open_source("dicts.parquet", lazy="true")
    assert src.servers()[schema.SERVER].tolist() == ["x", "y", "z"]
    assert src.batch(1)[schema.SERVER].tolist() == ["y", "z"]
    present = ~np.isnan(src.window(2, 3).metrics["cpu_pct"])
    assert present.tolist() == [[True, True, False], [False, True, True], [True, False, True]]


def _dictionary_fleet(path, *, row_group_size: int) -> pd.DataFrame:
    """A schema-shaped file written the way generated datasets are: dictionary-encoded text,
    float32 metrics with missing values, ground truth, a server that appears late and one
    that skips ticks; returns what was written (as a frame)."""
    names = ["web-000", "db-001", "cache-002", "web-003"]
    rows = []
    for t in range(10):
        for k, name in enumerate(names):
            if name == "web-003" and t < 4:
                continue  # appears late
            if name == "db-001" and t in (2, 7):
                continue  # skips ticks
            rows.append(
                {
                    schema.TIMESTAMP: pd.Timestamp("2024-01-01", tz="UTC")
                    + pd.Timedelta(seconds=5 * t),
                    schema.SERVER: name,
                    schema.PROFILE: name.split("-")[0],
                    schema.STATE: ("online", "warning", " Critical_Issue ", "")[(t + k) % 4],
                    "cpu_pct": np.nan if (t + k) % 5 == 0 else float(10 * k + t),
                    "mem_pct": 50.0 + t,
                    "error_rate": None if t == 3 else 0.01 * k,
                    schema.PHASE: ("stable", "escalation", None, "peak")[(t // 3) % 4],
                    schema.PROBLEM_CHILD: name == "cache-002",
                    schema.OOM: t % 3,
                }
            )
    frame = pd.DataFrame(rows)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if field.name in (schema.SERVER, schema.PROFILE, schema.STATE, schema.PHASE):
            field = field.with_type(pa.dictionary(pa.int32(), pa.string()))
        elif field.name in ("cpu_pct", "mem_pct", "error_rate"):
            field = field.with_type(pa.float32())
        elif field.name == schema.TIMESTAMP:
            field = field.with_type(pa.timestamp("ms", tz="UTC"))
        fields.append(field)
    table = table.cast(pa.schema(fields))
    pq.write_table(table, path, row_group_size=row_group_size)
    return frame


@pytest.mark.parametrize("row_group_size", [5, 13, 1000])
def test_lazy_direct_decoding_equals_memory(row_group_size, data_dir, monkeypatch):
    _dictionary_fleet(data_dir / "dict.parquet", row_group_size=row_group_size)
    eager = open_source("dict.parquet", lazy="false")
    # The regular file is decoded straight from its Arrow arrays, never through normalize.
    monkeypatch.setattr(
        LazyParquetSource,
        "_normalized_cube",
        lambda *a, **k: pytest.fail("rows went through normalize"),
    )
    lazy = open_source("dict.parquet", lazy="true")
    assert isinstance(lazy.source, LazyParquetSource)
    pd.testing.assert_frame_equal(lazy.servers(), eager.servers())
    cold = open_source("dict.parquet", lazy="true")
    for i in (0, 2, 3, 4, 7, 9, 5, 1):  # cold: only the tick's rows are decoded
        got = cold.batch(i)
        pd.testing.assert_frame_equal(got, eager.batch(i))
    assert cold.batch(0)[schema.SERVER].tolist() == ["web-000", "db-001", "cache-002"]
    assert cold.batch(4)[schema.SERVER].tolist()[-1] == "web-003"
    assert cold.batch(0)["cpu_pct"].isna().any() and cold.batch(3)["error_rate"].isna().all()
    for end, length in ((9, 10), (6, 3), (2, 60), (4, 1)):
        _same_window(lazy.window(end, length), eager.window(end, length))
        a, b = lazy.window(end, length), eager.window(end, length)
        for name in ("present", "state"):
            np.testing.assert_array_equal(a.extra[name], b.extra[name])
        np.testing.assert_array_equal(a.metrics[schema.OOM], b.metrics[schema.OOM])
    for i in range(10):  # from the row groups the windows decoded
        pd.testing.assert_frame_equal(lazy.batch(i), eager.batch(i))


def test_lazy_irregular_rows_go_through_normalize(data_dir):
    # Text metrics, 0/1 flags and a duplicate row are repaired or read by normalize: the
    # result is still what the in-memory reader gives.
    frame = _dictionary_fleet(data_dir / "dict.parquet", row_group_size=1000)
    frame["mem_pct"] = frame["mem_pct"].map(lambda v: f"{v:g}").astype(object)
    frame.loc[5, "mem_pct"] = " "
    frame[schema.PROBLEM_CHILD] = frame[schema.PROBLEM_CHILD].astype(int)
    frame = pd.concat([frame.iloc[:7], frame.iloc[6:7], frame.iloc[7:]], ignore_index=True)
    frame.to_parquet(data_dir / "messy.parquet", index=False, row_group_size=6)
    eager = open_source("messy.parquet", lazy="false")
    lazy = open_source("messy.parquet", lazy="true")
    assert isinstance(lazy.source, LazyParquetSource)
    for i in range(10):
        pd.testing.assert_frame_equal(lazy.batch(i), eager.batch(i))
    _same_window(lazy.window(9, 10), eager.window(9, 10))


def test_lazy_direct_decoding_refuses_like_normalize(data_dir):
    frame = _dictionary_fleet(data_dir / "dict.parquet", row_group_size=1000)
    frame.loc[12, schema.STATE] = "melting"
    frame.loc[20, "error_rate"] = np.inf
    frame.to_parquet(data_dir / "bad.parquet", index=False, row_group_size=8)
    src = open_source("bad.parquet", lazy="true")
    with pytest.raises(DataError, match=r"column 'state', row 13: unknown state .*'melting'"):
        src.batch(4)
    with pytest.raises(DataError, match=r"column 'error_rate', row 21: infinite value"):
        src.window(6, 1)  # row group 3 (rows 17-24) only
