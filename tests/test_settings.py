"""Settings: defaults, environment overrides, and trusting a path named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.settings import Settings


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEET_DATA_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("FLEET_REFRESH_SEC", "2.5")
    monkeypatch.setenv("FLEET_MODEL", "phase-aware")
    monkeypatch.setenv("FLEET_DEBUG", "yes")
    settings = Settings.from_env()
    assert settings.data_roots == (tmp_path / "a", tmp_path / "b")
    assert settings.refresh_sec == 2.5
    assert settings.default_model == "phase-aware"
    assert settings.debug is True


def test_explicit_overrides_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("FLEET_MODEL", "phase-aware")
    assert Settings.from_env(default_model="heuristic").default_model == "heuristic"


def test_a_named_file_adds_its_folder_to_the_roots(tmp_path):
    data = tmp_path / "exports" / "x.csv"
    data.parent.mkdir()
    data.write_text("timestamp,server_name,cpu_pct\n")
    settings = Settings(data_roots=(Path("/nonexistent-root"),)).with_data(str(data))
    assert settings.default_source == str(data)
    assert settings.data_roots == (Path("/nonexistent-root"), data.parent.resolve())


def test_a_spec_does_not_widen_the_roots():
    base = Settings(data_roots=(Path("/r"),))
    settings = base.with_data("scenario:default?seed=7")
    assert settings.default_source == "scenario:default?seed=7"
    assert settings.data_roots == (Path("/r"),)


# -- one Settings through the domain -------------------------------------------------
def _own_scenario_dir(tmp_path: Path) -> Path:
    """A scenario folder holding one scenario the bundled folder does not have."""
    folder = tmp_path / "my-scenarios"
    folder.mkdir()
    text = (Path(__file__).resolve().parents[1] / "scenarios" / "default.json").read_text()
    (folder / "mine.json").write_text(text.replace('"name": "default"', '"name": "mine"'))
    return folder


def test_the_app_opens_the_scenarios_its_picker_lists(tmp_path):
    from dashboard.app import create_app
    from dashboard.app.live import ids
    from dashboard.app.live.callbacks import tick_request
    from dashboard.app.shell import ids as shell_ids

    settings = Settings(scenario_dir=_own_scenario_dir(tmp_path), demo_dir=tmp_path / "none")
    app = create_app(settings)
    assert "scenario:mine" in {o["value"] for o in app.services.source_options()}
    body = tick_request({(shell_ids.URL, "search"): "?source=scenario:mine"})
    response = app.server.test_client().post("/_dash-update-component", json=body).get_json()
    assert response["response"][ids.VIEW]["data"]["source"] == "scenario:mine"
    assert shell_ids.MESSAGE not in response["response"]


def test_open_source_takes_its_scenario_folder_from_the_settings(tmp_path, monkeypatch):
    from dashboard.errors import ScenarioError
    from dashboard.sources import open_source

    folder = _own_scenario_dir(tmp_path)
    monkeypatch.setenv("FLEET_SCENARIO_DIR", str(folder))  # ignored below the entry points
    assert open_source("scenario:mine", settings=Settings(scenario_dir=folder)).n_ticks() == 60
    with pytest.raises(ScenarioError, match="mine"):
        open_source("scenario:mine")


def test_the_generator_cli_honours_the_scenario_folder_of_the_environment(
    tmp_path, monkeypatch, capsys
):
    from dashboard.cli import generate_main

    monkeypatch.setenv("FLEET_SCENARIO_DIR", str(_own_scenario_dir(tmp_path)))
    assert generate_main(["--list"]) == 0
    assert capsys.readouterr().out.split()[0] == "mine"
    out = tmp_path / "out"
    assert generate_main(["--scenario", "mine", "--output-dir", str(out), "--quiet"]) == 0
    assert (out / "demo_dataset.parquet").is_file()


def test_the_generator_module_reads_the_environment_when_run(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FLEET_SCENARIO_DIR": str(_own_scenario_dir(tmp_path))}
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.generate", "--list"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    assert result.stdout.split()[0] == "mine"


def test_the_evaluation_cli_opens_scenarios_from_the_environment_folder(
    tmp_path, monkeypatch, capsys
):
    from dashboard.cli import evaluate_main

    monkeypatch.setenv("FLEET_SCENARIO_DIR", str(_own_scenario_dir(tmp_path)))
    assert evaluate_main(["--data", "scenario:mine", "--model", "heuristic"]) == 0
    assert "detection" in capsys.readouterr().out
