"""In Jupyter: ``LiveDashboard(source).show()`` draws the dashboard inline and leaves the kernel free."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from dashboard.app.serving import free_port

pytestmark = pytest.mark.slow


def _notebook(cells: list[str]) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_show_renders_inline_without_blocking_the_kernel(tmp_path):
    port = free_port()
    notebook = _notebook(
        [
            "from dashboard import evaluate, open_source\n"
            "from dashboard.app import LiveDashboard\n"
            "source = open_source('scenario:default?fleet_size=8&duration=2')\n"
            "card = evaluate(source, 'heuristic')\n"
            "print('detection', card.detection_rate)",
            f"board = LiveDashboard(source, refresh_sec=2)\nboard.show(port={port})",
            # The kernel is free: the next cell runs while the dashboard serves.
            "import urllib.request\n"
            "print('layout', urllib.request.urlopen(board.url + '_dash-layout', timeout=30).status)\n"
            "page = urllib.request.urlopen(board.url, timeout=30)\n"
            "print('framing', page.headers.get('X-Frame-Options'), page.headers.get('Content-Security-Policy'))",
        ]
    )
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    first, shown, probe = (cell.outputs for cell in notebook.cells)
    assert "detection" in "".join(o.get("text", "") for o in first)
    displays = [o for o in shown if o.output_type == "display_data"]
    assert displays, shown
    html = "".join(str(o.data.get("text/html", "")) for o in displays)
    assert "<iframe" in html and f":{port}/" in html
    probed = "".join(o.get("text", "") for o in probe)
    assert "layout 200" in probed
    assert "framing None" in probed and "frame-ancestors *" in probed  # the output cell may frame it


def test_show_outside_a_notebook_says_to_call_run():
    from dashboard.app import LiveDashboard
    from dashboard.errors import DashboardError

    with pytest.raises(DashboardError, match="run"):
        LiveDashboard("scenario:default").show()
