"""``pip install .`` (not editable): the wheel carries the bundled scenarios and assets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


PROJECT_FILES = ("dashboard", "scenarios", "assets", "setup.py", "setup.cfg", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the project (building writes build/ beside the sources)."""
    copy = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(copy)],
        check=True,
        capture_output=True,
        timeout=600,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    return next(out.glob("*.whl"))


@pytest.mark.slow
def test_the_wheel_carries_scenarios_and_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted(ROOT.glob("scenarios/*.json")) + sorted(ROOT.glob("assets/*.css")):
        assert f"dashboard/{path.parent.name}/{path.name}" in names
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "dashboard").rglob("__init__.py")}
    assert all(f"{package}/__init__.py" in names for package in packages)
    # the learned model's pre-trained artifact
    assert {"dashboard/models/artifacts/learned/model.txt", "dashboard/models/artifacts/learned/metadata.json"} <= names


@pytest.mark.slow
def test_an_installed_wheel_finds_its_scenarios_and_assets(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    code = (
        "import json, dashboard\n"
        "from dashboard.settings import Settings\n"
        "from dashboard.scenario import list_scenarios\n"
        "from dashboard.app import create_app\n"
        "app = create_app(Settings(demo_dir='none'))\n"
        "page = app.server.test_client().get('/assets/10_layout.css')\n"
        "print(json.dumps({'package': dashboard.__file__, 'scenarios': [s.name for s in list_scenarios()],"
        " 'assets': app.config.assets_folder, 'css': page.status_code}))\n"
    )
    run = tmp_path / "elsewhere"
    run.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=run,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["package"].startswith(str(target))
    assert "default" in found["scenarios"] and len(found["scenarios"]) >= 6
    assert found["assets"].startswith(str(target)) and found["css"] == 200
