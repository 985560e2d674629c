"""The Why in words: built from any model's contributions and the scored window."""

from __future__ import annotations

import re

import numpy as np

from dashboard.models import get_model
from dashboard.models.explain import QUIET, explain, format_value

from .fleets import make_window

T, N = 30, 6


def _window(latency_now: float = 200.0, raised_ticks: int = 8) -> object:
    """Six servers (three web, three cache); s0's latency has been high for ``raised_ticks``."""
    rng = np.random.default_rng(0)
    latency = 40.0 + rng.normal(0, 1, (T, N))
    latency[:, 3:] = 2.0 + rng.normal(0, 0.1, (T, 3))  # caches answer in 2 ms
    latency[T - raised_ticks :, 0] = np.linspace(latency_now / 2, latency_now, raised_ticks)
    cpu = 35.0 + rng.normal(0, 1, (T, N))
    return make_window(
        {"latency_ms": latency, "cpu_pct": cpu},
        profiles=["web", "web", "web", "cache", "cache", "cache"],
    )


def test_the_sentence_compares_with_the_own_normal_and_the_peers():
    why = explain(_window(), 0, 0.8, [0.75, 0.05, 0.0], ("latency", "cpu", "trend"))
    assert re.match(r"Latency is 5\.0× its own normal and 5\.\d× its web peers", why.sentence)
    assert "rising for 40 s" in why.sentence  # 8 ticks of 5 s
    assert [d.label for d in why.drivers] == ["latency"]  # CPU adds too little to matter
    assert why.drivers[0].value_text == "200 ms"


def test_levels_are_read_as_levels_with_units():
    window = _window()
    metrics = dict(window.metrics)
    metrics["cpu_pct"] = metrics["cpu_pct"].copy()
    metrics["cpu_pct"][-8:, 0] = 91.0
    window = make_window(metrics, profiles=list(window.profiles))
    why = explain(window, 0, 0.9, [0.0, 0.9], ("latency", "cpu"))
    assert why.sentence.startswith("CPU at 91% (normal 35%, web peers 35%), high for 40 s")


def test_a_healthy_server_has_no_drivers_and_says_so():
    why = explain(_window(latency_now=41.0), 1, 0.02, [0.01, 0.01, 0.0], ("latency", "cpu", "trend"))
    assert why.drivers == () and why.sentence == QUIET


def test_factors_without_a_metric_are_named_readably():
    why = explain(_window(), 0, 0.9, [0.2, 0.0, 0.7], ("latency", "cpu", "incident_phase"))
    assert why.drivers[0].label == "incident phase (answer key)"
    assert why.sentence.startswith("Incident phase (answer key); latency is")


def test_any_model_feeds_it_unchanged():
    """The heuristic's raw factor names (error_rate, gc...) become readable labels."""
    window = _window(latency_now=400.0, raised_ticks=10)
    scores = get_model("heuristic").score(window)
    i = int(np.argmax(scores.probability))
    why = explain(window, i, scores.probability[i], scores.contributions[i], scores.factors)
    assert why.drivers and all("_" not in d.label for d in why.drivers)
    assert "latency" in why.sentence.lower() and "normal" in why.sentence


def test_values_carry_their_units():
    assert format_value("latency_ms", 2400.0) == "2.4 s"
    assert format_value("error_rate", 0.004) == "0.40%"
    assert format_value("gc_pause_ms", 3.25) == "3.2 ms"
    assert format_value("net_in_mb_s", 12.0) == "12.0 MB/s"
    assert format_value("cpu_pct", float("nan")) == "unknown"
