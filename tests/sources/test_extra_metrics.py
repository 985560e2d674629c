"""Extra metrics: numeric columns beyond the core eight are kept, with their units; labels never are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import schema
from dashboard.errors import DataError
from dashboard.sources import open_source


def _frame(n_ticks: int = 6, servers=("a", "b")) -> pd.DataFrame:
    rows = []
    for t in range(n_ticks):
        for k, s in enumerate(servers):
            rows.append(
                {
                    "timestamp": f"2024-01-01T00:00:{5 * t:02d}Z",
                    "server_name": s,
                    "cpu_pct": 10.0 + t,
                    "queue_depth": 100.0 * k + t,
                    "m00": 0.5,
                    "label": t % 2,
                    "split": "train",
                    "Unnamed: 0": t,
                    "region": "eu",
                }
            )
    return pd.DataFrame(rows)


def _check(src) -> None:
    window = src.window(src.n_ticks() - 1, 3)
    assert window.extra_metric_names == ("queue_depth", "m00")
    np.testing.assert_array_equal(window.metrics["queue_depth"][:, 1], [103.0, 104.0, 105.0])
    assert "label" not in window.metrics and "split" not in window.metrics
    assert src.metric_units() == {"cpu_pct": "%", "queue_depth": "jobs", "m00": ""}
    batch = src.batch(0)
    assert batch["queue_depth"].tolist() == [0.0, 100.0]
    assert "label" not in batch.columns and "region" not in batch.columns


def test_csv_keeps_extra_metrics_with_their_units(data_dir):
    _frame().to_csv(data_dir / "x.csv", index=False)
    src = open_source("x.csv", units="queue_depth=jobs")
    _check(src)
    report = " ".join(src.report())
    assert "extra metrics kept: queue_depth, m00" in report
    assert "ignored columns: label, split, Unnamed: 0, region" in report


def test_parquet_in_memory_and_lazy_keep_them_too(data_dir):
    frame = _frame()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame.to_parquet(data_dir / "x.parquet", index=False)
    for lazy in ("false", "true"):
        src = open_source("x.parquet", units="queue_depth=jobs", lazy=lazy)
        _check(src)
    assert type(open_source("x.parquet", lazy="true").source).__name__ == "LazyParquetSource"


def test_a_followed_file_keeps_them(data_dir):
    _frame().to_csv(data_dir / "live.csv", index=False)
    _check(open_source("follow:live.csv", units="queue_depth=jobs"))


def test_a_directory_keeps_them(data_dir):
    folder = data_dir / "days"
    folder.mkdir()
    frame = _frame()
    frame.iloc[:6].to_csv(folder / "1.csv", index=False)
    frame.iloc[6:].to_csv(folder / "2.csv", index=False)
    _check(open_source("dir:days", units="queue_depth=jobs"))


def test_a_file_with_only_an_extra_metric_loads(data_dir):
    (data_dir / "nab_like.csv").write_text("timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n")
    src = open_source("nab_like.csv", units="value=passengers", server="nyc_taxi")
    assert src.metric_units() == {"value": "passengers"}
    assert src.window(1, 2).metrics["value"][:, 0].tolist() == [10844.0, 8127.0]
    assert np.isnan(src.window(1, 2).metric("cpu_pct")).all()  # core metrics stay missing, never zero


def test_an_infinite_extra_value_is_refused_with_its_line(data_dir):
    (data_dir / "inf.csv").write_text("timestamp,server_name,value\n2024-01-01T00:00:00Z,a,1\n2024-01-01T00:00:05Z,a,inf\n")
    with pytest.raises(DataError, match=r"inf.csv: column 'value', line 3: infinite value"):
        open_source("inf.csv")


def test_bookkeeping_and_ground_truth_names_are_never_metrics():
    for name in ("label", "Label", "split", "is_anomaly", schema.PHASE, schema.PROBLEM_CHILD, "Unnamed: 0", "cpu_pct"):
        assert not schema.may_be_extra_metric(name), name
    assert schema.may_be_extra_metric("value") and schema.may_be_extra_metric("m37")


def test_a_unit_for_an_extra_metric_is_recorded_not_converted(data_dir):
    (data_dir / "u.csv").write_text("timestamp,server_name,temp\n2024-01-01T00:00:00Z,a,71.5\n")
    src = open_source("u.csv", units="temp=°F,net_in_mb_s=bytes/s")
    assert src.window(0, 1).metrics["temp"][0, 0] == np.float32(71.5)
    assert src.metric_units()["temp"] == "°F"
    assert "units given for columns not in the file: net_in_mb_s" in " ".join(src.report())
    with pytest.raises(DataError, match="unknown unit 'parsecs' for latency_ms"):
        open_source("u.csv", units="latency_ms=parsecs")


def test_merged_duplicate_rows_are_counted(data_dir):
    (data_dir / "dup.csv").write_text(
        "timestamp,server_name,cpu_pct\n2024-01-01T00:00:00Z,a,1\n2024-01-01T00:00:05Z,a,2\n2024-01-01T00:00:05Z,a,3\n"
    )
    src = open_source("dup.csv")
    assert src.row_counts().tolist() == [[1], [2]]
    (data_dir / "clean.csv").write_text("timestamp,server_name,cpu_pct\n2024-01-01T00:00:00Z,a,1\n")
    assert open_source("clean.csv").row_counts() is None
