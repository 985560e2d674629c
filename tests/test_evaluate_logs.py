"""Evaluation against an incident log: a hand-made log and fleet whose scorecard was worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dashboard.evaluate import EvaluationError, evaluate, evaluate_many, main

from .models.fleets import ArraySource, Scripted

TICK = 60.0  # one-minute ticks: the default policy and horizon are in ticks, not 5-s seconds
START = pd.Timestamp("2026-01-01T00:00:00Z")


def at(tick: int) -> str:
    return (START + pd.Timedelta(seconds=tick * TICK)).isoformat().replace("+00:00", "Z")


def hand_fleet():
    """40 one-minute ticks, servers web-000 (a), web-001 (b), db-002 (c).

    Incidents: a twice, [10, 14] peaking at 12 and [25, 28]; c once, [16, 18]; b none.
    At 60-s ticks the default policy fires after 2 ticks above 0.5 and keeps firing 6
    ticks after dropping below 0.3; the horizon is 3 ticks (180 s).

    a: 0.9 on 8..13 -> fires at 10 (first incident: lead 12 - 10 = +120 s, detected at its
       start); 0.9 on 24..27 -> fires at 26 (second incident: 60 s after its start, lead -60 s);
       0.9 on 36..39 -> fires at 38, past [25 - 3, 28 + 6 + 3] = [22, 37]: a false alarm.
    b: 0.9 on 30..33 -> fires at 32: a false alarm (b has no incident); active 32..39.
    c: never above 0: its incident is missed.
    """
    t, n = 40, 3
    probs = np.zeros((t, n))
    probs[8:14, 0] = 0.9
    probs[24:28, 0] = 0.9
    probs[36:40, 0] = 0.9
    probs[30:34, 1] = 0.9
    src = ArraySource({"cpu_pct": np.full((t, n), 30.0)}, ["web", "web", "db"], tick_seconds=TICK, ident="hand")
    log = pd.DataFrame(
        {
            "server_name": ["web-000", "web-000", "db-002"],
            "start": [at(10), at(25), at(16)],
            "end": [at(14), at(28), at(18)],
            "peak": [at(12), "", ""],
            "title": ["disk full", "disk full again", "replica lag"],
        }
    )
    return src, probs, log


def sigma(x: float) -> float:
    return -1.0 if x > 3 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def test_every_incident_counts_and_false_alarms_count_everywhere():
    src, probs, log = hand_fleet()
    card = evaluate(src, Scripted(probs), incidents=log)
    assert card.tick_seconds == 60.0
    assert card.policy["for_s"] == 120.0 and card.policy["keep_firing_for_s"] == 360.0
    assert card.horizon_s == 180.0
    assert card.at_tick_size["for_ticks"] == 2 and card.at_tick_size["horizon_ticks"] == 3

    first, second, c = card.incidents[0], card.incidents[2], card.incidents[1]  # in start order
    assert (first.server_name, first.start, first.peak) == ("web-000", at(10), at(12))
    assert first.detected and first.first_alert == at(10)
    assert first.lead_time_s == 120.0 and first.time_to_detect_s == 0.0
    assert second.detected and second.first_alert == at(26)
    assert second.lead_time_s == -60.0 and second.time_to_detect_s == 60.0  # no peak: lead to start
    assert (c.server_name, c.detected, c.lead_time_s, c.title) == ("db-002", False, None, "replica lag")
    assert card.incident_detection_rate == pytest.approx(2 / 3)

    # false alarms on all servers: b at 32, a at 38; 3 servers x 40 min = 1/12 server-day
    assert card.false_alarm_episodes_all == 2
    assert card.false_alarm_episodes_per_server_day == pytest.approx(24.0)
    assert card.false_alarm_allowance == {"before_s": 180.0, "after_s": 540.0, "horizon_s": 180.0, "keep_firing_for_s": 360.0}
    # the long-standing figures, on servers without incidents (b): active 32..39
    assert card.false_alarm_server_ticks == 8 and card.false_alarm_share == pytest.approx(8 / 40)
    assert card.false_alarm_episodes == 1 and card.false_alarms_per_server_hour == pytest.approx(1.5)
    # affected servers, first incident only: a detected (+120 s), c missed
    assert card.detection_rate == 0.5
    by_name = {a.server_name: a for a in card.affected}
    assert by_name["web-000"].lead_time_s == 120.0 and not by_name["db-002"].detected
    # precision/recall of active ticks against "in an incident": a is active 10..19, 26..33, 38..39
    active = np.zeros((40, 3), bool)
    active[10:20, 0] = active[26:34, 0] = active[38:40, 0] = True
    active[32:40, 1] = True
    incident = np.zeros((40, 3), bool)
    incident[10:15, 0] = incident[25:29, 0] = incident[16:19, 2] = True
    assert card.precision == pytest.approx((active & incident).sum() / active.sum())
    assert card.recall == pytest.approx((active & incident).sum() / incident.sum())
    assert card.top5_peak_coverage is None and "any top 5 holds them all" in card.format()


def test_nab_of_the_hand_made_log():
    src, probs, log = hand_fleet()
    card = evaluate(src, Scripted(probs), incidents=log)
    # Each server is a 40-row NAB file (6 probationary rows); alert onsets are the detections.
    # a: onset 10 is the first row of window [10, 14] -> +1; onset 26 sits at -(28-26+1)/4 in
    #    [25, 28] -> sigma(-0.75)/sigma(-1); onset 38 is (38-28)/(4-1) > 3 widths past -> -fp.
    # b: onset 32, no window before it -> -fp.  c: window [16, 18] missed -> -fn.
    reward = sigma(-0.75) / sigma(-1.0)
    for name, fp, fn in (("standard", 0.11, 1.0), ("reward_low_FP_rate", 0.22, 1.0), ("reward_low_FN_rate", 0.11, 2.0)):
        raw = 1.0 + reward - fp - fp - fn
        expected = 100 * (raw + 3 * fn) / (3 * 1.0 + 3 * fn)
        assert card.nab[name] == pytest.approx(expected, abs=1e-9), name
    assert card.nab["standard"] == pytest.approx(62.4498, abs=1e-4)
    info = card.nab_info
    assert info["windows"] == 3 and info["profiles"]["standard"]["windows_hit"] == 2
    # tuned: the probability is 0 or 0.9, so NAB's sweep fires at 0.9 or never
    assert info["profiles"]["standard"]["tuned_threshold"] in (None, pytest.approx(0.9))
    assert set(card.nab_tuned) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}


def test_the_json_scorecard_keys():
    src, probs, log = hand_fleet()
    d = json.loads(evaluate(src, Scripted(probs), incidents=log).to_json())
    for key in (
        "affected", "detection_rate", "false_alarm_share", "false_alarms_per_server_hour", "precision",
        "recall", "auroc", "top5_peak_coverage", "incidents", "false_alarm_episodes_per_server_day",
        "nab", "nab_tuned", "warnings", "data_report", "at_tick_size", "false_alarm_allowance",
    ):
        assert key in d, key
    assert {"server_name", "start", "end", "detected", "lead_time_s"} <= set(d["incidents"][0])
    for key in ("nab", "nab_tuned"):
        assert set(d[key]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}


def test_auroc_label_is_in_an_incident_now_or_within_the_horizon():
    src, probs, log = hand_fleet()
    card = evaluate(src, Scripted(probs), incidents=log, horizon_s=120)
    label = np.zeros((40, 3), bool)
    label[8:15, 0] = label[23:29, 0] = label[14:19, 2] = True  # 2 ticks of 60 s before each start
    pos, neg = probs[label], probs[~label]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    assert card.auroc == pytest.approx(wins / (pos.size * neg.size))


def test_a_fleet_wide_incident_is_detected_by_any_server():
    src, probs, _ = hand_fleet()
    log = [{"server_name": "*", "start": at(31), "end": at(34)}]
    card = evaluate(src, Scripted(probs), incidents=log)
    (inc,) = card.incidents
    assert inc.server_name == "*" and inc.detected and inc.alert_server == "web-001"
    assert inc.first_alert == at(32)
    assert card.nab_info["windows"] == 3  # one window per server's series


def test_time_not_ticks_explicit_seconds_are_rounded_and_said():
    src, probs, log = hand_fleet()
    from dashboard.models.alerts import AlertPolicy

    card = evaluate(src, Scripted(probs), incidents=log, policy=AlertPolicy(for_s=10, keep_firing_for_s=30), horizon_s=15)
    assert card.at_tick_size["for_ticks"] == 1 and card.at_tick_size["keep_firing_for_ticks"] == 1
    assert card.at_tick_size["horizon_ticks"] == 0
    notes = " ".join(card.at_tick_size["notes"])
    assert "for 10 s is 1 tick(s) of 60 s" in notes and "horizon 15 s covers 0 whole tick(s)" in notes
    assert "note: for 10 s" in card.format()


def test_a_period_scores_only_its_ticks_and_its_incidents():
    src, probs, log = hand_fleet()
    card = evaluate(src, Scripted(probs), incidents=log, start=at(20), end=at(39))
    assert card.n_ticks == 20 and card.period == {"start": at(20), "end": at(39)}
    assert [i.start for i in card.incidents] == [at(25)]
    assert "2 incident(s) outside the evaluated time span were left out" in " ".join(card.data_report)
    with pytest.raises(EvaluationError, match="no tick between"):
        evaluate(src, Scripted(probs), incidents=log, start=at(50))
    with pytest.raises(EvaluationError, match="start: not a time"):
        evaluate(src, Scripted(probs), incidents=log, start="yesterday")


def test_a_model_that_reads_none_of_the_metrics_is_called_out():
    t, n = 30, 2
    src = ArraySource({"disk_io_mb_s": np.random.default_rng(0).uniform(10, 20, (t, n))}, ["web", "web"])
    log = [{"server_name": "web-000", "start": "2026-01-01T00:01:00Z", "end": "2026-01-01T00:01:30Z"}]
    card = evaluate(src, "heuristic", incidents=log)
    text = " ".join(card.warnings)
    assert "reads none of the metrics in this data" in text and "disk_io_mb_s" in text
    assert "same probability (0)" in text
    assert card.metrics_present == {"disk_io_mb_s": "MB/s"} and card.metrics_read == []
    assert "WARNING: model 'heuristic' reads none" in card.format()


def test_a_model_that_reads_few_of_the_metrics_is_called_out():
    t, n = 30, 2
    rng = np.random.default_rng(0)
    metrics = {m: rng.uniform(10, 20, (t, n)) for m in ("cpu_pct", "disk_io_mb_s", "net_in_mb_s", "net_out_mb_s", "value")}
    src = ArraySource(metrics, ["web", "web"])
    log = [{"server_name": "web-000", "start": "2026-01-01T00:01:00Z", "end": "2026-01-01T00:01:30Z"}]
    card = evaluate(src, "heuristic", incidents=log)
    assert any("reads only 1 of the 5 metrics" in w for w in card.warnings)


def test_unknown_servers_in_the_log_are_reported():
    src, probs, log = hand_fleet()
    log.loc[len(log)] = ["db-999", at(1), at(2), "", "elsewhere"]
    card = evaluate(src, Scripted(probs), incidents=log)
    assert len(card.incidents) == 3
    assert "1 incident(s) on servers not in the data were left out: db-999" in " ".join(card.data_report)
    only_unknown = evaluate(src, Scripted(probs), incidents=log.iloc[[3]])
    assert any("no incident falls in the evaluated data" in w and "db-999" in w for w in only_unknown.warnings)
    assert only_unknown.nab is None


def test_evaluate_many_pools_nab_as_one_corpus():
    src, probs, log = hand_fleet()
    one = evaluate(src, Scripted(probs), incidents=log)
    corpus = evaluate_many([{"data": src, "incidents": log}, {"data": src, "incidents": log}], Scripted(probs))
    assert len(corpus.cards) == 2
    assert corpus.nab_info["windows"] == 6
    assert corpus.nab["standard"] == pytest.approx(one.nab["standard"])  # the same file twice
    assert json.loads(json.dumps(corpus.to_dict()))["nab"] == corpus.nab


def test_cli_scores_a_csv_against_an_incident_log(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rows = []
    rng = np.random.default_rng(1)
    for t in range(60):
        for server in ("a", "b", "c", "d", "e", "f"):
            hit = server == "a" and 30 <= t < 45
            rows.append(
                {
                    "timestamp": at(t),
                    "server_name": server,
                    "cpu_pct": 30 + rng.normal(0, 1) + 50 * hit,
                    "latency_ms": 40 + rng.normal(0, 2) + 400 * hit,
                    "queue_depth": rng.uniform(0, 5),
                }
            )
    pd.DataFrame(rows).to_csv(tmp_path / "fleet.csv", index=False)
    (tmp_path / "incidents.csv").write_text(f"server_name,start,end,title\na,{at(30)},{at(44)},overload\n")
    out = tmp_path / "card.json"
    assert main(["--data", "fleet.csv", "--incidents", "incidents.csv", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Loading notes:")
    assert "extra metrics kept: queue_depth" in printed and "no profile column" in printed
    assert "incidents detected" in printed and "NAB score" in printed
    card = json.loads(out.read_text())
    assert card["incidents"][0]["detected"] is True
    assert card["metrics_present"] == {"cpu_pct": "%", "latency_ms": "ms", "queue_depth": ""}
    assert card["ground_truth"].startswith("incident log incidents.csv")


def test_cli_scores_a_period(tmp_path, monkeypatch, capsys):
    test_cli_scores_a_csv_against_an_incident_log(tmp_path, monkeypatch, capsys)
    out = tmp_path / "period.json"
    assert main(["--data", "fleet.csv", "--incidents", "incidents.csv", "--from", at(20), "--json", str(out)]) == 0
    card = json.loads(out.read_text())
    assert card["n_ticks"] == 40 and card["period"] == {"start": at(20), "end": at(59)}
    assert card["incidents"][0]["detected"] is True
    assert main(["--data", "fleet.csv", "--incidents", "incidents.csv", "--to", "soon"]) == 2
    assert "end: not a time" in capsys.readouterr().err


def test_cli_a_bad_incident_log_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("server_name,start,end\na,2026-01-01T00:10:00Z,2026-01-01T00:05:00Z\n")
    assert main(["--data", "scenario:default?seed=7", "--incidents", "bad.csv"]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.csv: line 2, field 'end'" in err and "before start" in err and len(err.splitlines()) == 1


def test_cli_unlabelled_data_names_every_way_to_give_ground_truth(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.csv").write_text(f"timestamp,server_name,cpu_pct\n{at(0)},a,1\n{at(1)},a,2\n")
    assert main(["--data", "plain.csv"]) == 2
    err = capsys.readouterr().err
    assert "--incidents" in err and "_incidents.csv beside the file" in err
