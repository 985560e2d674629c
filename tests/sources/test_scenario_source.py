"""The scenario source: generated in memory, reproducible, options validated, ground truth carried."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard import schema
from dashboard.errors import DashboardError, DataError, ScenarioError, SourceError
from dashboard.settings import BUNDLED_SCENARIOS
from dashboard.sources import open_source


def test_scenario_spec_with_options(data_dir):
    before = sorted(p.name for p in data_dir.rglob("*"))
    src = open_source("scenario:default?seed=7&fleet_size=12&duration=2&tick=10")
    assert sorted(p.name for p in data_dir.rglob("*")) == before  # nothing written
    assert src.kind == "scenario"
    assert src.spec == "scenario:default?duration=2&fleet_size=12&seed=7&tick=10"
    assert src.n_ticks() == 12 and len(src.servers()) == 12
    assert src.tick_seconds() == 10.0
    meta = src.metadata()
    assert meta["seed"] == 7 and meta["n_servers"] == 12
    w = src.window(-1, 12)
    assert w.phase is not None and w.problem_child is not None
    affected = {a["server_name"] for a in meta["affected_servers"]}
    assert set(w.servers[w.problem_child]) == affected
    # phase codes follow the metadata's timeline for an unaffected server
    healthy = int(np.flatnonzero(~w.problem_child)[0])
    for phase in meta["phases"]:
        kind = schema.PHASE_KINDS.index(phase["kind"])
        assert (w.phase[phase["start_tick"] : phase["end_tick"], healthy] == kind).all()
    assert src.report() == []


def test_same_seed_same_data_and_identity():
    a = open_source("scenario:default?seed=3&fleet_size=8&duration=1")
    b = open_source("scenario:default", seed=3, fleet_size=8, duration=1)
    c = open_source("scenario:default?seed=4&fleet_size=8&duration=1")
    pd.testing.assert_frame_equal(a.batch(5), b.batch(5))
    assert a.identity() == b.identity() != c.identity()
    assert not a.batch(5)["cpu_pct"].equals(c.batch(5)["cpu_pct"])


def test_default_scenario_matches_its_metadata():
    src = open_source("scenario:default")
    meta = src.metadata()
    assert src.n_ticks() == meta["n_ticks"] and len(src.servers()) == meta["n_servers"]
    assert src.spec.startswith("scenario:default?duration=")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("seed", "x", "scenario: seed must be a whole number, got 'x'"),
        ("seed", "-1", "scenario: seed must be at least 0, got -1"),
        ("fleet_size", "0", "scenario: fleet_size must be at least 1, got 0"),
        ("fleet_size", "2.5", "scenario: fleet_size must be a whole number, got 2.5"),
        ("duration", "-5", "duration: expected a positive number of minutes"),
        ("duration", "nan", "scenario: duration must be a number, got 'nan'"),
        ("tick", "abc", "scenario: tick must be a number, got 'abc'"),
        ("tick", "0", "tick: expected a positive number of seconds"),
    ],
)
def test_bad_option_values_are_named(option, value, message):
    with pytest.raises((DataError, ScenarioError), match=message):
        open_source(f"scenario:default?{option}={value}")


def test_bad_option_names_list_the_allowed_ones():
    with pytest.raises(
        SourceError, match="unknown option.*'speed'.*allowed: seed, fleet_size, duration, tick"
    ):
        open_source("scenario:default?speed=2")


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(ScenarioError, match="available scenarios: .*default"):
        open_source("scenario:nope")


def test_scenario_by_path_inside_the_roots(data_dir):
    data = json.loads((BUNDLED_SCENARIOS / "default.json").read_text())
    data["name"] = "mine"
    (data_dir / "mine.json").write_text(json.dumps(data))
    src = open_source("scenario:./mine.json?fleet_size=4&duration=1")
    assert len(src.servers()) == 4
    assert open_source("mine.json", fleet_size=4, duration=1).kind == "scenario"


def test_scenario_path_outside_the_roots_is_refused(data_dir, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DashboardError, match="outside the data roots"):
        open_source(f"scenario:{tmp_path / 'x.json'}")


def test_every_bundled_scenario_opens():
    for path in sorted(BUNDLED_SCENARIOS.glob("*.json")):
        src = open_source(f"scenario:{path.stem}?duration=2")
        assert src.n_ticks() > 0 and src.window(-1, 5).phase is not None, path.stem


def test_user_scenarios_and_drafts_open_after_the_bundled_ones(tmp_path):
    from dashboard.authoring.library import Library
    from dashboard.scenario import load_scenario
    from dashboard.settings import Settings

    settings = Settings(data_roots=(tmp_path,), user_scenario_dir=tmp_path / "mine")
    library = Library.from_settings(settings)
    mine = load_scenario("default").resolved(fleet_size=6).model_copy(update={"name": "mine"})
    library.save(mine, "mine", expected=None)
    src = open_source("scenario:mine?seed=3", settings=settings)
    assert len(src.servers()) == 6 and src.metadata()["seed"] == 3
    draft = library.snapshot(mine.resolved(fleet_size=4))
    assert len(open_source(f"scenario:{draft}", settings=settings).servers()) == 4
    assert open_source("scenario:default", settings=settings).metadata()["n_servers"] == 20
    with pytest.raises(ScenarioError, match="available scenarios: .*default.*mine"):
        open_source("scenario:nope", settings=settings)
