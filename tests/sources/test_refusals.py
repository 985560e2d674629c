"""What cannot be used is refused with a precise message: file, column, row, value."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.errors import DataError
from dashboard.sources import open_source

HEADER = "timestamp,server_name,cpu_pct,latency_ms"


def _csv(data_dir, body: str, name: str = "bad.csv") -> str:
    (data_dir / name).write_text(body)
    return name


def test_missing_required_columns_list_the_columns_found(data_dir):
    name = _csv(data_dir, "host,cpu\na,1\n")
    with pytest.raises(
        DataError,
        match=r"bad.csv: missing required column\(s\) timestamp; at least one metric .*"
        r"columns found: host, cpu; map yours with columns=",
    ):
        open_source(name)


def test_no_metric_at_all_is_refused(data_dir):
    with pytest.raises(
        DataError,
        match="missing required column.*at least one metric.*columns found: timestamp, server_name",
    ):
        open_source(_csv(data_dir, "timestamp,server_name\n2024-01-01T00:00:00Z,a\n"))


def test_non_numeric_value_names_file_column_line_and_value(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:00Z,b,high,2\n")
    with pytest.raises(DataError) as info:
        open_source(name)
    message = str(info.value)
    assert "bad.csv: column 'cpu_pct', line 3: not a number: 'high'" in message


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("cpu_pct", "150", "150"),
        ("latency_ms", "-3", "-3"),
        ("cpu_pct", "inf", "inf"),
        ("latency_ms", "-inf", "-inf"),
    ],
)
def test_out_of_range_values(data_dir, column, value, shown):
    row = {"cpu_pct": "1", "latency_ms": "2", column: value}
    name = _csv(
        data_dir,
        f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:05Z,a,{row['cpu_pct']},{row['latency_ms']}\n",
    )
    with pytest.raises(
        DataError,
        match=rf"bad.csv: column '{column}', line 3: (out of range|infinite value).*{shown}",
    ):
        open_source(name)


def test_out_of_range_in_parquet_names_the_row(data_dir, fleet_frame, write_parquet):
    frame = fleet_frame(n_servers=2, n_ticks=3)
    frame.loc[4, "error_rate"] = 1.5
    path = write_parquet(frame)
    with pytest.raises(
        DataError,
        match=r"metrics.parquet: column 'error_rate', row 5: out of range \(valid: 0 to 1\): 1.5",
    ):
        open_source(path.name)


def test_error_rate_in_percent_gets_a_hint(data_dir):
    name = _csv(data_dir, "timestamp,server_name,error_rate\n2024-01-01T00:00:00Z,a,5\n")
    with pytest.raises(DataError, match=r"units=\{'error_rate': '%'\}"):
        open_source(name)


def test_unparseable_timestamp(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\nyesterday,a,1,2\n")
    with pytest.raises(
        DataError, match=r"bad.csv: column 'timestamp', line 3: not a timestamp .*'yesterday'"
    ):
        open_source(name)


def test_missing_timestamp(data_dir):
    name = _csv(data_dir, f"{HEADER}\n,a,1,2\n")
    with pytest.raises(DataError, match=r"column 'timestamp', line 2: missing timestamp"):
        open_source(name)


def test_mixed_naive_and_offset_timestamps(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:05,a,1,2\n")
    with pytest.raises(DataError, match="line 3: timestamp without a UTC offset"):
        open_source(name)


def test_empty_server_name(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,,1,2\n")
    with pytest.raises(DataError, match="column 'server_name', line 2: empty value"):
        open_source(name)


def test_unknown_state(data_dir):
    name = _csv(data_dir, "timestamp,server_name,state,cpu_pct\n2024-01-01T00:00:00Z,a,sleepy,1\n")
    with pytest.raises(DataError, match="column 'state', line 2: unknown state .*'sleepy'"):
        open_source(name)


def test_bad_problem_child_flag(data_dir):
    name = _csv(
        data_dir, "timestamp,server_name,cpu_pct,problem_child\n2024-01-01T00:00:00Z,a,1,maybe\n"
    )
    with pytest.raises(DataError, match="column 'problem_child', line 2: expected true/false"):
        open_source(name)


@pytest.mark.parametrize("body", ["", "timestamp,server_name,cpu_pct\n", "\n\n"])
def test_empty_file(data_dir, body):
    with pytest.raises(DataError, match="empty|no data rows|no CSV header"):
        open_source(_csv(data_dir, body))


def test_csv_cut_off_mid_row(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:05Z,a,1")
    with pytest.raises(
        DataError, match=r"bad.csv: line 3 is cut off mid-row \(3 of 4 fields, no final newline\)"
    ):
        open_source(name)


def test_last_row_without_newline_but_complete_is_fine(data_dir):
    assert open_source(_csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2")).n_ticks() == 1


def test_row_with_too_many_fields(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:05Z,a,1,2,9,9\n")
    with pytest.raises(DataError, match="bad.csv: cannot parse as CSV: .*line 3"):
        open_source(name)


def test_binary_file_named_csv(data_dir):
    (data_dir / "bin.csv").write_bytes(b"\x00\x01\x02garbage\xff")
    with pytest.raises(DataError, match="not a text file"):
        open_source("bin.csv")


def test_csv_named_parquet(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n", "looks.parquet")
    with pytest.raises(
        DataError,
        match=r"looks.parquet: named like a Parquet file but holds text \(CSV\?\); "
        r"open it as csv:",
    ):
        open_source(name)
    assert open_source(f"csv:{name}").n_ticks() == 1  # said explicitly, it reads as CSV


def test_parquet_named_csv(data_dir, fleet_frame, write_parquet):
    path = write_parquet(fleet_frame())
    (data_dir / "p.csv").write_bytes(path.read_bytes())
    with pytest.raises(DataError, match="this is a Parquet file, not CSV"):
        open_source("p.csv")


def test_truncated_parquet(data_dir, fleet_frame, write_parquet):
    data = write_parquet(fleet_frame()).read_bytes()
    (data_dir / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut.parquet: truncated Parquet file \(no footer"):
        open_source("cut.parquet")


def test_corrupt_parquet_footer(data_dir, fleet_frame, write_parquet):
    data = bytearray(write_parquet(fleet_frame()).read_bytes())
    data[-40:-8] = b"\xff" * 32  # smash the footer, keep the magic bytes
    (data_dir / "bad.parquet").write_bytes(bytes(data))
    with pytest.raises(DataError, match="bad.parquet: corrupt Parquet file"):
        open_source("bad.parquet")


def test_corrupt_parquet_pages(data_dir, fleet_frame, write_parquet):
    data = bytearray(write_parquet(fleet_frame(n_servers=20, n_ticks=20)).read_bytes())
    for k in range(8, len(data) // 2, 7):
        data[k] = (data[k] + 101) % 256
    (data_dir / "pages.parquet").write_bytes(bytes(data))
    with pytest.raises(DataError, match="pages.parquet"):
        open_source("pages.parquet")


def test_missing_file(data_dir):
    with pytest.raises(DataError, match="does not exist"):
        open_source("nope.csv")


def test_not_utf8(data_dir):
    (data_dir / "latin.csv").write_bytes(
        f"{HEADER}\n2024-01-01T00:00:00Z,caf\xe9,1,2\n".encode("latin-1")
    )
    with pytest.raises(DataError, match="latin.csv: not UTF-8 text"):
        open_source("latin.csv")


def test_bad_option_values(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n")
    with pytest.raises(DataError, match="tz: unknown time zone 'Mars/Olympus'"):
        open_source(name, tz="Mars/Olympus")
    with pytest.raises(DataError, match="resample: 'often' is not a duration"):
        open_source(name, resample="often")
    with pytest.raises(DataError, match="epoch_unit: expected one of s, ms, us, ns"):
        open_source(name, epoch_unit="days")
    with pytest.raises(DataError, match="columns: expected name=value pairs"):
        open_source(name, columns="host")


def test_messages_never_leak_pandas_types(data_dir):
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,1,2\n2024-01-01T00:00:00Z,b,200,2\n")
    with pytest.raises(DataError) as info:
        open_source(name)
    assert "np." not in str(info.value) and "dtype" not in str(info.value)
    assert isinstance(info.value, ValueError)
    assert pd.isna(pd.NA)  # keep pandas imported for parity with the loaders
