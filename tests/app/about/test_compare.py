"""The side-by-side comparison's view-model: values per model, the best of each row, notes."""

from __future__ import annotations

from dashboard.app.about.compare import compare


def _card(**fields):
    base = {
        "incidents": [{"detected": True, "lead_time_s": 30.0}, {"detected": False, "lead_time_s": None}],
        "incident_detection_rate": 0.5,
        "false_alarm_episodes_per_server_day": 2.0,
        "precision": 0.5,
        "recall": 0.4,
        "auroc": 0.8,
        "nab": {"standard": 40.0},
        "nab_tuned": {"standard": 45.0},
        "top5_peak_coverage": None,
        "warnings": [],
        "reads_ground_truth": False,
    }
    return base | fields


def _row(comparison, label):
    return next(r for r in comparison.rows if r.label == label)


def test_values_and_the_best_of_each_row():
    cards = {
        "a": _card(),
        "b": _card(auroc=0.9, false_alarm_episodes_per_server_day=0.5, incidents=[{"detected": True, "lead_time_s": 90.0}]),
    }
    c = compare(cards, "b")
    assert c.models == ("a", "b") and c.current == "b"
    assert _row(c, "AUROC").values == ("0.800", "0.900") and _row(c, "AUROC").best == (False, True)
    assert _row(c, "false alarms / server-day").best == (False, True)  # lower is better
    assert _row(c, "incidents detected").values == ("1/2", "1/1")
    assert _row(c, "median lead time").values == ("+30 s", "+90 s")
    assert _row(c, "precision").best == (True, True)  # a tie marks both
    assert _row(c, "top-5 coverage").values == ("n/a", "n/a") and _row(c, "top-5 coverage").best == (False, False)


def test_a_model_reading_ground_truth_is_never_best_and_errors_are_notes():
    cards = {"honest": _card(), "cheat": _card(auroc=1.0, reads_ground_truth=True), "other": _card(auroc=0.6), "gone": "no such data"}
    c = compare(cards, "nope")
    assert c.current is None
    assert _row(c, "AUROC").values == ("0.800", "1.000", "0.600", "error")
    assert _row(c, "AUROC").best == (True, False, False, False)
    assert ("cheat", "reads the ground truth: its figures do not measure detection") in c.notes
    assert ("gone", "cannot evaluate: no such data") in c.notes


def test_a_single_honest_model_has_nothing_to_be_best_against():
    c = compare({"only": _card(warnings=["reads none of the metrics"])}, "only")
    assert not any(any(r.best) for r in c.rows)
    assert c.notes == (("only", "reads none of the metrics"),)
