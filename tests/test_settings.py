"""Settings: defaults, environment overrides, and trusting a path named on the command line."""

from __future__ import annotations

from pathlib import Path

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
