"""The heuristic's probability is graded and honest: noise and short spikes stay low,
an escalation climbs through the alert threshold, and fleet size does not matter."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import schema
from dashboard.models import get_model
from dashboard.models.alerts import DEFAULT_POLICY
from dashboard.models.heuristic import EVIDENCE_HALF, _attribute_graded
from dashboard.models.scoring import Scorer

from .fleets import PROFILES, ArraySource, make_window, synthetic_fleet

THRESHOLD = DEFAULT_POLICY.threshold


def test_the_probability_curve_is_graded():
    evidence = np.array([[0.0, 0.0], [0.5, 0.5], [EVIDENCE_HALF / 2, 0.0], [EVIDENCE_HALF, 0.0],
                         [EVIDENCE_HALF, EVIDENCE_HALF], [3 * EVIDENCE_HALF, 0.0], [np.nan, np.inf]])
    scores = _attribute_graded(evidence, ("a", "b"))
    p = scores.probability
    assert p[0] == 0.0
    np.testing.assert_allclose(p[2:6], [0.2, 0.5, 0.8, 0.9])
    assert np.all(np.diff(p[:6]) > 0)
    assert p[1] < 0.05  # a little evidence is a little risk
    assert 0.99 < p[6] <= 1.0  # NaN counts as none, infinity as overwhelming
    np.testing.assert_allclose(scores.contributions.sum(axis=1), p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scores.contributions[4], [0.4, 0.4])


def _spiky_fleet(n=400, t=90, seed=3, chance=0.01):
    """A healthy fleet with many of the generator's harmless 1-2 tick spikes on it."""
    rng = np.random.default_rng(seed)
    profiles = [PROFILES[i % len(PROFILES)] for i in range(n)]
    base = {"cpu_pct": 35.0, "latency_ms": 40.0, "error_rate": 0.003, "mem_pct": 50.0, "gc_pause_ms": 10.0}
    sigma = {"cpu_pct": 0.06, "latency_ms": 0.10, "error_rate": 0.25, "mem_pct": 0.015, "gc_pause_ms": 0.15}
    data = {}
    for name, level in base.items():
        own = level * rng.lognormal(0.0, 0.1, n)
        data[name] = own[None, :] * (1.0 + sigma[name] * np.clip(rng.standard_normal((t, n)), -3, 3))
    starts = rng.random((t, n)) < chance
    starts[1:] &= ~starts[:-1]
    strength = np.where(starts, rng.uniform(0.5, 1.0, (t, n)), 0.0)
    long = starts & (rng.random((t, n)) < 0.5)
    spike = strength.copy()
    spike[1:] = np.maximum(spike[1:], np.where(long[:-1], strength[:-1], 0.0))
    data["cpu_pct"] *= 1.0 + 0.35 * spike
    data["latency_ms"] *= 1.0 + 0.8 * spike
    data["error_rate"] += 0.01 * spike
    return ArraySource(data, profiles), spike


def test_short_spikes_stay_well_below_the_alert_threshold():
    src, spike = _spiky_fleet()
    assert (spike > 0).sum() > 200  # plenty of spikes, including two-tick ones
    probs = Scorer(src, get_model("heuristic")).probabilities(0, src.n_ticks() - 1)
    settled = probs[15:]  # past the warm-up
    assert np.percentile(settled, 99) < 0.1
    assert settled.max() < 0.35


def test_an_escalation_climbs_through_the_threshold_instead_of_switching():
    src = synthetic_fleet(stable=30, escalation=12, peak=12, recovery=6)
    probs = Scorer(src, get_model("heuristic")).probabilities(0, src.n_ticks() - 1)
    affected = src.window(0, 1).problem_child
    escalation = probs[30:42, affected]  # (ticks, affected servers)
    for j in range(escalation.shape[1]):
        p = escalation[:, j]
        first = int(np.argmax(p >= THRESHOLD))
        assert p.max() >= THRESHOLD
        assert first >= 2  # not on the first ticks of the escalation
        # on its way up it passes through the middle of the scale, tick by tick
        assert ((p > 0.1) & (p < 0.8)).sum() >= 2
        assert np.all(np.diff(p[first:]) > -0.05)
    peak = probs[44:54, affected]
    assert np.median(peak) > 0.85
    assert peak.max() < 0.999  # graded, not saturated
    assert escalation[-1].mean() > escalation[first - 1 if first else 0].mean()


def test_a_servers_score_does_not_depend_on_fleet_size():
    src = synthetic_fleet()
    window = src.window(40, 60)
    small = get_model("heuristic").score(window).probability
    # Ten copies of the fleet: the same servers with the same peers' medians.
    copies = 10
    big = make_window(
        {k: np.tile(v, (1, copies)) for k, v in window.metrics.items()},
        profiles=np.tile(window.profiles, copies),
    )
    large = get_model("heuristic").score(big).probability
    np.testing.assert_allclose(large.reshape(copies, -1), np.broadcast_to(small, (copies, small.size)), atol=1e-6)


def test_a_restart_for_two_ticks_is_not_a_recovery():
    # A server deep in trouble is killed and restarts: two ticks of idle CPU, empty
    # memory and failed requests, then back to where it was.
    t, n = 60, 8
    rng = np.random.default_rng(5)
    cpu = 35 + rng.normal(0, 2, (t, n))
    mem = 50 + rng.normal(0, 1, (t, n))
    err = 0.005 + rng.normal(0, 0.001, (t, n)).clip(-0.004)
    cpu[35:, 0] = 85 + rng.normal(0, 2, t - 35)
    mem[35:, 0] = 96 + rng.normal(0, 0.5, t - 35)
    err[35:, 0] = 0.1
    model = get_model("heuristic")
    before = model.score(make_window({"cpu_pct": cpu, "mem_pct": mem, "error_rate": err})).probability[0]
    cpu[-2:, 0], mem[-2:, 0], err[-2:, 0] = 4.0, 15.0, 1.0
    during = model.score(make_window({"cpu_pct": cpu, "mem_pct": mem, "error_rate": err})).probability[0]
    assert before > 0.8
    assert during > 0.8


@pytest.mark.parametrize("scenario", ["default", "gc_storm"])
def test_a_large_generated_fleet_stays_quiet_when_healthy(scenario):
    from dashboard.sources import open_source

    src = open_source(f"scenario:{scenario}?fleet_size=1000")
    n_ticks = src.n_ticks()
    truth = src.window(n_ticks - 1, n_ticks)
    phase = np.asarray(truth.phase)
    affected = np.asarray(truth.problem_child, dtype=bool)
    probs = Scorer(src, get_model("heuristic")).probabilities(0, n_ticks - 1)
    healthy = probs[:, ~affected]
    assert np.percentile(healthy, 99) < 0.1
    assert healthy.max() < 0.5
    stable = (phase == schema.PHASE_KINDS.index("stable")).all(axis=1)
    assert healthy[stable].max() < 0.5
    # while the affected servers reach the alert threshold, and sit high in their peak
    assert (probs[:, affected] >= THRESHOLD).any(axis=0).all()
    in_peak = phase[:, affected] == schema.PHASE_KINDS.index("peak")
    assert np.median(probs[:, affected][in_peak]) > 0.8
