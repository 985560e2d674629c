"""The team server's page in headless Chromium: the CSP lets it run cleanly, names show as text."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.app.live import ids

from .conftest import free_port

pytestmark = pytest.mark.browser
HOSTILE = '<a href="javascript:x">web-001</a>'


@pytest.fixture()
def hostile_app(settings, demo_dir, tmp_path):
    frame = pd.read_csv(demo_dir / "demo_dataset.csv")
    frame["server_name"] = frame["server_name"].replace({"web-000": HOSTILE, "web-001": "<b>bold</b>"})
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    return create_app(replace(settings, data_roots=(tmp_path,), default_source=str(path), refresh_sec=0.5))


def test_team001_markup_in_server_names_shows_as_text_under_the_csp(dash_duo, hostile_app):
    dash_duo.start_server(hostile_app, port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/?tick=40&speed=1")
    dash_duo.wait_for_element(f"#{ids.TOP5} .ytick", timeout=30)

    def labels() -> list[str]:  # read in one script: the graphs redraw every refresh
        selector = f"#{ids.TOP5} .ytick text, #{ids.STRIP} .ytick text"
        return dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)", selector
        )

    def count(selector: str) -> int:
        return dash_duo.driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)

    WebDriverWait(dash_duo.driver, 20).until(lambda _d: HOSTILE in labels(), f"labels: {labels()}")
    for graph in (ids.TOP5, ids.STRIP, ids.TREND, ids.METRICS):
        assert count(f"#{graph} svg a") == 0
        assert count(f"#{graph} svg b") == 0
    assert dash_duo.get_logs() == []  # no CSP violation, no script error
