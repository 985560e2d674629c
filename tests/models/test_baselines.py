"""Baselines: each server's normal from its own history, estimated once per checkpoint."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dashboard.models.adaptive import AdaptiveModel
from dashboard.models.baselines import (
    MIN_TAIL,
    UNIT_FLOORS,
    BaselinePolicy,
    fit_baseline,
    nanmedian_first_axis,
    profile_median,
    readings,
)
from dashboard.models.scoring import MemoryScoreCache, Scorer

from .fleets import ArraySource, make_window


def test_checkpoints_come_often_while_history_is_short_then_every_refresh():
    policy = BaselinePolicy(min_ticks=16, refresh_ticks=512)
    assert [policy.checkpoint(t) for t in (0, 15)] == [0, 0]
    steps = sorted({policy.checkpoint(t) for t in range(16, 1100)})
    assert steps == [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024]
    assert all(policy.checkpoint(t) <= t for t in range(0, 2000, 7))


def test_history_read_shrinks_with_fleet_size():
    policy = BaselinePolicy(max_ticks=8192, max_cells=1_000_000)
    assert policy.history_ticks(1, 10) == 8192
    assert policy.history_ticks(5000, 10) == 20  # 1M cells / 50k server-metrics
    assert policy.history_ticks(100_000, 100) == policy.min_ticks


def test_a_server_that_always_runs_hot_is_its_own_normal():
    rng = np.random.default_rng(0)
    cpu = np.column_stack([95 + rng.normal(0, 1, 400), 20 + rng.normal(0, 1, 400)])
    base = fit_baseline(make_window({"cpu_pct": cpu}), ("cpu_pct",), BaselinePolicy(), 400)
    assert base.center[0, 0] == pytest.approx(95, abs=0.5)
    assert base.center[0, 1] == pytest.approx(20, abs=0.5)
    assert base.scale[0, 0] == pytest.approx(1.0, rel=0.3)


def test_flat_history_still_has_a_spread_relative_to_its_level():
    flat = np.full((200, 2), 2.0)
    flat[:, 1] = 0.0
    base = fit_baseline(make_window({"cpu_pct": flat}), ("cpu_pct",), BaselinePolicy(), 200)
    assert base.scale[0, 0] == pytest.approx(UNIT_FLOORS["cpu_pct"])  # a core metric's smallest meaningful change
    assert base.scale[0, 1] == pytest.approx(UNIT_FLOORS["cpu_pct"])
    unnamed = fit_baseline(make_window({"m07": flat * 100}), ("m07",), BaselinePolicy(), 200)
    assert unnamed.scale[0, 0] == pytest.approx(2.0)  # 1% of the level: a doubling is 100 sigma
    assert 0 < unnamed.scale[0, 1] < 1e-3
    assert (base.tail_hi >= MIN_TAIL).all() and (base.tail_lo <= -MIN_TAIL).all()


def test_bursty_metric_has_wider_usual_extremes_than_a_calm_one():
    rng = np.random.default_rng(1)
    calm = rng.normal(50, 1, 2000)
    bursty = calm.copy()
    for start in rng.choice(1990, 20, replace=False):  # bursts of 5 ticks, 5% of the time
        bursty[start : start + 5] += 15
    base = fit_baseline(make_window({"value": np.column_stack([calm, bursty])}), ("value",), BaselinePolicy(), 2000)
    assert base.tail_hi[0, 1] > 2 * base.tail_hi[0, 0]


def test_daily_rhythm_is_learned_when_the_history_spans_several_days():
    hours = np.arange(24 * 6)
    level = 50 + 20 * np.sin(2 * np.pi * hours / 24)
    rng = np.random.default_rng(2)
    window = make_window({"value": (level + rng.normal(0, 1, hours.size))[:, None]}, tick_seconds=3600)
    base = fit_baseline(window, ("value",), BaselinePolicy(), hours.size)
    assert base.seasonal is not None and base.period_s == 86400
    expected = base.expected(window.timestamps)[:, 0, 0]
    assert np.abs(expected - level).max() < 4
    short = make_window({"value": level[:30, None]}, tick_seconds=3600)
    assert fit_baseline(short, ("value",), BaselinePolicy(), 30).seasonal is None


def test_readings_ignore_a_one_tick_burst():
    z = np.zeros((5, 1, 1), dtype=np.float32)
    z[-1] = 10.0
    up, down = readings(z)
    assert up[-1, 0, 0] == pytest.approx(1.0)  # only the latest tick's 10% share
    z[-3:] = 10.0
    up, _ = readings(z)
    assert up[-1, 0, 0] == pytest.approx(10.0)


def test_fast_nanmedian_matches_numpy():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(4, 5, 6)).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 0, 0] = np.nan  # an all-missing slice is NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(values, axis=0)
    np.testing.assert_allclose(nanmedian_first_axis(values), expected, rtol=1e-6)


def test_profile_median_needs_enough_peers():
    values = np.arange(10, dtype=np.float32)[None, :]
    profiles = np.array(["web"] * 5 + ["db"] * 2 + ["cache"] * 3, dtype=object)
    med = profile_median(values, profiles, 4)
    assert med[0, 0] == 2.0 and np.isnan(med[0, 5])
    assert profile_median(values[:, :3], profiles[:3], 4) is None


def test_scorer_estimates_each_checkpoint_once_and_never_looks_ahead():
    fits = []

    class Counting(AdaptiveModel):
        name = "counting"

        def fit_baseline(self, history, checkpoint):
            fits.append((checkpoint, history.end, history.n_ticks))
            return super().fit_baseline(history, checkpoint)

    rng = np.random.default_rng(4)
    source = ArraySource({"cpu_pct": 30 + rng.normal(0, 1, (300, 3))}, ["web"] * 3)
    scorer = Scorer(source, Counting(), cache=MemoryScoreCache())
    scorer.probabilities(0, 299)
    checkpoints = [c for c, _, _ in fits]
    assert checkpoints == sorted(set(checkpoints)) == [16, 24, 32, 48, 64, 128, 192, 256]  # then every 64 ticks
    assert all(end == c - 1 for c, end, _ in fits)  # the history ends before the checkpoint
