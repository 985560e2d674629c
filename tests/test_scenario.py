"""Scenario files: the format, every refusal with its message, loading and listing."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import settings as app_settings
from dashboard.errors import DashboardError, ScenarioError
from dashboard.scenario import (
    MAX_FLEET_SIZE,
    MAX_ROWS,
    Fleet,
    ScenarioInfo,
    format_clock,
    list_scenarios,
    load_scenario,
    parse_scenario,
)

BUNDLED = [
    "bad_deploy",
    "busy_fleet",
    "cascading_failure",
    "default",
    "gc_storm",
    "memory_leak",
    "repeat_offender",
    "traffic_spike",
]


def valid() -> dict:
    """A small valid scenario as a dict (a fresh copy each call)."""
    return {
        "schema_version": 1,
        "name": "unit",
        "description": "0:00-1:00 stable, 1:00-2:00 peak.",
        "duration_s": 120,
        "tick_s": 5,
        "seed": 1,
        "fleet": {"size": 8, "mix": {"web": 1, "database": 1}},
        "phases": [
            {"name": "stable", "start": 0, "end": 60},
            {"name": "peak", "start": 60, "end": 120, "intensity": 1},
        ],
    }


def refused(data, loc: str, *words: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, source="case.json")
    err = info.value
    locs = [p[0] for p in err.problems]
    assert loc in locs, f"expected a problem at {loc!r}, got {err.problems}"
    message = str(err)
    assert f"case.json: {loc}: " in message
    rule = " | ".join(msg for where, msg in err.problems if where == loc)
    for word in words:
        assert word.lower() in rule.lower(), f"{word!r} not in {rule!r}"
    return err


# -- the bundled library -------------------------------------------------------


def test_bundled_library_lists_every_scenario_without_errors():
    infos = list_scenarios()
    assert [i.name for i in infos] == BUNDLED
    assert all(i.error is None for i in infos), [i.error for i in infos if i.error]
    assert all(isinstance(i, ScenarioInfo) and i.title and i.description for i in infos)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenarios_load_and_describe_what_happens_when(name):
    sc = load_scenario(name)
    assert sc.name == name
    assert len(sc.description) > 100
    # The description names the time of each phase boundary ("m:ss").
    for phase in sc.phases[1:]:
        assert format_clock(phase.start) in sc.description, (name, phase.name)
    assert sc.affected_servers(), name
    assert {p.kind for p in sc.phases} >= {"stable", "peak"}


def test_default_scenario_is_the_seed_incident():
    sc = load_scenario("default")
    assert (sc.seed, sc.tick_s, sc.duration_s, sc.n_ticks) == (42, 5.0, 300.0, 60)
    assert sc.fleet.counts() == {"web": 5, "database": 5, "cache": 5, "ml_compute": 5}
    assert [(p.name, p.kind, p.start, p.end) for p in sc.phases] == [
        ("stable", "stable", 0, 90),
        ("escalation", "escalation", 90, 150),
        ("peak", "peak", 150, 210),
        ("recovery", "recovery", 210, 300),
    ]
    affected = sc.affected_servers()
    assert [a["server_name"] for a in affected] == [
        "web-000",
        "database-000",
        "cache-000",
        "ml_compute-000",
    ]
    assert all("first server of its profile" in a["reason"] for a in affected)
    assert sc.effects["cpu_pct"].target == 85


def test_load_by_name_with_or_without_json_and_by_path():
    by_name = load_scenario("default")
    assert load_scenario("default.json") == by_name
    assert load_scenario(app_settings.BUNDLED_SCENARIOS / "default.json") == by_name
    assert load_scenario(str(app_settings.BUNDLED_SCENARIOS / "default.json")) == by_name


def test_load_missing_names_file_and_lists_available(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario("nope")
    msg = str(info.value)
    assert "nope.json" in msg and "not found" in msg
    for name in BUNDLED:
        assert name in msg
    with pytest.raises(ScenarioError, match="available scenarios in .*: none"):
        load_scenario("nope", scenario_dir=tmp_path)


@pytest.mark.parametrize("bad", ["Bad Name", "-x", "a" * 65, "x;rm"])
def test_load_refuses_unsafe_names(bad):
    with pytest.raises(ScenarioError, match="not a scenario name"):
        load_scenario(bad)


def test_load_from_scenario_dir_and_broken_file_listing(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(valid() | {"name": "good"}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "invalid.json").write_text(json.dumps(valid() | {"duration_s": -1}))
    (tmp_path / "notes.txt").write_text("ignored")
    infos = {i.name: i for i in list_scenarios(tmp_path)}
    assert sorted(infos) == ["broken", "good", "invalid"]
    assert infos["good"].error is None
    assert "not valid JSON" in infos["broken"].error
    assert "duration_s" in infos["invalid"].error
    assert load_scenario("good", scenario_dir=tmp_path).name == "good"
    with pytest.raises(ScenarioError, match="invalid.json: duration_s"):
        load_scenario("invalid", scenario_dir=tmp_path)


def test_oversized_file_is_refused_without_reading_it_all(tmp_path):
    (tmp_path / "huge.json").write_bytes(b" " * 3_000_000)
    with pytest.raises(ScenarioError, match="byte limit"):
        load_scenario("huge", scenario_dir=tmp_path)
    assert "byte limit" in list_scenarios(tmp_path)[0].error


def test_list_of_missing_directory_is_empty(tmp_path):
    assert list_scenarios(tmp_path / "absent") == []


# -- the format ------------------------------------------------------------------


def test_valid_minimal_scenario_fills_defaults():
    sc = parse_scenario(valid())
    assert sc.affected[0].rule == "first_of_each_profile"
    assert set(sc.effects) == {"cpu_pct", "latency_ms", "error_rate", "gc_pause_ms"}
    assert sc.phases[0].kind == "stable" and sc.phases[1].kind == "peak"
    assert sc.n_ticks == 24


def test_text_and_bytes_and_dict_parse_alike():
    data = valid()
    assert (
        parse_scenario(json.dumps(data))
        == parse_scenario(json.dumps(data).encode())
        == parse_scenario(data)
    )


def test_a_scenario_instance_is_revalidated():
    sc = load_scenario("default")
    assert parse_scenario(sc) == sc


def test_clock_strings_are_accepted():
    data = valid()
    data["duration_s"] = "2:00"
    data["phases"][0]["end"] = "1:00"
    data["phases"][1].update(start="0:01:00", end="2:00")
    sc = parse_scenario(data)
    assert sc.duration_s == 120 and sc.phases[1].start == 60


@pytest.mark.parametrize("text", ["1:75", "abc", "1::2", "1:60:00"])
def test_bad_clock_strings_are_refused(text):
    data = valid()
    data["phases"][0]["end"] = text
    refused(data, "phases.0.end", "m:ss")


def test_custom_phase_names_need_a_kind():
    data = valid()
    data["phases"][1]["name"] = "meltdown"
    refused(data, "phases.1.kind", "required", "meltdown")
    data["phases"][1]["kind"] = "peak"
    assert parse_scenario(data).phases[1].kind == "peak"


def test_to_json_is_canonical_and_round_trips():
    sc = load_scenario("cascading_failure")
    text = sc.to_json()
    again = parse_scenario(text)
    assert again == sc
    assert again.to_json() == text
    assert text.endswith("\n") and json.loads(text)["schema_version"] == 1


def test_errors_are_dashboard_errors_with_problems():
    data = valid()
    data["phases"][1]["start"] = 70
    data["extra"] = 1
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, source="s.json")
    assert isinstance(info.value, DashboardError)
    assert info.value.problems


def test_every_problem_is_listed_at_once():
    data = valid()
    data["fleet"]["size"] = 0
    data["tick_s"] = -1
    data["colour"] = "red"
    err = refused(data, "fleet.size")
    assert {"fleet.size", "tick_s", "colour"} <= {p[0] for p in err.problems}
    assert str(err).startswith("case.json: invalid scenario (3 problems)")


# -- refusals, each with the field and the rule ---------------------------------------


def _mod(fn):
    data = valid()
    fn(data)
    return data


def _set(path: str, value):
    def apply(data):
        target = data
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


REFUSALS = [
    # timeline tiling
    ("gap", _set("phases.1.start", 70), "phases.1.start", ["gap", "tile"]),
    ("overlap", _set("phases.1.start", 50), "phases.1.start", ["overlap", "tile"]),
    ("first phase not at 0", _set("phases.0.start", 5), "phases.0.start", ["starts at 0"]),
    ("zero length", lambda d: d["phases"][0].update(end=0), "phases.0.end", [">"]),
    (
        "zero length mid",
        lambda d: d["phases"].insert(1, {"name": "blip", "kind": "peak", "start": 60, "end": 60}),
        "phases.1.end",
        ["zero or negative length"],
    ),
    (
        "negative length",
        lambda d: d["phases"][1].update(start=60, end=30),
        "phases.1.end",
        ["after start"],
    ),
    ("last phase short", _set("phases.1.end", 100), "phases.1.end", ["duration_s = 120"]),
    ("no phases", _set("phases", []), "phases", ["at least 1"]),
    (
        "duplicate phase",
        lambda d: d["phases"][1].update(name="stable"),
        "phases.1.name",
        ["duplicate"],
    ),
    # unknown fields
    ("unknown top-level", _set("colour", "red"), "colour", ["unknown field"]),
    ("unknown nested", _set("phases.0.colour", "red"), "phases.0.colour", ["unknown field"]),
    ("unknown in fleet", _set("fleet.servers", 3), "fleet.servers", ["unknown field"]),
    # non-finite numbers
    ("nan", _set("phases.1.intensity", math.nan), "phases.1.intensity", ["finite"]),
    ("infinity", _set("duration_s", math.inf), "duration_s", ["finite"]),
    ("-infinity", _set("tick_s", -math.inf), "tick_s", ["finite"]),
    # wrong types
    ("string number", _set("seed", "42"), "seed", ["integer", "'42'"]),
    ("bool as int", _set("fleet.size", True), "fleet.size", ["integer"]),
    ("float as int", _set("fleet.size", 8.5), "fleet.size", ["integer"]),
    ("number as name", _set("name", 7), "name", ["string"]),
    ("list as fleet", _set("fleet", [8]), "fleet", ["fleet"]),
    ("bad shape", _set("phases.0.shape", "square"), "phases.0.shape", ["flat", "ramp", "sine"]),
    ("bad kind", _set("phases.0.kind", "calm"), "phases.0.kind", ["stable"]),
    ("bad version", _set("schema_version", 2), "schema_version", ["unsupported", "1"]),
    ("missing version", lambda d: d.pop("schema_version"), "schema_version", ["required"]),
    ("missing description", lambda d: d.pop("description"), "description", ["required"]),
    ("bad name", _set("name", "My Scenario"), "name", ["pattern"]),
    # absurd sizes
    ("no servers", _set("fleet.size", 0), "fleet.size", [">= 1", "100,000"]),
    ("a billion servers", _set("fleet.size", 10**9), "fleet.size", ["<= 100000", "100,000"]),
    (
        "ten years at 1 s",
        lambda d: d.update(tick_s=1, duration_s=10 * 365 * 86400),
        "duration_s",
        ["31 days"],
    ),
    ("tick too small", _set("tick_s", 0.01), "tick_s", [">= 0.1"]),
    ("tick too large", _set("tick_s", 7200), "tick_s", ["<= 3600"]),
    ("tick sub-millisecond", _set("tick_s", 0.1005), "tick_s", ["milliseconds"]),
    ("duration below a tick", lambda d: _short_duration(d), "duration_s", ["at least one tick"]),
    ("unknown profile", _set("fleet.mix", {"mainframe": 1}), "fleet.mix.mainframe.[key]", ["web"]),
    ("negative weight", _set("fleet.mix", {"web": -1}), "fleet.mix", ["between 0"]),
    ("all weights zero", _set("fleet.mix", {"web": 0}), "fleet.mix", ["positive weight"]),
    ("intensity above 1", _set("phases.1.intensity", 1.5), "phases.1.intensity", ["<= 1"]),
    # affected servers
    (
        "unknown server",
        _set("affected", [{"rule": "servers", "servers": ["web-009"]}]),
        "affected.0.servers.0",
        ["web-009", "web-000..web-003"],
    ),
    ("share missing", _set("affected", [{"rule": "share"}]), "affected.0.share", ["needs a share"]),
    ("share zero", _set("affected", [{"rule": "share", "share": 0}]), "affected.0.share", ["> 0"]),
    (
        "share with wrong rule",
        _set("affected", [{"rule": "profiles", "profiles": ["web"], "share": 0.5}]),
        "affected.0.share",
        ["only allowed"],
    ),
    (
        "profile not in fleet",
        _set("affected", [{"rule": "profiles", "profiles": ["cache"]}]),
        "affected.0.profiles.0",
        ["no servers"],
    ),
    (
        "bad rule",
        _set("affected", [{"rule": "random"}]),
        "affected.0.rule",
        ["first_of_each_profile"],
    ),
    (
        "delay too long",
        _set("affected", [{"rule": "first_of_each_profile", "delay_s": 500}]),
        "affected.0.delay_s",
        ["shorter than duration_s"],
    ),
    # effects
    (
        "unknown metric",
        _set("effects", {"temperature": {"target": 1}}),
        "effects.temperature.[key]",
        ["cpu_pct"],
    ),
    (
        "cpu above 100",
        _set("effects", {"cpu_pct": {"target": 150}}),
        "effects.cpu_pct.target",
        ["0..100"],
    ),
    (
        "zero factor",
        _set("effects", {"latency_ms": {"mode": "factor", "target": 0}}),
        "effects.latency_ms.target",
        ["factor"],
    ),
    ("bad oom", _set("oom", {"every_s": 0}), "oom.every_s", ["> 0"]),
    # disturbances, hot servers, expectations
    (
        "unknown disturbance kind",
        _set("disturbances", [{"kind": "meteor", "start": 0, "end": 10, "rule": "first_of_each_profile"}]),
        "disturbances.0.kind",
        ["batch_job", "failover"],
    ),
    (
        "disturbance ends before it starts",
        _set("disturbances", [{"kind": "batch_job", "start": 50, "end": 40, "rule": "first_of_each_profile"}]),
        "disturbances.0.end",
        ["after start"],
    ),
    (
        "disturbance past the end",
        _set("disturbances", [{"kind": "batch_job", "start": 50, "end": 400, "rule": "first_of_each_profile"}]),
        "disturbances.0.end",
        ["within the scenario", "120"],
    ),
    (
        "restart_s on a batch job",
        _set("disturbances", [{"kind": "batch_job", "start": 0, "end": 10, "rule": "first_of_each_profile", "restart_s": 5}]),
        "disturbances.0.restart_s",
        ["only allowed for kind 'deploy'"],
    ),
    (
        "disturbance on an unknown server",
        _set("disturbances", [{"kind": "deploy", "start": 0, "end": 10, "rule": "servers", "servers": ["web-099"]}]),
        "disturbances.0.servers.0",
        ["no server named 'web-099'"],
    ),
    (
        "disturbance effect out of range",
        _set("disturbances", [{"kind": "batch_job", "start": 0, "end": 10, "rule": "first_of_each_profile", "effects": {"cpu_pct": {"target": 130}}}]),
        "disturbances.0.effects.cpu_pct.target",
        ["0..100"],
    ),
    (
        "disturbance without a rule",
        _set("disturbances", [{"kind": "batch_job", "start": 0, "end": 10}]),
        "disturbances.0.rule",
        ["missing"],
    ),
    (
        "hot servers in a profile the fleet lacks",
        _set("hot_servers", [{"rule": "profiles", "profiles": ["ml_compute"], "cpu_pct": 95}]),
        "hot_servers.0.profiles.0",
        ["no servers"],
    ),
    ("hot cpu above 100", _set("hot_servers", [{"rule": "first_of_each_profile", "cpu_pct": 120}]), "hot_servers.0.cpu_pct", ["<= 100"]),
    ("negative lead expectation", _set("expectations", {"lead_time_s": -5}), "expectations.lead_time_s", [">= 0"]),
    ("top-5 share above 1", _set("expectations", {"top5_in_peak": 1.5}), "expectations.top5_in_peak", ["<= 1"]),
    ("unknown expectation", _set("expectations", {"no_alerts": True}), "expectations.no_alerts", ["unknown field"]),
]


def _short_duration(data):
    data["duration_s"] = 2
    data["phases"] = [{"name": "stable", "start": 0, "end": 2}]


@pytest.mark.parametrize(("case", "mutate", "loc", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_field_and_the_rule(case, mutate, loc, words):
    refused(_mod(mutate), loc, *words)


def test_row_limit_is_refused_with_the_numbers():
    data = valid()
    data.update(duration_s=31 * 86400, tick_s=0.1, fleet={"size": 1000})
    data["phases"] = [{"name": "stable", "start": 0, "end": 31 * 86400}]
    err = refused(data, "fleet.size", f"{MAX_ROWS:,}")
    assert "26,784,000 ticks" in str(err)


@pytest.mark.parametrize(
    "text",
    [
        '{"schema_version": 1, "duration_s": NaN}',
        '{"schema_version": 1, "duration_s": Infinity}',
        '{"schema_version": 1, "duration_s": -Infinity}',
    ],
)
def test_non_finite_json_literals_are_refused(text):
    with pytest.raises(ScenarioError, match="numbers must be finite"):
        parse_scenario(text, source="nan.json")


def test_a_key_given_twice_is_refused_with_its_place():
    text = (
        '{\n  "schema_version": 1,\n  "name": "twice",\n  "duration_s": 300,\n'
        '  "phases": [\n    {"name": "stable", "start": 0, "end": 200},\n'
        '    {"name": "peak", "start": 200, "end": 250,\n     "end": 300}\n  ]\n}\n'
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="twice.json")
    assert str(info.value) == (
        "twice.json: phases.1.end: key 'end' appears 2 times in one object "
        "(line 7 column 36, line 8 column 6); JSON readers keep only the last without a "
        "word, so remove the others"
    )
    assert info.value.problems == [
        ("phases.1.end", "key 'end' appears 2 times in one object (line 7 column 36, line 8 column 6)")
    ]


def test_a_repeated_top_level_key_is_refused_too(tmp_path):
    path = tmp_path / "again.json"
    path.write_text('{"schema_version": 1, "name": "a", "name": "b"}')
    with pytest.raises(ScenarioError, match=r"again.json: name: key 'name' appears 2 times"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("null", "must be a JSON object"),
        ("x" * 2_000_000, "byte limit"),
    ],
)
def test_unreadable_inputs_are_refused(data, words):
    with pytest.raises(ScenarioError, match=words):
        parse_scenario(data, source="in.json")


# -- derived values --------------------------------------------------------------------


def test_resolved_stretches_phases_proportionally():
    sc = load_scenario("default").resolved(duration_min=10)
    assert sc.duration_s == 600
    assert [(p.start, p.end) for p in sc.phases] == [(0, 180), (180, 300), (300, 420), (420, 600)]
    assert sc.n_ticks == 120


def test_disturbances_and_hot_servers_resolve_to_servers():
    data = valid()
    data["fleet"] = {"size": 8, "mix": {"web": 1, "database": 1}}
    data["disturbances"] = [
        {"kind": "failover", "start": "0:10", "end": "0:50", "rule": "servers", "servers": ["web-001"], "title": "drill"},
        {"kind": "busy_hour", "start": 0, "end": 120, "rule": "share", "share": 0.5, "profiles": ["database"]},
    ]
    data["hot_servers"] = [{"rule": "servers", "servers": ["database-003"], "cpu_pct": 95, "mem_pct": 88}]
    data["expectations"] = {"lead_time_s": 30, "quiet_disturbed_servers": True}
    sc = parse_scenario(data)
    failover, busy = sc.disturbance_servers()
    assert failover["servers"] == ["web-001"] and failover["peers"] == ["web-000", "web-002", "web-003"]
    assert (failover["start_s"], failover["end_s"], failover["title"]) == (10.0, 50.0, "drill")
    assert len(busy["servers"]) == 2 and all(s.startswith("database-") for s in busy["servers"])
    assert busy["servers"] == parse_scenario(data).disturbance_servers()[1]["servers"]  # seeded
    assert sc.hot_server_levels() == {7: (95.0, 88.0)}
    assert sc.expectations.lead_time_s == 30 and sc.expectations.top5_in_peak is None
    assert parse_scenario(sc.to_json()) == sc  # round-trips with every field
    longer = sc.resolved(duration_min=4)
    assert (longer.disturbances[0].start, longer.disturbances[0].end) == (20.0, 100.0)


def test_resolved_stretches_delays_and_periods():
    sc = load_scenario("cascading_failure")
    longer = sc.resolved(duration_min=16)
    assert longer.affected[1].delay_s == 2 * sc.affected[1].delay_s
    gc = load_scenario("gc_storm").resolved(duration_min=13)
    assert gc.phases[2].period_s == 60


def test_resolved_overrides_fleet_tick_seed():
    sc = load_scenario("default").resolved(fleet_size=1000, tick_s=1, seed=7)
    assert (sc.fleet.size, sc.tick_s, sc.seed, sc.n_ticks) == (1000, 1.0, 7, 300)
    assert sum(sc.fleet.counts().values()) == 1000
    assert load_scenario("default").resolved() == load_scenario("default")


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"fleet_size": 0}, "fleet.size"),
        ({"fleet_size": 10**9}, "fleet.size"),
        ({"tick_s": 0.001}, "tick_s"),
        ({"seed": -1}, "seed"),
        ({"duration_min": 10 * 365 * 24 * 60}, "duration_s"),
        ({"duration_min": -5}, "duration_s"),
        ({"duration_min": math.nan}, "duration_s"),
    ],
)
def test_resolved_refuses_bad_overrides(kwargs, loc):
    with pytest.raises(ScenarioError) as info:
        load_scenario("default").resolved(**kwargs)
    assert loc in [p[0] for p in info.value.problems]


def test_affected_rules():
    base = valid()
    base["fleet"] = {"size": 20, "mix": {"web": 1, "database": 1, "cache": 1, "ml_compute": 1}}

    def names(affected):
        sc = parse_scenario(base | {"affected": affected})
        return [a["server_name"] for a in sc.affected_servers()]

    assert names([{"rule": "first_of_each_profile", "profiles": ["cache"]}]) == ["cache-000"]
    assert names([{"rule": "servers", "servers": ["web-003", "cache-001"]}]) == [
        "web-003",
        "cache-001",
    ]
    assert names([{"rule": "profiles", "profiles": ["database"]}]) == [
        f"database-{i:03d}" for i in range(5)
    ]
    share = names([{"rule": "share", "share": 0.4, "profiles": ["web", "ml_compute"]}])
    assert len(share) == 4 and all(n.startswith(("web", "ml_compute")) for n in share)
    assert share == names([{"rule": "share", "share": 0.4, "profiles": ["web", "ml_compute"]}])
    assert len(names([{"rule": "share", "share": 0.01}])) == 1
    # A server picked by two groups is listed once, for the first group.
    both = parse_scenario(
        base
        | {
            "affected": [
                {"rule": "servers", "servers": ["web-000"]},
                {"rule": "profiles", "profiles": ["web"], "delay_s": 30},
            ]
        }
    ).affected_servers()
    assert [(a["server_name"], a["delay_s"]) for a in both][:2] == [
        ("web-000", 0.0),
        ("web-001", 30.0),
    ]
    assert len(both) == 5


def test_format_clock():
    assert format_clock(90) == "1:30"
    assert format_clock(3725) == "1:02:05"
    assert format_clock(0) == "0:00"


# -- properties ----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "schema_version",
    "name",
    "description",
    "duration_s",
    "tick_s",
    "seed",
    "fleet",
    "phases",
    "affected",
    "effects",
    "oom",
    "title",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
def test_only_scenario_errors_escape_random_documents(doc):
    try:
        parse_scenario(doc)
    except ScenarioError as exc:
        assert exc.problems
    else:  # pragma: no cover - a random document being valid is fine too
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_only_scenario_errors_escape_random_text(raw):
    with pytest.raises(ScenarioError):
        parse_scenario(raw)


PATHS = [
    ("duration_s",),
    ("tick_s",),
    ("seed",),
    ("fleet", "size"),
    ("fleet", "mix"),
    ("phases", 0, "end"),
    ("phases", 1, "start"),
    ("phases", 1, "intensity"),
    ("phases", 1, "shape"),
    ("phases", 0),
    ("phases",),
    ("affected",),
    ("effects",),
    ("name",),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), json_values)
def test_only_scenario_errors_escape_mutated_valid_documents(path, value):
    doc = copy.deepcopy(valid())
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    try:
        sc = parse_scenario(doc)
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(loc, str) and msg for loc, msg in exc.problems)
    else:
        # Whatever is accepted must be internally consistent.
        assert sc.phases[0].start == 0 and math.isclose(sc.phases[-1].end, sc.duration_s)
        assert sc.n_ticks * sc.fleet.size <= MAX_ROWS


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, MAX_FLEET_SIZE),
    st.dictionaries(
        st.sampled_from(["web", "database", "cache", "ml_compute"]),
        st.floats(0, 100),
        min_size=1,
    ).filter(lambda m: sum(m.values()) > 0),
)
def test_fleet_counts_always_sum_to_size(size, mix):
    counts = Fleet(size=size, mix=mix).counts()
    assert sum(counts.values()) == size
    assert all(c > 0 for c in counts.values())
    assert list(counts) == [p for p in mix if p in counts]


# -- every problem reported at once ------------------------------------------------------------
def test_a_field_error_does_not_hide_a_gap_in_the_same_file():
    data = valid()
    data["phases"][0]["shape"] = "zigzag"  # a field error...
    data["phases"][1]["start"] = 70  # ...and a gap the whole-file rules find
    err = refused(data, "phases.1.start", "gap")
    assert "phases.0.shape" in [where for where, _ in err.problems]


def test_an_unreadable_time_skips_only_the_checks_that_need_it():
    data = valid()
    data["phases"].append({"name": "peak", "start": "soon", "end": 200})
    data["description"] = ""  # another field error
    err = refused(data, "phases.2.name", "duplicate")
    locations = [where for where, _ in err.problems]
    assert {"phases.2.start", "description", "phases.2.end"} <= set(locations)
