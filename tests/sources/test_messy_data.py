"""Real, messy files: each tolerated problem is repaired per the documented policy and reported."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard import schema
from dashboard.errors import DataError
from dashboard.sources import open_source


def _report(src) -> str:
    return "\n".join(src.report())


def test_column_mapping_from_a_dict(data_dir):
    (data_dir / "raw.csv").write_text(
        "time,host,cpu,p99_latency\n"
        "2024-01-01T00:00:00Z,a,10,100\n"
        "2024-01-01T00:00:00Z,b,20,200\n"
        "2024-01-01T00:00:05Z,a,30,300\n"
    )
    src = open_source(
        "raw.csv",
        columns={
            "time": "timestamp",
            "host": "server_name",
            "cpu": "cpu_pct",
            "p99_latency": "latency_ms",
        },
    )
    b = src.batch(0)
    assert b[schema.SERVER].tolist() == ["a", "b"]
    assert b["cpu_pct"].tolist() == [10.0, 20.0]
    assert b["latency_ms"].tolist() == [100.0, 200.0]
    assert b[schema.PROFILE].tolist() == [schema.DEFAULT_PROFILE] * 2
    assert b[schema.STATE].tolist() == [schema.DEFAULT_STATE] * 2
    assert b["mem_pct"].isna().all()  # missing metrics are NaN, never zero
    w = src.window(1, 2)
    assert np.isnan(w.metrics["error_rate"]).all()
    assert np.isnan(w.metrics["cpu_pct"][1, 1])  # b has no row at tick 1
    report = _report(src)
    assert "columns mapped: time -> timestamp, host -> server_name" in report
    assert "metrics not in the file (missing, NaN): mem_pct" in report


@pytest.mark.parametrize("style", ["json-file", "pairs", "json-text"])
def test_column_mapping_from_a_file_or_a_string(style, data_dir):
    (data_dir / "raw.csv").write_text("timestamp,host,cpu\n2024-01-01T00:00:00Z,a,10\n")
    mapping = {"host": "server_name", "cpu": "cpu_pct"}
    if style == "json-file":
        (data_dir / "map.json").write_text(json.dumps(mapping))
        spec = "csv:raw.csv?columns=map.json"
    elif style == "pairs":
        spec = "csv:raw.csv?columns=host%3Dserver_name,cpu%3Dcpu_pct"
    else:
        spec = "csv:raw.csv?columns=" + json.dumps(mapping).replace(" ", "")
    assert open_source(spec).batch(0)["cpu_pct"].tolist() == [10.0]


def test_mapping_onto_a_non_schema_column_is_refused(data_dir):
    (data_dir / "raw.csv").write_text("timestamp,host,cpu\n2024-01-01T00:00:00Z,a,10\n")
    with pytest.raises(
        DataError, match="'cpu_percent' is not a schema column; schema columns: timestamp"
    ):
        open_source("raw.csv", columns={"cpu": "cpu_percent"})
    with pytest.raises(DataError, match="several file columns map to cpu_pct"):
        open_source("raw.csv", columns={"cpu": "cpu_pct", "host": "cpu_pct"})


def test_file_without_a_server_column_needs_one_named(data_dir):
    (data_dir / "db-7.csv").write_text(
        "timestamp,cpu_pct\n2024-01-01T00:00:00Z,5\n2024-01-01T00:01:00Z,6\n"
    )
    with pytest.raises(DataError) as info:
        open_source("db-7.csv")
    assert "db-7.csv: no server_name column" in str(info.value)
    assert "server=web-01" in str(info.value) and "columns found: timestamp, cpu_pct" in str(info.value)
    src = open_source("db-7.csv", server="primary")
    assert src.servers()[schema.SERVER].tolist() == ["primary"]
    assert src.window(1, 2).metrics["cpu_pct"].shape == (2, 1)
    assert "all rows are one server, 'primary' (server=)" in _report(src)


def test_twenty_servers_without_a_server_column_are_refused_not_merged(data_dir, fleet_frame):
    """A fleet export that lost its server column must not load as one server with 95% of
    its rows dropped as duplicates."""
    frame = fleet_frame(n_servers=20, n_ticks=6).drop(columns=[schema.SERVER])
    frame.to_csv(data_dir / "fleet.csv", index=False)
    with pytest.raises(DataError, match="fleet.csv: no server_name column"):
        open_source("fleet.csv")
    mapped = fleet_frame(n_servers=20, n_ticks=6).rename(columns={schema.SERVER: "host"})
    mapped.to_csv(data_dir / "mapped.csv", index=False)
    src = open_source("mapped.csv", columns={"host": schema.SERVER})
    assert len(src.servers()) == 20 and src.n_ticks() == 6


def test_a_named_single_server_keeps_repeated_timestamps_in_file_order(data_dir):
    (data_dir / "one.csv").write_text(
        "timestamp,cpu_pct\n"
        "2024-01-01T00:00:00Z,1\n"
        "2024-01-01T00:00:05Z,2\n"
        "2024-01-01T00:00:05Z,3\n"
        "2024-01-01T00:00:10Z,4\n"
        "2024-01-01T00:00:05Z,5\n"
    )
    src = open_source("one.csv", server="db")
    assert src.n_ticks() == 5  # nothing dropped
    assert src.window(4, 5).metrics["cpu_pct"][:, 0].tolist() == [1, 2, 3, 5, 4]
    ts = src.timestamps().astype("datetime64[s]").astype(int) % 60
    assert ts.tolist() == [0, 5, 5, 5, 10]
    assert "2 rows repeat the timestamp of the row before" in _report(src)
    assert "duplicate" not in _report(src)


def test_unsorted_rows_are_sorted(fleet_frame, write_csv):
    frame = fleet_frame(n_servers=3, n_ticks=5)
    shuffled = frame.sample(frac=1.0, random_state=3)
    src = open_source(write_csv(shuffled).name)
    ordered = open_source(write_csv(frame, "ordered.csv").name)
    assert (np.diff(src.timestamps().astype(np.int64)) > 0).all()
    for i in range(5):
        a = src.batch(i).sort_values(schema.SERVER).reset_index(drop=True)
        b = ordered.batch(i).sort_values(schema.SERVER).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    assert "not in time order; sorted" in _report(src)


def test_duplicate_rows_keep_the_last(fleet_frame, write_csv):
    frame = fleet_frame(n_servers=2, n_ticks=3)
    dup = frame.iloc[[2]].copy()
    dup["cpu_pct"] = 77.0
    src = open_source(write_csv(pd.concat([frame, dup, dup.assign(cpu_pct=88.0)])).name)
    assert src.batch(1)["cpu_pct"].tolist()[0] == 88.0
    assert len(src.batch(1)) == 2
    assert "2 duplicate (timestamp, server) rows; the last of each kept" in _report(src)


def test_daylight_saving_repeated_hour_with_tz(data_dir):
    # Europe/Paris leaves summer time at 03:00 on 2024-10-27: 02:00-02:59 happens twice.
    walls = [
        "2024-10-27 01:30",
        "2024-10-27 02:00",
        "2024-10-27 02:30",
        "2024-10-27 02:00",
        "2024-10-27 02:30",
        "2024-10-27 03:00",
    ]
    lines = ["timestamp,server_name,cpu_pct"] + [f"{w},a,{k}" for k, w in enumerate(walls)]
    (data_dir / "local.csv").write_text("\n".join(lines) + "\n")
    src = open_source("local.csv", tz="Europe/Paris")
    assert src.n_ticks() == 6
    utc = pd.DatetimeIndex(src.timestamps()).strftime("%H:%M").tolist()
    assert utc == ["23:30", "00:00", "00:30", "01:00", "01:30", "02:00"]
    assert src.batch(3)["cpu_pct"].tolist() == [3.0]  # the second 02:00 is winter time
    assert "repeated by a daylight-saving change in Europe/Paris" in _report(src)
    # Without tz the repeated wall times collide: reported as duplicates, with a hint.
    naive = open_source("local.csv")
    assert naive.n_ticks() == 4
    report = _report(naive)
    assert "read as UTC (pass tz=" in report and "2 duplicate" in report


def test_skipped_spring_hour_is_refused(data_dir):
    (data_dir / "spring.csv").write_text("timestamp,server_name,cpu_pct\n2024-03-31 02:30,a,1\n")
    with pytest.raises(
        DataError, match=r"spring.csv: column 'timestamp', line 2: .*does not exist in Europe/Paris"
    ):
        open_source("spring.csv", tz="Europe/Paris")


def test_utc_offsets_across_a_dst_change_need_no_help(data_dir):
    lines = [
        "timestamp,server_name,cpu_pct",
        "2024-10-27T02:30:00+02:00,a,1",
        "2024-10-27T02:30:00+01:00,a,2",
    ]
    (data_dir / "offsets.csv").write_text("\n".join(lines) + "\n")
    src = open_source("offsets.csv")
    assert src.n_ticks() == 2
    assert pd.DatetimeIndex(src.timestamps()).strftime("%H:%M").tolist() == ["00:30", "01:30"]


def test_irregular_intervals_and_gaps_are_reported_not_filled(data_dir):
    seconds = [0, 5, 10, 16, 21, 120, 125]
    lines = ["timestamp,server_name,latency_ms"] + [
        f"{(pd.Timestamp('2024-01-01', tz='UTC') + pd.Timedelta(seconds=s)).isoformat()},a,{s}"
        for s in seconds
    ]
    (data_dir / "gaps.csv").write_text("\n".join(lines) + "\n")
    src = open_source("gaps.csv")
    assert src.n_ticks() == 7
    report = _report(src)
    assert "1 gap(s) longer than 1.5x the median interval (5s); the longest, 99s" in report
    assert "intervals differ from the median" in report
    resampled = open_source("gaps.csv", resample="10s")
    assert resampled.n_ticks() == 4
    assert resampled.batch(0)["latency_ms"].tolist() == [5.0]  # the last row of the bucket wins


def test_servers_appearing_late_or_vanishing_are_nan_where_absent(data_dir):
    rows = ["timestamp,server_name,cpu_pct"]
    for t in range(4):
        ts = f"2024-01-01T00:00:{t * 5:02d}Z"
        if t < 3:
            rows.append(f"{ts},early,{t}")
        if t >= 1:
            rows.append(f"{ts},late,{10 + t}")
    (data_dir / "churn.csv").write_text("\n".join(rows) + "\n")
    src = open_source("churn.csv")
    assert src.servers()[schema.SERVER].tolist() == ["early", "late"]
    cpu = src.window(3, 4).metrics["cpu_pct"]
    assert np.isnan(cpu[0, 1]) and np.isnan(cpu[3, 0])
    assert cpu[1].tolist() == [1.0, 11.0]
    assert src.batch(0)[schema.SERVER].tolist() == ["early"]
    assert src.batch(3)[schema.SERVER].tolist() == ["late"]
    report = _report(src)
    assert "appear after the first tick (absent = NaN): late" in report
    assert "stop before the last tick (absent = NaN): early" in report


def test_one_server_one_metric(data_dir):
    (data_dir / "single.csv").write_text("timestamp,latency_ms\n2024-01-01T00:00:00Z,3\n")
    src = open_source("single.csv", server="only")
    w = src.window(0, 10)
    assert w.metrics["latency_ms"].tolist() == [[3.0]]
    assert np.isnan(w.metrics["cpu_pct"]).all()
    assert src.tick_seconds() == 0.0


def test_units_are_converted_and_reported(data_dir):
    (data_dir / "units.csv").write_text(
        "timestamp,server_name,net_in_mb_s,latency_ms,cpu_pct,error_rate\n"
        "2024-01-01T00:00:00Z,a,2500000,0.25,0.5,5\n"
    )
    src = open_source(
        "units.csv",
        units={"net_in_mb_s": "bytes/s", "latency_ms": "s", "cpu_pct": "share", "error_rate": "%"},
    )
    b = src.batch(0)
    assert b["net_in_mb_s"].tolist() == pytest.approx([2.5])
    assert b["latency_ms"].tolist() == pytest.approx([250.0])
    assert b["cpu_pct"].tolist() == pytest.approx([50.0])
    assert b["error_rate"].tolist() == pytest.approx([0.05])
    assert "net_in_mb_s converted from bytes/s (x1e-06)" in _report(src)
    spec = open_source("csv:units.csv?units=net_in_mb_s%3DMbit/s,error_rate%3D%25")
    assert spec.batch(0)["net_in_mb_s"].tolist() == pytest.approx([312500.0])


def test_throughput_that_looks_like_bytes_is_flagged(data_dir):
    (data_dir / "bytes.csv").write_text(
        "timestamp,server_name,net_out_mb_s\n2024-01-01T00:00:00Z,a,52428800\n"
    )
    assert "looks like bytes/s" in _report(open_source("bytes.csv"))


def test_unknown_unit_is_refused(data_dir):
    (data_dir / "u.csv").write_text("timestamp,server_name,cpu_pct\n2024-01-01T00:00:00Z,a,1\n")
    with pytest.raises(DataError, match="unknown unit 'furlongs' for latency_ms; known: ms, s"):
        open_source("u.csv", units={"latency_ms": "furlongs"})


def test_epoch_timestamps_with_a_unit(data_dir):
    (data_dir / "epoch.csv").write_text(
        "timestamp,server_name,cpu_pct\n1704067200,a,1\n1704067205,a,2\n"
    )
    src = open_source("epoch.csv", epoch_unit="s")
    assert str(pd.Timestamp(src.timestamps()[0])) == "2024-01-01 00:00:00"
    with pytest.raises(DataError, match="line 2: not a timestamp .* pass epoch_unit='s'"):
        open_source("epoch.csv")


def test_missing_profile_and_state_cells_get_defaults(data_dir):
    (data_dir / "blank.csv").write_text(
        "timestamp,server_name,profile,state,cpu_pct\n2024-01-01T00:00:00Z,a,,,1\n2024-01-01T00:00:00Z,b,web,WARNING,2\n"
    )
    b = open_source("blank.csv").batch(0)
    assert b[schema.PROFILE].tolist() == ["unknown", "web"]
    assert b[schema.STATE].tolist() == ["online", "warning"]


def test_empty_metric_cells_are_missing_not_zero(data_dir):
    (data_dir / "holes.csv").write_text(
        "timestamp,server_name,cpu_pct,mem_pct\n2024-01-01T00:00:00Z,a,,5\n"
    )
    b = open_source("holes.csv").batch(0)
    assert np.isnan(b["cpu_pct"].iloc[0]) and b["mem_pct"].iloc[0] == 5.0


def test_time_zone_offsets_in_parquet_are_converted(data_dir, fleet_frame):
    frame = fleet_frame(n_servers=1, n_ticks=2)
    frame[schema.TIMESTAMP] = pd.to_datetime(frame[schema.TIMESTAMP], utc=True).dt.tz_convert(
        "America/New_York"
    )
    frame.to_parquet(data_dir / "ny.parquet", index=False)
    src = open_source("ny.parquet")
    assert str(pd.Timestamp(src.timestamps()[0])) == "2024-01-01 00:00:00"


def test_server_with_two_profiles_keeps_the_first(data_dir):
    (data_dir / "p.csv").write_text(
        "timestamp,server_name,profile,cpu_pct\n2024-01-01T00:00:00Z,a,web,1\n2024-01-01T00:00:05Z,a,cache,2\n"
    )
    src = open_source("p.csv")
    assert src.servers()[schema.PROFILE].tolist() == ["web"]
    assert "several profiles keep their first one: a" in _report(src)


def test_extra_columns_are_ignored_and_listed(data_dir):
    (data_dir / "x.csv").write_text(
        "timestamp,server_name,cpu_pct,region\n2024-01-01T00:00:00Z,a,1,eu\n"
    )
    src = open_source("x.csv")
    assert "region" not in src.batch(0).columns
    assert "ignored columns: region" in _report(src)
