"""Entry points: ``python -m dashboard``, ``run.py``'s demo set-up, run_dashboard, LiveDashboard."""

from __future__ import annotations

from dataclasses import replace

import pytest

import dashboard.app.factory as factory
import dashboard.app.serving as app_module
from dashboard import cli
from dashboard.__main__ import main
from dashboard.app import LiveDashboard, create_app
from dashboard.app.about.callbacks import about_answer
from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids
from dashboard.settings import Settings

from .conftest import post_tick, response_value


def test_module_main_refuses_a_missing_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["missing.parquet"]) == 2
    assert "error:" in capsys.readouterr().err


def test_module_main_refuses_an_unknown_model(capsys, demo_dir, monkeypatch):
    monkeypatch.chdir(demo_dir)
    assert main(["demo_dataset.parquet", "--model", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_module_main_serves_an_existing_dataset(demo_dir, monkeypatch):
    served = {}
    monkeypatch.chdir(demo_dir)
    monkeypatch.setattr(
        app_module,
        "serve",
        lambda app, host, port, debug, open_browser: served.update(app=app, port=port, debug=debug),
    )
    assert main(["demo_dataset.parquet", "--port", "8123", "--refresh", "2"]) == 0
    assert served["port"] == 8123 and served["debug"] is False
    assert served["app"].services.settings.refresh_sec == 2.0
    assert served["app"].services.default_source() == "demo_dataset.parquet"


@pytest.mark.parametrize(
    "argv", [["--refresh", "0"], ["--port", "70000"], ["--fleet-size", "-3"], ["--duration", "abc"]]
)
def test_run_py_validates_its_flags(argv):
    with pytest.raises(SystemExit) as exc:
        cli.demo_main(argv)
    assert exc.value.code == 2


def test_demo_data_is_generated_once_per_option_set(tmp_path, monkeypatch):
    calls = []

    def fake_generate(folder, **kwargs):
        calls.append((folder, kwargs))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "demo_dataset.parquet").write_bytes(b"x")

    monkeypatch.setattr("dashboard.generate.generate_demo_dataset", fake_generate)
    settings = Settings(demo_dir=tmp_path)
    assert cli.ensure_demo_data(settings, None, None, None) == tmp_path / "demo_dataset.parquet"
    cli.ensure_demo_data(settings, None, None, None)
    custom = cli.ensure_demo_data(settings, 10, 50, 7)
    assert custom.parent.name == "demo-d10-n50-s7"
    assert len(calls) == 2


def test_run_dashboard_builds_the_app_it_serves(demo_dir, monkeypatch):
    served = {}
    monkeypatch.setattr(
        app_module,
        "serve",
        lambda app, host, port, debug, open_browser: served.update(app=app, host=host),
    )
    app_module.run_dashboard(
        data_path=demo_dir / "demo_dataset.parquet", refresh_sec=3, settings=Settings(data_roots=())
    )
    settings = served["app"].services.settings
    assert settings.refresh_sec == 3 and demo_dir.resolve() in settings.data_roots
    assert served["host"] == "127.0.0.1"


def test_live_dashboard_serves_an_opened_source(demo_dir, settings):
    from dashboard.sources import open_source

    source = open_source(str(demo_dir / "demo_dataset.parquet"), data_roots=(demo_dir,))
    app = LiveDashboard(source, refresh_sec=2, settings=settings).create_app()
    assert app.services.source(source.spec) is source
    status, data = post_tick(app.server.test_client(), {(shell_ids.URL, "search"): ""})
    assert status == 200 and response_value(data, ids.VIEW, "data")["source"] == source.spec


def test_refresh_has_a_floor(settings):
    app = create_app(replace(settings, refresh_sec=0.001))
    assert app.services.settings.refresh_sec >= factory.MIN_REFRESH_SEC


def test_model_and_speed_changes(client):
    _, data = post_tick(client, {(shell_ids.URL, "search"): "?tick=31"})
    store = response_value(data, ids.VIEW, "data")
    _, data = post_tick(
        client, {(shell_ids.MODEL, "value"): "phase-aware"}, store, [f"{shell_ids.MODEL}.value"]
    )
    store = response_value(data, ids.VIEW, "data")
    assert store["model"] == "phase-aware" and "model=phase-aware" in store["query"]
    assert "__dash_patch_update" not in response_value(data, ids.TREND, "figure")
    _, data = post_tick(client, {(ids.SPEED, "value"): 10}, store, [f"{ids.SPEED}.value"])
    store = response_value(data, ids.VIEW, "data")
    assert store["speed"] == 10
    _, data = post_tick(
        client, {(ids.INTERVAL, "n_intervals"): 1}, store, [f"{ids.INTERVAL}.n_intervals"]
    )
    assert response_value(data, ids.VIEW, "data")["tick"] == 40
    assert "__dash_patch_update" in response_value(
        data, ids.TREND, "figure"
    )  # 10 ticks: still a patch


def test_about_panel_explains_the_scenario(app, settings):
    parts = about_answer(app.services, settings.default_source, "phase-aware")
    text = str(parts)
    assert "web-000" in text and "peak" in text and "ground truth" in text


def test_about_panel_with_a_bad_source_is_a_message(app):
    text = str(about_answer(app.services, "../../etc/passwd", "heuristic"))
    assert "cannot describe" in text


def test_module_main_maps_columns_of_a_foreign_file(tmp_path, monkeypatch):
    served = {}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics.csv").write_text(
        "time,host,cpu\n2025-01-01T00:00:00Z,a,10\n2025-01-01T00:00:05Z,a,12\n"
    )
    monkeypatch.setattr(
        app_module,
        "serve",
        lambda app, host, port, debug, open_browser: served.update(app=app),
    )
    argv = ["metrics.csv", "--columns", "time=timestamp,host=server_name,cpu=cpu_pct"]
    assert main(argv) == 0
    spec = served["app"].services.default_source()
    assert spec.startswith("csv:") and "columns=" in spec
    source = served["app"].services.source(spec)
    assert source.n_ticks() == 2


def test_module_main_names_an_unmappable_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics.csv").write_text("time,host,cpu\n2025-01-01T00:00:00Z,a,10\n")
    assert main(["metrics.csv"]) == 2
    err = capsys.readouterr().err
    assert "metrics.csv" in err and "timestamp" in err


def test_run_py_refuses_columns_without_data(capsys):
    assert cli.demo_main(["--columns", "host=server_name"]) == 2
    assert "--data" in capsys.readouterr().err


def _capture_serve(monkeypatch) -> dict:
    served: dict = {}
    monkeypatch.setattr(
        app_module,
        "serve",
        lambda app, host, port, debug, open_browser: served.update(
            app=app, debug=debug, open_browser=open_browser
        ),
    )
    return served


def test_one_refresh_default_for_every_entry_point(demo_dir, monkeypatch):
    served = _capture_serve(monkeypatch)
    monkeypatch.delenv("FLEET_REFRESH_SEC", raising=False)
    data = demo_dir / "demo_dataset.parquet"
    app_module.run_dashboard(data_path=data)
    assert served["app"].services.settings.refresh_sec == Settings().refresh_sec
    LiveDashboard(str(data)).run()
    assert served["app"].services.settings.refresh_sec == Settings().refresh_sec
    monkeypatch.setenv("FLEET_REFRESH_SEC", "2.5")
    app_module.run_dashboard(data_path=data)
    assert served["app"].services.settings.refresh_sec == 2.5
    LiveDashboard(str(data)).run()
    assert served["app"].services.settings.refresh_sec == 2.5
    app_module.run_dashboard(data_path=data, refresh_sec=3)  # the seed's call
    assert served["app"].services.settings.refresh_sec == 3
    assert LiveDashboard(str(data), refresh_sec=3).create_app().services.settings.refresh_sec == 3


def test_fleet_debug_switches_on_dash_debug_mode(demo_dir, monkeypatch):
    served = _capture_serve(monkeypatch)
    monkeypatch.setenv("FLEET_DEBUG", "1")
    monkeypatch.chdir(demo_dir)
    app_module.run_dashboard(data_path="demo_dataset.parquet")
    assert served["debug"] is True and served["app"].services.settings.debug is True
    assert main(["demo_dataset.parquet"]) == 0
    assert served["debug"] is True
    assert main(["demo_dataset.parquet", "--debug"]) == 0 and served["debug"] is True
    monkeypatch.setenv("FLEET_DEBUG", "0")
    assert main(["demo_dataset.parquet"]) == 0
    assert served["debug"] is False


def test_a_debug_app_served_by_gunicorn_has_dash_dev_tools(settings):
    assert create_app(replace(settings, debug=True))._dev_tools.ui is True
    assert create_app(settings)._dev_tools.ui is not True


def test_the_cli_serves_the_source_it_opened_and_checked(tmp_path, monkeypatch):
    import dashboard.sources.files as files

    served = _capture_serve(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics.csv").write_text(
        "timestamp,server_name,cpu_pct\n2025-01-01T00:00:00Z,a,10\n2025-01-01T00:00:05Z,a,12\n"
    )
    parses = []
    real = files.read_csv_frame
    monkeypatch.setattr(files, "read_csv_frame", lambda *a, **k: parses.append(a) or real(*a, **k))
    assert main(["metrics.csv", "--no-browser"]) == 0
    app = served["app"]
    status, data = post_tick(app.server.test_client(), {(shell_ids.URL, "search"): ""})
    assert status == 200 and response_value(data, ids.VIEW, "data")["source"] == "metrics.csv"
    assert len(parses) == 1
    assert served["open_browser"] is False


@pytest.mark.parametrize("argv", [["x.csv", "--no-browser"], ["--data", "x.csv", "--no-browser"]])
def test_both_serving_commands_take_the_same_browser_flag(argv, tmp_path, monkeypatch):
    served = _capture_serve(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("timestamp,server_name,cpu_pct\n2025-01-01T00:00:00Z,a,1\n")
    run = main if argv[0] != "--data" else cli.demo_main
    assert run(argv) == 0 and served["open_browser"] is False


def test_two_demos_starting_together_share_one_generation(tmp_path, capsys):
    """A second run.py that finds the demo being generated waits for it and serves it."""
    import threading

    from dashboard.datasets import DatasetWriter
    from dashboard.generate import FILE_NAMES

    settings = Settings(demo_dir=tmp_path / "demo")
    release = threading.Event()
    holding = threading.Event()

    def first():  # stands for the first run.py, half-way through writing the demo
        with DatasetWriter(settings.demo_dir, list(FILE_NAMES.values())):
            holding.set()
            release.wait(60)
        cli.ensure_demo_data(settings, None, None, None)

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(60)
    result = []
    second = threading.Thread(target=lambda: result.append(cli.ensure_demo_data(settings, None, None, None)))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting, not failing
    release.set()
    second.join(120)
    thread.join(120)
    assert result == [settings.demo_dir / "demo_dataset.parquet"]
    assert "another dataset is being written into this folder" in capsys.readouterr().out
