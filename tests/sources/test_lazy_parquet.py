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
    with pytest.raises(DataError, match="lazy: expected auto, true or false"):
        open_source(path.name, lazy="sometimes")
    with pytest.raises(DataError, match="lazy_rows: expected an integer"):
        open_source(path.name, lazy_rows="many")


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
