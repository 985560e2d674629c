"""The seed's incident-aware demo model: the heuristic plus risk read from the ground truth.

It exists to show what a perfectly informed model looks like during a demo. It reads
``incident_phase`` (the scenario's answer key), so it is never the default and its
evaluation scores say nothing about real detection skill.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .. import schema
from ..sources.base import Window
from .base import Parameter, RiskScores
from .heuristic import HeuristicModel, attribute_evidence


class PhaseAwareModel(HeuristicModel):
    """Heuristic risk plus a fixed risk per incident phase, read from ground truth."""

    name: ClassVar[str] = "phase-aware"
    description: ClassVar[str] = (
        "Demo only - READS GROUND TRUTH: the heuristic plus a fixed risk for servers whose "
        "incident_phase column says escalation or peak (the seed's incident-aware ModelAdapter), "
        "by default only those marked problem_child. It sees the answer key, so its evaluation "
        "scores are not a measure of detection."
    )
    reads_ground_truth: ClassVar[bool] = True
    factors: ClassVar[tuple[str, ...]] = (*HeuristicModel.factors, "incident_phase")
    parameters: ClassVar[tuple[Parameter, ...]] = (
        *HeuristicModel.parameters,
        Parameter("escalation_risk", 0.4, "risk added while a server is in an escalation phase", 0.0, 0.99),
        Parameter("peak_risk", 0.7, "risk added while a server is in a peak phase", 0.0, 0.99),
        Parameter(
            "affected_only",
            True,
            "add phase risk only to servers marked problem_child (generated data labels every "
            "server with the fleet's phase, healthy ones included)",
        ),
    )

    def score(self, window: Window) -> RiskScores:
        base = super().score(window)
        with np.errstate(all="ignore"):
            return self._add_phase(window, base)

    def _add_phase(self, window: Window, base: RiskScores) -> RiskScores:
        n = window.n_servers
        phase_risk = np.zeros(n)
        if window.phase is not None and window.n_ticks:
            current = np.asarray(window.phase)[-1]
            phase_risk[current == schema.PHASE_KINDS.index("escalation")] = self.params["escalation_risk"]
            phase_risk[current == schema.PHASE_KINDS.index("peak")] = self.params["peak_risk"]
            if self.params["affected_only"] and window.problem_child is not None:
                phase_risk[~np.asarray(window.problem_child, dtype=bool)] = 0.0
        # Recover the heuristic's evidence from its probability and shares, then add the
        # phase as one more factor whose evidence alone yields exactly its phase risk.
        total = -np.log1p(-np.clip(base.probability, 0.0, 1.0 - 1e-12))
        shares = np.where(base.probability[:, None] > 0, base.contributions / base.probability[:, None], 0.0)
        evidence = np.empty((n, len(self.factors)))
        evidence[:, :-1] = shares * total[:, None]
        evidence[:, -1] = -np.log1p(-phase_risk)
        return attribute_evidence(evidence, self.factors)
