"""The replay exporter's exposition: counters whose rate() gives back the replayed values."""

from __future__ import annotations

import numpy as np

from dashboard.prometheus.exporter import Replay


def counter(text: str, name: str, server: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'instance="{server}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} of {server} not in the exposition")


def test_a_held_last_tick_keeps_its_rates():
    """Without --loop the last tick is held: its values, so CPU stays what it was (frozen
    counters would read as 100% CPU and no requests at all)."""
    cpu = np.array([[20.0, 50.0], [30.0, 60.0]])
    replay = Replay(["a", "b"], ["web", "db"], {"cpu_pct": cpu, "latency_ms": np.full((2, 2), 10.0)}, started=1000.0)
    for at in (1001.5, 1010.0, 1100.0):  # inside the last tick, then long after the data ended
        before, after = replay.render(at), replay.render(at + 2.0)
        idle_rate = (counter(after, "node_cpu_seconds_total", "b") - counter(before, "node_cpu_seconds_total", "b")) / 2.0
        assert abs(idle_rate - 0.4) < 1e-9  # 60% busy: 0.4 idle seconds per second
        requests = counter(after, "http_request_duration_seconds_count", "a") - counter(before, "http_request_duration_seconds_count", "a")
        assert requests > 0
    assert "fleet_replay_tick 1" in replay.render(1100.0)


def test_looping_starts_over_with_counters_still_growing():
    cpu = np.array([[20.0], [80.0]])
    replay = Replay(["a"], ["web"], {"cpu_pct": cpu}, started=0.0, loop=True)
    assert "fleet_replay_tick 0" in replay.render(2.5)
    first, later = counter(replay.render(2.5), "node_cpu_seconds_total", "a"), counter(replay.render(4.5), "node_cpu_seconds_total", "a")
    assert later > first
