"""The app as a whole: every callback's ids exist, safe defaults, no files written at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dash.development.base_component import Component

from dashboard.app.about import ids as about_ids
from dashboard.app.builder import ids as builder_ids
from dashboard.app.live import ids as live_ids
from dashboard.app.shell import ids as shell_ids


def _layout_ids(layout: Component) -> set[str]:
    found = set()
    for node in layout._traverse():
        if getattr(node, "id", None) is not None:
            found.add(node.id)
    if getattr(layout, "id", None) is not None:
        found.add(layout.id)
    return found


# Pattern-matching ids belong to components callbacks render (form fields, recent entries).
RENDERED_TYPES = {
    shell_ids.PARAM_FIELD,
    shell_ids.RECENT_ITEM,
    builder_ids.FIELD,
    builder_ids.TOGGLE,
    builder_ids.ACTION,
    builder_ids.FEEDBACK,
}


def test_every_callback_id_is_in_the_layout(app):
    known = _layout_ids(app.validation_layout)
    seen, patterns = set(), set()
    for key, callback in app.callback_map.items():
        deps = [dep["id"] for dep in [*callback["inputs"], *callback["state"]]]
        deps += [out.rsplit(".", 1)[0] for out in key.strip(".").split("...")]
        for dep in deps:
            (patterns if dep.startswith("{") else seen).add(dep)
    assert seen and seen <= known, seen - known
    assert {json.loads(p)["type"] for p in patterns} <= RENDERED_TYPES


@pytest.mark.parametrize(
    ("module", "prefix"),
    [(shell_ids, "shell-"), (about_ids, "about-"), (live_ids, "live-"), (builder_ids, "builder-")],
)
def test_ids_are_unique_and_prefixed_by_their_namespace(module, prefix):
    values = [v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)]
    if module is live_ids:
        values += [live_ids.kpi(t, p) for t in live_ids.KPI_TILES for p in ("tile", "value", "extra")]
    assert values and len(values) == len(set(values))
    assert all(v.startswith(prefix) for v in values)


def test_safe_defaults(app):
    assert app.config.suppress_callback_exceptions is False
    assert app.server.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert app.server.debug is False
    assert Path(app.config.assets_folder).name == "assets"


def test_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200 and b"Fleet incident risk" in response.data
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and b"live-interval" in layout.data


def test_oversized_request_is_refused(client):
    response = client.post(
        "/_dash-update-component",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413


def test_wsgi_import_writes_only_its_state_folder(tmp_path):
    code = "import dashboard.wsgi as w; print(type(w.server).__name__)"
    data = tmp_path / "data"
    data.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FLEET_DATA_ROOTS": str(data)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Flask"
    assert list(tmp_path.iterdir()) == [data]
    assert [p.name for p in data.iterdir()] == [".fleet-state"]  # the shared cache, beside the data


def test_default_source_without_demo_data_is_the_in_memory_scenario(tmp_path):
    from dashboard.app.services import Services
    from dashboard.settings import Settings

    assert Services(Settings(demo_dir=tmp_path / "none")).default_source() == "scenario:default"
