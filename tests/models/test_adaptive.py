"""The adaptive default model: each server against its own normal, every metric, additive why."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.models import DEFAULT_MODEL, get_model
from dashboard.models.adaptive import AdaptiveModel, attribute
from dashboard.models.scoring import MemoryScoreCache, Scorer
from dashboard.sources.base import Window

from .fleets import ArraySource, make_window

N_TICKS = 200


def _history(n_servers: int, seed: int = 0, **levels: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for metric, level in levels.items():
        out[metric] = level * (1 + 0.02 * rng.standard_normal((N_TICKS, n_servers)))
    return out


def _scored(metrics: dict[str, np.ndarray], profiles=None, **params) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Probability (T, N) through a scorer (baselines per checkpoint), and the last tick's why."""
    n = next(iter(metrics.values())).shape[1]
    source = ArraySource(metrics, profiles or ["web"] * n)
    scorer = Scorer(source, AdaptiveModel(**params), cache=MemoryScoreCache())
    probs = scorer.probabilities(0, N_TICKS - 1)
    last = scorer.at(N_TICKS - 1, explain=np.arange(n))
    return probs, last.contributions, last.factors


def test_adaptive_is_the_default_model():
    assert DEFAULT_MODEL == "adaptive"
    assert isinstance(get_model(), AdaptiveModel)


def test_a_server_that_always_runs_hot_is_normal():
    m = _history(2, cpu_pct=1.0)
    m["cpu_pct"][:, 0] = 95 + np.random.default_rng(1).normal(0, 0.8, N_TICKS)
    m["cpu_pct"][:, 1] = 30 + np.random.default_rng(2).normal(0, 0.8, N_TICKS)
    probs, _, _ = _scored(m)
    assert probs[20:].max() < 0.5


def test_a_quiet_server_doubling_is_not_invisible():
    m = _history(2, cpu_pct=2.0)
    m["cpu_pct"][-10:, 0] *= 2.0  # 2% -> 4% CPU, held
    probs, contributions, factors = _scored(m)
    assert probs[-1, 0] > 0.5 and probs[-1, 1] < 0.1
    assert factors == ("cpu_pct",)


def test_core_metrics_count_in_their_known_direction_extras_in_both():
    m = _history(3, latency_ms=50.0, value=100.0)
    m["latency_ms"][-10:, 0] *= 0.3  # latency falling: good news
    m["value"][-10:, 1] *= 0.5  # an extra metric falling: unusual
    m["latency_ms"][-10:, 2] *= 3.0  # latency rising: bad
    probs, contributions, factors = _scored(m)
    assert probs[-1, 0] < 0.1
    assert probs[-1, 1] > 0.5 and probs[-1, 2] > 0.5
    assert contributions[1, factors.index("value")] == pytest.approx(probs[-1, 1], rel=1e-5)


def test_cpu_falling_counts_only_while_errors_rise():
    m = _history(2, cpu_pct=50.0, error_rate=0.01)
    m["cpu_pct"][-10:, :] *= 0.3
    m["error_rate"][-10:, 1] = 0.04  # the quiet failure: traffic gone, errors up
    probs, contributions, factors = _scored(m)
    assert probs[-1, 0] < 0.1
    assert probs[-1, 1] > 0.5
    assert contributions[1, factors.index("cpu_pct")] > 0


def test_load_alone_counts_less_while_symptoms_stay_calm():
    m = _history(2, cpu_pct=40.0, disk_io_mb_s=20.0, latency_ms=40.0, error_rate=0.01)
    for metric, factor in (("cpu_pct", 1.8), ("disk_io_mb_s", 4.0)):
        m[metric][-10:, :] *= factor
    m["latency_ms"][-10:, 1] *= 3  # the same load with a symptom
    probs, _, _ = _scored(m)
    assert probs[-1, 1] > probs[-1, 0]


def test_a_rise_shared_by_profile_peers_counts_less():
    m = _history(8, cpu_pct=40.0, value=10.0)
    m["value"][-10:, :5] *= 1.5  # a busy hour across the web tier
    m["value"][-10:, 5] *= 1.5  # the same rise alone in its profile
    profiles = ["web"] * 5 + ["db"] * 3
    alone, _, _ = _scored(m, profiles=profiles)
    assert alone[-1, 5] > alone[-1, 0]
    unshared, _, _ = _scored(m, profiles=profiles, peer_weight=0.0)
    assert unshared[-1, 0] > alone[-1, 0]


def test_error_share_is_dangerous_at_any_normal():
    m = _history(1, error_rate=0.3)  # always failing 30% of requests
    probs, _, _ = _scored(m)
    assert probs[-1, 0] > 0.5


def test_contributions_add_up_to_the_probability_and_only_asked_rows_are_filled():
    rng = np.random.default_rng(5)
    m = {"cpu_pct": 30 + rng.normal(0, 1, (N_TICKS, 10)), "value": 5 + rng.normal(0, 0.2, (N_TICKS, 10))}
    m["cpu_pct"][-8:, :4] += np.arange(4) * 4
    m["value"][-8:, 2:6] += 3
    window = make_window(m)
    model = AdaptiveModel()
    full = model.score(window)
    np.testing.assert_allclose(full.contributions.sum(axis=1), full.probability, atol=1e-9)
    assert (full.contributions >= 0).all()
    part = model.score(window, explain=[7])
    np.testing.assert_allclose(part.probability, full.probability, atol=1e-9)
    assert np.isnan(part.contributions[0]).all() and not np.isnan(part.contributions[7]).any()
    top = model.score(window, explain=3)
    filled = np.flatnonzero(~np.isnan(top.contributions[:, 0]))
    assert set(filled) == set(np.argsort(-full.probability)[:3])


def test_attribute_splits_by_weighted_evidence():
    evidence = np.array([[2.0, 0.0], [1.0, 0.0]])
    scores = attribute(evidence, ("a", "b"), None, 0.5, 0.5)
    total = 2.0 + 0.5 * 1.0
    assert scores.probability[0] == pytest.approx(total**2 / (total**2 + 0.25))
    assert scores.contributions[0, 0] == pytest.approx(scores.probability[0] * 2 / 2.5)
    assert scores.probability[1] == 0.0 and (scores.contributions[1] == 0).all()


def test_without_enough_history_it_scores_zero_and_reads_every_metric_present():
    window = make_window({"cpu_pct": np.full((5, 2), 30.0), "value": np.ones((5, 2))})
    scores = AdaptiveModel().score(window)
    assert (scores.probability == 0).all()
    assert scores.factors == ("cpu_pct", "value")


def test_missing_values_and_empty_fleets_are_safe():
    m = _history(3, cpu_pct=30.0)
    m["cpu_pct"][::3, 1] = np.nan
    m["cpu_pct"][:, 2] = np.nan
    probs, contributions, _ = _scored(m)
    assert np.isfinite(probs).all() and probs[:, 2].max() == 0
    empty = Window(
        timestamps=np.array([], dtype="datetime64[ns]"),
        servers=np.array([], dtype=object),
        profiles=np.array([], dtype=object),
        metrics={},
        end=0,
        tick_seconds=5.0,
    )
    assert AdaptiveModel().score(empty).probability.shape == (0,)
