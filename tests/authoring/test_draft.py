"""The builder's model of a scenario: edits keep the timeline tiled, half-typed values stay
where they were typed, and every problem is reported at its field."""

from __future__ import annotations

import pytest

from dashboard.authoring import draft
from dashboard.authoring.draft import DraftError
from dashboard.scenario import load_scenario


def names_and_times(doc):
    return [(p["name"], p["start"], p["end"]) for p in doc["phases"]]


def three_phases():
    doc = draft.split_phase(draft.split_phase(draft.blank(), 0), 1)
    return doc


def test_blank_is_a_valid_small_scenario():
    scenario, problems = draft.check(draft.blank())
    assert problems == [] and scenario.fleet.size == 20 and len(scenario.phases) == 1


def test_split_cuts_a_phase_in_two_at_its_middle_on_the_tick_grid():
    doc = three_phases()
    assert names_and_times(doc) == [("stable", 0, 150), ("stable-2", 150, 225), ("stable-3", 225, 300)]
    assert draft.check(doc)[1] == []


def test_dragging_a_boundary_resizes_both_neighbours_snapped_and_clamped():
    doc = draft.move_boundary(three_phases(), 0, 101.7)
    assert names_and_times(doc)[:2] == [("stable", 0, 100), ("stable-2", 100, 225)]
    doc = draft.move_boundary(doc, 1, 9999)  # as far as the next phase allows: one tick short
    assert names_and_times(doc)[1:] == [("stable-2", 100, 295), ("stable-3", 295, 300)]
    doc = draft.move_boundary(doc, 0, -50)
    assert doc["phases"][0]["end"] == 5 and draft.check(doc)[1] == []


@pytest.mark.parametrize(("k", "t"), [(5, 10.0), (-1, 10.0), (0, float("nan")), (0, "a")])
def test_impossible_boundary_moves_say_why(k, t):
    with pytest.raises(DraftError):
        draft.move_boundary(three_phases(), k, t)


def test_typed_times_keep_the_timeline_tiled():
    doc = draft.set_value(three_phases(), "phases.0.end", "2:00")
    assert doc["phases"][0]["end"] == "2:00" and doc["phases"][1]["start"] == 120
    doc = draft.set_value(doc, "phases.2.start", 200)
    assert doc["phases"][1]["end"] == 200
    doc = draft.set_value(doc, "phases.2.end", "6:00")  # the last end is the duration
    assert doc["duration_s"] == 360
    assert draft.check(doc)[1] == []


def test_a_bad_typed_time_stays_where_it_was_typed_and_is_reported_there():
    doc = draft.set_value(three_phases(), "phases.1.end", "soon")
    assert doc["phases"][1]["end"] == "soon" and doc["phases"][2]["start"] == 225
    scenario, problems = draft.check(doc)
    assert scenario is None and [loc for loc, _ in problems] == ["phases.1.end"]
    with pytest.raises(DraftError, match="not numbers yet"):
        draft.split_phase(doc, 0)


def test_a_new_duration_stretches_every_phase_and_delay():
    doc = draft.set_value(draft.from_scenario(load_scenario("default")), "affected.0.delay_s", 30)
    doc = draft.set_value(doc, "duration_s", "10:00")
    assert [p["end"] for p in doc["phases"]] == [180, 300, 420, 600]
    assert doc["affected"][0]["delay_s"] == 60 and draft.check(doc)[1] == []


def test_add_delete_and_reorder_phases():
    doc = draft.add_phase(three_phases())
    assert doc["phases"][-1]["kind"] == "escalation" and doc["duration_s"] == 375
    doc = draft.move_phase(doc, 3, -1)
    assert [p["name"] for p in doc["phases"]] == ["stable", "stable-2", "escalation", "stable-3"]
    assert names_and_times(doc)[2] == ("escalation", 225, 300)  # lengths kept, order changed
    doc = draft.delete_phase(doc, 0)
    assert names_and_times(doc)[0] == ("stable-2", 0, 225)  # the next phase takes the time
    assert draft.check(doc)[1] == []
    with pytest.raises(DraftError, match="at least one phase"):
        draft.delete_phase(draft.blank(), 0)
    with pytest.raises(DraftError, match="cannot move earlier"):
        draft.move_phase(doc, 0, -1)


def test_renaming_a_phase_to_a_kind_takes_that_kind():
    doc = draft.set_value(three_phases(), "phases.1.name", "peak")
    assert doc["phases"][1]["kind"] == "peak"
    doc = draft.set_value(doc, "phases.1.kind", "escalation")
    doc = draft.set_value(doc, "phases.1.name", "recovery")  # a kind chosen apart stays
    assert doc["phases"][1]["kind"] == "escalation"


def test_a_new_rule_clears_the_previous_rules_settings():
    doc = draft.add_group(draft.blank())
    assert doc["affected"][1]["share"] == 0.1
    doc = draft.set_value(doc, "affected.1.rule", "servers")
    assert doc["affected"][1]["share"] is None and doc["affected"][1]["servers"] == ["web-000"]
    doc = draft.set_value(doc, "affected.1.servers", "web-003, cache-001\ndatabase-002")
    assert doc["affected"][1]["servers"] == ["web-003", "cache-001", "database-002"]
    scenario, problems = draft.check(doc)
    assert problems == [] and {a["server_name"] for a in scenario.affected_servers()} >= {"web-003", "cache-001"}
    doc = draft.set_value(doc, "affected.1.servers", "web-999")
    assert [loc for loc, _ in draft.check(doc)[1]] == ["affected.1.servers.0"]


def test_switches_turn_optional_parts_on_and_off():
    doc = draft.set_enabled(draft.blank(), "oom", True)
    assert doc["oom"] == draft.NEW_OOM
    doc = draft.set_enabled(doc, "effects.mem_pct", True)
    assert doc["effects"]["mem_pct"]["mode"] == "level"
    doc = draft.set_enabled(doc, "affected.0.effects", True)
    assert doc["affected"][0]["effects"] == doc["effects"]
    doc = draft.set_enabled(doc, "affected.0.effects.cpu_pct", False)
    assert "cpu_pct" not in doc["affected"][0]["effects"] and "cpu_pct" in doc["effects"]
    doc = draft.set_enabled(doc, "affected.0.oom", True)
    assert draft.check(doc)[1] == []
    assert draft.set_enabled(doc, "oom", False)["oom"] is None
    for bad in ("name", "effects.bogus", "phases"):
        with pytest.raises(DraftError):
            draft.set_enabled(doc, bad, True)


def test_profile_weights_come_and_go_in_their_usual_order():
    doc = draft.set_value(draft.blank(), "fleet.mix.web", None)
    assert list(doc["fleet"]["mix"]) == ["database", "cache", "ml_compute"]
    doc = draft.set_value(doc, "fleet.mix.web", 3)
    assert list(doc["fleet"]["mix"]) == ["web", "database", "cache", "ml_compute"]
    assert doc["fleet"]["mix"]["web"] == 3.0


def test_values_are_coerced_to_the_fields_type():
    doc = draft.set_value(draft.blank(), "fleet.size", 12.0)
    assert doc["fleet"]["size"] == 12 and isinstance(doc["fleet"]["size"], int)
    doc = draft.set_value(doc, "schema_version", "1")
    assert doc["schema_version"] == 1
    doc = draft.set_value(doc, "affected.0.profiles", [])
    assert doc["affected"][0]["profiles"] is None and draft.check(doc)[1] == []
    doc = draft.set_value(doc, "fleet.size", None)
    assert [loc for loc, _ in draft.check(doc)[1]] == ["fleet.size"]


@pytest.mark.parametrize("path", ["nope", "phases.9.name", "fleet.mix.web.x", "a" * 300])
def test_paths_that_are_not_fields_are_refused(path):
    with pytest.raises(DraftError):
        draft.set_value(draft.blank(), path, 1)


def test_every_problem_is_listed_at_its_field():
    doc = draft.blank()
    doc = draft.set_value(doc, "fleet.size", 0)
    doc = draft.set_value(doc, "phases.0.intensity", 3)
    doc = draft.set_value(doc, "name", "Bad Name")
    locs = {loc for loc, _ in draft.check(doc)[1]}
    assert locs == {"fleet.size", "phases.0.intensity", "name"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"a": 1, "a": 2}', "appears 2 times"),
        ('{"a": NaN}', "NaN is not allowed"),
        ('{"a": ', "line 1 column 7"),
        ("[1, 2]", "JSON object"),
        ("x" * 1_000_001, "at most"),
    ],
)
def test_json_that_cannot_be_a_draft_says_where(text, words):
    with pytest.raises(DraftError, match=words):
        draft.from_json(text)


def test_structure_changes_only_when_the_controls_would():
    doc = three_phases()
    assert draft.structure(draft.set_value(doc, "phases.1.intensity", 0.5)) == draft.structure(doc)
    assert draft.structure(draft.add_phase(doc)) != draft.structure(doc)
    assert draft.structure(draft.set_enabled(doc, "oom", True)) != draft.structure(doc)
    assert draft.structure(draft.set_value(doc, "affected.0.rule", "share")) != draft.structure(doc)


def test_disturbances_hot_servers_and_expectations_are_edited_like_the_rest():
    doc = draft.add_disturbance(draft.blank())
    event = doc["disturbances"][0]
    assert (event["kind"], event["start"], event["end"]) == ("batch_job", 100, 200)
    doc = draft.set_value(doc, "disturbances.0.kind", "deploy")
    doc = draft.set_value(doc, "disturbances.0.restart_s", 20)
    doc = draft.set_value(doc, "disturbances.0.kind", "busy_hour")  # only deploys restart servers
    assert doc["disturbances"][0]["restart_s"] is None
    doc = draft.set_enabled(doc, "disturbances.0.effects", True)
    assert doc["disturbances"][0]["effects"]["net_in_mb_s"]["target"] == 2.2  # the kind's own
    doc = draft.set_value(doc, "disturbances.0.rule", "servers")
    assert doc["disturbances"][0]["servers"] == ["web-000"] and doc["disturbances"][0]["share"] is None
    doc = draft.add_hot_servers(doc)
    doc = draft.set_enabled(doc, "expectations", True)
    doc = draft.set_value(doc, "expectations.quiet_disturbed_servers", "true")
    doc = draft.set_value(doc, "expectations.lead_time_s", "0:30")
    scenario, problems = draft.check(doc)
    assert problems == [] and scenario.expectations.quiet_disturbed_servers and scenario.expectations.lead_time_s == 30
    assert scenario.hot_servers[0].cpu_pct == 92 and scenario.disturbances[0].kind == "busy_hour"
    stretched = draft.set_value(doc, "duration_s", 600)
    assert (stretched["disturbances"][0]["start"], stretched["disturbances"][0]["end"]) == (200, 400)
    doc = draft.delete_item(doc, "disturbances", 0)
    assert doc["disturbances"] == [] and draft.check(doc)[1] == []
    with pytest.raises(DraftError):
        draft.delete_item(doc, "phases", 0)
