"""The Scorer: one score per (source, model, tick), cached and shared; alerts from a bounded look-back."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.errors import DataError, ModelError
from dashboard.models import RiskModel, RiskScores, get_model
from dashboard.models.alerts import AlertPolicy, alert_states
from dashboard.models.heuristic import HeuristicModel
from dashboard.models.scoring import (
    DiskScoreCache,
    MemoryScoreCache,
    ScoreCache,
    Scorer,
    TickScores,
    make_score_cache,
)

from .fleets import ArraySource, synthetic_fleet


class CountingModel(HeuristicModel):
    """The heuristic, counting its calls."""

    def __init__(self, **params):
        super().__init__(**params)
        self.calls = 0

    def score(self, window):
        self.calls += 1
        return super().score(window)


def test_at_returns_everything_for_one_tick():
    src = synthetic_fleet()
    scorer = Scorer(src, "heuristic")
    ts = scorer.at(35)
    assert isinstance(ts, TickScores)
    n = src.window(0, 1).n_servers
    assert ts.tick == 35
    assert ts.probability.shape == (n,) and ts.probability.dtype == np.float32
    assert ts.contributions.shape == (n, len(ts.factors))
    assert ts.alert.shape == (n,) and ts.alert.dtype == np.int8
    assert ts.factors == scorer.factors
    assert ts.top_factors(0)  # the affected server has a "why"
    assert scorer.at(-1).tick == src.n_ticks() - 1


def test_probabilities_match_the_model_on_each_window():
    src = synthetic_fleet()
    model = get_model("heuristic")
    probs = Scorer(src, model).probabilities(10, 40)
    assert probs.shape == (31, 20) and probs.dtype == np.float32
    for t in (10, 25, 40):
        expected = model.score(src.window(t, model.history).without_truth()).probability
        np.testing.assert_allclose(probs[t - 10], expected, rtol=1e-6)
    contributions = Scorer(src, model).contributions(10, 12)
    assert contributions.shape == (3, 20, len(model.factors))


def test_each_tick_is_scored_once():
    src = synthetic_fleet()
    model = CountingModel()
    scorer = Scorer(src, model)
    scorer.probabilities(0, 30)
    assert model.calls == 31
    scorer.probabilities(10, 35)
    scorer.at(20)
    scorer.alerts(0, 35)
    assert model.calls == 36


def test_a_second_scorer_on_the_same_cache_does_not_score_again():
    src = synthetic_fleet()
    cache = MemoryScoreCache()
    first = CountingModel()
    Scorer(src, first, cache=cache).probabilities(0, 59)
    second = CountingModel()
    again = Scorer(src, second, cache=cache).probabilities(0, 59)
    assert first.calls == 60 and second.calls == 0
    np.testing.assert_array_equal(again, Scorer(src, "heuristic").probabilities(0, 59))


def test_cache_keys_separate_sources_and_parameters():
    cache = MemoryScoreCache()
    a, b = synthetic_fleet(seed=1), synthetic_fleet(seed=2)
    b._ident = "other"
    pa = Scorer(a, "heuristic", cache=cache).probabilities(30, 30)
    pb = Scorer(b, "heuristic", cache=cache).probabilities(30, 30)
    assert not np.array_equal(pa, pb)
    sensitive = CountingModel(sensitivity=3.0)
    Scorer(a, sensitive, cache=cache).probabilities(30, 30)
    assert sensitive.calls == 1


def test_disk_cache_is_shared_between_instances(tmp_path):
    src = synthetic_fleet()
    first = CountingModel()
    cache = make_score_cache(tmp_path / "scores")
    assert isinstance(cache, DiskScoreCache) and isinstance(cache, ScoreCache)
    expected = Scorer(src, first, cache=cache).probabilities(0, 20)
    cache.close()
    other = DiskScoreCache(tmp_path / "scores")  # as another worker process would open it
    second = CountingModel()
    got = Scorer(src, second, cache=other).probabilities(0, 20)
    assert second.calls == 0
    np.testing.assert_array_equal(got, expected)
    assert len(other) == 2 * 21  # each tick: its probabilities and its contributions
    other.close()


def test_memory_cache_is_bounded_lru():
    entry = (np.zeros(8, np.float32), np.zeros((8, 1), np.float32), ("x",))
    probe = MemoryScoreCache()
    probe.set("a", entry)
    cache = MemoryScoreCache(max_bytes=3 * probe.shared._bytes)
    for key in "abcd":
        cache.set(key, entry)
    assert cache.get("a") is None and len(cache) == 2 * 3
    cache.get("b")  # refresh b: c is now the oldest
    cache.set("e", entry)
    assert cache.get("c") is None and cache.get("b") is not None
    assert isinstance(make_score_cache(), MemoryScoreCache)
    with pytest.raises(ModelError):
        MemoryScoreCache(0)


def test_alerts_are_a_pure_function_of_a_bounded_lookback():
    src = synthetic_fleet()
    policy = AlertPolicy()
    scorer = Scorer(src, "heuristic", policy=policy, lookback_ticks=12)
    probs = scorer.probabilities(0, 59)
    expected = np.stack([alert_states(probs[max(0, t - 12) : t + 1], policy, 5.0)[-1] for t in range(60)])
    np.testing.assert_array_equal(scorer.alerts(0, 59), expected)
    # any order, any worker: a fresh scorer asked for one tick agrees
    for t in (45, 3, 30):
        np.testing.assert_array_equal(Scorer(src, "heuristic", lookback_ticks=12).at(t).alert, expected[t])
        np.testing.assert_array_equal(scorer.alerts(t, t)[0], expected[t])


def test_alerts_fire_on_the_affected_servers():
    src = synthetic_fleet()
    states = Scorer(src, "heuristic").alerts(0, 59)
    affected = src.window(0, 1).problem_child
    assert (states[:, affected] >= 2).any(axis=0).all()
    assert not (states[:, ~affected] >= 2).any()


def test_bad_arguments():
    src = synthetic_fleet()
    with pytest.raises(ModelError):
        Scorer(src, "heuristic", lookback_ticks=2)  # shorter than for_s + keep_firing_for_s
    with pytest.raises(ModelError):
        Scorer(src, "heuristic", lookback_ticks=2.5)
    scorer = Scorer(src, "heuristic")
    with pytest.raises(DataError):
        scorer.at(60)
    with pytest.raises(ModelError):
        scorer.probabilities(30, 20)


def test_a_model_returning_the_wrong_shape_is_reported():
    class Broken(HeuristicModel):
        def score(self, window):
            good = super().score(window)
            return type(good)(good.probability[:-1], good.contributions, good.factors)

    with pytest.raises(ModelError) as info:
        Scorer(synthetic_fleet(), Broken()).at(3)
    assert "expected" in str(info.value)


class TableModel(RiskModel):
    """Probabilities read from a table by the window's last tick: alert edge cases on demand."""

    name = "table"
    history = 1

    def __init__(self, table):
        super().__init__()
        self.table = np.asarray(table, dtype=np.float64)

    def score(self, window):
        p = self.table[window.end]
        return RiskScores(p, p[:, None].copy(), ("table",))

    def key(self):
        return f"table({id(self.table)})"


def _flapping_probabilities(t=160, n=60, seed=11):
    """Runs above, between and below the thresholds, so every state and transition occurs."""
    rng = np.random.default_rng(seed)
    levels = np.array([0.05, 0.35, 0.45, 0.6, 0.95])
    table = np.empty((t, n))
    current = rng.integers(0, levels.size, n)
    for i in range(t):
        switch = rng.random(n) < 0.3
        current = np.where(switch, rng.integers(0, levels.size, n), current)
        table[i] = levels[current]
    table[:, 0] = 0.9  # always above
    table[:, 1] = 0.0  # never
    return table


@pytest.mark.parametrize(
    "policy", [AlertPolicy(), AlertPolicy(for_s=0.0), AlertPolicy(keep_firing_for_s=0.0), AlertPolicy(0.6, 0.6, 15.0, 20.0)]
)
@pytest.mark.parametrize("lookback", [12, 40])
def test_cached_alert_states_equal_the_bounded_lookback(policy, lookback):
    table = _flapping_probabilities()
    t, n = table.shape
    src = ArraySource({"cpu_pct": np.zeros((t, n))}, ["web"] * n)
    model = TableModel(table)
    expected = Scorer(src, model, policy=policy, lookback_ticks=lookback).alerts(0, t - 1)
    assert {0, 1, 2, 3} <= set(np.unique(expected).tolist()) or policy.for_s == 0 or policy.keep_firing_for_s == 0
    # a live refresh: tick after tick, each one step from the cached previous tick
    live = Scorer(src, model, policy=policy, lookback_ticks=lookback)
    np.testing.assert_array_equal(np.stack([live.at(i).alert for i in range(t)]), expected)
    # any order, with gaps, on a cache shared with other policies
    cache = MemoryScoreCache()
    other = Scorer(src, model, policy=AlertPolicy(0.9, 0.1), lookback_ticks=lookback, cache=cache)
    scorer = Scorer(src, model, policy=policy, lookback_ticks=lookback, cache=cache)
    order = np.random.default_rng(3).permutation(t)
    for i in order[: t // 2]:
        other.at(int(i))
        np.testing.assert_array_equal(scorer.at(int(i)).alert, expected[i])
    for i in range(t):
        np.testing.assert_array_equal(scorer.at(i).alert, expected[i])


def test_a_refresh_steps_once_instead_of_rerunning_the_lookback(monkeypatch):
    table = _flapping_probabilities()
    t, n = table.shape
    src = ArraySource({"cpu_pct": np.zeros((t, n))}, ["web"] * n)
    scorer = Scorer(src, TableModel(table), lookback_ticks=30)
    runs = []
    original = Scorer._run_alerts

    def counting(self, tick, servers=None):
        runs.append(n if servers is None else len(servers))
        return original(self, tick, servers)

    monkeypatch.setattr(Scorer, "_run_alerts", counting)
    scorer.at(100)
    assert runs == [n]  # a cold start runs the whole look-back once
    for i in range(101, 130):
        scorer.at(i)
    # afterwards only servers at or above the threshold on the tick that left the
    # look-back are re-run, never the whole fleet
    assert len(runs) > 1 and all(k < n for k in runs[1:])
    alert = scorer.at(129).alert
    alert[:] = 3  # the caller's copy, not the cache's
    np.testing.assert_array_equal(scorer.at(129).alert, Scorer(src, TableModel(table), lookback_ticks=30).alerts(129, 129)[0])
