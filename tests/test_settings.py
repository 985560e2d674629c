"""Settings: defaults, environment overrides, and trusting a path named on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.settings import ENVIRONMENT_VARIABLES, Settings, SettingsError


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


# -- every variable is validated, and the message names it ---------------------------

BAD_VALUES = {
    "FLEET_REFRESH_SEC": ["abc", "nan", "inf", "-1", "0", "1e9"],
    "FLEET_DEBUG": ["maybe", "2"],
    "FLEET_CACHE_URL": ["http://x", "/var/cache", "redis://", "diskcache://", "redis://h:99999/0"],
    "FLEET_JOBS_URL": ["memory://", "amqp://x"],
    "FLEET_WEB_MAX_ROWS": ["0", "-5", "many", "1.5"],
    "FLEET_WEB_MAX_SERVER_TICKS": ["nan"],
    "FLEET_WEB_MAX_MEMORY_MB": ["inf", "-1", "x"],
    "FLEET_WEB_INLINE_SERVER_TICKS": ["0"],
    "FLEET_WEB_MAX_OPEN_SOURCES": ["none"],
    "FLEET_BACKGROUND_SCORER": ["perhaps"],
    "FLEET_AUTH_USERS": ["alice", "alice:plaintext", ":scrypt:x"],
    "FLEET_MODEL": ["x\x01y"],
}


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, values in BAD_VALUES.items() for v in values]
)
def test_g4_a_bad_value_is_refused_naming_its_variable(name, value):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name}: ")
    assert caught.value.problems[0][0] == name


def test_all_bad_variables_are_reported_together():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FLEET_REFRESH_SEC": "abc", "FLEET_DEBUG": "maybe"})
    assert [name for name, _ in caught.value.problems] == ["FLEET_REFRESH_SEC", "FLEET_DEBUG"]


@hsettings(max_examples=60, deadline=None)
@given(name=st.sampled_from(ENVIRONMENT_VARIABLES), value=st.text(max_size=40))
def test_only_settings_errors_escape(name, value):
    try:
        Settings.from_env({name: value})
    except SettingsError as exc:
        assert name in str(exc)


def test_cache_dir_is_an_alias_of_a_diskcache_url(tmp_path):
    settings = Settings.from_env({"FLEET_CACHE_DIR": str(tmp_path / "c")})
    assert settings.cache_url == f"diskcache://{tmp_path / 'c'}"
    assert settings.cache_dir == tmp_path / "c"
    with pytest.raises(SettingsError, match="FLEET_CACHE_DIR: is an alias"):
        Settings.from_env({"FLEET_CACHE_DIR": "/x", "FLEET_CACHE_URL": "memory://"})


def test_web_budget_from_the_environment():
    settings = Settings.from_env({"FLEET_WEB_MAX_ROWS": "1_000", "FLEET_WEB_MAX_MEMORY_MB": "64"})
    assert settings.web_budget.max_rows == 1000
    assert settings.web_budget.max_memory_bytes == 64 * 1024 * 1024
    assert Settings().web_budget.max_server_ticks == 5_000_000


def test_b4c_the_team_server_requires_explicit_data_roots(tmp_path):
    with pytest.raises(SettingsError, match="^FLEET_DATA_ROOTS: the team server serves only folders named"):
        Settings.for_team_server({})
    with pytest.raises(SettingsError, match="is not a folder"):
        Settings.for_team_server({"FLEET_DATA_ROOTS": str(tmp_path / "missing")})
    team = Settings.for_team_server({"FLEET_DATA_ROOTS": str(tmp_path)})
    assert team.team_server and team.background_scorer
    assert team.cache_url == f"diskcache://{tmp_path / '.fleet-state' / 'cache'}"
    assert team.jobs_url == f"diskcache://{tmp_path / '.fleet-state' / 'jobs'}"
    single = Settings.from_env({})
    assert single.cache_url == "memory://" and not single.team_server and single.jobs_url is None
