"""The builder's form: every field of the scenario model has a control, and the form, the
draft and the problems stay in step."""

from __future__ import annotations

import json

import pytest
from dash.development.base_component import Component

from dashboard.app.builder import ids
from dashboard.app.builder.callbacks import SECTIONS, draft_answer, section_keys, sync_answer
from dashboard.app.builder.view import Draft, feedback_for, form_model
from dashboard.authoring import draft
from dashboard.authoring.fields import field_index, scenario_fields, template_of

LIST_ACTIONS = {"add-phase": "phases", "add-group": "affected", "add-disturbance": "disturbances", "add-hot": "hot_servers"}
N = len(SECTIONS)


def full_draft() -> dict:
    """A draft whose structure reaches every field: each rule, own effects, OOM rules."""
    doc = draft.split_phase(draft.blank(), 0)
    doc = draft.set_enabled(doc, "oom", True)
    for rule in ("servers", "share", "profiles"):
        doc = draft.add_group(doc)
        doc = draft.set_value(doc, f"affected.{len(doc['affected']) - 1}.rule", rule)
    doc = draft.set_enabled(doc, "affected.1.effects", True)
    doc = draft.set_enabled(doc, "affected.1.oom", True)
    doc = draft.add_disturbance(draft.add_disturbance(doc))
    doc = draft.set_value(doc, "disturbances.1.kind", "deploy")
    doc = draft.set_value(doc, "disturbances.1.rule", "servers")
    doc = draft.set_enabled(doc, "disturbances.0.effects", True)
    for j, rule in enumerate(("profiles", "share", "servers")):
        doc = draft.set_value(draft.add_hot_servers(doc), f"hot_servers.{j}.rule", rule)
    return draft.set_enabled(doc, "expectations", True)


def rendered_ids(doc: dict) -> list[dict]:
    model = form_model(doc)
    tree = [build(model) for _, _, build in SECTIONS]
    found = []

    def walk(node):
        if isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
        elif isinstance(node, Component):
            if isinstance(getattr(node, "id", None), dict):
                found.append(node.id)
            for child in node._traverse():
                if isinstance(getattr(child, "id", None), dict):
                    found.append(child.id)

    walk(tree)
    return found


def test_every_field_of_the_scenario_model_has_a_control():
    specs = field_index()
    found = rendered_ids(full_draft())
    fields = {template_of(i["path"], specs) for i in found if i["type"] == ids.FIELD}
    toggles = {template_of(i["path"], specs) for i in found if i["type"] == ids.TOGGLE}
    actions = {LIST_ACTIONS[i["action"]] for i in found if i["type"] == ids.ACTION and i["action"] in LIST_ACTIONS}
    covered = set()
    for spec in scenario_fields():
        path, kind = spec.path, spec.kind
        if kind == "group":
            continue  # a group is covered by its fields, checked one by one
        if (
            path in fields
            or (kind == "weights" and f"{path}{{}}" in fields)
            or (kind == "optional" and path in toggles)
            or (kind == "map" and (f"{path}{{}}" in toggles))
            or (kind == "list" and path in actions)
        ):
            covered.add(path)
    missing = [s.path for s in scenario_fields() if s.kind != "group" and s.path not in covered]
    assert missing == [], f"fields of the scenario format with no control in the builder's form: {missing}"


def test_each_control_shows_the_drafts_value_and_has_a_feedback_line():
    doc = draft.set_value(full_draft(), "phases.1.end", "4:10")
    found = rendered_ids(doc)
    field_paths = [i["path"] for i in found if i["type"] == ids.FIELD]
    feedback_paths = {i["path"] for i in found if i["type"] == ids.FEEDBACK}
    assert len(field_paths) == len(set(field_paths))
    assert set(field_paths) <= feedback_paths
    values = {c.path: c.value for c in form_model(doc).controls()}
    assert values["phases.1.end"] == "4:10" and values["duration_s"] == "4:10"
    assert values["affected.1.servers"] == "web-000" and values["schema_version"] == "1"


def test_problems_go_next_to_their_field():
    problems = [("affected.1.servers.0", "no server named 'x'"), ("phases", "too many"), ("(top level)", "broken")]
    by_path = feedback_for(problems, ["affected.1.servers", "phases", "name"])
    assert by_path == {"affected.1.servers": ["no server named 'x'"], "phases": ["too many"], "name": []}


def test_render_redraws_only_sections_whose_structure_changed():
    state = Draft(full_draft())
    first = draft_answer(state, None)
    shape = first[-2]
    assert shape == section_keys(state.doc)
    typed = Draft(draft.set_value(state.doc, "phases.0.intensity", 0.4), rev=1, via="field")
    answer = draft_answer(typed, shape)
    sections = answer[:N]
    assert all(s is not None and not isinstance(s, list) for s in sections)  # all no_update
    grown = Draft(draft.add_phase(state.doc), rev=2, via="action")
    sections = draft_answer(grown, shape)[:N]
    assert [isinstance(s, list) for s in sections] == [name == "phases" for _, name, _ in SECTIONS]


def test_render_disables_save_and_play_while_invalid():
    bad = Draft(draft.set_value(draft.blank(), "fleet.size", 0))
    answer = draft_answer(bad, None)
    problems, is_open, json_text, save_disabled, play_disabled = answer[N + 1 : N + 6]
    assert is_open and save_disabled and play_disabled
    assert "fleet.size" in json.dumps(problems.__repr__()) or "fleet.size" in str(problems)
    good = draft_answer(Draft(draft.blank()), None)
    assert good[N + 4] is False and good[N + 5] is False


def test_sync_sets_only_values_that_differ_and_every_fields_problems():
    doc = draft.set_value(draft.blank(), "fleet.size", 0)
    field_ids = [ids.field("fleet.size"), ids.field("name"), ids.field("gone.0")]
    values, switches, feedback = sync_answer(
        Draft(doc), field_ids, [5, "new-scenario", 1], [ids.toggle("oom")], [True],
        [ids.feedback("fleet.size"), ids.feedback("name")],
    )
    assert values[0] == 0 and not isinstance(values[1], (str, int)) and not isinstance(values[2], int)
    assert switches == [False]
    assert "must be >= 1" in feedback[0] and feedback[1] is None


@pytest.mark.parametrize("rule", ["first_of_each_profile", "servers", "share", "profiles"])
def test_each_rule_shows_its_settings(rule):
    doc = draft.set_value(draft.blank(), "affected.0.rule", rule)
    paths = {i["path"] for i in rendered_ids(doc) if i["type"] == ids.FIELD}
    expected = {"first_of_each_profile": {"profiles"}, "servers": {"servers"}, "share": {"share", "profiles"}, "profiles": {"profiles"}}
    assert {p.split(".")[2] for p in paths if p.startswith("affected.0.") and p.split(".")[2] not in ("rule", "delay_s")} == expected[rule]
