"""Take the screenshots in docs/ with headless Chromium: the Live tab at 1280 and 1920 px, the
Why panel, the open-data form, the README's picture, and the scenario builder (its editor, live
preview, problems, and a conflict).

    python docs/screenshots.py            # needs chromium and chromedriver (scripts/test.sh installs them)
    python docs/screenshots.py --only builder

It serves the default scenario in memory on a free port (the builder saving into a temporary
folder), pauses in its peak and writes the PNG files beside this script.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

DOCS = Path(__file__).resolve().parent
PEAK = "?tick=41&paused=1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "scenario:default", "--port", str(port), "--no-browser"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the dashboard did not start")


def _browser(chromium: str) -> webdriver.Chrome:
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def _ready(driver: webdriver.Chrome) -> None:
    """Wait for the page to show the peak: graphs drawn, the Why sentence written."""
    WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#live-strip .heatmaplayer")
        and "normal" in d.find_element(By.ID, "live-why-text").text
    )
    time.sleep(1.0)  # let the last transitions settle before the picture


def _page(driver: webdriver.Chrome, url: str, width: int, height: int, out: Path) -> None:
    driver.set_window_size(width, height)
    driver.get(url)
    _ready(driver)
    driver.save_screenshot(str(out))
    print(f"wrote {out}")


def _by_id(driver: webdriver.Chrome, component):
    key = json.dumps(component, sort_keys=True, separators=(",", ":")) if isinstance(component, dict) else component
    return driver.find_element(By.XPATH, f"//*[@id='{key}']")


def _until(driver: webdriver.Chrome, condition, what: str) -> None:
    WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _d: condition(), f"the builder never showed {what}"
    )


def _type(driver: webdriver.Chrome, path: str, text: str) -> None:
    from dashboard.app.builder import ids

    box = _by_id(driver, ids.field(path))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text, Keys.ENTER)


def _click(driver: webdriver.Chrome, component) -> None:
    element = _by_id(driver, component)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def _text(driver: webdriver.Chrome, component) -> str:
    return _by_id(driver, component).get_attribute("textContent") or ""


def _shoot(driver: webdriver.Chrome, name: str) -> None:
    time.sleep(1.0)  # let the last transitions settle before the picture
    driver.save_screenshot(str(DOCS / name))
    print(f"wrote {DOCS / name}")


def _builder(driver: webdriver.Chrome, base: str, user_dir: Path) -> None:
    """The builder: a bundled scenario opened and saved as the user's, its preview, two
    problems at their fields, and a conflict with a save made meanwhile by someone else."""
    from dashboard.app.builder import ids
    from dashboard.authoring.library import Library
    from dashboard.settings import BUNDLED_SCENARIOS

    driver.set_window_size(1440, 1000)
    driver.get(base)
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".shell-tabs .nav-link"))
    tab = next(t for t in driver.find_elements(By.CSS_SELECTOR, ".shell-tabs .nav-link") if "builder" in t.text.lower())
    tab.click()
    _until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".builder-phases-table"), "its phases")
    _by_id(driver, ids.START).click()
    options = driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options .dash-dropdown-option")
    next(o for o in options if o.text.startswith("bundled · cascading_failure")).click()
    _click(driver, ids.LOAD)
    _until(driver, lambda: "cascading_failure" in _text(driver, ids.STATUS), "the opened scenario")
    _type(driver, "name", "db-cascade")
    _until(driver, lambda: _by_id(driver, ids.field("name")).get_attribute("value") == "db-cascade", "the name")
    _click(driver, ids.SAVE)
    _until(driver, lambda: "saved user_scenarios/db-cascade.json" in _text(driver, ids.STATUS), "the save")
    _until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, f"#{ids.PREVIEW} .scatterlayer .trace"), "the preview")
    driver.execute_script("window.scrollTo(0, 0)")
    _shoot(driver, "builder.png")

    preview = _by_id(driver, ids.PREVIEW).find_element(
        By.XPATH, "./ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' card ')][1]"
    )
    driver.execute_script(  # instant: the page scrolls smoothly, and a second scroll would cut the first short
        "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'});"
        " window.scrollBy({top: -16, behavior: 'instant'})",
        preview,
    )
    _shoot(driver, "builder-preview.png")

    _type(driver, "fleet.size", "0")
    _type(driver, "phases.2.intensity", "1.5")
    _until(driver, lambda: "2 problems" in _text(driver, ids.PROBLEMS), "two problems")
    driver.execute_script("window.scrollTo(0, 0)")
    _shoot(driver, "builder-problems.png")
    _type(driver, "fleet.size", "24")
    _type(driver, "phases.2.intensity", "1")
    _until(driver, lambda: not driver.find_elements(By.ID, ids.PROBLEMS) or not _text(driver, ids.PROBLEMS), "no problems")

    # Someone else saves the scenario; then this page saves its own change.
    library = Library(BUNDLED_SCENARIOS, user_dir)
    theirs, entry = library.read("db-cascade")
    theirs = theirs.model_copy(update={"title": "Cascade (tuned by a colleague)", "seed": 7})
    library.save(theirs, "db-cascade", expected=entry.version)
    _type(driver, "seed", "99")
    _until(driver, lambda: _by_id(driver, ids.field("seed")).get_attribute("value") == "99", "the new seed")
    _click(driver, ids.SAVE)
    _until(driver, lambda: "changed by someone else" in _text(driver, ids.CONFLICT_MESSAGE), "the conflict")
    _shoot(driver, "builder-conflict.png")


def _live(driver: webdriver.Chrome, base: str) -> None:
    """The Live tab at its peak at three widths, the Why panel and the open-data form."""
    _page(driver, base + PEAK, 1400, 1000, DOCS / "screenshot.png")
    _page(driver, base + PEAK, 1280, 1050, DOCS / "live-1280.png")
    _page(driver, base + PEAK, 1920, 1200, DOCS / "live-1920.png")
    driver.set_window_size(1400, 1100)
    driver.get(base + PEAK)
    _ready(driver)
    card = driver.find_element(By.ID, "live-why").find_element(By.XPATH, "./../../..")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    time.sleep(0.5)
    card.screenshot(str(DOCS / "why.png"))
    print(f"wrote {DOCS / 'why.png'}")
    driver.execute_script("window.scrollTo(0, 0); document.getElementById('shell-open').click()")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "shell-open-target"))
    target = driver.find_element(By.ID, "shell-open-target")
    target.send_keys("exports/metrics.csv")
    kind = driver.find_element(By.ID, "shell-open-kind")
    for option in kind.find_elements(By.TAG_NAME, "option"):
        if option.get_attribute("value") == "csv":
            option.click()
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#shell-open-options input"))
    time.sleep(1.0)
    driver.find_element(By.CSS_SELECTOR, ".modal-content").screenshot(str(DOCS / "open-data.png"))
    print(f"wrote {DOCS / 'open-data.png'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument(
        "--only", nargs="+", choices=("live", "builder"), default=("live", "builder"), help="which tabs to photograph"
    )
    args = parser.parse_args(argv)
    port = _free_port()
    scratch = Path(tempfile.mkdtemp(prefix="fleet-screenshots-"))
    user_dir = scratch / "user_scenarios"
    server = _serve(port, {"FLEET_USER_SCENARIO_DIR": str(user_dir), "FLEET_DATASET_DIR": str(scratch / "datasets")})
    driver = _browser(args.chromium)
    base = f"http://127.0.0.1:{port}/"
    try:
        if "live" in args.only:
            _live(driver, base)
        if "builder" in args.only:
            _builder(driver, base, user_dir)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
