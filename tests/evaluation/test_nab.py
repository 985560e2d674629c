"""NAB's score on small hand-made series whose score was worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.evaluation import nab

T0 = np.datetime64("2024-01-01T00:00:00", "ns")
MINUTE = np.timedelta64(60, "s")


def stamps(n: int) -> np.ndarray:
    return T0 + np.arange(n) * MINUTE


def at(row: int) -> np.datetime64:
    return T0 + row * MINUTE


def sigma(x: float) -> float:
    """NAB's scaled sigmoid, written out: 2 / (1 + e^(5x)) - 1, and -1 beyond 3."""
    return -1.0 if x > 3 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def hand_series():
    """20 rows, probation floor(0.15 * 20) = 3 rows, one window over rows 8..11 (width 4).

    Detections (score 1) at rows 2 (probation: not scored), 5 (before any window),
    9 and 10 (in the window: only 9, the earlier, counts) and 13 (after the window).
    """
    scores = np.zeros(20)
    scores[[2, 5, 9, 10, 13]] = 1.0
    series = nab.Series.prepare(stamps(20), [(at(8), at(11))], name="hand")
    return series, scores


def test_the_sigmoid_and_probation_as_published():
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(3.5) == -1.0
    assert pytest.approx(2.0 / (1.0 + math.exp(-5.0)) - 1.0) == nab.MAX_TP  # 0.98661...
    assert nab.probation_rows(20) == 3
    assert nab.probation_rows(7267) == 750  # capped at 0.15 * 5000
    assert nab.probation_rows(4999) == 749


@pytest.mark.parametrize(
    ("profile", "fp_weight", "fn_weight"),
    [("standard", 0.11, 1.0), ("reward_low_FP_rate", 0.22, 1.0), ("reward_low_FN_rate", 0.11, 2.0)],
)
def test_a_hand_made_series_scores_what_was_worked_out_by_hand(profile, fp_weight, fn_weight):
    series, scores = hand_series()
    # row 9: position -(11 - 9 + 1) / 4 = -0.75 in the window: reward sigma(-0.75) / sigma(-1)
    reward = sigma(-0.75) / sigma(-1.0)  # 0.966989...
    # row 5: no window before it: a full false positive, -1
    # row 13: (13 - 11) / (4 - 1) = 0.667 window-widths past the window: sigma(0.667) = -0.931...
    raw = reward + fp_weight * (-1.0) + fp_weight * sigma(2 / 3)
    result = nab.score([series], [scores], 0.5, nab.PROFILE_BY_NAME[profile])
    assert result.raw == pytest.approx(raw, abs=1e-12)
    assert reward == pytest.approx(0.966989, abs=1e-6)
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 2, 2, 11)  # 17 scored rows, 4 in the window
    assert result.windows == 1 and result.windows_hit == 1
    # normalised: null = -fn_weight per window scores 0, perfect = 1 per window scores 100
    assert result.normalized == pytest.approx(100 * (raw + fn_weight) / (1.0 + fn_weight), abs=1e-9)


def test_the_figures_by_hand_in_numbers():
    series, scores = hand_series()
    standard = nab.score([series], [scores], 0.5, nab.PROFILE_BY_NAME["standard"])
    assert standard.raw == pytest.approx(0.966989 - 0.11 - 0.11 * 0.931110, abs=1e-5)  # 0.754567
    assert standard.normalized == pytest.approx(87.728, abs=1e-3)


def test_a_missed_window_costs_fn_weight_and_a_silent_detector_scores_zero():
    series, _ = hand_series()
    for profile in nab.PROFILES:
        silent = nab.score([series], [np.zeros(20)], 0.5, profile)
        assert silent.raw == -profile.fn_weight and silent.normalized == 0.0
        perfect = np.zeros(20)
        perfect[8] = 1.0  # the window's first row
        assert nab.score([series], [perfect], 0.5, profile).normalized == pytest.approx(100.0)


def test_the_sweep_picks_the_best_threshold_or_never_firing():
    series, _ = hand_series()
    scores = np.full(20, 0.1)
    scores[8] = 0.9  # the window's first row: worth a full reward
    scores[15] = 0.5  # a false positive that a threshold of 0.5 would add
    best = nab.sweep([series], [scores], nab.PROFILE_BY_NAME["standard"])
    assert best.threshold == 0.9 and best.normalized == pytest.approx(100.0)
    # 200 rows, a 4-row window: any threshold fires on too many rows outside it
    long = nab.Series.prepare(stamps(200), [(at(100), at(103))])
    wrong = np.zeros(200)
    wrong[40:60] = 0.9
    never = nab.sweep([long], [wrong], nab.PROFILE_BY_NAME["standard"])
    assert never.threshold == math.inf and never.normalized == 0.0 and never.detections == 0


def test_several_series_pool_their_windows():
    series, scores = hand_series()
    quiet = nab.Series.prepare(stamps(20), [(at(4), at(6))], name="quiet")
    pooled = nab.score([series, quiet], [scores, np.zeros(20)], 0.5, nab.PROFILE_BY_NAME["standard"])
    alone = nab.score([series], [scores], 0.5, nab.PROFILE_BY_NAME["standard"])
    assert pooled.windows == 2 and pooled.windows_hit == 1
    assert pooled.raw == pytest.approx(alone.raw - 1.0)


def test_overlapping_windows_merge_and_a_one_row_window_is_scored():
    merged = nab.Series.prepare(stamps(20), [(at(8), at(10)), (at(9), at(12))])
    assert merged.window_rows == ((8, 12),) and merged.n_windows == 1
    one = nab.Series.prepare(stamps(20), [(at(8), at(8))])
    scores = np.zeros(20)
    scores[10] = 1.0  # two rows past a one-row window: distance counted in rows
    result = nab.score([one], [scores], 0.5, nab.PROFILE_BY_NAME["standard"])
    assert result.raw == pytest.approx(-1.0 + 0.11 * sigma(2.0))


def test_windows_between_rows_or_in_probation_and_unsorted_rows():
    between = nab.Series.prepare(stamps(20), [(at(8) + np.timedelta64(10, "s"), at(8) + np.timedelta64(20, "s"))])
    assert between.n_windows == 0
    early = nab.Series.prepare(stamps(20), [(at(0), at(1))])
    assert early.n_windows == 0  # wholly probationary: not scored, as in NAB
    # a clock that steps back: the window still spans the rows from its start to its end
    ts = stamps(20)
    ts[12:] -= 2 * MINUTE
    stepped = nab.Series.prepare(ts, [(at(14), at(15))])
    assert stepped.window_rows == ((16, 17),)
