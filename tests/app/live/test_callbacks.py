"""The tick callback through Dash's HTTP endpoint: full paint, patches, controls, hostile input."""

from __future__ import annotations

import json

import pytest

from dashboard.app.about import ids as about_ids
from dashboard.app.live import callbacks, ids
from dashboard.app.live.view import START_TICK
from dashboard.app.messages import GENERIC_ERROR
from dashboard.app.shell import ids as shell_ids

from ..conftest import post_tick, response_value

INTERVAL = (ids.INTERVAL, "n_intervals")


def _first_paint(client, search=""):
    status, data = post_tick(client, {(shell_ids.URL, "search"): search})
    assert status == 200
    return data


def _store(data):
    return response_value(data, ids.VIEW, "data")


def _tick(client, store, n, **values):
    vals = {INTERVAL: n, **values}
    status, data = post_tick(client, vals, store, [f"{ids.INTERVAL}.n_intervals"])
    assert status == 200
    return data


def test_first_paint_sends_full_figures_and_arms_the_interval(client):
    data = _first_paint(client)
    store = _store(data)
    start = START_TICK  # a view opened afresh starts where the model has some history
    assert store["tick"] == start and store["playing"] and store["shown_tick"] == start
    trend = response_value(data, ids.TREND, "figure")
    assert [t["name"] for t in trend["data"]][:2] == ["fleet mean", "fleet max"]
    strip = response_value(data, ids.STRIP, "figure")
    assert strip["data"][0]["type"] == "heatmap" and len(strip["data"][0]["y"]) == 20
    assert response_value(data, ids.INTERVAL, "disabled") is False
    assert response_value(data, ids.INTERVAL, "max_intervals") == 1
    marks = response_value(data, ids.SLIDER, "marks")
    assert {m["label"] for m in marks.values()} >= {"escalation", "peak", "recovery"}


def test_refresh_after_first_paint_is_a_patch(client):
    store = _store(_first_paint(client))
    data = _tick(client, store, 1)
    assert _store(data)["tick"] == START_TICK + 1
    for graph in (ids.TOP5, ids.TREND, ids.METRICS):
        assert "__dash_patch_update" in response_value(data, graph, "figure")
    assert response_value(data, ids.INTERVAL, "max_intervals") == 2


def test_playback_reaches_the_end_state(client):
    store = _store(_first_paint(client, "?tick=58"))
    for n in range(1, 5):
        data = _tick(client, store, n)
        store = _store(data)
    assert store["tick"] == 59 and store["ended"] and not store["playing"]
    assert "end of data" in response_value(data, ids.PROGRESS, "children")
    assert response_value(data, ids.INTERVAL, "disabled") is True
    status, data = post_tick(client, {(ids.RESET, "n_clicks"): 1}, store, [f"{ids.RESET}.n_clicks"])
    assert _store(data)["tick"] == START_TICK and _store(data)["playing"]


def test_pause_step_and_scrub(client):
    store = _store(_first_paint(client, "?tick=11"))
    _, data = post_tick(client, {(ids.PLAY, "n_clicks"): 1}, store, [f"{ids.PLAY}.n_clicks"])
    store = _store(data)
    assert not store["playing"] and response_value(data, ids.INTERVAL, "disabled") is True
    _, data = post_tick(client, {(ids.FORWARD, "n_clicks"): 1}, store, [f"{ids.FORWARD}.n_clicks"])
    assert _store(data)["tick"] == 11
    _, data = post_tick(client, {(ids.SLIDER, "value"): 40}, _store(data), [f"{ids.SLIDER}.value"])
    store = _store(data)
    assert store["tick"] == 40
    assert "__dash_patch_update" not in response_value(data, ids.TREND, "figure")  # a jump repaints


def test_clicking_a_strip_cell_only_selects_the_server(client):
    store = _store(_first_paint(client, "?tick=41"))
    click = {"points": [{"x": "2025-01-01 00:02:30", "y": "cache-000", "curveNumber": 0}]}
    _, data = post_tick(
        client, {(ids.STRIP, "clickData"): click}, store, [f"{ids.STRIP}.clickData"]
    )
    store = _store(data)
    assert store["selection"] == ["cache-000"] and store["tick"] == 40  # no scrub
    metrics = response_value(data, ids.METRICS, "figure")
    assert [t["name"] for t in metrics["data"]][-1] == "cache-000"


def test_clicking_a_folded_strip_row_selects_nothing(client):
    store = _store(_first_paint(client, "?tick=41"))
    click = {"points": [{"x": "2025-01-01 00:02:30", "y": "web: 40 more (max)"}]}
    _, data = post_tick(
        client, {(ids.STRIP, "clickData"): click}, store, [f"{ids.STRIP}.clickData"]
    )
    assert _store(data)["selection"] == [] and response_value(data, shell_ids.MESSAGE, "is_open") is None


def test_selecting_in_the_bars_shows_the_server_everywhere(client):
    store = _store(_first_paint(client, "?tick=41"))
    click = {"points": [{"x": 0.9, "y": "web-000", "customdata": "web-000"}]}
    _, data = post_tick(client, {(ids.TOP5, "clickData"): click}, store, [f"{ids.TOP5}.clickData"])
    store = _store(data)
    assert store["selection"] == ["web-000"] and "server=web-000" in store["query"]
    assert [t["name"] for t in response_value(data, ids.TREND, "figure")["data"]][-1] == "web-000"
    assert response_value(data, ids.WHY_SERVER, "children") == "web-000"


def test_peak_top5_are_the_affected_servers(client):
    data = _first_paint(client, "?tick=41")
    names = set(response_value(data, ids.TOP5, "figure")["data"][0]["y"][:4])
    assert names == {"web-000", "database-000", "cache-000", "ml_compute-000"}


HOSTILE = [
    "../../etc/passwd",
    "<img src=x onerror=alert(1)>",
    {"$where": 1},
    [1, 2, 3],
    1e308,
    None,
    "x" * 5000,
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "prop",
    [
        (shell_ids.SOURCE, "value"),
        (shell_ids.MODEL, "value"),
        (ids.SPEED, "value"),
        (ids.SLIDER, "value"),
        (ids.SERVERS, "value"),
        (ids.STRIP, "clickData"),
    ],
)
def test_hostile_inputs_get_a_message_not_a_500(client, prop, value):
    store = _store(_first_paint(client))
    status, data = post_tick(client, {prop: value}, store, [f"{prop[0]}.{prop[1]}"])
    assert status in (200, 204)
    if data:
        body = json.dumps(data)
        assert "Traceback" not in body
        view = response_value(data, ids.VIEW, "data")
        assert view is None or view["source"].endswith("demo_dataset.parquet")


@pytest.mark.parametrize(
    "store",
    [
        "garbage",
        [1],
        {"tick": -5, "speed": "fast", "source": {"a": 1}},
        {"shown_tick": 3, "shown_key": "<x>"},
    ],
)
def test_a_forged_store_is_repaired(client, store):
    status, data = post_tick(client, {INTERVAL: 1}, store, [f"{ids.INTERVAL}.n_intervals"])
    assert status == 200
    assert isinstance(_store(data)["tick"], int)


def test_a_hostile_link_is_reported_and_ignored(client):
    data = _first_paint(client, "?source=..%2F..%2Fetc%2Fpasswd&tick=abc&model=%3Cscript%3E")
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "passwd" in message and response_value(data, shell_ids.MESSAGE, "is_open") is True
    assert _store(data)["source"].endswith("demo_dataset.parquet")


def test_a_failing_callback_answers_with_a_message(client, app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail /srv/x")

    monkeypatch.setattr(callbacks, "tick_answer", boom)
    status, data = post_tick(client, {INTERVAL: 1}, None, [f"{ids.INTERVAL}.n_intervals"])
    assert status == 200
    body = json.dumps(data)
    assert "secret" not in body and GENERIC_ERROR in body


def test_two_tabs_replay_independently(client):
    a = _store(_first_paint(client, "?tick=6"))
    b = _store(_first_paint(client, "?tick=31&speed=2"))
    for n in range(1, 4):
        a = _store(_tick(client, a, n))
        b = _store(_tick(client, b, n))
    assert a["tick"] == 8 and b["tick"] == 36
    assert "tick=9&" in a["query"] and "tick=37&" in b["query"]  # links count from 1, as the page


def test_clicking_the_trend_only_scrubs(client):
    data = _first_paint(client, "?tick=41&server=web-003")
    trend = response_value(data, ids.TREND, "figure")
    peak = trend["data"][1]
    assert peak["name"] == "fleet max" and len(peak["customdata"]) == len(peak["x"])
    store = _store(data)
    click = {
        "points": [
            {
                "x": "2025-01-01 00:02:50",
                "y": 1.0,
                "customdata": peak["customdata"][34],
                "curveNumber": 1,
            }
        ]
    }
    _, data = post_tick(
        client, {(ids.TREND, "clickData"): click}, store, [f"{ids.TREND}.clickData"]
    )
    store = _store(data)
    assert store["tick"] == 34 and store["selection"] == ["web-003"]  # the selection stays
    step = _tick(client, store, 1)
    ops = response_value(step, ids.TREND, "figure")["operations"]
    assert any(op["location"][:3] == ["data", 1, "customdata"] for op in ops)


def test_picking_a_scenario_source_starts_it_from_the_beginning(client):
    store = _store(_first_paint(client, "?tick=31&server=web-000"))
    _, data = post_tick(
        client, {(shell_ids.SOURCE, "value"): "scenario:default"}, store, [f"{shell_ids.SOURCE}.value"]
    )
    store = _store(data)
    assert store["source"] == "scenario:default" and store["selection"] == []
    assert store["tick"] == START_TICK  # a new source starts afresh, with some history
    options = response_value(data, shell_ids.SOURCE, "options")
    assert {"scenario:default"} <= {o["value"] for o in options}
    assert any(o["label"].startswith("dataset") for o in options)


def test_a_pick_carried_by_a_refresh_is_answered_as_the_pick(client):
    # The refresh that superseded the pick's own request carries the pickers' new values.
    def refresh(store, n, source, model):
        values = {INTERVAL: n, (shell_ids.SOURCE, "value"): source, (shell_ids.MODEL, "value"): model}
        status, data = post_tick(client, values, store, [f"{ids.INTERVAL}.n_intervals"])
        assert status == 200
        return data

    first = _first_paint(client, "?tick=31")
    store, model = _store(first), response_value(first, shell_ids.MODEL, "value")
    assert store["source"] != "scenario:default" and model != "heuristic"
    data = refresh(store, 1, "scenario:default", model)
    store = _store(data)
    assert store["source"] == "scenario:default" and store["tick"] == START_TICK
    assert response_value(data, shell_ids.SOURCE, "value") == "scenario:default"
    store = _store(refresh(store, 2, "scenario:default", "heuristic"))
    assert store["model"] == "heuristic"
    # Pickers that echo the view change nothing: a plain refresh advances one tick.
    data = refresh(store, 3, "scenario:default", "heuristic")
    assert _store(data)["tick"] == store["tick"] + 1
    assert "__dash_patch_update" in response_value(data, ids.TOP5, "figure")


def test_an_unopenable_source_falls_back_with_a_message(client):
    store = _store(_first_paint(client))
    _, data = post_tick(
        client, {(shell_ids.SOURCE, "value"): "parquet:/etc/passwd"}, store, [f"{shell_ids.SOURCE}.value"]
    )
    assert "cannot open" in response_value(data, shell_ids.MESSAGE, "children")
    assert _store(data)["source"].endswith("demo_dataset.parquet")


def test_a_click_on_an_impossible_date_changes_nothing(client):
    store = _store(_first_paint(client, "?tick=41&paused=1"))
    click = {"points": [{"x": "2025-13-45 99:99:99", "y": "web-000"}]}
    status, data = post_tick(
        client, {(ids.TREND, "clickData"): click}, store, [f"{ids.TREND}.clickData"]
    )
    assert status == 200 and _store(data)["tick"] == 40
    assert GENERIC_ERROR not in json.dumps(data)


@pytest.mark.parametrize("source", HOSTILE)
@pytest.mark.parametrize("model", ["heuristic", {"x": 1}, "<b>x</b>"])
def test_the_about_panel_answers_hostile_input_with_a_message(client, source, model):
    body = {
        "output": f"{about_ids.BODY}.children",
        "outputs": {"id": about_ids.BODY, "property": "children"},
        "inputs": [
            {"id": shell_ids.SOURCE, "property": "value", "value": source},
            {"id": shell_ids.MODEL, "property": "value", "value": model},
        ],
        "state": [],
        "changedPropIds": [f"{shell_ids.SOURCE}.value"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert b"Traceback" not in response.data and GENERIC_ERROR.encode() not in response.data


# -- the rolling metrics follow the riskiest server while nothing is selected -----------------
def _metric_names(figure: dict) -> list[str]:
    return [t["name"] for t in figure["data"]]


def test_with_no_selection_the_metrics_show_the_riskiest_server(client):
    data = _first_paint(client, "?tick=41")
    riskiest = response_value(data, ids.TOP5, "figure")["data"][0]["y"][0]
    metrics = response_value(data, ids.METRICS, "figure")
    assert _metric_names(metrics)[-3:] == [riskiest] * 3  # one line per panel
    profile = riskiest.split("-")[0]  # compared with its profile's peers, not the fleet
    assert response_value(data, ids.METRICS_SUB, "children") == (
        f"riskiest now: {riskiest} vs {profile} peers' median–p95"
    )
    assert _metric_names(metrics)[0] == f"{profile} peers median CPU"
    assert response_value(data, ids.WHY_SERVER, "children") == riskiest  # the same rule
    assert _store(data)["metrics_focus"] == riskiest


def test_an_explicit_selection_wins_over_the_riskiest_server(client):
    data = _first_paint(client, "?tick=41&server=web-003")
    assert _metric_names(response_value(data, ids.METRICS, "figure"))[-3:] == ["web-003"] * 3
    assert response_value(data, ids.METRICS_SUB, "children").startswith("selected")
    assert _store(data)["metrics_focus"] is None


def test_only_the_metrics_card_is_redrawn_when_the_riskiest_server_changes(client):
    store = _store(_first_paint(client, "?tick=19"))  # the escalation: the leader changes
    changed = kept = 0
    for n in range(1, 20):
        data = _tick(client, store, n)
        before, store = store["metrics_focus"], _store(data)
        for graph in (ids.TOP5, ids.TREND):
            assert "__dash_patch_update" in response_value(data, graph, "figure")
        metrics = response_value(data, ids.METRICS, "figure")
        if store["metrics_focus"] != before:
            changed += 1
            assert "__dash_patch_update" not in metrics
            assert _metric_names(metrics)[-1] == store["metrics_focus"]
            assert store["metrics_focus"] in response_value(data, ids.METRICS_SUB, "children")
        else:
            kept += 1
            assert "__dash_patch_update" in metrics
            assert response_value(data, ids.METRICS_SUB, "children") is None
    assert changed and kept


def test_a_source_without_a_metric_says_so_in_its_panel(tmp_path, settings):
    from dataclasses import replace

    import pandas as pd

    from dashboard.app import create_app

    rows = [
        {
            "timestamp": f"2025-01-01T00:{k // 12:02d}:{k % 12 * 5:02d}Z",
            "server_name": f"web-{s:03d}",
            "profile": "web",
            "cpu_pct": 30.0 + s,
            "latency_ms": 100.0 + k,
        }
        for k in range(20)
        for s in range(3)
    ]
    path = tmp_path / "cpu_latency.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    app = create_app(replace(settings, data_roots=(tmp_path,), default_source=str(path)))
    client = app.server.test_client()
    data = _first_paint(client, "?tick=11")
    metrics = response_value(data, ids.METRICS, "figure")
    notes = [a["text"] for a in metrics["layout"]["annotations"]]
    assert "no error-rate data in this source" in notes
    assert metrics["layout"]["yaxis3"]["range"] == [0, 1]
    step = _tick(client, _store(data), 1)
    assert "__dash_patch_update" in response_value(step, ids.TREND, "figure")
    redrawn = response_value(step, ids.METRICS, "figure")  # the note stays with the new ticks
    assert "no error-rate data in this source" in [
        a["text"] for a in redrawn["layout"]["annotations"]
    ]
