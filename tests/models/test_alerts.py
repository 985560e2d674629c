"""Alert states: the normal -> pending -> firing -> recovering life cycle, with hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.errors import ModelError
from dashboard.models.alerts import (
    FIRING,
    NORMAL,
    PENDING,
    RECOVERING,
    STATE_NAMES,
    AlertPolicy,
    alert_states,
    alert_states_at,
    is_active,
)

N, P, F, R = NORMAL, PENDING, FIRING, RECOVERING
# threshold 0.5, clear below 0.3, fire after 2 ticks (10 s), keep firing 2 ticks (10 s)
POLICY = AlertPolicy(threshold=0.5, clear_threshold=0.3, for_s=10, keep_firing_for_s=10)


def run(probs, policy=POLICY, tick_seconds=5.0):
    return alert_states(np.asarray(probs, dtype=float)[:, None], policy, tick_seconds)[:, 0].tolist()


def test_state_codes_and_names():
    assert (NORMAL, PENDING, FIRING, RECOVERING) == (0, 1, 2, 3)
    assert STATE_NAMES == ("normal", "pending", "firing", "recovering")


def test_pending_then_firing_after_for_duration():
    assert run([0.1, 0.6, 0.6, 0.6, 0.6]) == [N, P, P, F, F]


def test_pending_drops_back_to_normal_when_the_condition_breaks():
    assert run([0.6, 0.6, 0.2, 0.6, 0.6, 0.6]) == [P, P, N, P, P, F]


def test_pending_needs_the_threshold_not_the_clear_threshold():
    # 0.4 is above clear_threshold but below threshold: a pending alert does not survive it
    assert run([0.6, 0.4, 0.6]) == [P, N, P]


def test_firing_holds_inside_the_hysteresis_band():
    assert run([0.9, 0.9, 0.9, 0.4, 0.35, 0.31, 0.45]) == [P, P, F, F, F, F, F]


def test_recovering_then_normal_after_keep_firing_for():
    assert run([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1]) == [P, P, F, R, R, N, N]


def test_recovering_returns_to_firing_when_the_score_comes_back():
    assert run([0.9, 0.9, 0.9, 0.1, 0.35, 0.1]) == [P, P, F, R, F, R]


def test_zero_durations_fire_and_clear_at_once():
    policy = AlertPolicy(threshold=0.5, clear_threshold=0.5, for_s=0, keep_firing_for_s=0)
    assert run([0.1, 0.7, 0.2, 0.7], policy) == [N, F, N, F]


def test_durations_round_up_to_whole_ticks():
    policy = AlertPolicy(for_s=7, keep_firing_for_s=0, threshold=0.5, clear_threshold=0.5)
    assert run([0.9, 0.9, 0.9], policy) == [P, P, F]  # 7 s at 5 s/tick needs 2 ticks


def test_missing_probability_counts_as_condition_not_met():
    assert run([0.9, np.nan, 0.9, 0.9, 0.9]) == [P, N, P, P, F]


def test_vectorised_over_servers_independently():
    probs = np.array([[0.9, 0.1], [0.9, 0.9], [0.9, 0.9], [0.1, 0.9]])
    states = alert_states(probs, POLICY, 5.0)
    assert states.dtype == np.int8
    assert states.T.tolist() == [[P, P, F, R], [N, P, P, F]]


def test_is_active_covers_firing_and_recovering():
    assert is_active(np.array([N, P, F, R])).tolist() == [False, False, True, True]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"threshold": 0.5, "clear_threshold": 0.6},
        {"clear_threshold": -0.1},
        {"for_s": -1},
        {"keep_firing_for_s": float("nan")},
        {"threshold": "high"},
        {"for_s": True},
    ],
)
def test_policy_validation(kwargs):
    with pytest.raises(ModelError):
        AlertPolicy(**kwargs)


def test_default_policy_is_valid_and_hysteretic():
    policy = AlertPolicy()
    assert policy.clear_threshold < policy.threshold
    assert policy.for_s > 0 and policy.keep_firing_for_s > 0


def _brute_force(probs, ticks, lookback, policy, tick_seconds):
    out = []
    for t in ticks:
        lo = max(0, t - lookback)
        out.append(alert_states(probs[lo : t + 1], policy, tick_seconds)[-1])
    return np.array(out)


@pytest.mark.parametrize("lookback", [0, 3, 7, 50])
def test_bounded_lookback_matches_a_fresh_run_per_tick(lookback):
    rng = np.random.default_rng(3)
    # Bursty probabilities so that every state and transition occurs.
    probs = np.clip(rng.normal(0.3, 0.3, (80, 6)) + (rng.random((80, 6)) < 0.2) * 0.5, 0, 1)
    ticks = np.arange(80)
    got = alert_states_at(probs, ticks, lookback, POLICY, 5.0)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, _brute_force(probs, ticks, lookback, POLICY, 5.0))


def test_bounded_lookback_with_offset_and_any_order():
    rng = np.random.default_rng(5)
    probs = rng.random((60, 4))
    lookback = 10
    ticks = np.array([45, 20, 59, 30])
    first = int(ticks.min()) - lookback
    got = alert_states_at(probs[first:], ticks, lookback, POLICY, 5.0, offset=first)
    np.testing.assert_array_equal(got, _brute_force(probs, ticks, lookback, POLICY, 5.0))
    # tiny chunks give the same answer as one batch
    small = alert_states_at(probs, ticks, lookback, POLICY, 5.0, chunk_cells=1)
    np.testing.assert_array_equal(small, got)


def test_bounded_lookback_refuses_probabilities_that_do_not_cover_the_ticks():
    probs = np.full((10, 2), 0.9)
    with pytest.raises(ModelError):
        alert_states_at(probs, np.array([15]), 5, POLICY, 5.0)
    with pytest.raises(ModelError):
        alert_states_at(probs, np.array([12]), 5, POLICY, 5.0, offset=8)
