"""Incident logs: CSV, JSON and NAB windows; every bad value named with its place."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard.incidents import FLEET, IncidentLogError, find_beside, load_incidents
from dashboard.sources import open_source

CSV = """server_name,start,end,peak,severity,title
db-01,2025-03-02T14:05:00Z,2025-03-02T14:40:00Z,2025-03-02T14:20:00Z,SEV2,replica lag
*,2025-03-09T02:00:00+01:00,2025-03-09T02:30:00+01:00,,SEV1,network partition
"""


def test_a_csv_log(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    log = load_incidents(path)
    first, fleet = log.incidents
    assert first.server_name == "db-01" and first.peak == pd.Timestamp("2025-03-02T14:20:00Z")
    assert (first.severity, first.title) == ("SEV2", "replica lag")
    assert fleet.server_name == FLEET and fleet.fleet_wide
    assert fleet.start == pd.Timestamp("2025-03-09T01:00:00Z")  # the offset converted to UTC
    assert fleet.peak is None and log.servers() == ["db-01", "*"]
    assert log.report == ()
    assert first.to_dict()["start"] == "2025-03-02T14:05:00Z"


def test_pager_style_column_names_and_naive_times_in_a_zone(tmp_path):
    path = tmp_path / "pager.csv"
    path.write_text("host,started_at,resolved_at,urgency\nweb-1,2025-07-01 10:00,2025-07-01 11:00,high\n")
    log = load_incidents(path, tz="Europe/Paris")
    (inc,) = log.incidents
    assert inc.server_name == "web-1" and inc.start == pd.Timestamp("2025-07-01T08:00:00Z")
    assert "read as Europe/Paris" in log.report[0]
    utc = load_incidents(path)
    assert utc.incidents[0].start == pd.Timestamp("2025-07-01T10:00:00Z")
    assert "read as UTC" in utc.report[0]


def test_json_logs_list_and_object(tmp_path):
    records = [{"server_name": "a", "start": "2025-01-01T00:00:00Z", "end": "2025-01-01T00:10:00Z", "title": "x"}]
    (tmp_path / "list.json").write_text(json.dumps(records))
    (tmp_path / "obj.json").write_text(json.dumps({"incidents": records}))
    for name in ("list.json", "obj.json"):
        (inc,) = load_incidents(tmp_path / name).incidents
        assert inc.title == "x" and inc.severity is None
    assert len(load_incidents(records)) == 1


def test_nab_windows_json_names_servers_by_file_stem(tmp_path):
    windows = {
        "realKnownCause/nyc_taxi.csv": [["2014-11-01 19:00:00.000000", "2014-11-02 12:30:00.000000"]],
        "realKnownCause/other.csv": [],
    }
    path = tmp_path / "windows.json"
    path.write_text(json.dumps(windows))
    log = load_incidents(path)
    (inc,) = log.incidents
    assert inc.server_name == "nyc_taxi" and inc.end == pd.Timestamp("2014-11-02T12:30:00Z")
    assert "each file one server named by its stem" in log.report[0]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("server_name,start\na,2025-01-01\n", "missing column(s) end"),
        ("server_name,start,end\na,soon,2025-01-01\n", "line 2, field 'start': not a time"),
        ("server_name,start,end\na,2025-01-02,2025-01-01\n", "line 2, field 'end': 2025-01-01T00:00:00Z is before start"),
        ("server_name,start,end\n,2025-01-01,2025-01-02\n", "line 2, field 'server_name': empty"),
        ("server_name,start,end,peak\na,2025-01-01,2025-01-02,2025-01-03\n", "field 'peak': 2025-01-03T00:00:00Z is outside"),
        ("server_name,start,end\na,2025-01-01,\n", "line 2, field 'end': missing time"),
        ('[{"server_name": "a", "start": "2025-01-01"}]', "missing column(s) end"),
        ('[{"server_name": "a", "start": "2025-01-01", "end": "x"}]', "entry 0, field 'end': not a time"),
        ("[1, 2]", "entry 0: expected an object"),
        ('{"f.csv": [["2025-01-01"]]}', "'f.csv' window 0: expected [start, end]"),
        ('{"incidents": 3}', "expected a list of incidents"),
        ("[{oops", "not valid JSON"),
        ("", "the incident log is empty"),
    ],
)
def test_bad_logs_are_refused_with_the_place(tmp_path, body, needle):
    path = tmp_path / "log.txt"
    path.write_text(body)
    with pytest.raises(IncidentLogError) as info:
        load_incidents(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_unreadable_logs(tmp_path):
    with pytest.raises(IncidentLogError, match="cannot read the incident log"):
        load_incidents(tmp_path / "missing.csv")
    (tmp_path / "latin.csv").write_bytes("server_name,start,end\ncaf\xe9,2025-01-01,2025-01-02\n".encode("latin-1"))
    with pytest.raises(IncidentLogError, match="not UTF-8"):
        load_incidents(tmp_path / "latin.csv")
    with pytest.raises(IncidentLogError, match="not a file"):
        load_incidents(tmp_path)
    with pytest.raises(IncidentLogError, match="CSV or JSON file"):
        load_incidents(42)


def _fleet_csv(path):
    path.write_text("timestamp,server_name,cpu_pct\n2025-01-01T00:00:00Z,a,1\n2025-01-01T00:00:05Z,a,2\n")


def test_a_source_finds_the_log_beside_its_file(tmp_path):
    _fleet_csv(tmp_path / "fleet.csv")
    (tmp_path / "fleet_incidents.csv").write_text("server_name,start,end\na,2025-01-01T00:00:00Z,2025-01-01T00:00:05Z\n")
    assert find_beside(tmp_path / "fleet.csv") == tmp_path / "fleet_incidents.csv"
    source = open_source(tmp_path / "fleet.csv", data_roots=[tmp_path])
    assert len(source.incidents()) == 1
    assert any("incident log found beside the data" in line for line in source.report())


def test_a_spec_names_its_log_under_the_data_roots(tmp_path):
    _fleet_csv(tmp_path / "fleet.csv")
    (tmp_path / "log.json").write_text('[{"server_name": "a", "start": "2025-01-01", "end": "2025-01-01"}]')
    source = open_source(f"csv:{tmp_path / 'fleet.csv'}?incidents={tmp_path / 'log.json'}", data_roots=[tmp_path])
    assert len(source.incidents()) == 1 and "incidents=" in source.spec
    from dashboard.errors import PathSafetyError

    with pytest.raises(PathSafetyError):
        open_source(f"csv:{tmp_path / 'fleet.csv'}?incidents=/etc/passwd", data_roots=[tmp_path])


def test_a_broken_log_beside_the_data_does_not_stop_the_data(tmp_path):
    _fleet_csv(tmp_path / "fleet.csv")
    (tmp_path / "fleet_incidents.csv").write_text("server_name,start\na,2025-01-01\n")
    source = open_source(tmp_path / "fleet.csv", data_roots=[tmp_path])
    assert source.n_ticks() == 2
    assert any("incident log not usable" in line for line in source.report())
    with pytest.raises(IncidentLogError, match="missing column"):
        source.incidents()
