"""Browser-test setup: Debian's chromium and chromedriver, quiet about the network.

``pytest -m browser`` runs only them (always headless, ``--headless`` or not: CI has
no display); ``-m "not browser"`` leaves them out. ``DASH_TEST_CHROMEPATH`` picks the browser binary (default /usr/bin/chromium);
selenium finds ``chromedriver`` on PATH.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from selenium.webdriver.chrome.options import Options

CHROMIUM = os.environ.get("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")


def pytest_setup_options():
    options = Options()
    for flag in (
        "--headless",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--window-size=1440,1000",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture(autouse=True)
def _chromium_env(monkeypatch):
    monkeypatch.setenv("DASH_TEST_CHROMEPATH", CHROMIUM)
    if "/usr/bin" not in os.environ.get("PATH", "").split(os.pathsep):
        monkeypatch.setenv("PATH", os.environ.get("PATH", "") + os.pathsep + "/usr/bin")
    # Fail, never skip: a missing browser must not pass for a green run.
    if not (os.path.exists(CHROMIUM) and shutil.which("chromedriver")):
        pytest.fail(
            f"browser tests need chromium ({CHROMIUM}) and chromedriver on PATH: "
            "apt-get install chromium chromium-driver (scripts/test.sh installs them)"
        )


def free_port() -> int:
    """A loopback port nobody listens on now: parallel test runs never share dash's 58050."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def click_when_settled(dash_duo, selector: str, timeout: float = 20) -> None:
    """Click ``selector`` once it is inside the window and has stopped moving (a drawer slides
    in over a few hundred milliseconds; a click mid-slide lands on whatever is under it)."""
    from selenium.webdriver.support.ui import WebDriverWait

    script = """
        const el = document.querySelector(arguments[0]);
        if (!el) return null;
        el.scrollIntoView({block: 'center'});
        const r = el.getBoundingClientRect();
        const inside = r.width > 0 && r.left >= 0 && r.right <= window.innerWidth
            && r.top >= 0 && r.bottom <= window.innerHeight;
        return inside ? [r.left, r.top, r.width, r.height].join(',') : null;
    """
    last = [None]

    def settled(_driver):
        now = dash_duo.driver.execute_script(script, selector)
        still = now is not None and now == last[0]
        last[0] = now
        return still

    WebDriverWait(dash_duo.driver, timeout, poll_frequency=0.15).until(settled, f"{selector} never settled in view")
    dash_duo.find_element(selector).click()
