"""Fuzzing the readers: arbitrary bytes and damaged valid files give the project's own errors
or a valid dataset, each within a time bound, never another exception.

Each test runs a bounded number of examples (CI stays fast) with a per-input deadline that a
hang or a blow-up in time would miss. Inputs that once broke a reader stay as ``@example``s.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard import schema
from dashboard.errors import DashboardError, ScenarioError
from dashboard.generate import PARQUET_OPTIONS, generate_table
from dashboard.scenario import Scenario, load_scenario, parse_scenario
from dashboard.sources import open_source
from dashboard.sources.files import first_short_row

FUZZ = settings(
    max_examples=80,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# edits that hit what readers trip on: line breaks, separators, quotes, NULs, digits
EDIT_BYTES = st.sampled_from([b"\r", b"\n", b"\r\n", b",", b'"', b"\x00", b"9", b"-", b"\xff", b""])
EDITS = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 3), EDIT_BYTES), max_size=6
)


def _mutate(data: bytes, edits, cut: float) -> bytes:
    """Replace a few bytes at relative positions, then cut the end off at a relative length."""
    out = bytearray(data)
    for where, length, new in edits:
        at = int(where * len(out))
        out[at : at + length] = new
    return bytes(out[: max(0, int(len(out) * cut))])


def _small_dataset() -> tuple[bytes, bytes]:
    """A generated dataset's CSV and Parquet bytes (3 servers x 12 ticks), as written."""
    sc = load_scenario("default").resolved(fleet_size=4, duration_min=1)
    table = generate_table(sc).table
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=16, **PARQUET_OPTIONS)
    text = io.StringIO()
    table.to_pandas().to_csv(text, index=False)
    return text.getvalue().encode(), buf.getvalue()


CSV_BYTES, PARQUET_BYTES = _small_dataset()


def _read(data: bytes, name: str, metadata: dict | None = None, **options) -> None:
    """Open ``data`` as file ``name`` and use every tick; only our errors may escape."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        if metadata is not None:
            (Path(tmp) / f"{path.stem}_metadata.json").write_text(json.dumps(metadata))
        try:
            source = open_source(str(path), data_roots=[tmp], **options)
        except DashboardError:
            return
        n = source.n_ticks()
        assert source.timestamps().shape == (n,)
        for i in range(n):
            with contextlib.suppress(DashboardError):  # a lazy reader reports damage per row group
                source.batch(i)
        if n:
            window = source.window(n - 1, n)
            for values in window.metrics.values():
                finite = values[~np.isnan(values)]
                assert np.isfinite(finite).all()


@FUZZ
@given(data=st.binary(max_size=2000))
@example(b"timestamp,server_name,cpu_pct\r2024-01-01T00:00:00Z,a,1\r")  # lone-CR line endings
@example(b"timestamp,server_name,cpu_pct\n2024-01-01T00:00:00Z,a\n")  # a short row
@example(b"timestamp,cpu_pct\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:00Z,2\n")  # no server
@example(b'timestamp,server_name,cpu_pct\n"2024,a,1\n')  # an unterminated quote
def test_arbitrary_bytes_as_csv(data):
    _read(data, "blob.csv")
    _read(data, "blob.csv", server="one")


@FUZZ
@given(edits=EDITS, cut=st.floats(0, 1))
def test_damaged_generated_csv(edits, cut):
    _read(_mutate(CSV_BYTES, edits, cut), "demo.csv")


@FUZZ
@given(edits=EDITS, cut=st.floats(0.5, 1), lazy=st.sampled_from(["true", "false"]))
def test_damaged_generated_parquet(edits, cut, lazy):
    _read(_mutate(PARQUET_BYTES, edits, cut), "demo.parquet", lazy=lazy)


@FUZZ
@given(edits=EDITS, cut=st.floats(0.9, 1), use=st.sampled_from(["csv", "parquet"]))
@example(edits=[], cut=1.0, use="csv")
@example(edits=[], cut=1.0, use="parquet")
def test_damaged_files_under_their_metadata_are_refused_or_intact(edits, cut, use):
    original = CSV_BYTES if use == "csv" else PARQUET_BYTES
    name = f"demo_dataset.{use}"
    digest = hashlib.sha256(original).hexdigest()
    metadata = {"files": {name: {"sha256": digest, "bytes": len(original)}}}
    damaged = _mutate(original, edits, cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(damaged)
        (Path(tmp) / "demo_dataset_metadata.json").write_text(json.dumps(metadata))
        try:
            source = open_source(str(path), data_roots=[tmp])
        except DashboardError:
            return
        assert damaged == original  # only the file its metadata describes loads
        assert source.n_ticks() == 12


@FUZZ
@given(data=st.binary(max_size=2000))
@example(b"PAR1")
@example(b"PAR1" + b"\x00" * 8 + b"PAR1")
def test_arbitrary_bytes_as_parquet(data):
    _read(b"PAR1" + data, "blob.parquet")
    _read(data + b"PAR1", "blob.parquet", lazy="true")


@FUZZ
@given(appended=st.lists(st.binary(max_size=300), max_size=4))
def test_arbitrary_bytes_appended_to_a_followed_file(appended):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "live.csv"
        path.write_bytes(CSV_BYTES[:2000].rsplit(b"\n", 1)[0] + b"\n")
        source = open_source(f"follow:{path}", data_roots=[tmp])
        for chunk in appended:
            with open(path, "ab") as fh:
                fh.write(chunk)
            with contextlib.suppress(DashboardError):
                n = source.n_ticks()
                if n:
                    source.window(n - 1, min(n, 5))


@FUZZ
@given(
    text=st.text(alphabet=st.sampled_from(['a', '1', ',', '"', "\n", "\r", " "]), max_size=200),
    needed=st.integers(1, 4),
)
def test_the_short_row_scan_agrees_with_the_csv_module(text, needed):
    data = text.encode()
    rows = csv.reader(io.StringIO(text, newline=""))
    expected, first, done = None, True, 0
    try:
        for row in rows:
            start, done = done + 1, rows.line_num
            if not row:
                continue
            if first:
                first = False
            elif len(row) < needed:
                expected = (start, len(row))
                break
    except csv.Error:
        return  # not CSV: the parser refuses it before any scan
    assert first_short_row(data, needed) == expected


# -- the scenario loader ------------------------------------------------------------------------

SCENARIO_TEXT = (Path(__file__).resolve().parents[2] / "scenarios" / "default.json").read_bytes()


def _load(data: bytes) -> None:
    try:
        result = parse_scenario(data, source="fuzz.json")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.json: ")
        assert len(str(exc)) < 20_000
        return
    assert isinstance(result, Scenario) and result.n_ticks >= 1


@FUZZ
@given(data=st.binary(max_size=2000))
@example(b'{"schema_version": 1, "schema_version": 1}')  # a key given twice
@example(b'{"a": ' * 5000)  # deep nesting
def test_arbitrary_bytes_as_a_scenario(data):
    _load(data)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.integers(0, 4),
            st.sampled_from([b"", b"0", b"-", b"}", b"{", b'"', b",", b"NaN", b"1e999", b'"end": 1,']),
        ),
        max_size=5,
    ),
    cut=st.floats(0.8, 1),
)
def test_damaged_bundled_scenario(edits, cut):
    _load(_mutate(SCENARIO_TEXT, edits, cut))


@pytest.mark.parametrize("name", ["csv", "parquet"])
def test_the_fuzzing_seeds_are_valid_datasets(name):
    """The mutated files start from readable ones, so the damage is what the tests exercise."""
    data = CSV_BYTES if name == "csv" else PARQUET_BYTES
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"seed.{name}"
        path.write_bytes(data)
        source = open_source(str(path), data_roots=[tmp])
        assert source.n_ticks() == 12 and len(source.servers()) == 4
        assert set(schema.METRIC_NAMES) <= set(source.window(11, 12).metrics)
