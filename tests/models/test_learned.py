"""The learned model: its artifact (checksum, versions), calibration, additive per-metric why,
and the training command on a tiny configuration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dashboard.errors import ModelError
from dashboard.models import get_model
from dashboard.models.features import N_FEATURES, feature_names, features, metric_weights
from dashboard.models.learned import DEFAULT_ARTIFACT, LearnedModel, load_artifact, share_positive
from dashboard.models.learned_train import TrainConfig, platt, train
from dashboard.models.scoring import MemoryScoreCache, Scorer
from dashboard.models.training import expected_calibration_error
from dashboard.train import main as train_main

from .fleets import make_window, synthetic_fleet

TINY = ("--variants", "1", "--rounds", "8", "--exclude", "memory_leak", "traffic_spike", "cascading_failure", "busy_fleet",
        "repeat_offender", "--quiet")


@pytest.fixture(scope="module")
def tiny_artifact(tmp_path_factory):
    """One artifact trained by the command line on a tiny configuration (3 scenarios)."""
    out = tmp_path_factory.mktemp("artifact") / "learned"
    report = tmp_path_factory.mktemp("report") / "report.json"
    assert train_main(["--model", "learned", "--out", str(out), "--seed", "3", "--report", str(report), *TINY]) == 0
    return out, json.loads(report.read_text())


def test_training_writes_a_text_model_with_metadata_and_a_report(tiny_artifact):
    out, report = tiny_artifact
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "model.txt"]
    assert (out / "model.txt").read_text().startswith("tree")  # LightGBM's text format, not a pickle
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["feature_names"] == feature_names()
    assert meta["report"]["scenario_types"] == ["bad_deploy", "default", "gc_storm"]
    assert report["rows"] > 0 and 0 < report["positives"] < report["rows"]
    assert set(report["out_of_type"]) >= {"auroc", "ece_uncalibrated", "ece_calibrated"}
    assert report["artifact_bytes"] < 2 * 1024 * 1024


def test_the_same_seed_gives_the_same_artifact(tiny_artifact, tmp_path):
    out, _ = tiny_artifact
    config = TrainConfig(seed=3, variants_per_type=1, rounds=8, exclude=tuple(TINY[5:-1]))
    train(tmp_path / "again", config)
    assert (tmp_path / "again" / "model.txt").read_bytes() == (out / "model.txt").read_bytes()


def test_training_refuses_unknown_scenario_types(capsys, tmp_path):
    assert train_main(["--out", str(tmp_path / "x"), "--exclude", "no_such_type", "--quiet"]) == 2
    assert "no_such_type" in capsys.readouterr().err


def test_loading_verifies_checksum_format_and_version(tiny_artifact, tmp_path):
    out, _ = tiny_artifact
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert load_artifact(copy).booster.num_feature() == N_FEATURES
    text = (copy / "model.txt").read_text()
    (copy / "model.txt").write_text(text.replace("tree", "tree ", 1))
    with pytest.raises(ModelError, match="sha256"):
        load_artifact(copy)
    shutil.copy(out / "model.txt", copy / "model.txt")
    meta = json.loads((out / "metadata.json").read_text())
    for change, message in (({"format": 99}, "format 99"), ({"model_version": "0"}, "model version '0'")):
        (copy / "metadata.json").write_text(json.dumps(meta | change))
        with pytest.raises(ModelError, match=message):
            load_artifact(copy)
    (copy / "metadata.json").write_text("{not json")
    with pytest.raises(ModelError, match="JSON"):
        load_artifact(copy)
    with pytest.raises(ModelError, match="python -m dashboard.train"):
        load_artifact(tmp_path / "empty")


def test_the_bundled_artifact_loads_and_is_small():
    artifact = load_artifact(DEFAULT_ARTIFACT)
    assert artifact.version == LearnedModel.version
    size = sum(p.stat().st_size for p in DEFAULT_ARTIFACT.iterdir())
    assert size <= 2 * 1024 * 1024
    model = get_model("learned")
    assert model.artifact_hash() == artifact.sha256


def test_scores_are_probabilities_and_contributions_add_up(tiny_artifact):
    out, _ = tiny_artifact
    source = synthetic_fleet(stable=40)
    model = LearnedModel(artifact=str(out))
    scorer = Scorer(source, model, cache=MemoryScoreCache())
    probs = scorer.probabilities(0, source.n_ticks() - 1)
    assert ((probs >= 0) & (probs <= 1)).all()
    tick = source.n_ticks() - 25
    scores = scorer.at(tick, explain=[3])
    filled = ~np.isnan(scores.contributions[:, 0])
    assert filled.sum() == 6  # the top 5 and server 3
    np.testing.assert_allclose(scores.contributions[filled].sum(axis=1), scores.probability[filled], rtol=1e-5)
    assert (scores.contributions[filled] >= 0).all()
    assert set(scores.factors) == {"cpu_pct", "mem_pct", "latency_ms", "error_rate", "disk_io_mb_s",
                                   "net_in_mb_s", "net_out_mb_s", "gc_pause_ms"}


def test_a_different_artifact_is_a_different_cache_key(tiny_artifact):
    from dashboard.models.scoring import model_identity

    out, _ = tiny_artifact
    assert model_identity(LearnedModel(artifact=str(out))) != model_identity(LearnedModel())


def test_share_positive_is_additive_and_ignores_pushes_down():
    push = np.array([[2.0, -1.0, 1.0], [-1.0, -2.0, -0.5]])
    present = np.array([[True, True, True], [True, True, False]])
    out = share_positive(push, np.array([0.6, 0.1]), present)
    np.testing.assert_allclose(out.sum(axis=1), [0.6, 0.1])
    np.testing.assert_allclose(out[0], [0.4, 0.0, 0.2])
    np.testing.assert_allclose(out[1], [0.05, 0.05, 0.0])  # nothing pushes up: evenly over the present


def test_feature_columns_group_by_metric():
    rng = np.random.default_rng(0)
    m = {"cpu_pct": 30 + rng.normal(0, 1, (60, 2)), "m01": rng.normal(0, 1, (60, 2)), "m02": rng.normal(0, 1, (60, 2))}
    m["m02"][-6:, 0] += 30
    from dashboard.models.adaptive import AdaptiveModel
    from dashboard.models.baselines import own_baseline

    window = make_window(m)
    baseline = own_baseline(AdaptiveModel(), window)
    X, slots = (a[0] for a in features(window, baseline))
    assert X.shape == (2, N_FEATURES)
    assert slots[0, 0] == baseline.metrics.index("m02")  # the most unusual extra fills the first slot
    w = metric_weights(slots, X, baseline.metrics)
    # every feature with a value belongs to the metrics in full (absent metrics' slots are NaN)
    np.testing.assert_allclose(w.sum(axis=2)[np.isfinite(X)], 1.0)


def test_platt_scaling_recovers_a_known_calibration():
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 2, 20000)
    truth = 1 / (1 + np.exp(-(0.5 * raw - 1.0)))
    y = rng.random(raw.shape) < truth
    a, b = platt(raw, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(-1.0, abs=0.08)
    calibrated = 1 / (1 + np.exp(-(a * raw + b)))
    assert expected_calibration_error(calibrated, y) < 0.02
    assert expected_calibration_error(1 / (1 + np.exp(-raw)), y) > 0.1
