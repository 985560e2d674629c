"""A growing source: playback follows its head instead of ending."""

from __future__ import annotations

from dataclasses import replace

from dashboard.app import create_app
from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids

from ..conftest import post_tick, response_value


def _rows_by_tick(csv_text: str) -> tuple[str, list[list[str]]]:
    header, *rows = csv_text.splitlines()
    ticks: dict[str, list[str]] = {}
    for row in rows:
        ticks.setdefault(row.split(",", 1)[0], []).append(row)
    return header, list(ticks.values())


def _answer(client, store, prop, value):
    _, data = post_tick(client, {prop: value}, store, [f"{prop[0]}.{prop[1]}"])
    return data, response_value(data, ids.VIEW, "data")


def test_a_followed_file_opens_at_its_head_and_stays_there(demo_dir, settings, tmp_path):
    header, ticks = _rows_by_tick((demo_dir / "demo_dataset.csv").read_text())
    path = tmp_path / "growing.csv"
    path.write_text("\n".join([header, *(r for t in ticks[:10] for r in t)]) + "\n")
    app = create_app(replace(settings, data_roots=(tmp_path,), default_source=f"follow:{path}"))
    client = app.server.test_client()
    data, store = _answer(client, None, (shell_ids.URL, "search"), "")
    assert store["tick"] == 9 and store["following"]  # the newest tick, not tick 0
    assert response_value(data, ids.PROGRESS, "children") == "tick 10 · live"
    assert response_value(data, ids.LIVE, "children") == "● live"
    assert response_value(data, ids.LIVE, "disabled") is True
    assert "d-none" not in response_value(data, ids.LIVE, "className")
    with path.open("a") as f:
        f.write("\n".join(r for t in ticks[10:13] for r in t) + "\n")
    data, store = _answer(client, store, (ids.INTERVAL, "n_intervals"), 1)
    assert store["tick"] == 12 and store["following"] and store["playing"]  # caught up at once
    assert response_value(data, ids.SLIDER, "max") == 12


def test_behind_the_head_it_says_so_and_jump_to_live_returns(demo_dir, settings, tmp_path):
    header, ticks = _rows_by_tick((demo_dir / "demo_dataset.csv").read_text())
    path = tmp_path / "growing.csv"
    path.write_text("\n".join([header, *(r for t in ticks[:10] for r in t)]) + "\n")
    app = create_app(replace(settings, data_roots=(tmp_path,), default_source=f"follow:{path}"))
    client = app.server.test_client()
    _, store = _answer(client, None, (shell_ids.URL, "search"), "")
    data, store = _answer(client, store, (ids.SLIDER, "value"), 4)
    assert store["tick"] == 4 and not store["following"]
    assert response_value(data, ids.PROGRESS, "children") == "tick 5 · 5 behind live"
    assert response_value(data, ids.LIVE, "children") == "⏭ jump to live"
    assert response_value(data, ids.LIVE, "disabled") is False
    data, store = _answer(client, store, (ids.LIVE, "n_clicks"), 1)
    assert store["tick"] == 9 and store["following"] and store["playing"]


def test_a_replayed_file_has_no_live_button(client):
    data, _store = _answer(client, None, (shell_ids.URL, "search"), "")
    assert "d-none" in response_value(data, ids.LIVE, "className")
