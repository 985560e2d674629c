"""The evaluation scorecard on hand-made datasets whose right answer is known, and its CLI."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from dashboard.evaluate import EvaluationError, Scorecard, auroc, evaluate, main, top_k_coverage
from dashboard.models.alerts import AlertPolicy

from .models.fleets import ArraySource, Scripted, synthetic_fleet

S, E, P, R = 0, 1, 2, 3  # phase kinds: stable, escalation, peak, recovery
POLICY = AlertPolicy(threshold=0.5, clear_threshold=0.3, for_s=10, keep_firing_for_s=10)


def known_dataset():
    """20 ticks of 5 s, five servers; s0, s1 and s4 affected (s1 two ticks behind), s2 and s3 healthy.

    s0 crosses 0.5 at tick 9 (fires at 11, peak at 12: lead +5 s) and drops at 16;
    s1 crosses at 15 (fires at 17, its peak at 14: lead -15 s); s4 is never flagged;
    s2 raises a false alarm at ticks 3-6 (active 5-8); s3 stays quiet.
    """
    t, n = 20, 5
    timeline = np.array([S] * 8 + [E] * 4 + [P] * 4 + [R] * 4)
    delayed = np.array([S] * 10 + [E] * 4 + [P] * 4 + [R] * 2)
    phase = np.zeros((t, n), dtype=np.int8)
    phase[:, 0] = timeline
    phase[:, 1] = delayed
    phase[:, 4] = timeline
    affected = np.array([True, True, False, False, True])
    probs = np.zeros((t, n))
    probs[9:16, 0] = 0.9
    probs[15:, 1] = 0.9
    probs[3:7, 2] = 0.9
    metrics = {"cpu_pct": np.full((t, n), 30.0)}
    src = ArraySource(metrics, ["web", "web", "web", "db", "db"], phase=phase, problem_child=affected, ident="known")
    return src, probs


def test_known_answer_scorecard():
    src, probs = known_dataset()
    card = evaluate(src, Scripted(probs), horizon_s=0, policy=POLICY)
    assert isinstance(card, Scorecard)
    by_name = {a.server_name: a for a in card.affected}
    assert sorted(by_name) == ["db-004", "web-000", "web-001"]
    assert by_name["web-000"].lead_time_s == 5.0
    assert by_name["web-000"].peak_start_s == 60.0 and by_name["web-000"].first_firing_s == 55.0
    assert by_name["web-001"].lead_time_s == -15.0
    assert by_name["db-004"].lead_time_s is None and not by_name["db-004"].detected
    assert card.detection_rate == pytest.approx(2 / 3)
    assert card.false_alarm_server_ticks == 4
    assert card.false_alarm_share == pytest.approx(4 / 40)
    assert card.false_alarm_episodes == 1
    assert card.false_alarms_per_server_hour == pytest.approx(1 / (2 * 20 * 5 / 3600))
    assert card.precision == pytest.approx(6 / 14)
    assert card.recall == pytest.approx(6 / 24)
    assert card.min_lead_time_s is None  # one affected server was never flagged
    # horizon 0: the label is "affected and in an incident phase now"
    truth = np.isin(src._phase, (E, P)) & src._pc[None, :]
    assert card.auroc == pytest.approx(brute_auroc(probs.ravel(), truth.ravel()))


def test_horizon_widens_the_label():
    src, probs = known_dataset()
    at0 = evaluate(src, Scripted(probs), horizon_s=0, policy=POLICY)
    at10 = evaluate(src, Scripted(probs), horizon_s=10, policy=POLICY)
    assert at10.details["positive_label_ticks"] == at0.details["positive_label_ticks"] + 3 * 2
    label = np.isin(src._phase, (E, P))
    label[:-1] |= label[1:].copy()
    label[:-1] |= label[1:].copy()
    label &= src._pc[None, :]
    assert at10.auroc == pytest.approx(brute_auroc(probs.ravel(), label.ravel()))


def test_a_perfect_model_and_a_blind_one():
    src, _ = known_dataset()
    truth = (np.isin(src._phase, (E, P)) & src._pc[None, :]).astype(float)
    # perfect: 1 from two ticks before each incident (so it fires as the incident starts)
    early = truth.copy()
    early[:-2] = np.maximum(early[:-2], truth[2:])
    card = evaluate(src, Scripted(early), horizon_s=10, policy=POLICY)
    assert card.detection_rate == 1.0
    assert card.false_alarm_share == 0.0
    assert card.auroc == 1.0
    assert all(a.lead_time_s == 20.0 for a in card.affected)  # incident start = peak - 20 s
    blind = evaluate(src, Scripted(np.zeros_like(truth)), policy=POLICY)
    assert blind.detection_rate == 0.0 and blind.precision is None and blind.recall == 0.0
    assert blind.auroc == 0.5
    assert blind.false_alarms_per_server_hour == 0.0


def test_auroc_known_values():
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert auroc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5
    assert auroc(np.array([0.2, 0.3]), np.array([1, 1])) is None
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200) / 4.0  # many ties
    labels = rng.random(200) < 0.3
    assert auroc(scores, labels) == pytest.approx(brute_auroc(scores, labels))


def test_top_k_coverage():
    src, probs = known_dataset()
    # k=2: ticks 12,13 have web-000 and db-004 in peak; db-004 scores 0 and loses the tie
    # for second place to web-001 (server order): misses. 14,15 have three in peak and
    # cannot fit: skipped. 16,17 have web-001 alone, at 0.9: hits.
    assert top_k_coverage(probs, src._phase, src._pc, k=2) == pytest.approx(0.5)
    assert top_k_coverage(probs, src._phase, src._pc, k=1) == 1.0  # only 16,17 count
    assert top_k_coverage(probs, src._phase, src._pc, k=5) == 1.0
    assert top_k_coverage(probs, np.zeros_like(src._phase), src._pc, k=5) is None


def test_to_dict_holds_the_issue_keys_and_is_json():
    src, probs = known_dataset()
    d = evaluate(src, Scripted(probs), policy=POLICY).to_dict()
    for key in ("affected", "detection_rate", "false_alarm_share", "false_alarms_per_server_hour", "precision", "recall", "auroc"):
        assert key in d
    assert {"server_name", "lead_time_s"} <= set(d["affected"][0])
    assert json.loads(json.dumps(d)) == d


def test_unlabelled_data_is_refused():
    src = synthetic_fleet(labelled=False)
    with pytest.raises(EvaluationError) as info:
        evaluate(src, "heuristic")
    assert "incident_phase" in str(info.value) and "problem_child" in str(info.value)


@pytest.mark.parametrize("horizon", [-1, float("nan"), float("inf"), "10", True])
def test_bad_horizon_is_refused(horizon):
    with pytest.raises(EvaluationError):
        evaluate(synthetic_fleet(), "heuristic", horizon_s=horizon)


def test_heuristic_on_the_synthetic_fleet():
    card = evaluate(synthetic_fleet(), "heuristic")
    assert card.detection_rate == 1.0
    assert card.min_lead_time_s >= 30
    assert card.false_alarm_share <= 0.01
    assert card.auroc >= 0.9
    assert card.top5_peak_coverage >= 0.9
    assert "web-000" in card.format()


def brute_auroc(scores, labels):
    pos = scores[labels.astype(bool)]
    neg = scores[~labels.astype(bool)]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


# -- CLI ----------------------------------------------------------------------------
def test_cli_prints_and_writes_json(tmp_path, capsys):
    out = tmp_path / "card.json"
    assert main(["--data", "scenario:default?seed=7", "--model", "heuristic", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "detection rate" in printed and "web-000" in printed
    card = json.loads(out.read_text())
    assert card["detection_rate"] == 1.0
    assert {a["server_name"] for a in card["affected"]} == {"web-000", "database-000", "cache-000", "ml_compute-000"}
    assert all(a["lead_time_s"] >= 30 for a in card["affected"])
    assert card["false_alarm_share"] <= 0.01
    assert list(tmp_path.iterdir()) == [out]  # written atomically: no temporary left behind


def test_cli_json_into_a_missing_folder_names_the_target(tmp_path, capsys):
    target = tmp_path / "missing" / "card.json"
    assert main(["--data", "scenario:default?seed=7", "--json", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {target}: cannot write it: the folder {target.parent} does not exist"
    assert not (tmp_path / "missing").exists()


def test_cli_phase_aware_is_marked(capsys):
    assert main(["--data", "scenario:default?seed=7", "--model", "phase-aware", "--horizon", "30"]) == 0
    assert "reads ground truth" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--data", "scenario:default?seed=7", "--model", "nope"], "unknown risk model 'nope'"),
        (["--data", "scenario:default?seed=7", "--horizon", "-5"], "horizon"),
        (["--data", "scenario:default?seed=7", "--horizon", "soon"], "horizon"),
        (["--data", "scenario:default?seed=7", "--param", "sensitivity=-3"], "sensitivity"),
        (["--data", "scenario:default?seed=7", "--threshold", "0.2", "--clear-threshold", "0.4"], "clear_threshold"),
        (["--data", "scenario:no-such-scenario"], "no-such-scenario"),
        ([], "--data"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(main(argv))
    assert exc_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_cli_unlabelled_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    src = synthetic_fleet(labelled=False)
    import pandas as pd

    stamps = pd.to_datetime(src.timestamps(), utc=True)
    servers = src.servers()
    rows = []
    for t in range(5):
        frame = servers.copy()
        frame.insert(0, "timestamp", stamps[t])
        frame["state"] = "online"
        for name, values in src._metrics.items():
            frame[name] = values[t]
        rows.append(frame)
    pd.concat(rows).to_csv(tmp_path / "plain.csv", index=False)
    assert main(["--data", "plain.csv"]) == 2
    err = capsys.readouterr().err
    assert "no ground truth" in err and "incident_phase" in err


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["--help"])
    assert exc_info.value.code == 0
    assert "--horizon" in capsys.readouterr().out


def test_cli_reads_a_dataset_named_on_the_command_line_outside_the_roots(tmp_path, monkeypatch, capsys):
    from dashboard.evaluate import main
    from dashboard.generate import generate_demo_dataset

    data = tmp_path / "elsewhere"
    generate_demo_dataset(data, formats=("parquet",), progress=False)
    monkeypatch.chdir(tmp_path.parent)  # the file is not under the working directory's root
    monkeypatch.setenv("FLEET_DATA_ROOTS", str(tmp_path / "empty"))
    assert main(["--data", str(data / "demo_dataset.parquet"), "--model", "heuristic"]) == 0
    assert "detection rate" in capsys.readouterr().out


def test_cli_maps_the_columns_of_a_foreign_file_like_the_dashboard(tmp_path, capsys):
    from dashboard.cli import evaluate_main
    from dashboard.generate import generate_demo_dataset

    generate_demo_dataset(tmp_path, formats="csv", progress=False)
    header, rest = (tmp_path / "demo_dataset.csv").read_text().split("\n", 1)
    renamed = header.replace("server_name", "host").replace("latency_ms", "latency_s")
    (tmp_path / "export.csv").write_text(renamed + "\n" + rest)  # its labels: the metadata
    (tmp_path / "export_metadata.json").write_text(
        (tmp_path / "demo_dataset_metadata.json").read_text()
    )
    data = tmp_path / "export.csv"
    argv = ["--data", str(data), "--columns", "host=server_name,latency_s=latency_ms"]
    assert evaluate_main(argv) == 0
    out = capsys.readouterr().out
    assert "detection" in out and "web-000" in out
    assert evaluate_main([*argv, "--units", "latency_ms=s"]) == 0
    assert evaluate_main([*argv, "--units", "latency_ms=parsecs"]) == 2
    assert "parsecs" in capsys.readouterr().err
