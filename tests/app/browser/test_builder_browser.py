"""The scenario builder in headless Chromium: build, break and fix, save, meet conflicts,
generate, cancel, play; bad names, broken files, oversized uploads, markup in names."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.app.builder import ids
from dashboard.app.live import ids as live_ids
from dashboard.app.shell import ids as shell_ids
from dashboard.authoring.library import Library
from dashboard.scenario import load_scenario, parse_scenario

from .conftest import click_when_settled, free_port

pytestmark = pytest.mark.browser
WAIT = 30


@pytest.fixture()
def builder_settings(settings, tmp_path):
    return replace(
        settings,
        refresh_sec=0.3,
        data_roots=(*settings.data_roots, tmp_path),
        user_scenario_dir=tmp_path / "user_scenarios",
        dataset_dir=tmp_path / "datasets",
        jobs_url=f"diskcache://{tmp_path / 'jobs'}",
    )


# -- helpers -------------------------------------------------------------------------------
def wait(dash_duo, condition, message: str = "", timeout: float = WAIT):
    """Poll ``condition`` until it holds; elements redrawn meanwhile are looked up again."""
    return WebDriverWait(
        dash_duo.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda _d: condition(), message)


def by_id(dash_duo, component):
    key = json.dumps(component, sort_keys=True, separators=(",", ":")) if isinstance(component, dict) else component
    return dash_duo.driver.find_element(By.XPATH, f"//*[@id='{key}']")


def present(dash_duo, css: str) -> list:
    return dash_duo.driver.find_elements(By.CSS_SELECTOR, css)


def text_of(dash_duo, css: str) -> str:
    """The text of every element ``css`` finds (one per line), or ``""``."""
    return "\n".join(e.text for e in present(dash_duo, css))


def stored_doc(dash_duo) -> dict:
    raw = dash_duo.driver.execute_script(f"return window.sessionStorage.getItem({ids.DRAFT!r});")
    return json.loads(raw)["doc"] if raw else {}


def type_into(dash_duo, path: str, text: str) -> None:
    box = by_id(dash_duo, ids.field(path))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text, Keys.ENTER)


# The page scrolls smoothly (Bootstrap's scroll-behavior): a click while it moves lands on
# whatever passes under the pointer. Scroll at once, and click only once the element is still.
SETTLE_JS = """
    const el = arguments[0];
    el.scrollIntoView({block: 'center', behavior: 'instant'});
    const r = el.getBoundingClientRect();
    const inside = r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
    return inside ? [r.left, r.top, r.width, r.height].join(',') : null;
"""


def click(dash_duo, component) -> None:
    """Click ``component`` (an id or a pattern-matching id) once it is in the window and still."""
    last = [None]

    def settled() -> bool:
        now = dash_duo.driver.execute_script(SETTLE_JS, by_id(dash_duo, component))
        still = now is not None and now == last[0]
        last[0] = now
        return still

    wait(dash_duo, settled, f"{component} never came to rest in the window")
    by_id(dash_duo, component).click()


def open_builder(dash_duo, url: str = "/") -> None:
    dash_duo.driver.get(dash_duo.server_url + url)
    dash_duo.wait_for_element(".shell-tabs .nav-link", timeout=WAIT)
    tab = next(t for t in present(dash_duo, ".shell-tabs .nav-link") if "builder" in t.text.lower())
    tab.click()
    dash_duo.wait_for_element(f"#{ids.TIMELINE} .bars, #{ids.TIMELINE} .barlayer", timeout=WAIT)
    wait(dash_duo, lambda: present(dash_duo, ".builder-phases-table"), "the phase table was not drawn")


def start(dash_duo, settings, url: str = "/") -> None:
    dash_duo.start_server(create_app(settings), port=free_port())
    open_builder(dash_duo, url)


def save_and_wait(dash_duo, words: str) -> None:
    click(dash_duo, ids.SAVE)
    wait(dash_duo, lambda: words in text_of(dash_duo, f"#{ids.STATUS}"), f"no {words!r} after saving")


def pick(dash_duo, selector: str, label: str) -> None:
    """Choose the option of a dcc.Dropdown whose text is ``label`` (fail when there is none)."""
    click_when_settled(dash_duo, selector)
    options = present(dash_duo, ".dash-dropdown-options .dash-dropdown-option")
    texts = [o.text for o in options]
    assert label in texts, texts
    options[texts.index(label)].click()


def pick_start(dash_duo, label: str) -> None:
    pick(dash_duo, f"#{ids.START}", label)
    click(dash_duo, ids.LOAD)


# -- building ------------------------------------------------------------------------------
def test_builder001_three_phases_from_blank_by_dragging_and_typing_then_save(dash_duo, builder_settings):
    start(dash_duo, builder_settings)
    click(dash_duo, ids.action("split", 0))
    wait(dash_duo, lambda: len(stored_doc(dash_duo).get("phases", [])) == 2)
    click(dash_duo, ids.action("split", 1))
    wait(dash_duo, lambda: len(present(dash_duo, ".builder-phases-table tbody tr")) == 3)
    assert [p["end"] for p in stored_doc(dash_duo)["phases"]] == [150, 225, 300]

    # Drag the first boundary (2:30) to the left: both phases beside it change length.
    line = present(dash_duo, f"#{ids.TIMELINE} .shapelayer path[data-index='0']")[0]
    ActionChains(dash_duo.driver).move_to_element(line).click_and_hold().move_by_offset(-80, 0).release().perform()
    wait(dash_duo, lambda: stored_doc(dash_duo)["phases"][0]["end"] < 150, "the dragged boundary did not move")
    moved = stored_doc(dash_duo)["phases"][0]["end"]
    assert stored_doc(dash_duo)["phases"][1]["start"] == moved and moved % 5 == 0  # on the tick grid
    wait(dash_duo, lambda: by_id(dash_duo, ids.field("phases.0.end")).get_attribute("value") != "2:30")

    # Type the rest, each value taken before the next (as a user sees it land); typed fields
    # and the drawing stay in step.
    for path, text, landed in (
        ("phases.1.name", "peak", lambda d: d["phases"][1].get("name") == "peak"),
        ("phases.1.intensity", "1", lambda d: d["phases"][1].get("intensity") == 1),
        ("phases.2.name", "recovery", lambda d: d["phases"][2].get("name") == "recovery"),
        ("phases.1.end", "3:50", lambda d: d["phases"][2].get("start") == 230),
    ):
        type_into(dash_duo, path, text)
        wait(dash_duo, lambda landed=landed: landed(stored_doc(dash_duo)), f"{path} = {text} was not taken")
    wait(dash_duo, lambda: "recovery" in text_of(dash_duo, f"#{ids.TIMELINE} .annotation"))

    # A validation error, shown at its field, blocks saving; fixing it clears it.
    type_into(dash_duo, "fleet.size", "0")
    wait(dash_duo, lambda: "fleet.size" in text_of(dash_duo, f"#{ids.PROBLEMS}"), "no problem listed")
    assert "must be >= 1" in by_id(dash_duo, ids.feedback("fleet.size")).text
    assert by_id(dash_duo, ids.SAVE).get_attribute("disabled") and by_id(dash_duo, ids.PLAY).get_attribute("disabled")
    type_into(dash_duo, "fleet.size", "12")
    wait(dash_duo, lambda: not present(dash_duo, f"#{ids.PROBLEMS}") and not by_id(dash_duo, ids.SAVE).get_attribute("disabled"))

    type_into(dash_duo, "name", "my-incident")
    wait(dash_duo, lambda: stored_doc(dash_duo).get("name") == "my-incident")
    save_and_wait(dash_duo, "saved user_scenarios/my-incident.json")
    saved = parse_scenario((builder_settings.user_scenario_dir / "my-incident.json").read_bytes())
    assert [(p.name, p.kind, p.start, p.end, p.intensity) for p in saved.phases] == [
        ("stable", "stable", 0, moved, 0), ("peak", "peak", moved, 230, 1), ("recovery", "recovery", 230, 300, 0)
    ]
    assert saved.fleet.size == 12
    assert "saved" in text_of(dash_duo, f"#{ids.ORIGIN}")
    assert dash_duo.get_logs() == []


# -- conflicts -----------------------------------------------------------------------------
def change_seed_and_save(dash_duo, seed: int) -> None:
    type_into(dash_duo, "seed", str(seed))
    wait(dash_duo, lambda: stored_doc(dash_duo).get("seed") == seed)
    click(dash_duo, ids.SAVE)


def saved_seed(settings, name: str = "shared") -> int:
    return parse_scenario((settings.user_scenario_dir / f"{name}.json").read_bytes()).seed


def test_builder002_a_conflict_from_a_second_browser_resolved_each_way(dash_duo, builder_settings):
    start(dash_duo, builder_settings)
    type_into(dash_duo, "name", "shared")
    wait(dash_duo, lambda: stored_doc(dash_duo).get("name") == "shared")
    save_and_wait(dash_duo, "saved user_scenarios/shared.json")
    first = dash_duo.driver.current_window_handle
    dash_duo.driver.switch_to.new_window("tab")  # the second browser: its own session
    second = dash_duo.driver.current_window_handle
    open_builder(dash_duo)
    pick_start(dash_duo, "yours · shared")
    wait(dash_duo, lambda: "opened user_scenarios/shared.json" in text_of(dash_duo, f"#{ids.STATUS}"))

    def conflict(mine: int, theirs: int) -> None:
        dash_duo.driver.switch_to.window(second)
        change_seed_and_save(dash_duo, theirs)
        wait(dash_duo, lambda: saved_seed(builder_settings) == theirs, "their save did not land")
        dash_duo.driver.switch_to.window(first)
        change_seed_and_save(dash_duo, mine)
        wait(dash_duo, lambda: "changed by someone else" in text_of(dash_duo, f"#{ids.CONFLICT_MESSAGE}"), "no conflict shown")
        body = text_of(dash_duo, f"#{ids.CONFLICT_BODY}")
        assert f'"seed": {mine}' in body and f'"seed": {theirs}' in body and "seed" in body.split("\n")[0]
        assert saved_seed(builder_settings) == theirs  # nothing overwritten yet

    # 1. take theirs
    conflict(mine=11, theirs=21)
    click(dash_duo, ids.TAKE_THEIRS)
    wait(dash_duo, lambda: stored_doc(dash_duo).get("seed") == 21, "their version was not taken")
    wait(dash_duo, lambda: by_id(dash_duo, ids.field("seed")).get_attribute("value") == "21")
    # 2. save mine under a new name
    conflict(mine=12, theirs=22)
    name_box = by_id(dash_duo, ids.SAVE_AS_NAME)
    assert name_box.get_attribute("value") == "shared-mine"
    click(dash_duo, ids.SAVE_AS)
    wait(dash_duo, lambda: (builder_settings.user_scenario_dir / "shared-mine.json").exists())
    assert saved_seed(builder_settings, "shared-mine") == 12 and saved_seed(builder_settings) == 22
    wait(dash_duo, lambda: stored_doc(dash_duo).get("name") == "shared-mine")
    # 3. keep mine (overwrite theirs, knowingly)
    pick_start(dash_duo, "yours · shared")
    wait(dash_duo, lambda: stored_doc(dash_duo).get("name") == "shared" and stored_doc(dash_duo).get("seed") == 22)
    conflict(mine=13, theirs=23)
    click(dash_duo, ids.KEEP_MINE)
    wait(dash_duo, lambda: saved_seed(builder_settings) == 13, "mine was not kept")
    wait(dash_duo, lambda: "overwrote user_scenarios/shared.json" in text_of(dash_duo, f"#{ids.STATUS}"))
    assert dash_duo.get_logs() == []


# -- generating and playing ----------------------------------------------------------------
AFFECTED = {"web-000", "database-000", "cache-000", "ml_compute-000"}


def test_builder003_generate_with_progress_cancel_one_run_play_the_other(dash_duo, builder_settings):
    start(dash_duo, builder_settings)
    type_into(dash_duo, "name", "rise")
    type_into(dash_duo, "duration_s", "2:00")
    click(dash_duo, ids.action("split", 0))
    wait(dash_duo, lambda: len(stored_doc(dash_duo).get("phases", [])) == 2)
    type_into(dash_duo, "phases.1.name", "peak")
    type_into(dash_duo, "phases.1.intensity", "1")
    # A run long enough to cancel half-way on any machine: 24 million rows (the duration
    # stretches both phases; set back to 2:00 below, they are as they were).
    type_into(dash_duo, "fleet.size", "100000")
    type_into(dash_duo, "duration_s", "20:00")
    wait(dash_duo, lambda: stored_doc(dash_duo)["fleet"]["size"] == 100000 and stored_doc(dash_duo)["phases"][1].get("intensity") == 1)
    wait(dash_duo, lambda: stored_doc(dash_duo)["phases"][1]["end"] == 1200)

    # A large run: its progress rises, then it is cancelled and nothing is left of it.
    click(dash_duo, ids.GENERATE)
    wait(dash_duo, lambda: "generating 24,000,000 rows into datasets/rise-42" in text_of(dash_duo, f"#{ids.GEN_STATUS}"))
    bar = f"#{ids.PROGRESS} .progress-bar"
    wait(dash_duo, lambda: int(float(present(dash_duo, bar)[0].get_attribute("aria-valuenow") or 0)) > 0, "no progress", 60)
    click(dash_duo, ids.CANCEL)
    wait(dash_duo, lambda: "cancelled" in text_of(dash_duo, f"#{ids.GEN_STATUS}"), "the run was not cancelled", 60)
    folder = builder_settings.dataset_dir / "rise-42"
    assert not folder.exists() or [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []
    assert not by_id(dash_duo, ids.GENERATE).get_attribute("disabled")

    # A small run goes through; its dataset opens in the Live tab, where the affected rise.
    type_into(dash_duo, "fleet.size", "8")
    type_into(dash_duo, "duration_s", "2:00")
    wait(dash_duo, lambda: stored_doc(dash_duo)["fleet"]["size"] == 8 and stored_doc(dash_duo)["phases"][1]["start"] == 60)
    click(dash_duo, ids.GENERATE)
    wait(dash_duo, lambda: "wrote 192 rows into datasets/rise-42" in text_of(dash_duo, f"#{ids.GEN_STATUS}"), "no dataset", 60)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "demo_dataset.csv", "demo_dataset.parquet", "demo_dataset_metadata.json"
    ]
    click(dash_duo, ids.OPEN_DATASET)
    wait(dash_duo, lambda: "rise-42" in dash_duo.driver.current_url, "the Live tab did not open the dataset")

    def affected_on_top() -> bool:
        labels = {e.text for e in present(dash_duo, f"#{live_ids.TOP5} .ytick text")}
        return labels >= AFFECTED and dash_duo.find_element(f"#{live_ids.kpi('truth', 'value')}").text == "peak"

    wait(dash_duo, affected_on_top, "the affected servers never rose to the top", 60)
    # Play now opens the same scenario as an in-memory source.
    open_builder(dash_duo, "/")
    click(dash_duo, ids.PLAY)
    wait(dash_duo, lambda: "source=scenario%3Adraft-" in dash_duo.driver.current_url or "source=scenario%3Arise" in dash_duo.driver.current_url)
    assert dash_duo.get_logs() == []


def test_builder006_play_now_while_the_live_tab_plays_switches_its_source(dash_duo, builder_settings):
    # The Live tab plays the demo data behind the builder, refreshing every 0.3 s: the new
    # source must not be superseded by a refresh fired while it is being opened.
    start(dash_duo, builder_settings)
    type_into(dash_duo, "fleet.size", "12")
    wait(dash_duo, lambda: stored_doc(dash_duo)["fleet"]["size"] == 12)
    click(dash_duo, ids.PLAY)
    servers = f"#{live_ids.kpi('risk', 'extra')}"
    wait(dash_duo, lambda: "of 12 servers" in text_of(dash_duo, servers), "the Live tab did not play the draft")
    assert "source=scenario%3Adraft-" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


# -- hostile input -------------------------------------------------------------------------
MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b>'


def test_builder004_bad_names_broken_files_and_markup_render_as_text(dash_duo, builder_settings):
    folder = builder_settings.user_scenario_dir
    folder.mkdir()
    (folder / "broken.json").write_text('{"schema_version": 1, "name": ')
    (folder / f"{MARKUP.replace('/', '')}.json").write_text("{}")
    library = Library.from_settings(builder_settings)
    marked = load_scenario("default").model_copy(update={"title": MARKUP, "description": MARKUP})
    library.save(marked, "marked", expected=None)

    start(dash_duo, builder_settings)
    broken = text_of(dash_duo, f"#{ids.BROKEN}")
    assert "2 scenario files cannot be opened" in broken
    dash_duo.find_element(f"#{ids.BROKEN} summary").click()
    wait(dash_duo, lambda: "user_scenarios/broken.json" in text_of(dash_duo, f"#{ids.BROKEN}"))
    assert "not valid JSON" in text_of(dash_duo, f"#{ids.BROKEN}")

    # The title others wrote is text in the picker; opening it shows it as text in the form.
    pick_start(dash_duo, f"yours · marked — {MARKUP}")
    wait(dash_duo, lambda: by_id(dash_duo, ids.field("title")).get_attribute("value") == MARKUP)
    # A phase name typed with markup is drawn as text on the timeline (and refused by the checks).
    type_into(dash_duo, "phases.0.name", "<b>x</b>")
    wait(dash_duo, lambda: "<b>x</b>" in text_of(dash_duo, f"#{ids.TIMELINE} .annotation"), "the name was not drawn as text")
    assert not present(dash_duo, f"#{ids.TIMELINE} .annotation b")
    type_into(dash_duo, "phases.0.name", "stable")

    # A bad name: its reason and a suggestion at the field; saving is off until it is fixed.
    type_into(dash_duo, "name", "../evil")
    wait(dash_duo, lambda: "no slashes; try 'evil'" in by_id(dash_duo, ids.feedback("name")).text, "no reason at the name")
    assert by_id(dash_duo, ids.SAVE).get_attribute("disabled")
    type_into(dash_duo, "name", "default")
    wait(dash_duo, lambda: not by_id(dash_duo, ids.SAVE).get_attribute("disabled"))
    click(dash_duo, ids.SAVE)
    wait(dash_duo, lambda: "bundled scenario, which stays read-only" in text_of(dash_duo, f"#{ids.STATUS}"))

    # The Live tab's picker lists the broken files too, with their errors.
    click_when_settled(dash_duo, ".shell-tabs .nav-link")
    click_when_settled(dash_duo, f"#{shell_ids.SOURCE}")
    menu = ".dash-dropdown-options"
    wait(dash_duo, lambda: "broken · user_scenarios/broken.json" in text_of(dash_duo, menu), "not listed in Live")
    assert "your scenario · marked" in text_of(dash_duo, menu)
    assert dash_duo.driver.execute_script("return window.__pwned === undefined")
    assert dash_duo.get_logs() == []


def test_builder005_an_oversized_upload_is_refused_in_the_browser(dash_duo, builder_settings, tmp_path):
    from dashboard.app.builder.layout import UPLOAD_MAX_BYTES

    start(dash_duo, builder_settings)
    big = tmp_path / "huge.json"
    big.write_text('{"pad": "' + "x" * (UPLOAD_MAX_BYTES + 5000) + '"}')
    dash_duo.driver.execute_script(
        "window.__sent = []; const f = window.fetch; window.fetch = function(u, o) {"
        " if (o && o.body && String(o.body).includes('builder-uploaded')) window.__sent.push(String(o.body).length);"
        " return f.apply(this, arguments); };"
    )
    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.UPLOAD} input[type=file]")
    upload.send_keys(str(big))
    wait(dash_duo, lambda: "huge.json:" in text_of(dash_duo, f"#{ids.STATUS}"), "no message for the large file")
    assert f"a scenario file may be at most {-(-UPLOAD_MAX_BYTES // 1024):,} KB" in text_of(dash_duo, f"#{ids.STATUS}")
    requests = dash_duo.driver.execute_script("return window.__sent")
    assert all(size < 10_000 for size in requests)  # the file itself was never sent

    good = tmp_path / "gc.json"
    good.write_text(load_scenario("gc_storm").to_json())
    dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.UPLOAD} input[type=file]").send_keys(str(good))
    wait(dash_duo, lambda: stored_doc(dash_duo).get("name") == "gc_storm", "the upload was not opened")
    wait(dash_duo, lambda: "an uploaded file, not saved yet" in text_of(dash_duo, f"#{ids.ORIGIN}"))
    assert dash_duo.get_logs() == []
