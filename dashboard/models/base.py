"""The risk-model interface: a window of fleet history in, per-server probability and its "why" out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..parameters import Parameter, ParameterError, parse_values
from ..sources.base import Window


@dataclass(frozen=True)
class RiskScores:
    """A model's verdict on the last tick of a window, one entry per server.

    ``contributions`` has shape ``(N, len(factors))``: how much each factor
    (usually a metric) adds to the probability; each row sums to ``probability``
    (learned models map their log-odds contributions onto the probability so that
    they do). Rows the caller did not ask to explain are NaN (see ``RiskModel.score``).
    """

    probability: np.ndarray  # float64 (N,), in [0, 1]
    contributions: np.ndarray  # float64 (N, F)
    factors: tuple[str, ...]  # names of the contribution columns

    def top_factors(self, server: int, k: int = 3) -> list[tuple[str, float]]:
        row = self.contributions[server]
        order = np.argsort(-row)[:k]
        return [(self.factors[j], float(row[j])) for j in order if row[j] > 0]


class RiskModel(ABC):
    """What a risk-model plug-in implements.

    ``score`` takes the whole fleet's history at once and must be vectorised over
    servers. A model never sees ground truth unless ``reads_ground_truth`` is True
    (the scorer strips it from the window), and such a model says so in its name
    and description.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    history: ClassVar[int] = 60  # ticks of history the model wants
    metrics: ClassVar[tuple[str, ...]] = ()  # metrics it reads
    reads_ground_truth: ClassVar[bool] = False
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    # Bump when the model's code changes what it scores: cached scores of other versions
    # are then never served.
    version: ClassVar[str] = "1"
    # True when ``score`` takes ``explain`` and computes contributions only for the
    # servers it names (cheaper for models whose explanations cost more than scores).
    explains_subsets: ClassVar[bool] = False
    # A model that learns each server's normal from long history returns a
    # ``dashboard.models.baselines.BaselinePolicy`` here and implements ``fit_baseline``;
    # the scorer then estimates one baseline per checkpoint and source and attaches it
    # to every window it scores (``window.baseline``).
    baseline_policy: Any = None

    def __init__(self, **params: Any):
        self.params = self.resolve_params(params)

    @classmethod
    def resolve_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``params`` (typed by the one parser of declared parameters:
        ``"2"`` and ``2`` are one setting, and one cache key); unknown names and out-of-range
        values are refused, every one named."""
        from ..errors import ModelError

        known = [p.name for p in cls.parameters]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ModelError(
                f"model {cls.name!r} has no parameter(s) {', '.join(unknown)}; "
                f"it takes: {', '.join(known) or 'none'}"
            )
        try:
            return parse_values(cls.parameters, params)
        except ParameterError as exc:
            raise ModelError(f"model {cls.name!r}: parameter {exc}") from None

    @abstractmethod
    def score(self, window: Window) -> RiskScores:
        """Probability and contributions for every server at the window's last tick.

        A model with ``explains_subsets`` takes ``score(window, explain=...)``: None
        explains every server, an int ``k`` the ``k`` most probable, an index array those
        servers; the other contribution rows are NaN. Probabilities are always complete.
        """

    def fit_baseline(self, history: Window, checkpoint: int) -> Any:
        """Each server's normal from ``history`` (the ticks before ``checkpoint``), for
        models with a ``baseline_policy``; None for the others."""
        return None

    def artifact_hash(self) -> str:
        """A digest of the trained artifact (weights file) the scores depend on; "" for none.

        Learned models return e.g. the sha256 of their weights, so a retrained model never
        reads the scores of the previous one from a shared cache.
        """
        return ""

    def key(self) -> str:
        """Identifies the model and its parameters, for caching scores."""
        items = ",".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.name}({items})"
