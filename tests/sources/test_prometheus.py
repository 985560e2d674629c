"""The ``prometheus`` source against a real Prometheus scraping the project's replay exporter.

Debian's prometheus scrapes every second, on a free loopback port, with its own
configuration and data folder; every service is stopped at the end, also on failure.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import numpy as np
import pytest

from dashboard import schema
from dashboard.errors import DataError, PathSafetyError, SourceError
from dashboard.prometheus.config import Target
from dashboard.settings import Settings
from dashboard.sources import open_source
from tests.processes import Exporter, NodeExporter, Prometheus, free_port, running, wait_until

pytestmark = pytest.mark.slow

FLEET = "scenario:default?fleet_size=6&seed=3"


def target(url: str, name: str = "replay", **options) -> Target:
    return Target(name, url, step_s=1.0, **{"history": 5, **options})


def settings_for(*targets: Target, **more) -> Settings:
    return Settings(prometheus_targets=targets, **more)


def samples_for(prometheus: Prometheus, seconds: int) -> None:
    """Wait until Prometheus holds ``seconds`` of scrapes of every replayed server."""
    wait_until(
        lambda: (r := prometheus.query(f"count_over_time(node_cpu_seconds_total[{seconds * 2}s])"))
        and min(float(x["value"][1]) for x in r) >= seconds,
        60,
        f"{seconds} s of scrapes",
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A replay exporter (6 servers, one tick a second) and Prometheus scraping it every second."""
    folder = tmp_path_factory.mktemp("prometheus")
    exporter = Exporter(folder, FLEET)
    prometheus = Prometheus(folder / "prometheus", {"replay": []})
    with running(exporter):
        prometheus.targets = {"replay": [exporter.address]}
        with running(prometheus):
            samples_for(prometheus, 6)
            yield exporter, prometheus


def test_history_then_each_new_step(fleet):
    exporter, prometheus = fleet
    source = open_source("prometheus:replay", settings=settings_for(target(prometheus.url)))
    assert source.live and source.kind == "prometheus" and source.spec == "prometheus:replay"
    assert 5 <= source.n_ticks() <= 6  # history (and the step that may have come due since)
    servers = source.servers()
    assert sorted(servers["server_name"]) == sorted(
        ["web-000", "web-001", "database-000", "database-001", "cache-000", "ml_compute-000"]
    )
    assert dict(zip(servers["server_name"], servers["profile"], strict=True))["database-001"] == "database"
    window = source.window(4, 5)
    for name in schema.METRIC_NAMES:
        assert np.isfinite(window.metrics[name][-1]).all(), name
    first = source.n_ticks()
    wait_until(lambda: source.n_ticks() >= first + 2, 10, "two new steps")
    stamps = source.timestamps().astype(np.int64)
    assert (np.diff(stamps) == 1_000_000_000).all()  # one tick per step, on the step's grid
    assert stamps[0] % 1_000_000_000 == 0
    head = source.window(source.n_ticks() - 1, 3)
    assert np.isfinite(head.metrics["cpu_pct"][-1]).all()
    assert source.batch(-1)[schema.SERVER].size == 6
    assert source.source.problem() is None
    source.close()


def test_values_are_the_replayed_ones(fleet, tmp_path):
    """A gauge read back equals the replayed data at the tick the exporter served then."""
    exporter, prometheus = fleet
    replayed = open_source(FLEET)
    data = replayed.window(replayed.n_ticks() - 1, replayed.n_ticks())
    names = list(replayed.servers()["server_name"])
    source = open_source("prometheus:replay", settings=settings_for(target(prometheus.url)))
    got = source.window(source.n_ticks() - 1, 1)
    for j, name in enumerate(source.servers()["server_name"]):
        value = got.metrics["mem_pct"][-1, j]
        column = data.metrics["mem_pct"][:, names.index(name)]
        assert np.min(np.abs(column - value)) < 0.01, name
    cpu = got.metrics["cpu_pct"][-1]
    assert ((cpu > 0) & (cpu < 100)).all()


def test_links_name_configured_targets_never_addresses(fleet):
    _, prometheus = fleet
    settings = settings_for(target(prometheus.url))
    with pytest.raises(SourceError, match="is not a target name; a spec names a target the operator configured"):
        open_source(f"prometheus:{prometheus.url}", settings=settings)
    with pytest.raises(PathSafetyError, match="is a URL"):  # file kinds keep their path rules
        open_source(f"csv:{prometheus.url}/metrics.csv", settings=settings)
    with pytest.raises(SourceError, match="no Prometheus target named 'prod' is configured; configured: replay"):
        open_source("prometheus:prod", settings=settings)
    with pytest.raises(SourceError, match="no Prometheus target is configured"):
        open_source("prometheus:replay", settings=Settings())
    with pytest.raises(SourceError, match="step: must be a multiple of the target's step"):
        open_source("prometheus:replay?step=1.5s", settings=settings)
    with pytest.raises(DataError, match="prometheus: history must be between 1 and 10000, got 0"):
        open_source("prometheus:replay?history=0", settings=settings)
    with pytest.raises(SourceError, match="unknown option"):
        open_source("prometheus:replay?url=http://elsewhere", settings=settings)


def test_a_coarser_step_and_the_spec_that_says_so(fleet):
    _, prometheus = fleet
    source = open_source("prometheus:replay?step=2s&history=3", settings=settings_for(target(prometheus.url)))
    assert source.spec == "prometheus:replay?step=2s&history=3"
    assert source.tick_seconds() == 2.0
    assert (np.diff(source.timestamps().astype(np.int64)) == 2_000_000_000).all()


def test_identity_from_spec_and_shared_grid(fleet, tmp_path):
    """Processes sharing a cache number ticks alike: the same identity, whenever they opened."""
    _, prometheus = fleet
    settings = settings_for(target(prometheus.url), cache_url=f"diskcache://{tmp_path / 'cache'}")
    first = open_source("prometheus:replay", settings=settings)
    identity = first.identity()
    assert identity.startswith("prometheus:replay@1#") and str(id(first.source)) not in identity
    wait_until(lambda: first.n_ticks() >= 7, 10, "two new steps")
    later = open_source("prometheus:replay", settings=settings)
    assert later.identity() == first.identity() == identity  # appended ticks keep it
    n = min(first.n_ticks(), later.n_ticks())
    assert (later.timestamps()[:n] == first.timestamps()[:n]).all()
    other = open_source("prometheus:replay", settings=settings_for(target(prometheus.url, delay_s=2.0)))
    assert other.identity() != identity  # another configuration: other scores


def test_older_ticks_are_read_again_from_prometheus(fleet):
    _, prometheus = fleet
    source = open_source("prometheus:replay?history=6&keep=2s", settings=settings_for(target(prometheus.url)))
    live = source.window(5, 6)
    assert source.source._base > 0
    again = source.window(5, 6)
    for name in ("mem_pct", "cpu_pct"):
        np.testing.assert_allclose(again.metrics[name], live.metrics[name], rtol=1e-6)
    assert source.batch(0)[schema.SERVER].size == 6
    assert any("read again from Prometheus" in note for note in source.report())


def test_not_a_prometheus(tmp_path):
    with running(NodeExporter(tmp_path)) as (node,):
        settings = settings_for(target(f"http://{node.address}", name="node"))
        with pytest.raises(DataError, match=r"Prometheus target 'node' answered HTTP 200 \(text/html\), not as the Prometheus API"):
            open_source("prometheus:node", settings=settings)


def test_unreachable_opens_empty_and_says_why():
    port = free_port()
    source = open_source("prometheus:down", settings=settings_for(target(f"http://127.0.0.1:{port}", name="down")))
    assert source.n_ticks() == 0
    problem = source.problem()
    assert "Prometheus target 'down' cannot be reached (connection refused)" in problem
    assert str(port) not in problem  # the address stays on the server


def test_a_query_that_times_out(tmp_path):
    """A Prometheus that accepts the connection and never answers, then one whose own query timeout fires."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        source = open_source("prometheus:slow", settings=settings_for(target(url, name="slow", timeout_s=1.0)))
        assert time.monotonic() - started < 10
        assert source.n_ticks() == 0
        assert "Prometheus target 'slow' is too slow: no answer for" in source.problem()
        assert "within 1 s" in source.problem()
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
    heavy = (("latency_ms", "max_over_time(vector(1)[2m:1ms])"),)  # 120,000 steps: never done in 50 ms
    with running(Prometheus(tmp_path / "p", {})) as (prometheus,):
        source = open_source("prometheus:p", settings=settings_for(target(prometheus.url, name="p", timeout_s=0.05, queries=heavy)))
        assert source.n_ticks() == 0
        # Prometheus stops it at 50 ms (or its answer comes later than the dashboard waits)
        assert re.search(r"Prometheus target 'p' is too slow: (Prometheus stopped the query|no answer) for latency_ms within 0.05 s", source.problem())


def test_a_query_prometheus_refuses_fails_the_opening(fleet):
    _, prometheus = fleet
    bad = target(prometheus.url, queries=(("latency_ms", "rate(http_request_duration_seconds_sum[)"),))
    with pytest.raises(DataError, match="refused the query for latency_ms: .*parse error"):
        open_source("prometheus:replay", settings=settings_for(bad))


def test_servers_that_join_and_leave(tmp_path):
    """A second exporter starts (its servers join the axis), then the first stops (its go stale)."""
    extra = tmp_path / "extra.csv"
    rows = ["timestamp,server_name,profile,cpu_pct,mem_pct,latency_ms,error_rate"]
    for t in range(30):
        for name in ("batch-001", "batch-002"):
            rows.append(f"2024-01-01T00:{t // 60:02d}:{t % 60:02d}Z,{name},batch,50,40,10,0.01")
    extra.write_text("\n".join(rows) + "\n")
    first = Exporter(tmp_path, "scenario:default?fleet_size=2")
    second = Exporter(tmp_path, str(extra), env={"FLEET_DATA_ROOTS": str(tmp_path)})
    prometheus = Prometheus(tmp_path / "p", {"replay": [first.address, second.address]})
    with running(first, prometheus):
        samples_for(prometheus, 3)
        settings = settings_for(target(prometheus.url), cache_url=f"diskcache://{tmp_path / 'cache'}")
        source = open_source("prometheus:replay?history=3", settings=settings)
        assert source.servers().shape[0] == 2
        before = source.identity()
        with running(second):
            wait_until(lambda: source.servers().shape[0] == 4, 20, "the second exporter's servers to join")
            assert source.identity() != before  # another server axis: other scores
            names = list(source.servers()["server_name"])
            assert names[2:] == ["batch-001", "batch-002"]  # new servers join the end
            # A process opening now (same tick grid through the shared cache) gets the four
            # servers in Prometheus's order: it shares scores only if its axis is this one.
            later = open_source("prometheus:replay?history=3", settings=settings)
            assert sorted(later.servers()["server_name"]) == sorted(names)
            same_axis = list(later.servers()["server_name"]) == names
            assert (later.identity() == source.identity()) == same_axis
            joined = source.n_ticks()
            first.stop()
            wait_until(lambda: source.n_ticks() >= joined + 6, 20, "ticks after the first exporter stopped")
            head = source.window(source.n_ticks() - 1, 1)
            assert np.isnan(head.metrics["mem_pct"][-1, :2]).all()  # stale: gaps, not old values
            assert np.isfinite(head.metrics["mem_pct"][-1, 2:]).all()
            assert (head.extra["present"][-1] == [False, False, True, True]).all()


def test_default_mapping_reads_a_real_node_exporter(tmp_path):
    node = NodeExporter(tmp_path)
    with running(node, Prometheus(tmp_path / "p", {"node": [node.address]})) as (node, prometheus):
        wait_until(lambda: len(prometheus.query("node_cpu_seconds_total")) > 0, 30, "node_exporter's series")
        wait_until(lambda: prometheus.query("count_over_time(node_memory_MemTotal_bytes[30s]) >= 6"), 30, "6 s of scrapes")
        source = open_source("prometheus:node?history=3", settings=settings_for(target(prometheus.url, name="node")))
        servers = source.servers()
        assert list(servers["server_name"]) == [node.address]
        assert list(servers["profile"]) == ["node"]  # no role label: the job
        head = source.window(source.n_ticks() - 1, 1)
        for name in ("cpu_pct", "mem_pct", "disk_io_mb_s", "net_in_mb_s", "net_out_mb_s"):
            assert np.isfinite(head.metrics[name][-1, 0]), name
        assert 0 <= head.metrics["cpu_pct"][-1, 0] <= 100 and 0 < head.metrics["mem_pct"][-1, 0] < 100
        assert np.isnan(head.metrics["latency_ms"][-1, 0])  # no application metrics there


def test_prometheus_stopped_and_restarted(tmp_path):
    """A clear message while it is down; after it is back every step is one tick, the outage ones gaps."""
    exporter = Exporter(tmp_path, "scenario:default?fleet_size=3", loop=True)
    prometheus = Prometheus(tmp_path / "p", {"replay": []})
    with running(exporter):
        prometheus.targets = {"replay": [exporter.address]}
        with running(prometheus):
            samples_for(prometheus, 3)
            source = open_source("prometheus:replay?history=3", settings=settings_for(target(prometheus.url)))
            wait_until(lambda: source.n_ticks() >= 5, 10, "a few live steps")
            prometheus.stop()
            stopped = time.time()
            stopped_at = source.n_ticks()
            wait_until(lambda: source.problem(), 15, "the outage to be noticed")
            problem = source.problem()
            assert "Prometheus target 'replay' cannot be reached" in problem
            assert "will show as gaps" in problem
            # an outage of several steps, the source asked all along (it retries, adds nothing)
            wait_until(lambda: time.time() > stopped + 7 and source.problem() and source.n_ticks() <= stopped_at + 1,
                       20, "several steps of outage")
            assert source.n_ticks() <= stopped_at + 1  # no tick is added while it is down
            outage_end = time.time()
            prometheus.start()  # it scrapes again once its target discovery runs (a few seconds)

            def back() -> bool:
                n = source.n_ticks()
                seconds = source.timestamps().astype(np.int64) / 1e9
                present = source.window(n - 1, n).extra["present"].any(axis=1)
                return source.problem() is None and present[seconds > outage_end].sum() >= 3

            wait_until(back, 40, "the source to catch up after the restart")
            stamps = source.timestamps().astype(np.int64)
            assert (np.diff(stamps) == 1_000_000_000).all()  # no step twice, none missing
            n = source.n_ticks()
            present = source.window(n - 1, n).extra["present"].any(axis=1)
            seconds = stamps / 1e9
            # after the rate window (4 s) no sample is recent enough for any metric
            outage = (seconds > stopped + 4.5) & (seconds < outage_end)
            assert outage.sum() >= 2
            assert not present[outage].any()  # no samples then: gaps
            resumed = np.flatnonzero(present & (seconds > outage_end))[0]
            assert present[resumed:].all()  # every tick since Prometheus scrapes again
            assert present[stopped_at - 3 : stopped_at].all()  # the ticks read before it stopped
