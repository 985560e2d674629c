"""The Live tab in headless Chromium: playback, linking, controls, independent tabs."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.app.live import ids

from .conftest import free_port

pytestmark = pytest.mark.browser
AFFECTED = {"web-000", "database-000", "cache-000", "ml_compute-000"}
PROGRESS = f"#{ids.PROGRESS}"
PHASE_VALUE = f"#{ids.kpi('truth', 'value')}"


@pytest.fixture()
def live_app(settings):
    return create_app(replace(settings, refresh_sec=0.3))


def _start(dash_duo, app, query: str) -> None:
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.STRIP} .heatmaplayer", timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/" + query)
    dash_duo.wait_for_element(f"#{ids.STRIP} .heatmaplayer", timeout=20)


def _tick_shown(dash_duo) -> int:
    match = re.search(r"tick ([\d,]+)", dash_duo.find_element(PROGRESS).text)
    assert match, dash_duo.find_element(PROGRESS).text
    return int(match.group(1).replace(",", "")) - 1


def _wait(dash_duo, condition, timeout: float = 20, message: str = ""):
    return WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.1).until(
        lambda _d: condition(), message
    )


def test_live001_demo_plays_from_stable_to_recovery_and_ends(dash_duo, live_app):
    # speed 1: each phase lasts seconds of wall clock, so a loaded machine (where playback
    # catches up by the clock) still shows every phase at least once
    _start(dash_duo, live_app, "?tick=1&speed=1&paused=1")
    dash_duo.wait_for_text_to_equal(PHASE_VALUE, "stable", timeout=20)
    dash_duo.find_element(f"#{ids.PLAY}").click()
    seen = set()

    def ended() -> bool:
        seen.add(dash_duo.find_element(PHASE_VALUE).text)
        return "end of data" in dash_duo.find_element(PROGRESS).text

    _wait(dash_duo, ended, 40, "playback never reached the end")
    assert {"stable", "recovery"} <= seen and len(seen) >= 3, seen
    assert dash_duo.find_element(f"#{ids.PLAY}").text.endswith("Replay")
    dash_duo.find_element(f"#{ids.RESET}").click()
    _wait(dash_duo, lambda: "end of data" not in dash_duo.find_element(PROGRESS).text)
    assert dash_duo.get_logs() == []


def test_live002_top5_during_the_peak_are_the_affected_servers(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1")
    dash_duo.wait_for_text_to_equal(PHASE_VALUE, "peak", timeout=20)

    def labels() -> list[str]:
        return [e.text for e in dash_duo.find_elements(f"#{ids.TOP5} .ytick text")]

    _wait(dash_duo, lambda: len(labels()) == 5)
    assert set(labels()) >= AFFECTED  # the fifth bar is the riskiest healthy server
    # Nothing selected: the rolling metrics show the riskiest server, and say so.
    riskiest = dash_duo.find_element(f"#{ids.WHY_SERVER}").text
    assert riskiest in AFFECTED
    dash_duo.wait_for_contains_text(f"#{ids.METRICS_SUB}", f"riskiest now: {riskiest}", timeout=20)
    assert dash_duo.get_logs() == []


def test_live003_selecting_a_server_in_the_strip_updates_the_metrics_and_not_the_time(
    dash_duo, live_app
):
    _start(dash_duo, live_app, "?tick=41&paused=1")
    dash_duo.wait_for_text_to_equal(PHASE_VALUE, "peak", timeout=20)
    _wait(dash_duo, lambda: len(dash_duo.find_elements(f"#{ids.STRIP} .ytick text")) == 20)
    drag = dash_duo.find_element(f"#{ids.STRIP} .nsewdrag")
    # Pointer moves start from the centre of an element's visible part: show all of it.
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", drag)
    rows = sorted(
        dash_duo.find_elements(f"#{ids.STRIP} .ytick text"), key=lambda e: e.location["y"]
    )
    row = rows[5]  # the sixth row from the top: a healthy server, not the riskiest
    target = row.text
    dy = (row.location["y"] + row.size["height"] / 2) - (
        drag.location["y"] + drag.size["height"] / 2
    )
    ActionChains(dash_duo.driver).move_to_element(drag).move_by_offset(
        -drag.size["width"] // 4, int(dy)
    ).click().perform()
    dash_duo.wait_for_text_to_equal(f"#{ids.WHY_SERVER}", target, timeout=20)
    _wait(dash_duo, lambda: target in dash_duo.find_element(f"#{ids.METRICS}").text)
    _wait(dash_duo, lambda: f"server={target}" in dash_duo.driver.current_url)
    assert _tick_shown(dash_duo) == 40  # a click on a server only selects it
    assert dash_duo.get_logs() == []


def test_live004_pause_step_and_scrub(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=6")
    _wait(dash_duo, lambda: _tick_shown(dash_duo) >= 6)
    dash_duo.find_element(f"#{ids.PLAY}").click()
    _wait(dash_duo, lambda: "paused" in dash_duo.find_element(PROGRESS).text)
    paused_at = _tick_shown(dash_duo)
    dash_duo.find_element(f"#{ids.FORWARD}").click()
    _wait(dash_duo, lambda: _tick_shown(dash_duo) == paused_at + 1)
    dash_duo.find_element(f"#{ids.BACK}").click()
    dash_duo.find_element(f"#{ids.BACK}").click()
    _wait(dash_duo, lambda: _tick_shown(dash_duo) == paused_at - 1)
    # Scrub: click the slider three quarters of the way along.
    track = dash_duo.find_element(f"#{ids.SLIDER} .dash-slider-track")
    ActionChains(dash_duo.driver).move_to_element(track).move_by_offset(
        int(track.size["width"] * 0.25), 0
    ).click().perform()
    _wait(dash_duo, lambda: _tick_shown(dash_duo) >= 35)
    assert "paused" in dash_duo.find_element(PROGRESS).text
    # A reload resumes where the URL says.
    scrubbed = _tick_shown(dash_duo)
    _wait(dash_duo, lambda: f"tick={scrubbed + 1}&" in dash_duo.driver.current_url)
    dash_duo.driver.refresh()
    dash_duo.wait_for_element(f"#{ids.STRIP} .heatmaplayer", timeout=20)
    _wait(dash_duo, lambda: "tick" in dash_duo.find_element(PROGRESS).text)
    assert _tick_shown(dash_duo) == scrubbed and "paused" in dash_duo.find_element(PROGRESS).text
    assert dash_duo.get_logs() == []


def test_live005_two_tabs_replay_independently(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=11&paused=1")
    _wait(dash_duo, lambda: _tick_shown(dash_duo) == 10)
    first = dash_duo.driver.current_window_handle
    dash_duo.driver.switch_to.new_window("tab")
    dash_duo.driver.get(dash_duo.server_url + "/?tick=21&speed=2")
    dash_duo.wait_for_element(f"#{ids.STRIP} .heatmaplayer", timeout=20)
    _wait(dash_duo, lambda: _tick_shown(dash_duo) >= 30)
    dash_duo.driver.switch_to.window(first)
    assert _tick_shown(dash_duo) == 10
    assert "tick=11&" in dash_duo.driver.current_url  # the link counts from 1, like the page
    assert dash_duo.get_logs() == []


def test_live006_a_tick_slower_than_the_refresh_does_not_pile_up(dash_duo, live_app, monkeypatch):
    from dashboard.app.live import callbacks

    real = callbacks.tick_answer

    def slow(*args, **kwargs):
        time.sleep(0.9)  # three refresh periods (0.3 s): the server is the bottleneck here
        return real(*args, **kwargs)

    monkeypatch.setattr(callbacks, "tick_answer", slow)
    _start(dash_duo, live_app, "?tick=6")
    start = _tick_shown(dash_duo)
    _wait(dash_duo, lambda: _tick_shown(dash_duo) >= start + 4, 30, "the page stopped updating")
    assert dash_duo.get_logs() == []


def test_live007_a_lost_answer_does_not_stop_playback(dash_duo, settings, monkeypatch):
    import flask

    from dashboard.app.live import layout

    monkeypatch.setattr(layout, "WATCHDOG_MS", 300)
    monkeypatch.setattr(layout, "WATCHDOG_STALL_MS", 1500)
    app = create_app(replace(settings, refresh_sec=0.3))
    lost = {"count": 0}

    @app.server.before_request
    def lose_one_refresh():
        body = flask.request.get_data(as_text=True) if flask.request.method == "POST" else ""
        if (
            '"changedPropIds":["live-interval.n_intervals"]' in body.replace(" ", "")
            and lost["count"] == 3
        ):
            lost["count"] += 1
            flask.abort(502)
        if "live-interval.n_intervals" in body:
            lost["count"] += 1

    _start(dash_duo, app, "?tick=6")
    _wait(dash_duo, lambda: lost["count"] >= 4, 20, "no refresh was lost")
    stalled_at = _tick_shown(dash_duo)
    _wait(
        dash_duo, lambda: _tick_shown(dash_duo) >= stalled_at + 3, 20, "playback stopped for good"
    )
    logs = dash_duo.get_logs()
    # Only the lost request itself is logged (the failed fetch and the renderer's report of it).
    assert all(
        "_dash-update-component" in entry["message"] or "dash_renderer" in entry["message"]
        for entry in logs
    ), logs
