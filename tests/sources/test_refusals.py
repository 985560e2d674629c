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
    name = _csv(data_dir, "host,region\na,eu\n")
    with pytest.raises(
        DataError,
        match=r"bad.csv: missing required column\(s\) timestamp; at least one metric .*"
        r"columns found: host, region; map yours with columns=",
    ):
        open_source(name)
    # a numeric column is an extra metric: only the timestamp is missing then
    with pytest.raises(DataError, match=r"missing required column\(s\) timestamp; columns found: host, cpu"):
        open_source(_csv(data_dir, "host,cpu\na,1\n"))


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
    with pytest.raises(DataError, match="epoch_unit must be one of s, ms, us, ns, got 'days'"):
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


# -- hostile shapes: short rows, line endings, wide files, huge lines ------------------------

ROWS = [
    "2024-01-01T00:00:00Z,a,1,2",
    "2024-01-01T00:00:00Z,b,3,4",
    "2024-01-01T00:00:05Z,a,5,6",
    "2024-01-01T00:00:05Z,b,7,8",
]


def test_a_short_row_is_refused_with_its_line(data_dir):
    rows = [*ROWS[:2], "2024-01-01T00:00:05Z,a", *ROWS[3:]]
    name = _csv(data_dir, "\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(DataError) as info:
        open_source(name)
    assert str(info.value).endswith(
        "bad.csv: line 4 has 2 of the header's 4 fields; a row cut short is not a row of "
        "missing values: complete it or remove it"
    )


def test_a_short_row_after_quoted_line_breaks_is_found_at_its_line(data_dir):
    header = "timestamp,server_name,profile,cpu_pct"
    rows = [
        '2024-01-01T00:00:00Z,a,"web\nfront",1',
        '2024-01-01T00:00:00Z,"b,c",cache,2',
        "",
        "2024-01-01T00:00:05Z,a,web",
    ]
    name = _csv(data_dir, "\r\n".join([header, *rows]) + "\r\n")
    with pytest.raises(DataError, match="line 6 has 3 of the header's 4 fields"):
        open_source(name)


def test_empty_cells_are_missing_values_not_short_rows(data_dir):
    name = _csv(data_dir, f"{HEADER}\n{ROWS[0]}\n2024-01-01T00:00:00Z,b,3,\n")
    src = open_source(name)
    assert src.batch(0)["latency_ms"].isna().tolist() == [False, True]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_any_line_ending_reads_the_same(data_dir, eol):
    name = _csv(data_dir, eol.join([HEADER, *ROWS]) + eol)
    src = open_source(name)
    assert src.n_ticks() == 2 and src.servers()["server_name"].tolist() == ["a", "b"]
    assert src.window(1, 2).metrics["latency_ms"].tolist() == [[2, 4], [6, 8]]


def test_cr_line_endings_name_the_right_line_in_errors(data_dir):
    rows = [*ROWS[:2], "2024-01-01T00:00:05Z,a,high,6"]
    name = _csv(data_dir, "\r".join([HEADER, *rows]) + "\r")
    with pytest.raises(DataError, match="bad.csv: column 'cpu_pct', line 4: not a number: 'high'"):
        open_source(name)
    name = _csv(data_dir, "\r".join([HEADER, ROWS[0], "2024-01-01T00:00:05Z"]) + "\r", "short.csv")
    with pytest.raises(DataError, match="short.csv: line 3 has 1 of the header's 4 fields"):
        open_source(name)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("n_columns", [10_000, 200_000])
def test_a_very_wide_file_is_refused_at_once(data_dir, n_columns):
    header = ",".join(["timestamp", "server_name", "cpu_pct", *(f"c{k}" for k in range(n_columns))])
    name = _csv(data_dir, header + "\n2024-01-01T00:00:00Z,a,1" + ",0" * n_columns + "\n")
    with pytest.raises(DataError) as info:
        open_source(name)
    message = str(info.value)
    counted = f"{n_columns + 3:,} columns" if n_columns < 100_000 else "at least "
    assert counted in message and "columns, more than the 2,000 a metrics file may have" in message
    assert len(message) < 400


@pytest.mark.timeout(60)
def test_a_wide_file_under_the_cap_loads_and_lists_what_it_ignored_briefly(data_dir):
    extra = [f"extra_{k}" for k in range(1_990)]
    header = ",".join(["timestamp", "server_name", "cpu_pct", *extra])
    name = _csv(data_dir, header + "\n2024-01-01T00:00:00Z,a,1" + ",0" * len(extra) + "\n")
    src = open_source(name)
    assert src.batch(0)["cpu_pct"].tolist() == [1.0]
    # numeric columns beyond the schema are kept as extra metrics, and listed briefly
    kept = next(line for line in src.report() if "extra metrics kept" in line)
    assert kept.startswith(f"{data_dir / name}: extra metrics kept: extra_0, extra_1")
    assert kept.endswith("more)") and len(kept) < 400


@pytest.mark.timeout(60)
def test_a_huge_header_line_gives_a_short_message(data_dir):
    with open(data_dir / "huge.csv", "wb") as fh:
        fh.write(b"timestamp,server_name," + b"x" * 100_000_000 + b"\n2024-01-01T00:00:00Z,a,1\n")
    with pytest.raises(DataError) as info:
        open_source("huge.csv")
    message = str(info.value)
    assert "no line break in the first 1 MB: not a CSV header" in message
    assert len(message) < 400


def test_long_values_and_column_names_are_quoted_briefly(data_dir):
    long_name = "n" * 5_000
    name = _csv(
        data_dir,
        f"timestamp,server_name,{long_name}\n2024-01-01T00:00:00Z,a,x\n",
    )
    with pytest.raises(DataError) as info:
        open_source(name)
    assert "columns found: timestamp, server_name, nnnnnnnnnnnn" in str(info.value)
    assert len(str(info.value)) < 700 and "(4,940 more characters)" in str(info.value)
    value = "v" * 5_000
    name = _csv(data_dir, f"{HEADER}\n2024-01-01T00:00:00Z,a,{value},2\n", "value.csv")
    with pytest.raises(DataError) as info:
        open_source(name)
    assert "not a number: 'vvvv" in str(info.value) and "(4,800 more characters)" in str(info.value)
    assert len(str(info.value)) < 400


def test_a_very_wide_parquet_file_is_refused(data_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"timestamp": pa.array([0], pa.timestamp("ms", tz="UTC")), "server_name": ["a"]}
    columns.update({f"c{k}": [0.0] for k in range(2_500)})
    pq.write_table(pa.table(columns), data_dir / "wide.parquet")
    with pytest.raises(DataError, match="wide.parquet: 2,502 columns, more than the 2,000"):
        open_source("wide.parquet")
