"""What a browser may open: budgets before any work (E2), data files only (B4b, D6c), escaped names (F1b)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from dashboard.app import create_app
from dashboard.app.figures import metrics_figure, strip_figure, top5_figure, trend_figure
from dashboard.app.live import ids
from dashboard.app.live.state import parse_click
from dashboard.app.shell import ids as shell_ids
from dashboard.settings import WEB_BUDGET, Settings

from .conftest import post_tick, response_value

E2_LINK = "?source=scenario%3Adefault%3Ffleet_size%3D100000%26duration%3D60"


def _message(client, query: str) -> str:
    status, data = post_tick(client, {(shell_ids.URL, "search"): query})
    assert status == 200
    return response_value(data, shell_ids.MESSAGE, "children") or ""


@pytest.fixture()
def data_root(tmp_path, settings):
    root = tmp_path / "root"
    root.mkdir()
    (root / ".env").write_text("DB_PASSWORD=hunter2\n")
    (root / "creds.json").write_text('{"password": "hunter2"}')
    src = settings.demo_dir / "demo_dataset.csv"
    (root / "demo.csv").write_bytes(src.read_bytes())
    return root


@pytest.fixture()
def web_client(settings, data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(data_root)  # as a server started in its data folder
    app = create_app(
        Settings(**{**settings.__dict__, "data_roots": (data_root, settings.demo_dir), "jobs_url": f"diskcache://{tmp_path / 'jobs'}"})
    )
    return app.server.test_client()


def test_e2_a_huge_scenario_link_is_refused_before_any_work(web_client, monkeypatch):
    import dashboard.generate as generate

    def never(*args, **kwargs):
        raise AssertionError("the scenario was generated")

    monkeypatch.setattr(generate, "generate_table", never)
    started = time.process_time()
    message = _message(web_client, E2_LINK)
    assert "too large to open from the browser" in message
    assert "about 72,000,000 rows" in message and "FLEET_WEB_MAX_ROWS" in message
    assert time.process_time() - started < 5  # a message, not 30 s of CPU (a bound, not a benchmark)


def test_e2_a_heavy_scenario_within_budget_is_generated_by_a_job(web_client, tmp_path):
    from tests.processes import wait_until

    query = "?source=scenario%3Adefault%3Ffleet_size%3D10000"  # 600,000 server-ticks: over the inline limit
    assert WEB_BUDGET.inline_server_ticks < 600_000
    first = _message(web_client, query)
    assert "being generated in the background" in first
    wait_until(lambda: "scenario · default" not in _message(web_client, query) or None, 180, "the job to finish")
    status, data = post_tick(web_client, {(shell_ids.URL, "search"): query})
    view = response_value(data, ids.VIEW, "data")
    assert view["source"] == "scenario:default?fleet_size=10000"
    assert not response_value(data, shell_ids.MESSAGE, "children")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?source=.env", "only data files"),
        ("?source=csv%3A.env", "only data files"),
        ("?source=creds.json", "only data files"),
        ("?source=csv%3Ademo.csv%3Fcolumns%3Dcreds.json", "given inline"),
        ("?source=scenario%3A.%2Fcreds.json", "scenarios are opened by name"),
        ("?source=scenario%3A..%2F..%2Fetc%2Fx", "scenarios are opened by name"),
    ],
)
def test_b4b_files_that_are_not_data_are_never_read_from_the_web(web_client, query, expected):
    message = _message(web_client, query)
    assert expected in message
    assert "hunter2" not in message and "DB_PASSWORD" not in message and "password" not in message


def test_d6c_a_giant_header_line_is_refused_without_quoting_it(web_client, data_root):
    (data_root / "wide.csv").write_bytes(b"a" * (3 * 1024 * 1024) + b"\n1\n")
    status, data = post_tick(web_client, {(shell_ids.URL, "search"): "?source=wide.csv"})
    assert status == 200
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "not a metrics CSV" in message and "aaaa" not in message
    assert len(json.dumps(data)) < 200_000


def test_open_sources_per_worker_are_bounded(settings):
    app = create_app(Settings(**{**settings.__dict__, "web_budget": WEB_BUDGET.__class__(max_open_sources=2)}))
    services = app.services
    for seed in (1, 2, 3):
        services.source(f"scenario:default?seed={seed}")
    assert len(services._sources._items) == 2


# -- F1b: markup in data-derived names is shown as text -------------------------------------
HOSTILE = '<a href="javascript:x">web-001</a>'


def _texts(figure: dict) -> str:
    """Everything plotly draws: the figure without ``customdata`` (handed to clicks, never drawn)."""
    drawn = {**figure, "data": [{k: v for k, v in t.items() if k != "customdata"} for t in figure["data"]]}
    return json.dumps(drawn, default=lambda a: a.tolist() if hasattr(a, "tolist") else str(a))


def test_f1b_figures_escape_names_and_clicks_read_them_back():
    times = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:05"])
    probability = np.array([0.9])
    figures = [
        top5_figure([HOSTILE], ["<b>web</b>"], probability, np.array([2]), 0.7, "k"),
        strip_figure(times, np.ones((2, 1)), [HOSTILE], "k"),
        trend_figure(
            times, np.zeros(2), np.zeros(2), {HOSTILE: np.zeros(2)}, phase_bands=[], threshold=0.7,
            clear_threshold=0.5, uirevision="k", peak_servers=np.array([HOSTILE] * 2, dtype=object),
        ),
    ]
    for figure in figures:
        text = _texts(figure)
        assert "<a href" not in text and "<b>web" not in text
        assert "&lt;a href=" in text
    # a click on an escaped strip row selects the server by its real name
    click = {"points": [{"y": figures[1]["data"][0]["y"][0], "x": "2024-01-01 00:00:05"}]}
    assert parse_click(click).server == HOSTILE
    top5 = figures[0]["data"][0]
    assert list(top5["customdata"]) == [HOSTILE]  # what a click on a bar returns


def test_f1b_metrics_panel_legend_escapes_names():
    times = np.array(["2024-01-01T00:00:00"])
    bands = {m: (np.zeros(1), np.ones(1)) for m in ("cpu_pct", "latency_ms", "error_rate")}
    series = {HOSTILE: {m: np.zeros(1) for m in ("cpu_pct", "latency_ms", "error_rate")}}
    text = _texts(metrics_figure(times, bands, series, "k"))
    assert "<a href" not in text and "&lt;a href=" in text


@pytest.mark.parametrize(
    "query",
    ["?source=csv%3A%2Fproc%2Fself%2Fenviron", "?source=%2Fetc%2Fhostname", "?source=missing.csv", "?source=..%2Fx.csv"],
)
def test_a9_web_messages_show_no_absolute_path_no_roots_and_no_existence(web_client, data_root, query):
    message = _message(web_client, query).split(": ", 1)[1]  # after the echo of what was asked
    assert "is not a data file inside the folders this server serves" in message
    assert str(data_root) not in message and "/proc" not in message and "/etc" not in message
    assert "roots" not in message and "resolve" not in message and "exist" not in message
