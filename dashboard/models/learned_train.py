"""Train the ``learned`` model's artifact: procedural scenarios -> features -> LightGBM ->
Platt calibration on held-out scenario types -> ``model.txt`` + ``metadata.json``.

Calibration follows scikit-learn's ``CalibratedClassifierCV(ensemble=False)``: the
scenario types are split into two halves; a model trained on each half scores the other,
so every row gets a raw score from trees that never saw its scenario type; Platt scaling
is fitted on those out-of-type scores and the final model is trained on every type. The
training report records the out-of-type AUROC and expected calibration error (before and
after calibration), the rows, the time and the most used features.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DashboardError
from ..evaluation.measures import auroc
from ..sources.memory import FrameSource
from .adaptive import metrics_of
from .baselines import BaselinePolicy, fit_baseline
from .features import feature_names
from .learned import LearnedModel, write_artifact
from .training import (
    augment,
    expected_calibration_error,
    scenario_types,
    span_rows,
    varied_scenarios,
)


class TrainingError(DashboardError, ValueError):
    """Training cannot run as asked (no scenario types left, too little data)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; the same config gives the same artifact."""

    seed: int = 7
    variants_per_type: int = 8
    rounds: int = 100
    leaves: int = 15
    learning_rate: float = 0.08
    min_data_in_leaf: int = 40
    exclude: tuple[str, ...] = ()  # scenario types left out (held-out evaluation)
    # One thread: on a machine that also does other work, LightGBM's OpenMP threads wait on
    # each other (two threads trained 2.7x slower than one on a busy 2-core machine).
    threads: int = 1
    healthy_keep: float = 0.35  # share of rows without any label kept (they are plentiful)
    baseline_policy: dict[str, Any] = field(default_factory=dict)


def lgb_params(config: TrainConfig) -> dict[str, Any]:
    return {
        "objective": "binary",
        "learning_rate": config.learning_rate,
        "num_leaves": config.leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "max_bin": 63,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": config.threads,
        "verbosity": -1,
    }


def build_dataset(
    config: TrainConfig, progress: Callable[[int, int, str], None] | None = None, scenario_dir: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Feature rows, labels and each row's scenario type (index into the returned names)."""
    from ..generate import generate_table

    kinds = [k for k in scenario_types(scenario_dir) if k not in config.exclude]
    if len(kinds) < 2:
        raise TrainingError(
            f"training needs at least two scenario types; left after --exclude: {', '.join(kinds) or 'none'}"
        )
    rng = np.random.default_rng(config.seed)
    variants = [v for kind in kinds for v in varied_scenarios(kind, config.variants_per_type, rng, scenario_dir)]
    xs, ys, ts = [], [], []
    for i, variant in enumerate(variants):
        if progress:
            progress(i, len(variants), variant.kind)
        dataset = generate_table(variant.scenario)
        frame = augment(dataset.table.to_pandas(), variant, rng)
        source = FrameSource(frame, label=f"{variant.kind}-{i}", metadata=dataset.metadata)
        X, y = span_rows(source, _FeatureModel(config))
        keep = y | (rng.random(y.shape[0]) < config.healthy_keep)
        xs.append(X[keep])
        ys.append(y[keep])
        ts.append(np.full(int(keep.sum()), kinds.index(variant.kind)))
    if progress:
        progress(len(variants), len(variants), "")
    X, y, t = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
    if y.sum() == 0 or y.all():
        raise TrainingError("the generated training data holds only one class; use more variants")
    return X, y, t, kinds


class _FeatureModel:
    """What :func:`span_rows` needs of a model: its baseline policy and fitting."""

    def __init__(self, config: TrainConfig):
        self.baseline_policy = BaselinePolicy(**config.baseline_policy)

    reads_ground_truth = False
    history = 1

    def key(self) -> str:
        return "features"

    def fit_baseline(self, history: Any, checkpoint: int) -> Any:
        return fit_baseline(history, metrics_of(history), self.baseline_policy, checkpoint)

    def score(self, window: Any) -> Any:  # pragma: no cover - never scored
        raise NotImplementedError


def train(
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    log: Callable[[str], None] | None = None,
    scenario_dir: Any = None,
) -> dict[str, Any]:
    """Train, calibrate and write the artifact to ``out``; returns the training report."""
    import lightgbm

    config = config or TrainConfig()
    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    X, y, types, kinds = build_dataset(config, progress, scenario_dir)
    t_data = time.perf_counter() - t0
    say(f"{X.shape[0]:,} rows ({int(y.sum()):,} positive) from {len(kinds)} scenario types in {t_data:.0f} s")
    params = lgb_params(config)
    names = feature_names()

    def fit(sel: np.ndarray) -> Any:
        data = lightgbm.Dataset(X[sel], label=y[sel].astype(np.float64), feature_name=names, free_raw_data=True)
        return lightgbm.train(params, data, num_boost_round=config.rounds)

    # Out-of-type raw scores: two halves of the scenario types score each other.
    order = np.random.default_rng(config.seed).permutation(len(kinds))
    half = set(order[: len(kinds) // 2].tolist())
    in_a = np.isin(types, sorted(half))
    raw = np.empty(y.shape[0])
    for train_sel in (in_a, ~in_a):
        booster = fit(train_sel)
        raw[~train_sel] = booster.predict(X[~train_sel], raw_score=True, num_threads=config.threads)
    # Only ``healthy_keep`` of the unlabelled rows were kept: each kept one stands for
    # 1 / healthy_keep rows, so the calibration (and its check) sees the true incident rate.
    weight = np.where(y, 1.0, 1.0 / config.healthy_keep)
    a, b = platt(raw, y, weight)
    calibrated = 1.0 / (1.0 + np.exp(-(a * raw + b)))
    uncalibrated = 1.0 / (1.0 + np.exp(-raw))

    def ece(p: np.ndarray, sel: Any = slice(None)) -> float:
        return expected_calibration_error(p[sel], y[sel], weight=weight[sel])

    say(f"out-of-type AUROC {auroc(raw, y):.3f}, ECE {ece(uncalibrated):.3f} -> "
        f"{ece(calibrated):.3f} after Platt scaling (a={a:.3f}, b={b:.3f})")
    booster = fit(np.ones(y.shape[0], dtype=bool))
    elapsed = time.perf_counter() - t0
    gains = booster.feature_importance(importance_type="gain")
    top = np.argsort(-gains)[:12]
    report = {
        "rows": int(X.shape[0]),
        "positives": int(y.sum()),
        "scenario_types": kinds,
        "excluded_types": list(config.exclude),
        "rows_per_type": {k: int((types == i).sum()) for i, k in enumerate(kinds)},
        "out_of_type": {
            "auroc": auroc(raw, y),
            "ece_uncalibrated": ece(uncalibrated),
            "ece_calibrated": ece(calibrated),
            "per_type_ece": {k: ece(calibrated, types == i) for i, k in enumerate(kinds)},
        },
        "seconds": {"data": round(t_data, 1), "total": round(elapsed, 1)},
        "top_features_by_gain": {names[j]: round(float(gains[j]), 1) for j in top},
    }
    metadata = {
        "model_version": LearnedModel.version,
        "trained_with": {"config": asdict(config), "lightgbm": lightgbm.__version__, "params": params},
        "baseline_policy": dict(config.baseline_policy),
        "report": report,
    }
    folder = write_artifact(out, booster, (a, b), metadata)
    size = sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
    report["artifact_bytes"] = size
    say(f"artifact written to {folder} ({size / 1024:.0f} KB) in {elapsed:.0f} s")
    return report


def platt(raw: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling: ``a, b`` minimising the (``weight``-ed) log-loss of ``sigmoid(a * raw
    + b)`` (Newton's method on the two parameters, with Platt's smoothed targets)."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    weight = np.ones_like(raw) if weight is None else np.asarray(weight, dtype=np.float64)
    positives, negatives = float(weight[y].sum()), float(weight[~y].sum())
    target = np.where(y, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = 1.0, 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a * raw + b)))
        g = weight * (p - target)
        w = weight * np.maximum(p * (1 - p), 1e-12)
        grad = np.array([(g * raw).sum(), g.sum()])
        hess = np.array([[(w * raw * raw).sum(), (w * raw).sum()], [(w * raw).sum(), w.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


__all__ = ["TrainConfig", "TrainingError", "build_dataset", "platt", "train"]
