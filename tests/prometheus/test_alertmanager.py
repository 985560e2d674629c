"""Alert transitions posted to a real Alertmanager (Debian's), once, with retries while it is down."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.cache import DiskCache, MemoryCache
from dashboard.models.alerts import FIRING, NORMAL, PENDING, RECOVERING
from dashboard.models.scoring import TickScores
from dashboard.prometheus.alertmanager import ALERT_NAME, OUTBOX_KEY, AlertExporter, dashboard_link
from dashboard.prometheus.config import Alertmanager as AlertmanagerConfig
from dashboard.prometheus.metrics import ProcessMetrics
from tests.processes import Alertmanager, free_port, running, wait_until

pytestmark = pytest.mark.slow

SERVERS = np.array(["web-000", "web-001", "db-000"])
PROFILES = np.array(["web", "web", "database"])


def head(tick: int, states: list[int], probability: list[float] | None = None) -> TickScores:
    p = np.asarray(probability or [0.9 if s in (FIRING, RECOVERING) else 0.1 for s in states], dtype=np.float32)
    return TickScores(tick, p, np.tile(p[:, None] / 2, (1, 2)), ("cpu_pct", "latency_ms"), np.asarray(states, dtype=np.int8))


def describe(spec, model, scores):
    return {
        "servers": SERVERS,
        "profiles": PROFILES,
        "time": 1_700_000_000.0 + scores.tick,
        "why": lambda i: f"Latency is {i + 2}x its own normal.",
    }


def exporter(shared, url: str, **kwargs) -> AlertExporter:
    config = AlertmanagerConfig(url=url, labels=(("team", "sre"),), resend_s=3600)
    return AlertExporter(shared, config, describe=describe, base_url="https://fleet.example/", **kwargs)


def ours(am: Alertmanager) -> list[dict]:
    return [a for a in am.alerts() if a["labels"].get("alertname") == ALERT_NAME]


def test_transitions_are_posted_once_with_labels_and_links(tmp_path):
    with running(Alertmanager(tmp_path)) as (am,):
        metrics = ProcessMetrics()
        sender = exporter(MemoryCache(), am.url, metrics=metrics)
        sender.on_head("prometheus:prod", "heuristic", head(10, [PENDING, FIRING, NORMAL]))
        assert sender.flush()
        alerts = wait_until(lambda: ours(am), 10, "the alert in Alertmanager")
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert["labels"] == {
            "alertname": ALERT_NAME, "server": "web-001", "profile": "web", "model": "heuristic",
            "source": "prometheus:prod", "team": "sre",
        }
        assert alert["annotations"]["description"] == "Latency is 3x its own normal."
        assert alert["annotations"]["summary"] == "web-001 (web): incident risk 90% by heuristic"
        link = "https://fleet.example/?source=prometheus%3Aprod&model=heuristic&tick=11&server=web-001&paused=1"
        assert alert["annotations"]["dashboard"] == link and alert["generatorURL"] == link
        assert alert["startsAt"].startswith("2023-11-14T22:13:30")  # the tick's time, not the post's
        # the same states again (and a recovering one, still active): nothing new to post
        for tick in (11, 12):
            sender.on_head("prometheus:prod", "heuristic", head(tick, [PENDING, RECOVERING, NORMAL]))
            assert sender.flush()
        assert metrics.alerts_posted.labels("firing", "sent")._value.get() == 1
        # it ends, another starts
        sender.on_head("prometheus:prod", "heuristic", head(13, [FIRING, NORMAL, NORMAL]))
        assert sender.flush()
        wait_until(lambda: [a["labels"]["server"] for a in ours(am)] == ["web-000"], 10, "web-001 resolved, web-000 firing")
        assert metrics.alerts_posted.labels("resolved", "sent")._value.get() == 1
        assert metrics.alerts_posted.labels("firing", "sent")._value.get() == 2


def test_a_new_leader_carries_on_without_posting_twice(tmp_path):
    with running(Alertmanager(tmp_path / "am")) as (am,):
        shared = DiskCache(tmp_path / "cache")
        first, second = ProcessMetrics(), ProcessMetrics()
        old = exporter(shared, am.url, metrics=first)
        old.on_head("prometheus:prod", "heuristic", head(5, [FIRING, NORMAL, NORMAL]))
        assert old.flush()
        new = exporter(DiskCache(tmp_path / "cache"), am.url, metrics=second)  # another process
        new.on_head("prometheus:prod", "heuristic", head(5, [FIRING, NORMAL, NORMAL]))
        new.on_head("prometheus:prod", "heuristic", head(6, [FIRING, NORMAL, NORMAL]))
        assert new.flush()
        assert first.alerts_posted.labels("firing", "sent")._value.get() == 1
        assert second.alerts_posted.labels("firing", "sent")._value.get() == 0
        assert len(ours(am)) == 1


def test_a_follower_never_posts(tmp_path):
    with running(Alertmanager(tmp_path)) as (am,):
        sender = exporter(MemoryCache(), am.url, leader=lambda: False)
        sender.on_head("prometheus:prod", "heuristic", head(1, [FIRING, NORMAL, NORMAL]))
        assert sender.flush()
        assert ours(am) == []


def test_alertmanager_down_then_back(tmp_path):
    """Heads are queued without waiting for Alertmanager; the thread retries until it answers."""
    port = free_port()
    shared = MemoryCache()
    metrics = ProcessMetrics()
    sender = exporter(shared, f"http://127.0.0.1:{port}", metrics=metrics)
    sender.on_head("prometheus:prod", "heuristic", head(1, [FIRING, FIRING, NORMAL]))
    assert shared.get(OUTBOX_KEY) is not None
    assert not sender.flush()
    assert "Alertmanager cannot be reached" in sender.last_error
    assert metrics.alerts_posted.labels("firing", "failed")._value.get() == 2
    am = Alertmanager(tmp_path)
    am.port, am.url = port, f"http://127.0.0.1:{port}"
    sender.start()
    try:
        with running(am):
            alerts = wait_until(lambda: len(ours(am)) == 2 and ours(am), 40, "the queued alerts after Alertmanager started")
            assert sorted(a["labels"]["server"] for a in alerts) == ["web-000", "web-001"]
            wait_until(lambda: shared.get(OUTBOX_KEY) == b"{}", 10, "an empty outbox")
    finally:
        sender.stop()
    assert metrics.alerts_posted.labels("firing", "sent")._value.get() == 2


def test_links_need_a_base_url():
    assert dashboard_link(None, "prometheus:prod", "heuristic", 4, "web-001") == ""
    assert dashboard_link("http://h:8050/fleet/", "a b", "m", 0, "x") == "http://h:8050/fleet/?source=a+b&model=m&tick=1&server=x&paused=1"
