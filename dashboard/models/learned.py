"""The ``learned`` risk model: LightGBM on scale-free features, calibrated, explained per metric.

It predicts "this server is in an incident now or enters one within the horizon" from the
features of :mod:`dashboard.models.features` (deviation from the server's own normal and
from its profile peers, slopes, persistence), learned on generated fleets by
``python -m dashboard.train --model learned``.

**The artifact** is a folder with LightGBM's own text model (``model.txt``, never a
pickle) and ``metadata.json`` (format and model versions, the feature names, the
calibration, the sha256 of ``model.txt`` and the training report). Loading refuses an
artifact whose checksum, format version or features do not match, with a message naming
the file. The pre-trained artifact ships in ``dashboard/models/artifacts/learned/``;
``FLEET_LEARNED_MODEL`` or the ``artifact`` parameter points at another one.

**Calibration** is Platt scaling of LightGBM's raw log-odds (``a * raw + b``), fitted on
scenario types the trees never saw, so the probability means what it says and stays
additive in log-odds.

**Contributions:** LightGBM's ``pred_contrib`` gives each feature's push on the raw
log-odds (TreeSHAP); they are scaled by the calibration's ``a`` and grouped by the metric
each feature reads (:func:`~dashboard.models.features.metric_weights`). To make them add up
to the probability ``p``, as the ``RiskScores`` contract asks, ``p`` is shared among the
metrics in proportion to their *positive* log-odds pushes: ``c_m = p * max(φ_m, 0) / Σ
max(φ_j, 0)`` (evenly over the metrics present when nothing pushes up). Metrics that
lower the risk get 0. They are computed only for the servers asked for (the selected and
the riskiest), since TreeSHAP costs far more than a prediction.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ModelError
from ..sources.base import Window
from .adaptive import explained_rows, metrics_of
from .base import Parameter, RiskModel, RiskScores
from .baselines import Baseline, BaselinePolicy, fit_baseline, own_baseline
from .features import N_FEATURES, WINDOW_TICKS, feature_names, features, metric_weights

ARTIFACT_FORMAT = 1  # the layout of metadata.json and model.txt
MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "learned"


@dataclass(frozen=True)
class Artifact:
    """A loaded, verified artifact: the booster, its calibration and its metadata."""

    path: Path
    booster: Any  # lightgbm.Booster
    calibration: tuple[float, float]  # a, b: calibrated log-odds = a * raw + b
    metadata: dict[str, Any]
    sha256: str  # of model.txt and metadata.json together: the scores' cache key

    @property
    def version(self) -> str:
        return str(self.metadata.get("model_version", "?"))


def artifact_digest(model_text: bytes) -> str:
    return hashlib.sha256(model_text).hexdigest()


def write_artifact(folder: str | Path, booster: Any, calibration: tuple[float, float], metadata: dict[str, Any]) -> Path:
    """Write ``model.txt`` and ``metadata.json`` into ``folder`` (each atomically)."""
    from ..atomic import write_text_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = booster.model_to_string(num_iteration=-1)
    meta = dict(metadata)
    meta.update(
        {
            "format": ARTIFACT_FORMAT,
            "kind": "lightgbm-text",
            "model_file": MODEL_FILE,
            "model_sha256": artifact_digest(text.encode("utf-8")),
            "feature_names": feature_names(),
            "calibration": {"a": float(calibration[0]), "b": float(calibration[1])},
        }
    )
    write_text_atomic(folder / MODEL_FILE, text)
    write_text_atomic(folder / METADATA_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return folder


def load_artifact(folder: str | Path) -> Artifact:
    """Load and verify an artifact folder; :class:`ModelError` names what is wrong.

    Loaded once per process while its files are unchanged (their sizes and times are part
    of the key), so a replaced or edited file is verified again."""
    path = Path(folder).resolve()
    stamp = []
    for name in (METADATA_FILE, MODEL_FILE):
        try:
            info = (path / name).stat()
            stamp.append((info.st_size, info.st_mtime_ns, info.st_ino))
        except OSError:
            stamp.append(None)
    return _load_artifact(str(path), tuple(stamp))


@lru_cache(maxsize=4)
def _load_artifact(folder: str, _stamp: tuple) -> Artifact:
    path = Path(folder)
    meta_path, model_path = path / METADATA_FILE, path / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelError(
            f"learned model artifact {path}: expected {METADATA_FILE} and {MODEL_FILE} there; "
            "build one with: python -m dashboard.train --model learned --out PATH"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"learned model artifact {meta_path}: not readable JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != ARTIFACT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelError(
            f"learned model artifact {meta_path}: format {found!r}, this version reads format {ARTIFACT_FORMAT}; "
            "retrain with: python -m dashboard.train --model learned --out PATH"
        )
    if meta.get("model_version") != LearnedModel.version:
        raise ModelError(
            f"learned model artifact {meta_path}: model version {meta.get('model_version')!r}, this version of "
            f"the learned model is {LearnedModel.version!r}; retrain with: python -m dashboard.train --model learned --out PATH"
        )
    if meta.get("feature_names") != feature_names():
        raise ModelError(f"learned model artifact {meta_path}: its features differ from this version's; retrain it")
    raw = model_path.read_bytes()
    digest = artifact_digest(raw)
    if digest != meta.get("model_sha256"):
        raise ModelError(
            f"learned model artifact {model_path}: sha256 {digest[:12]}... does not match the "
            f"{str(meta.get('model_sha256'))[:12]}... recorded in {METADATA_FILE}: the file was changed or damaged"
        )
    calibration = meta.get("calibration") or {}
    try:
        a, b = float(calibration["a"]), float(calibration["b"])
    except (KeyError, TypeError, ValueError):
        raise ModelError(f"learned model artifact {meta_path}: calibration must hold numbers a and b") from None
    if not (np.isfinite(a) and np.isfinite(b)):
        raise ModelError(f"learned model artifact {meta_path}: calibration a and b must be finite")
    try:
        import lightgbm
    except ImportError:  # pragma: no cover - a declared dependency
        raise ModelError("the learned model needs lightgbm: pip install lightgbm") from None
    try:
        booster = lightgbm.Booster(model_str=raw.decode("utf-8"))
    except (lightgbm.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise ModelError(f"learned model artifact {model_path}: LightGBM cannot read it ({exc})") from None
    if booster.num_feature() != N_FEATURES:
        raise ModelError(f"learned model artifact {model_path}: {booster.num_feature()} features, expected {N_FEATURES}")
    whole = hashlib.sha256(raw + meta_path.read_bytes()).hexdigest()
    return Artifact(path, booster, (a, b), meta, whole)


class LearnedModel(RiskModel):
    """LightGBM on scale-free features, calibrated; contributions from pred_contrib per metric."""

    name: ClassVar[str] = "learned"
    description: ClassVar[str] = (
        "Trained model: LightGBM on scale-free features (deviation from each server's own normal "
        "and from its peers, slopes, persistence), calibrated on held-out scenario types. Per-metric "
        "contributions from LightGBM's pred_contrib, shared so they add up to the probability."
    )
    version: ClassVar[str] = "1"
    history: ClassVar[int] = WINDOW_TICKS
    metrics: ClassVar[tuple[str, ...]] = ("*",)
    explains_subsets: ClassVar[bool] = True
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("artifact", "", "folder of a trained artifact (default: the bundled one)"),
    )

    def __init__(self, **params: Any):
        super().__init__(**params)
        where = self.params["artifact"]
        self.artifact = load_artifact(where if where else DEFAULT_ARTIFACT)
        self.baseline_policy = BaselinePolicy(**self.artifact.metadata.get("baseline_policy", {}))

    def artifact_hash(self) -> str:
        return self.artifact.sha256

    def fit_baseline(self, history: Window, checkpoint: int) -> Baseline:
        return fit_baseline(history, metrics_of(history), self.baseline_policy, checkpoint)

    def score(self, window: Window, explain: Any = None) -> RiskScores:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            baseline = window.baseline if isinstance(window.baseline, Baseline) else own_baseline(self, window)
            n = window.n_servers
            if baseline is None or n == 0:
                factors = metrics_of(window)
                return RiskScores(np.zeros(n), np.zeros((n, len(factors))), factors)
            X, slots = (a[0] for a in features(window, baseline))
            a, b = self.artifact.calibration
            raw = self.artifact.booster.predict(X, raw_score=True, num_threads=1)
            probability = 1.0 / (1.0 + np.exp(-(a * raw + b)))
            factors = baseline.metrics
            contributions = np.full((n, len(factors)), np.nan)
            rows = explained_rows(explain, probability)
            if rows.size and factors:
                push = self.artifact.booster.predict(X[rows], pred_contrib=True, num_threads=1)[:, :N_FEATURES] * a
                per_metric = np.einsum("rf,rfm->rm", push, metric_weights(slots[rows], X[rows], factors))
                contributions[rows] = share_positive(per_metric, probability[rows], baseline.present[:, rows].T)
            return RiskScores(probability, contributions, factors)


def share_positive(push: np.ndarray, probability: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Share each row's probability among metrics in proportion to their positive log-odds
    push (evenly over the metrics present when none pushes up); rows add up to it."""
    positive = np.clip(np.nan_to_num(push), 0.0, None)
    total = positive.sum(axis=1, keepdims=True)
    even = present.astype(np.float64)
    even_total = even.sum(axis=1, keepdims=True)
    even = np.where(even_total > 0, even / np.where(even_total > 0, even_total, 1.0), 1.0 / max(push.shape[1], 1))
    share = np.where(total > 0, positive / np.where(total > 0, total, 1.0), even)
    return share * probability[:, None]


__all__ = [
    "ARTIFACT_FORMAT",
    "DEFAULT_ARTIFACT",
    "Artifact",
    "LearnedModel",
    "load_artifact",
    "share_positive",
    "write_artifact",
]
