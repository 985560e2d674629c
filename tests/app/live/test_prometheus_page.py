"""The Live tab on a ``prometheus`` source: live at its head, and what the page says when
Prometheus cannot be reached (a real Prometheus scraping the project's replay exporter)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dashboard.app import create_app
from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids
from dashboard.prometheus.config import Target
from tests.processes import Exporter, Prometheus, free_port, running, wait_until

from ..conftest import post_tick, response_value

pytestmark = pytest.mark.slow


def _open(client, query: str):
    _, data = post_tick(client, {(shell_ids.URL, "search"): query})
    return data, response_value(data, ids.VIEW, "data")


def _next(client, store, n: int):
    prop = (ids.INTERVAL, "n_intervals")
    _, data = post_tick(client, {prop: n}, store, [f"{prop[0]}.{prop[1]}"])
    return data, response_value(data, ids.VIEW, "data")


def test_live001_a_prometheus_target_plays_at_its_head_and_says_when_it_is_down(settings, tmp_path):
    exporter = Exporter(tmp_path, "scenario:default?fleet_size=4", loop=True)
    prometheus = Prometheus(tmp_path / "p", {"replay": []})
    with running(exporter):
        prometheus.targets = {"replay": [exporter.address]}
        with running(prometheus):
            wait_until(lambda: prometheus.query("count_over_time(node_memory_MemTotal_bytes[10s]) >= 4"), 60, "4 s of scrapes")
            target = Target("replay", prometheus.url, step_s=1.0, history=4)
            app = create_app(replace(settings, prometheus_targets=(target,)))
            client = app.server.test_client()
            data, store = _open(client, "?source=prometheus%3Areplay")
            assert store["source"] == "prometheus:replay" and store["following"]
            assert response_value(data, ids.PROGRESS, "children").endswith(" · live")
            assert response_value(data, ids.LIVE, "children") == "● live"
            assert response_value(data, shell_ids.MESSAGE, "is_open") is not True
            first = store["tick"]
            n = 1

            def advanced():
                nonlocal n, store
                n += 1
                data, store = _next(client, store, n)
                return store["tick"] > first and data

            wait_until(advanced, 20, "the head to move")
            assert store["following"]
            prometheus.stop()

            def told():
                nonlocal n, store
                n += 1
                data, store = _next(client, store, n)
                return response_value(data, shell_ids.MESSAGE, "children") or ""

            message = wait_until(told, 20, "the page to say Prometheus is down")
            assert "Prometheus target 'replay' cannot be reached (connection refused)" in message
            assert str(prometheus.port) not in message and "127.0.0.1" not in message  # no address
            assert store["source"] == "prometheus:replay"  # the view stays on it, at the last tick read


def test_live002_a_target_down_at_opening_and_addresses_from_a_link(settings):
    down = Target("down", f"http://127.0.0.1:{free_port()}", step_s=1.0)
    client = create_app(replace(settings, prometheus_targets=(down,))).server.test_client()
    data, store = _open(client, "?source=prometheus%3Adown")
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "Prometheus target 'down' cannot be reached (connection refused)" in message
    assert store["source"] == settings.default_source  # the default data meanwhile
    # a link names configured targets only; an address is refused before any connection
    data, _ = _open(client, "?source=prometheus%3Ahttp%3A%2F%2F10.0.0.1%3A9090")
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "no Prometheus target named 'http://10.0.0.1:9090' is configured; configured: down" in message
    data, _ = _open(client, "?source=prometheus%3Aprod")
    assert "no Prometheus target named 'prod' is configured; configured: down" in response_value(data, shell_ids.MESSAGE, "children")


def test_live003_a_link_reads_no_more_history_than_the_operator_allows(settings):
    down = Target("down", f"http://127.0.0.1:{free_port()}", step_s=1.0, history=60)
    client = create_app(replace(settings, prometheus_targets=(down,))).server.test_client()
    data, _ = _open(client, "?source=prometheus%3Adown%3Fhistory%3D10000")
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "from the browser, prometheus:down reads at most the 60 ticks of history its configuration allows, not 10,000" in message
