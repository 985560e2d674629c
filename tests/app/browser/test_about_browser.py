"""The About drawer in headless Chromium: every model evaluated side by side on the current data."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.app.about import ids
from dashboard.app.shell import ids as shell_ids

from .conftest import click_when_settled, free_port

pytestmark = pytest.mark.browser


def test_about001_compares_every_model_on_the_current_data(dash_duo, settings):
    dash_duo.start_server(create_app(settings), port=free_port())
    dash_duo.wait_for_element(f"#{shell_ids.ABOUT_OPEN}", timeout=20).click()
    dash_duo.wait_for_text_to_equal(
        f"#{ids.EVALUATE}", "Compare the 4 models on this data (adaptive in detail)", timeout=20
    )
    click_when_settled(dash_duo, f"#{ids.EVALUATE}")
    dash_duo.wait_for_element(f"#{ids.SCORECARD} .about-compare", timeout=60)
    headers = [e.text for e in dash_duo.find_elements(f"#{ids.SCORECARD} .about-compare th")]
    assert headers[1:] == ["adaptive (picked)", "heuristic", "learned", "phase-aware"]
    labels = [e.text for e in dash_duo.find_elements(f"#{ids.SCORECARD} .about-compare td:first-child")]
    assert "incidents detected" in labels and "NAB standard, alerts" in labels
    assert "reads the ground truth" in dash_duo.find_element(f"#{ids.SCORECARD}").text
    assert dash_duo.get_logs() == []
