"""The builder's callbacks over HTTP, as anyone could call them: forged values get messages,
never a traceback, a write or a 500; oversized uploads are refused."""

from __future__ import annotations

import base64

import pytest

from dashboard.app.builder import ids
from dashboard.authoring import draft

from .conftest import pattern, post, post_to

EDIT_OUTPUTS = [(ids.DRAFT, "data"), (ids.STATUS, "children"), (ids.STATUS, "color"), (ids.STATUS, "is_open")]


def edit(client, fields=(), toggles=(), actions=(), relayout=None, store=None, changed=()):
    inputs = [
        [{"id": ids.field(p), "property": "value", "value": v} for p, v in fields],
        [{"id": ids.toggle(p), "property": "value", "value": v} for p, v in toggles],
        [{"id": ids.action(a, i), "property": "n_clicks", "value": v} for a, i, v in actions],
        {"id": ids.TIMELINE, "property": "relayoutData", "value": relayout},
    ]
    state = [{"id": ids.DRAFT, "property": "data", "value": store}]
    return post(client, EDIT_OUTPUTS, inputs, state, list(changed))


@pytest.fixture()
def client(builder_app):
    return builder_app.server.test_client()


def store(doc=None):
    return {"doc": doc or draft.blank(), "origin": {"kind": "blank"}, "rev": 0, "via": "load"}


def test_a_typed_value_comes_back_as_the_new_draft(client):
    code, data = edit(client, fields=[("fleet.size", 12)], store=store(), changed=[pattern(ids.field("fleet.size")) + ".value"])
    assert code == 200
    assert data["response"][ids.DRAFT]["data"]["doc"]["fleet"]["size"] == 12


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"fields": [("../../etc/passwd", 1)], "changed": [pattern(ids.field("../../etc/passwd")) + ".value"]}, "not a field"),
        ({"toggles": [("oom", "yes")], "changed": [pattern(ids.toggle("oom")) + ".value"]}, "on or off"),
        ({"actions": [("explode", 0, 1)], "changed": [pattern(ids.action("explode", 0)) + ".n_clicks"]}, "unknown action"),
        ({"fields": [("fleet.size", "x" * 100_000)], "changed": [pattern(ids.field("fleet.size")) + ".value"]}, None),
    ],
)
def test_forged_edits_get_a_message_never_a_500(client, kwargs, words):
    code, data = edit(client, store=store(), **kwargs)
    assert code == 200
    if words:
        assert words in data["response"][ids.STATUS]["children"]


def test_a_forged_store_starts_over_from_a_blank_scenario(client):
    code, data = edit(client, fields=[("name", "x")], store={"doc": "evil"}, changed=[pattern(ids.field("name")) + ".value"])
    assert code == 200 and data["response"][ids.DRAFT]["data"]["doc"]["name"] == "new-scenario"


def test_a_button_that_was_not_clicked_does_nothing(client):
    code, _ = edit(client, actions=[("delete", 0, None)], store=store(), changed=[pattern(ids.action("delete", 0)) + ".n_clicks"])
    assert code == 204
    save_outputs = [(ids.DRAFT, "data"), (ids.STATUS, "children")]
    inputs = [{"id": i, "property": "n_clicks", "value": None} for i in (ids.SAVE, ids.OVERWRITE, ids.KEEP_MINE, ids.TAKE_THEIRS, ids.SAVE_AS)]
    code, _ = post(client, save_outputs, inputs, [], [f"{ids.SAVE}.n_clicks"])
    assert code in (204, 400)  # never a save


def test_an_oversized_upload_is_refused_by_the_server_too(client, builder_app):
    from dashboard.app.builder.layout import UPLOAD_MAX_BYTES

    big = base64.b64encode(b" " * (UPLOAD_MAX_BYTES + 10)).decode()
    uploaded = {"filename": "big.json", "contents": "data:application/json;base64," + big}
    state = [{"id": ids.DRAFT, "property": "data", "value": store()}]
    trigger = f"{ids.UPLOADED}.data"
    code, data = post_to(client, builder_app, trigger, {trigger: uploaded}, state)
    assert code == 200
    status = next(v for k, v in data["response"].items() if k == ids.STATUS)
    assert "a scenario file may be at most" in status["children"]
    bigger = {"filename": "big.json", "contents": "data:application/json;base64," + "A" * (2 * 1024 * 1024)}
    code, _ = post_to(client, builder_app, trigger, {trigger: bigger}, state)
    assert code == 413  # over the request limit: refused before any callback runs


def test_with_a_login_only_editors_save_and_every_save_is_logged(builder_settings, caplog):
    import logging
    from dataclasses import replace

    from werkzeug.security import generate_password_hash

    from dashboard.app import create_app

    users = f"alice:{generate_password_hash('secret-pw')},bob:{generate_password_hash('secret-pw')}"
    app = create_app(replace(builder_settings, auth_users=users, auth_editors=("alice",)))
    client = app.server.test_client()
    doc = draft.set_value(draft.blank("team-incident"), "fleet.size", 8)
    state = [
        {"id": ids.DRAFT, "property": "data", "value": store(doc)},
        {"id": ids.CONFLICT, "property": "data", "value": None},
        {"id": ids.SAVE_AS_NAME, "property": "value", "value": None},
    ]
    trigger = f"{ids.SAVE}.n_clicks"

    def save_as(user: str):
        token = base64.b64encode(f"{user}:secret-pw".encode()).decode()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Basic {token}"
        code, data = post_to(client, app, trigger, {trigger: 1}, state)
        assert code == 200
        return data["response"][ids.STATUS]["children"]

    assert "bob may watch but not save scenarios" in save_as("bob")
    assert not (builder_settings.user_scenario_dir / "team-incident.json").exists()
    with caplog.at_level(logging.INFO, logger="dashboard.audit"):
        assert "saved user_scenarios/team-incident.json" in save_as("alice")
    line = next(r.getMessage() for r in caplog.records if r.name == "dashboard.audit")
    assert "user_scenarios/team-incident.json" in line and "alice" in line and "T" in line.split()[0]


def test_play_now_of_a_huge_draft_meets_the_same_budget_as_any_browser_source(client, builder_app):
    from dashboard.app.shell import ids as shell_ids
    from tests.app.conftest import post_tick, response_value

    doc = draft.set_value(draft.set_value(draft.blank("huge"), "fleet.size", 100_000), "duration_s", "2:00:00")
    trigger = f"{ids.PLAY}.n_clicks"
    state = [{"id": ids.DRAFT, "property": "data", "value": store(doc)}]
    code, data = post_to(client, builder_app, trigger, {trigger: 1}, state)
    assert code == 200
    search = data["response"][shell_ids.URL]["search"]
    assert search.startswith("?source=scenario%3Adraft-") and data["response"][shell_ids.TABS]["active_tab"] == "live"
    code, tick = post_tick(client, {(shell_ids.URL, "search"): search})
    assert code == 200
    message = response_value(tick, shell_ids.MESSAGE, "children")
    assert "too large to open from the browser" in message and "FLEET_WEB_MAX_ROWS" in message


def test_a_cancel_that_arrives_with_a_progress_poll_still_cancels(client, builder_app, builder_settings):
    from dashboard.app.builder.jobs import OUTPUTS
    from dashboard.jobs import CANCELLED, open_jobs
    from tests.processes import wait_until

    doc = draft.set_value(draft.set_value(draft.blank("long"), "fleet.size", 100_000), "duration_s", "20:00")
    state = [{"id": ids.DRAFT, "property": "data", "value": store(doc)}]

    def request(clicks: dict[str, int], job=None):
        inputs = [
            {"id": ids.GENERATE, "property": "n_clicks", "value": clicks.get(ids.GENERATE, 0)},
            {"id": ids.GEN_POLL, "property": "n_intervals", "value": clicks.get(ids.GEN_POLL)},
            {"id": ids.CANCEL, "property": "n_clicks", "value": clicks.get(ids.CANCEL, 0)},
        ]
        changed = [f"{c}.{'n_intervals' if c == ids.GEN_POLL else 'n_clicks'}" for c in clicks]
        job_state = [*state, {"id": ids.GEN_JOB, "property": "data", "value": job}]
        code, data = post(client, list(OUTPUTS), inputs, job_state, changed)
        assert code == 200
        return data["response"]

    started = request({ids.GENERATE: 1})
    job = started[ids.GEN_JOB]["data"]
    assert "generating 24,000,000 rows" in started[ids.GEN_STATUS]["children"]
    # The poll timer and the click land in one request: the click is what it answers.
    answer = request({ids.GEN_POLL: 3, ids.CANCEL: 1}, job)
    assert answer[ids.GEN_STATUS]["children"] == "cancelling…"
    jobs = open_jobs(builder_settings)
    wait_until(lambda: jobs.status(job["id"]).state == CANCELLED or None, 120, "the job to stop")
    assert not (builder_settings.dataset_dir / "long-42" / "demo_dataset.parquet").exists()
