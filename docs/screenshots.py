"""Take the screenshots in docs/ with headless Chromium: the Live tab at 1280 and 1920 px, the
Why panel, the open-data form, and the README's picture.

    python docs/screenshots.py            # needs chromium and chromedriver (scripts/test.sh installs them)

It serves the default scenario in memory on a free port, pauses in its peak and writes the
PNG files beside this script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

DOCS = Path(__file__).resolve().parent
PEAK = "?tick=41&paused=1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "scenario:default", "--port", str(port), "--no-browser"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    port = _free_port()
    server = _serve(port)
    driver = _browser(args.chromium)
    base = f"http://127.0.0.1:{port}/"
    try:
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
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
