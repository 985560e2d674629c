"""What the builder's controls and buttons do, tested without a browser: edits, uploads,
opening, saving with its conflicts, playing, generating."""

from __future__ import annotations

import base64
import json
import time

import pytest
from dash import no_update

from dashboard.app.builder import ids
from dashboard.app.builder.actions import open_answer, play_spec, save_answer
from dashboard.app.builder.edits import apply_json, apply_triggers, apply_upload, too_large
from dashboard.app.builder.jobs import cancel, poll, start
from dashboard.app.builder.view import Draft, Origin, draft_from_store
from dashboard.app.validate import ViewError
from dashboard.authoring import draft
from dashboard.authoring.library import Library
from dashboard.scenario import load_scenario, parse_scenario


@pytest.fixture()
def library(builder_settings) -> Library:
    return Library.from_settings(builder_settings)


def valid_state(name: str = "incident", **origin) -> Draft:
    doc = draft.set_value(draft.blank(name), "fleet.size", 8)
    return Draft(doc, Origin(**origin) if origin else Origin())


# -- edits ---------------------------------------------------------------------------
def test_typed_values_switches_and_buttons_change_the_draft():
    state = Draft(draft.blank())
    new, messages = apply_triggers(state, [(ids.field("phases.0.intensity"), 0.5), (ids.toggle("oom"), True)])
    assert messages == [] and new.doc["phases"][0]["intensity"] == 0.5 and new.doc["oom"]
    assert new.rev == 1 and new.via == "toggle"
    new, _ = apply_triggers(new, [(ids.action("split", 0), 1)])
    assert len(new.doc["phases"]) == 2 and new.via == "action"


def test_a_dragged_boundary_moves_and_a_refused_drag_snaps_back():
    state = Draft(draft.split_phase(draft.blank(), 0))
    new, _ = apply_triggers(state, [(ids.TIMELINE, {"shapes[0].x0": 61.0, "shapes[0].x1": 59.0})])
    assert new.doc["phases"][0]["end"] == 60 and new.via == "timeline"
    again, messages = apply_triggers(state, [(ids.TIMELINE, {"shapes[7].x0": 61.0})])
    assert messages and again is not None and again.doc == state.doc  # redrawn: the line snaps back
    nothing, messages = apply_triggers(state, [(ids.TIMELINE, {"xaxis.range[0]": 3, "autosize": True})])
    assert nothing is None and messages == []


def test_buttons_drawn_anew_are_not_clicks_and_equal_values_change_nothing():
    state = Draft(draft.blank())
    assert apply_triggers(state, [(ids.action("delete", 0), 0), (ids.action("add-phase"), None)]) == (None, [])
    assert apply_triggers(state, [(ids.field("name"), "new-scenario")]) == (None, [])


@pytest.mark.parametrize(
    ("component", "value", "words"),
    [
        (ids.field("../../etc/passwd"), 1, "not a field"),
        (ids.field("x" * 500), 1, "not a field"),
        ({"type": ids.FIELD, "path": ["phases"]}, 1, "not a field"),
        (ids.toggle("oom"), "yes", "on or off"),
        (ids.toggle("name"), True, "switched on or off"),
        (ids.action("explode", 0), 1, "unknown action"),
        (ids.action("split", True), 1, "row number"),
        (ids.action("delete", 99), 1, "no such phase"),
    ],
)
def test_forged_inputs_are_refused_with_a_message(component, value, words):
    new, messages = apply_triggers(Draft(draft.blank()), [(component, value)])
    assert new is None and any(words in m for m in messages), messages


def test_the_store_is_checked_like_any_client_input():
    assert draft_from_store(None).doc == draft.blank()
    with pytest.raises(ViewError):
        draft_from_store({"doc": "not a dict"})
    state = draft_from_store({"doc": {}, "origin": {"kind": "evil", "name": "../x", "version": "zz"}, "rev": True})
    assert state.origin == Origin() and state.rev == 0


def test_json_edits_replace_the_draft_once_they_parse():
    state = Draft(draft.blank())
    assert apply_json(state, '{"name": ') == (None, "JSON: not valid: Expecting value: line 1 column 10 (char 9)")
    new, problem = apply_json(state, json.dumps({**draft.blank(), "seed": 7}))
    assert problem is None and new.doc["seed"] == 7 and new.via == "json"
    assert apply_json(state, json.dumps(draft.blank())) == (None, None)


# -- uploads -------------------------------------------------------------------------
def upload(data: bytes, name: str = "x.json") -> dict:
    return {"filename": name, "contents": "data:application/json;base64," + base64.b64encode(data).decode()}


def test_an_uploaded_scenario_becomes_the_draft():
    text = load_scenario("gc_storm").to_json().encode()
    new, problem = apply_upload(upload(text, "../../gc.json"), 10_000, 3)
    assert problem is None and new.doc["name"] == "gc_storm" and new.origin.kind == "upload" and new.rev == 4


@pytest.mark.parametrize(
    ("uploaded", "words"),
    [
        (upload(b"x" * 2000), "2 KB; a scenario file may be at most 1 KB"),
        ({"filename": "a.json", "contents": "no comma"}, "could not decode"),
        ({"filename": "a.json", "contents": "data:text/plain;base64,!!!"}, "broken base64"),
        (upload(b"\xff\xfe{}"), "not UTF-8"),
        (upload(b"[1]"), "JSON object"),
        (upload(b'{"a": 1, "a": 2}'), "appears 2 times"),
        ({"error": "big.json: 2 KB; a scenario file may be at most 1 KB"}, "at most 1 KB"),
        ({"filename": "a.json", "contents": 5}, "could not read"),
    ],
)
def test_uploads_that_cannot_be_drafts_say_why(uploaded, words):
    new, problem = apply_upload(uploaded, 1024, 0)
    assert new is None and words in problem


def test_the_size_message_is_the_one_the_browser_gives():
    from dashboard.app.builder.callbacks import CHECK_UPLOAD_JS

    assert too_large("big.json", 2_000_000, 774_144) == "big.json: 1,954 KB; a scenario file may be at most 756 KB"
    assert '" KB; a scenario file may be at most "' in CHECK_UPLOAD_JS  # the same words, in JavaScript


# -- open ----------------------------------------------------------------------------
def test_open_blank_bundled_and_user_scenarios(library):
    new, message, _ = open_answer(library, "blank:", 0)
    assert new.origin.kind == "blank" and draft.check(new.doc)[1] == []
    new, message, _ = open_answer(library, "bundled:memory_leak", 0)
    assert new.origin.name == "memory_leak" and new.doc["name"] == "my-memory_leak" and "read-only" in message
    library.save(parse_scenario(valid_state().doc), "incident", expected=None)
    new, _, _ = open_answer(library, "user:incident", 0)
    assert new.origin.kind == "user" and new.origin.version == library.find("incident").version
    for bad in ("user:../x", "nope", None, "broken:user:x"):
        assert open_answer(library, bad, 0)[0] is None


# -- save ----------------------------------------------------------------------------
def saved_draft(answer) -> Draft:
    return draft_from_store(answer[(ids.DRAFT, "data")])


def test_save_then_change_then_save_again(library):
    answer = save_answer(library, ids.SAVE, valid_state(), None, None, user="ana", may_edit=True)
    assert "saved user_scenarios/incident.json" in answer[(ids.STATUS, "children")]
    state = saved_draft(answer)
    assert state.origin.kind == "user" and state.origin.version == library.find("incident").version
    changed = state.changed(draft.set_value(state.doc, "seed", 9), "field")
    answer = save_answer(library, ids.SAVE, changed, None, None, user="ana", may_edit=True)
    assert "overwrote" in answer[(ids.STATUS, "children")] and library.read("incident")[0].seed == 9
    assert any(o["value"] == "user:incident" for o in answer[(ids.START, "options")])


def test_a_name_that_exists_asks_before_overwriting(library):
    library.save(parse_scenario(valid_state().doc), "incident", expected=None)
    answer = save_answer(library, ids.SAVE, valid_state(), None, None, user=None, may_edit=True)
    assert answer[(ids.EXISTS, "is_open")] and "already exists" in answer[(ids.EXISTS_TEXT, "children")]
    held = answer[(ids.CONFLICT, "data")]
    mine = valid_state().changed(draft.set_value(valid_state().doc, "seed", 5), "field")
    answer = save_answer(library, ids.OVERWRITE, mine, held, None, user=None, may_edit=True)
    assert "overwrote" in answer[(ids.STATUS, "children")] and library.read("incident")[0].seed == 5


def test_a_conflict_offers_three_ways_and_loses_nothing(library):
    opened = library.save(parse_scenario(valid_state().doc), "incident", expected=None)
    mine = Draft(draft.set_value(valid_state().doc, "seed", 1), Origin("user", "incident", opened.version))
    theirs = parse_scenario(draft.set_value(valid_state().doc, "seed", 2))
    library.save(theirs, "incident", expected=opened.version)  # someone else saved meanwhile
    answer = save_answer(library, ids.SAVE, mine, None, None, user=None, may_edit=True)
    assert answer[(ids.CONFLICT_MODAL, "is_open")] and "changed by someone else" in answer[(ids.CONFLICT_MESSAGE, "children")]
    held = answer[(ids.CONFLICT, "data")]
    assert held["version"] == library.find("incident").version
    assert answer[(ids.SAVE_AS_NAME, "value")] == "incident-mine"
    # take theirs
    taken = save_answer(library, ids.TAKE_THEIRS, mine, held, None, user=None, may_edit=True)
    assert saved_draft(taken).doc["seed"] == 2 and not taken[(ids.CONFLICT_MODAL, "is_open")]
    # save mine as a new name (a taken one first)
    clash = save_answer(library, ids.SAVE_AS, mine, held, "incident", user=None, may_edit=True)
    assert "choose another name" in clash[(ids.CONFLICT_MESSAGE, "children")]
    as_new = save_answer(library, ids.SAVE_AS, mine, held, "incident-mine", user=None, may_edit=True)
    assert library.read("incident-mine")[0].seed == 1 and library.read("incident")[0].seed == 2
    assert saved_draft(as_new).origin.name == "incident-mine"
    # keep mine: overwrites only the version that was shown
    kept = save_answer(library, ids.KEEP_MINE, mine, held, None, user=None, may_edit=True)
    assert "overwrote" in kept[(ids.STATUS, "children")] and library.read("incident")[0].seed == 1


def test_keep_mine_meets_a_newer_save_as_a_new_conflict(library):
    opened = library.save(parse_scenario(valid_state().doc), "incident", expected=None)
    second = library.save(parse_scenario(draft.set_value(valid_state().doc, "seed", 2)), "incident", expected=opened.version)
    mine = Draft(draft.set_value(valid_state().doc, "seed", 1), Origin("user", "incident", opened.version))
    held = {"name": "incident", "version": second.version}
    library.save(parse_scenario(draft.set_value(valid_state().doc, "seed", 3)), "incident", expected=second.version)
    answer = save_answer(library, ids.KEEP_MINE, mine, held, None, user=None, may_edit=True)
    assert answer[(ids.CONFLICT_MODAL, "is_open")] and library.read("incident")[0].seed == 3


def test_who_may_not_save_is_told_and_nothing_is_written(library):
    answer = save_answer(library, ids.SAVE, valid_state(), None, None, user="bob", may_edit=False)
    assert "bob may watch but not save" in answer[(ids.STATUS, "children")]
    assert library.find("incident") is None


def test_bundled_names_are_refused_with_a_free_name(library):
    state = Draft({**valid_state().doc, "name": "default"})
    answer = save_answer(library, ids.SAVE, state, None, None, user=None, may_edit=True)
    assert "bundled scenario, which stays read-only" in answer[(ids.STATUS, "children")]
    assert "try 'my-default'" in answer[(ids.STATUS, "children")]


@pytest.mark.parametrize(("name", "words"), [("Bad Name", "try 'bad-name'"), ("..", "dot"), ("报告", "plain letters")])
def test_bad_names_are_problems_at_the_name_field(library, name, words):
    state = Draft({**valid_state().doc, "name": name})
    answer = save_answer(library, ids.SAVE, state, None, None, user=None, may_edit=True)
    assert "fix the 1 problem" in answer[(ids.STATUS, "children")]
    assert [loc for loc, _ in draft.check(state.doc)[1]] == ["name"]
    assert words in draft.check(state.doc)[1][0][1]


def test_an_invalid_draft_is_not_saved(library):
    bad = Draft(draft.set_value(draft.blank(), "fleet.size", -1))
    answer = save_answer(library, ids.SAVE, bad, None, None, user=None, may_edit=True)
    assert "fix the 1 problem" in answer[(ids.STATUS, "children")]


# -- play ----------------------------------------------------------------------------
def test_play_an_unchanged_saved_scenario_by_name_else_a_draft(library):
    saved = library.save(parse_scenario(valid_state().doc), "incident", expected=None)
    state = Draft(valid_state().doc, Origin("user", "incident", saved.version))
    assert play_spec(library, state)[0] == "scenario:incident"
    changed = Draft(draft.set_value(state.doc, "seed", 3), state.origin)
    spec, message = play_spec(library, changed)
    assert spec.startswith("scenario:draft-") and "not saved" in message
    assert library.read(spec.split(":", 1)[1])[0].seed == 3
    bundled, _, _ = open_answer(library, "bundled:default", 0)
    assert play_spec(library, bundled)[0] == "scenario:default"
    assert play_spec(library, Draft(draft.set_value(draft.blank(), "fleet.size", 0)))[0] is None


# -- generate ------------------------------------------------------------------------
def outputs(answer: tuple) -> dict:
    from dashboard.app.builder.jobs import OUTPUTS

    return {f"{c}.{p}": v for (c, p), v in zip(OUTPUTS, answer, strict=True) if v is not no_update}


def wait_done(services, job):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = outputs(poll(services, job))
        if answer.get(f"{ids.GEN_POLL}.disabled"):
            return answer
        time.sleep(0.2)
    raise AssertionError("the generation did not finish")


def test_generate_runs_as_a_job_and_reports_progress_then_the_dataset(services):
    state = valid_state()
    answer = outputs(start(services, state.to_store()))
    job = answer[f"{ids.GEN_JOB}.data"]
    assert answer[f"{ids.GENERATE}.disabled"] and not answer[f"{ids.CANCEL}.disabled"]
    done = wait_done(services, job)
    assert done[f"{ids.GEN_STATUS}.children"].startswith("wrote 480 rows into datasets/incident-42")
    spec = done[f"{ids.GEN_RESULT}.data"]
    folder = services.settings.dataset_dir / "incident-42"
    assert spec == str(folder / "demo_dataset.parquet") and not done[f"{ids.OPEN_DATASET}.disabled"]
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "demo_dataset.csv", "demo_dataset.parquet", "demo_dataset_metadata.json"
    ]
    again = outputs(start(services, state.to_store()))
    assert "already holds this scenario's dataset" in again[f"{ids.GEN_STATUS}.children"]


def test_a_cancelled_generation_leaves_the_folder_as_it_was(services):
    big = Draft(draft.set_value(valid_state().doc, "fleet.size", 4000))
    answer = outputs(start(services, big.to_store()))
    job = answer[f"{ids.GEN_JOB}.data"]
    outputs(cancel(services, job))
    done = wait_done(services, job)
    assert done[f"{ids.GEN_STATUS}.children"].startswith("cancelled")
    folder = services.settings.dataset_dir / "incident-42"
    assert not folder.exists() or [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []
    assert not (folder / ".dataset-staging").exists() or not any((folder / ".dataset-staging").rglob("*.*"))


def test_generate_refuses_invalid_drafts_and_folders_outside_the_roots(services, builder_settings):
    from dataclasses import replace

    from dashboard.app.services import Services

    bad = outputs(start(services, Draft(draft.set_value(draft.blank(), "seed", -1)).to_store()))
    assert "fix the 1 problem" in bad[f"{ids.GEN_STATUS}.children"]
    outside = Services(replace(builder_settings, dataset_dir=builder_settings.dataset_dir.parent.parent / "elsewhere"))
    refused = outputs(start(outside, valid_state().to_store()))
    assert "outside the data roots" in refused[f"{ids.GEN_STATUS}.children"]
    assert "/" not in refused[f"{ids.GEN_STATUS}.children"].split("(")[0]  # no server path quoted
    assert outputs(poll(services, {"id": "../../x"}))[f"{ids.GEN_POLL}.disabled"]


# -- what reaches the page -------------------------------------------------------------
def test_messages_show_paths_relative_to_their_data_root_and_nothing_outside(tmp_path):
    from dashboard.app.builder.actions import SAVE_OUTPUTS, SaveAnswer
    from dashboard.app.builder.jobs import OUTPUTS, _idle, shown
    from dashboard.app.builder.view import library_options
    from dashboard.authoring.library import Entry

    root = tmp_path / "data"
    raw = f"cannot write {root}/datasets/x-1/demo.csv (see /etc/fleet/secret.conf): code {'9' * 40}"

    def check(text: str) -> None:
        assert "datasets/x-1/demo.csv" in text and str(tmp_path) not in text
        assert "/etc/fleet" not in text and "…/secret.conf" in text and "(40 digits)" in text

    save = dict(zip(SAVE_OUTPUTS, SaveAnswer().say(raw, "danger").outputs([root]), strict=True))
    check(save[(ids.STATUS, "children")])
    job = dict(zip(OUTPUTS, shown(_idle(f"the generation failed: {raw}"), [root]), strict=True))
    check(job[(ids.GEN_STATUS, "children")])
    broken = Entry("x", "user", root / "x.json", "user_scenarios/x.json", error=raw)
    options, listed = library_options([broken], [root])
    check(options[-1]["title"])
    check(listed[0][1])
