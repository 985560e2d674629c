"""Property-based tests: whatever the file holds, only the project's own errors escape the loaders,
and whatever loads satisfies the source invariants."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard import schema
from dashboard.errors import DashboardError, DataError
from dashboard.sources import DataSource, open_source

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLUMN_NAMES = st.sampled_from(
    [
        "timestamp",
        "server_name",
        "profile",
        "state",
        "cpu_pct",
        "mem_pct",
        "latency_ms",
        "error_rate",
        "net_in_mb_s",
        "incident_phase",
        "problem_child",
        "host",
        "",
        "cpu_pct ",
        "x,y",
        '"q"',
    ]
)
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "-0",
            "0.5",
            "99",
            "150",
            "-3",
            "web",
            "online",
            "warning",
            "sleepy",
            "true",
            "2",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:05+02:00",
            "2024-13-01",
            "2024-10-27 02:30",
            "1704067200",
            '"a,b"',
            '"',
            "NaT",
            "None",
        ]
    ),
    st.integers(-10, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)


def _open_bytes(data: bytes, name: str, **options):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            src = open_source(str(path), data_roots=[tmp], **options)
        except DashboardError:
            return None
        _check_invariants(src)
        return src


def _check_invariants(src: DataSource) -> None:
    n = src.n_ticks()
    servers = src.servers()
    assert list(servers.columns) == [schema.SERVER, schema.PROFILE]
    ts = src.timestamps()
    assert ts.shape == (n,) and ts.dtype == np.dtype("datetime64[ns]")
    assert (np.diff(ts.astype(np.int64)) > 0).all()
    if n == 0:
        return
    w = src.window(n - 1, n)
    assert w.n_ticks == n and w.n_servers == len(servers)
    for name in schema.METRIC_NAMES:
        values = w.metrics[name]
        assert values.dtype == np.float32 and values.shape == (n, len(servers))
        metric = schema.METRIC_BY_NAME[name]
        finite = values[~np.isnan(values)]
        assert np.isfinite(finite).all()
        # float32 rounding may move a value at the very edge of its range
        assert (finite >= np.float32(metric.low)).all() and (
            finite <= np.float32(metric.high)
        ).all()
    total = sum(len(src.batch(i)) for i in range(n))
    assert total == int(w.extra["present"].sum())


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_as_csv(data):
    _open_bytes(data, "blob.csv")


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_as_parquet_or_unknown(data):
    _open_bytes(b"PAR1" + data, "blob.parquet")
    _open_bytes(data, "blob.dat")


@SETTINGS
@given(
    header=st.lists(COLUMN_NAMES, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=7), min_size=0, max_size=8),
    tz=st.sampled_from([None, "Europe/Paris"]),
    trailing_newline=st.booleans(),
)
def test_any_csv_text(header, rows, tz, trailing_newline):
    buf = io.StringIO()
    buf.write(",".join(header) + "\n")
    buf.write("\n".join(",".join(r) for r in rows))
    if trailing_newline:
        buf.write("\n")
    options = {"tz": tz} if tz else {}
    _open_bytes(buf.getvalue().encode("utf-8", errors="surrogatepass"), "text.csv", **options)


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from("abc"),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.floats(-10, 2000)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_well_formed_csv_loads_or_names_the_bad_value(rows):
    lines = ["timestamp,server_name,cpu_pct,latency_ms"]
    for t, server, cpu, latency in rows:
        cells = ["" if v is None else repr(v) for v in (cpu, latency)]
        lines.append(f"2024-01-01T00:00:{t * 5:02d}Z,{server},{cells[0]},{cells[1]}")
    src = None
    try:
        src = _open_bytes_raising("\n".join(lines) + "\n")
    except DataError as exc:
        message = str(exc)
        assert "text.csv: column '" in message and ", line " in message
        return
    # every (tick, server) pair is present; the last row of each wins
    last = {}
    for t, server, cpu, _latency in rows:
        last[(t, server)] = cpu
    assert sum(len(src.batch(i)) for i in range(src.n_ticks())) == len(last)


def _open_bytes_raising(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "text.csv"
        path.write_text(text)
        src = open_source(str(path), data_roots=[tmp])
        _check_invariants(src)
        return src


_VALID_PARQUET: list[bytes] = []


def _valid_parquet() -> bytes:
    if not _VALID_PARQUET:
        frame = pd.DataFrame(
            {
                "timestamp": pd.date_range("2024-01-01", periods=6, freq="5s", tz="UTC").repeat(2),
                "server_name": ["a", "b"] * 6,
                "cpu_pct": np.linspace(0, 90, 12),
                "latency_ms": np.arange(12.0),
            }
        )
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False, row_group_size=4)
        _VALID_PARQUET.append(buf.getvalue())
    return _VALID_PARQUET[0]


@SETTINGS
@given(
    cut=st.integers(0, 4000),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=6),
    lazy=st.sampled_from(["true", "false"]),
)
def test_damaged_parquet(cut, flips, lazy):
    data = bytearray(_valid_parquet())
    for pos, delta in flips:
        if pos < len(data):
            data[pos] = (data[pos] + delta) % 256
    if cut < len(data):
        assume(cut > 0)
        data = data[: len(data) - cut % len(data)]
    src = _open_bytes(bytes(data), "damaged.parquet", lazy=lazy)
    if src is not None:
        for i in range(src.n_ticks()):
            with contextlib.suppress(DashboardError):
                src.batch(i)


@SETTINGS
@given(
    frame=st.lists(
        st.fixed_dictionaries(
            {
                "timestamp": st.one_of(
                    st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z", "bad", None]),
                    st.datetimes().map(lambda d: d.isoformat()),
                ),
                "server_name": st.one_of(st.sampled_from(["a", "b", "", None]), st.integers(0, 3)),
                "cpu_pct": st.one_of(
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["1", "x", None, True]),
                ),
                "state": st.sampled_from(["online", "offline", None, "Busy", 3]),
            }
        ),
        min_size=1,
        max_size=10,
    )
)
def test_frames_in_memory(frame):
    try:
        src = DataSource.from_frame(pd.DataFrame(frame))
    except DataError:
        return
    _check_invariants(src)


@SETTINGS
@given(
    columns=st.one_of(
        st.none(),
        st.text(max_size=20),
        st.dictionaries(st.text(max_size=5), st.text(max_size=12), max_size=3),
    ),
    units=st.one_of(
        st.none(),
        st.text(max_size=20),
        st.dictionaries(
            st.sampled_from(["cpu_pct", "net_in_mb_s", "x"]), st.text(max_size=6), max_size=2
        ),
    ),
    resample=st.one_of(st.none(), st.text(max_size=6)),
    tz=st.one_of(st.none(), st.text(max_size=10)),
)
def test_any_options(columns, units, resample, tz):
    text = "timestamp,host,cpu_pct\n2024-01-01T00:00:00Z,a,1\n"
    options = {
        k: v for k, v in {"units": units, "resample": resample, "tz": tz}.items() if v is not None
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "o.csv").write_text(text)
        try:
            src = open_source(
                str(Path(tmp) / "o.csv"), data_roots=[tmp], columns=columns, **options
            )
        except DashboardError:
            return
        _check_invariants(src)


@pytest.mark.parametrize(
    "spec",
    [
        "scenario:default?seed=abc",
        "csv:?",
        "dir:",
        "follow:",
        "parquet:%00",
        "scenario:../../etc/passwd",
        "scenario:" + "x" * 300,
    ],
)
def test_odd_specs_raise_only_our_errors(spec, data_dir):
    with contextlib.suppress(DashboardError):
        open_source(spec)
