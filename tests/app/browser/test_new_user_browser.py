"""What a new user tripped on, tried again in headless Chromium: zoom, clicks, peers, the Why,
first frames, live sources, opening data, model parameters, KPI tiles, messages, widths and keys."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids

from .conftest import free_port

pytestmark = pytest.mark.browser
PROGRESS = f"#{ids.PROGRESS}"


@pytest.fixture()
def live_app(settings):
    return create_app(replace(settings, refresh_sec=0.3))


def _start(dash_duo, app, query: str = "") -> None:
    dash_duo.start_server(app, port=free_port())
    if query:
        dash_duo.driver.get(dash_duo.server_url + "/" + query)
    dash_duo.wait_for_element(f"#{ids.STRIP} .heatmaplayer", timeout=20)


def _wait(dash_duo, condition, timeout: float = 20, message: str = ""):
    return WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.1).until(
        lambda _d: condition(), message
    )


def _tick(dash_duo) -> int:
    match = re.search(r"tick ([\d,]+)", dash_duo.find_element(PROGRESS).text)
    assert match, dash_duo.find_element(PROGRESS).text
    return int(match.group(1).replace(",", "")) - 1


def _js(dash_duo, graph_id: str, expression: str):
    """Evaluate ``expression`` with ``gd`` bound to the plotly graph of ``graph_id``."""
    return dash_duo.driver.execute_script(
        f"const gd = document.querySelector('#{graph_id} .js-plotly-plot'); return {expression};"
    )


def _text(dash_duo, selector: str) -> str:
    return dash_duo.find_element(selector).text


def _click(dash_duo, selector: str) -> None:
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def _box_zoom(dash_duo, graph_id: str) -> None:
    """Drag a box over the middle of a graph (pointer moves start from an element's centre)."""
    drag = dash_duo.find_element(f"#{graph_id} .nsewdrag")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", drag)
    w, h = drag.size["width"], drag.size["height"]
    ActionChains(dash_duo.driver).move_to_element(drag).move_by_offset(-w // 4, -h // 4).click_and_hold().move_by_offset(
        10, 10
    ).move_by_offset(w // 4, h // 4).release().perform()


def test_live008_a_zoom_survives_refreshes_until_a_double_click(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=31&paused=1")
    _box_zoom(dash_duo, ids.TREND)
    _wait(dash_duo, lambda: _js(dash_duo, ids.TREND, "gd._fullLayout.xaxis.autorange") is False)
    zoomed = _js(dash_duo, ids.TREND, "[gd._fullLayout.xaxis.range, gd._fullLayout.yaxis.range]")
    _click(dash_duo, f"#{ids.PLAY}")
    before = _tick(dash_duo)
    _wait(dash_duo, lambda: _tick(dash_duo) >= before + 3, 20, "playback stopped")
    kept = _js(dash_duo, ids.TREND, "[gd._fullLayout.xaxis.range, gd._fullLayout.yaxis.range]")
    assert kept == zoomed  # x and y: refreshes never reset a zoom
    drag = dash_duo.find_element(f"#{ids.TREND} .nsewdrag")
    ActionChains(dash_duo.driver).move_to_element(drag).double_click().perform()
    _wait(dash_duo, lambda: _js(dash_duo, ids.TREND, "gd._fullLayout.xaxis.autorange") is True)
    assert dash_duo.get_logs() == []


def test_live009_a_click_selects_or_scrubs_never_both(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1&server=web-003")
    assert "Click a server" in _text(dash_duo, f"#{ids.HINT}")
    _wait(dash_duo, lambda: _tick(dash_duo) == 40)
    drag = dash_duo.find_element(f"#{ids.TREND} .nsewdrag")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", drag)
    ActionChains(dash_duo.driver).move_to_element(drag).move_by_offset(
        -drag.size["width"] // 4, 0
    ).click().perform()
    _wait(dash_duo, lambda: _tick(dash_duo) < 35, 20, "a click on the trend did not scrub")
    assert _text(dash_duo, f"#{ids.WHY_SERVER}") == "web-003"  # the selection stayed
    assert "server=web-003" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def test_live010_rolling_metrics_compare_a_server_with_its_profile_peers(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1&server=cache-000")
    dash_duo.wait_for_contains_text(f"#{ids.METRICS_SUB}", "cache peers", timeout=20)
    names = _js(dash_duo, ids.METRICS, "gd.data.map(t => t.name)")
    assert names[:2] == ["cache peers median CPU", "cache peers p95 CPU"]
    latency_band = _js(dash_duo, ids.METRICS, "gd.data[3].y[gd.data[3].y.length - 1]")
    assert latency_band < 10  # caches answer in a few ms; the web tier's band would be far above
    assert dash_duo.get_logs() == []


def test_live011_the_why_says_it_in_words(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1")
    dash_duo.wait_for_contains_text(f"#{ids.WHY_TEXT}", "normal", timeout=20)
    sentence = _text(dash_duo, f"#{ids.WHY_TEXT}")
    assert re.search(r"\d+(\.\d+)?(%| ms)", sentence), sentence
    labels = _texts(dash_duo, f"#{ids.WHY_GRAPH} .ytick text")
    assert labels and not {"error_rate", "gc", "trend", "cpu", "memory"} & set(labels)
    assert all(re.search(r"\d", label) or " " in label for label in labels), labels
    dash_duo.driver.get(dash_duo.server_url + "/?tick=11&paused=1&server=web-003")
    dash_duo.wait_for_contains_text(f"#{ids.WHY_TEXT}", "Nothing stands out", timeout=20)
    bars = _texts(dash_duo, f"#{ids.WHY_GRAPH} .bartext")
    assert "+0%" not in bars
    assert dash_duo.get_logs() == []


def _texts(dash_duo, selector: str) -> list[str]:
    """The texts of every element ``selector`` finds, read in one script (the graphs redraw
    on every refresh: elements read one by one may be gone before they are read)."""
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)",
        selector,
    )


def _pick(dash_duo, selector: str, label: str) -> None:
    """Open a dropdown and click the option labelled ``label`` once the menu shows it."""
    _click(dash_duo, selector)

    def option():
        found = [
            e
            for e in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
            if e.text == label
        ]
        return found[0] if found else None

    _wait(dash_duo, option, 20, f"no option {label!r}").click()


def test_live012_the_first_frame_of_a_new_source_is_complete(dash_duo, live_app):
    _start(dash_duo, live_app)
    _pick(dash_duo, f"#{shell_ids.SOURCE}", "scenario · gc_storm")
    _wait(dash_duo, lambda: "78" in dash_duo.find_element(PROGRESS).text, 20, "the source did not switch")
    ticks = [t for t in _texts(dash_duo, f"#{ids.TREND} .xtick text") if t]
    assert ticks == sorted(set(ticks)) and "23:59:59" not in ticks, ticks  # no made-up axis
    points = _js(dash_duo, ids.METRICS, "gd.data[gd.data.length - 1].x.length")
    assert points >= 2  # a line, not a lone point
    assert len(_texts(dash_duo, f"#{ids.TOP5} .bartext")) == 5  # every bar labelled
    assert _text(dash_duo, f"#{ids.WHY_TEXT}")
    assert dash_duo.get_logs() == []


def test_live013_a_followed_file_is_live_at_its_head(dash_duo, settings, demo_dir, tmp_path):
    header, *rows = (demo_dir / "demo_dataset.csv").read_text().splitlines()
    per_tick = 20
    path = tmp_path / "now.csv"
    path.write_text("\n".join([header, *rows[: 10 * per_tick]]) + "\n")
    app = create_app(
        replace(settings, data_roots=(tmp_path,), default_source=f"follow:{path}", refresh_sec=0.3)
    )
    _start(dash_duo, app)
    dash_duo.wait_for_text_to_equal(f"#{ids.LIVE}", "● live", timeout=20)
    assert _tick(dash_duo) == 9 and "live" in _text(dash_duo, PROGRESS)
    with path.open("a") as f:
        f.write("\n".join(rows[10 * per_tick : 14 * per_tick]) + "\n")
    _wait(dash_duo, lambda: _tick(dash_duo) == 13, 20, "the page did not follow the new ticks")
    _click(dash_duo, f"#{ids.BACK}")
    dash_duo.wait_for_contains_text(PROGRESS, "1 behind live", timeout=20)
    assert "jump to live" in _text(dash_duo, f"#{ids.LIVE}")
    _click(dash_duo, f"#{ids.LIVE}")
    dash_duo.wait_for_text_to_equal(f"#{ids.LIVE}", "● live", timeout=20)
    assert _tick(dash_duo) == 13
    assert dash_duo.get_logs() == []


def _type(dash_duo, selector: str, text: str) -> None:
    field = dash_duo.find_element(selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def test_live014_open_data_by_path_and_remember_it(dash_duo, live_app, demo_dir):
    _start(dash_duo, live_app)
    _click(dash_duo, f"#{shell_ids.OPEN}")
    dash_duo.wait_for_element(f"#{shell_ids.OPEN_TARGET}", timeout=20)
    _type(dash_duo, f"#{shell_ids.OPEN_TARGET}", "../../etc/passwd")
    _click(dash_duo, f"#{shell_ids.OPEN_GO}")
    dash_duo.wait_for_contains_text(f"#{shell_ids.OPEN_ERROR}", "not a data file", timeout=20)
    assert str(demo_dir) not in _text(dash_duo, f"#{shell_ids.OPEN_ERROR}")
    csv = str(demo_dir / "demo_dataset.csv")
    _type(dash_duo, f"#{shell_ids.OPEN_TARGET}", csv)
    _click(dash_duo, f"#{shell_ids.OPEN_GO}")
    _wait(dash_duo, lambda: "demo_dataset.csv" in dash_duo.driver.current_url, 20, "not opened")
    assert "demo_dataset.csv" in _text(dash_duo, f"#{shell_ids.SOURCE}")
    _click(dash_duo, f"#{shell_ids.OPEN}")
    dash_duo.wait_for_contains_text(f"#{shell_ids.RECENT_LIST}", csv, timeout=20)
    assert dash_duo.get_logs() == []


def test_live015_model_parameters_in_a_checked_form(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1")
    _click(dash_duo, f"#{shell_ids.PARAMS_OPEN}")
    field = '[id*="\\"name\\":\\"sensitivity\\""]'
    dash_duo.wait_for_element(field, timeout=20)
    _type(dash_duo, field, "50")
    _click(dash_duo, f"#{shell_ids.PARAMS_APPLY}")
    dash_duo.wait_for_contains_text(f"#{shell_ids.PARAMS_ERROR}", "sensitivity must be between", timeout=20)
    _type(dash_duo, field, "2")
    _click(dash_duo, f"#{shell_ids.PARAMS_APPLY}")
    _wait(dash_duo, lambda: "p.sensitivity=2" in dash_duo.driver.current_url, 20, "not applied")
    dash_duo.wait_for_text_to_equal(f"#{shell_ids.PARAMS_OPEN}", "parameters (1 set)", timeout=20)
    assert dash_duo.get_logs() == []


def test_live016_at_1280_1600_and_1920_px_tiles_marks_and_bands_fit(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=41&paused=1")
    for width in (1280, 1600, 1920):
        dash_duo.driver.set_window_size(width, 1000)
        dash_duo.driver.get(dash_duo.server_url + "/?tick=41&paused=1")
        dash_duo.wait_for_text_to_equal(f"#{ids.kpi('truth', 'value')}", "peak", timeout=20)
        assert "answer key" in _text(dash_duo, f"#{ids.kpi('truth', 'extra')}")
        cut = dash_duo.driver.execute_script(
            "return [...document.querySelectorAll('.kpi-value, .kpi-extra')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);"
        )
        assert cut == [], width  # no tile text cut off
        overlaps = dash_duo.driver.execute_script(
            "const r = [...document.querySelectorAll('.dash-slider-mark')]"
            ".map(e => e.getBoundingClientRect()).sort((a, b) => a.left - b.left);"
            "return r.slice(1).filter((b, i) => b.left < r[i].right).length;"
        )
        assert overlaps == 0, width  # slider labels never crowd
        for graph in (ids.STRIP, ids.METRICS):  # phase bands beyond the trend too
            assert _js(dash_duo, graph, "gd.layout.shapes.length") >= 3
    assert dash_duo.get_logs() == []


def test_live017_messages_show_no_server_path_and_no_huge_number(dash_duo, live_app, settings):
    dash_duo.start_server(live_app, port=free_port())
    # The message shows with the first answer and closes itself after a while: read it first.
    dash_duo.driver.get(dash_duo.server_url + "/?source=csv:/proc/self/environ&speed=1e308")
    dash_duo.wait_for_contains_text(f"#{shell_ids.MESSAGE}", "not a data file", timeout=30)
    message = _text(dash_duo, f"#{shell_ids.MESSAGE}")
    assert "/proc" not in message and str(Path(settings.data_roots[0])) not in message
    assert "speed" in message and not re.search(r"\d{16}", message)
    assert dash_duo.get_logs() == []


def test_live018_playback_from_the_keyboard_with_labels(dash_duo, live_app):
    _start(dash_duo, live_app, "?tick=21")
    body = dash_duo.find_element("body")
    body.send_keys(Keys.SPACE)
    dash_duo.wait_for_contains_text(PROGRESS, "paused", timeout=20)
    paused_at = _tick(dash_duo)
    body.send_keys(Keys.ARROW_RIGHT)
    _wait(dash_duo, lambda: _tick(dash_duo) == paused_at + 1)
    body.send_keys(Keys.ARROW_LEFT)
    body.send_keys(Keys.ARROW_LEFT)
    _wait(dash_duo, lambda: _tick(dash_duo) == paused_at - 1)
    for button in (ids.BACK, ids.FORWARD, ids.RESET):
        assert dash_duo.find_element(f"#{button}").get_attribute("aria-label")
    assert dash_duo.get_logs() == []
