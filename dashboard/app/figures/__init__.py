"""Figure builders: numpy arrays in, plain figure dicts or ``Patch`` deltas out.

Pure functions, no I/O. Figures are dicts holding numpy arrays (never ``go.Figure``:
its validation costs more than the rest of a tick), and each full figure has a
matching ``*_patch`` that moves it forward by a few ticks: append the new points,
drop as many old ones, so a steady-state update is O(traces), not O(points).
One module per graph; ``style`` holds what they share.
"""

from __future__ import annotations

from .metrics import metrics_figure, metrics_patch
from .strip import strip_figure, strip_patch
from .style import (
    ALERT_COLORS,
    ALERT_LABELS,
    LOWER_HEIGHT,
    PHASE_COLORS,
    RISK_SCALE,
    SERVER_COLORS,
    empty_figure,
    phase_bands,
)
from .top5 import top5_figure, top5_patch
from .trend import trend_figure, trend_patch
from .why import why_figure, why_patch

__all__ = [
    "ALERT_COLORS",
    "ALERT_LABELS",
    "LOWER_HEIGHT",
    "PHASE_COLORS",
    "RISK_SCALE",
    "SERVER_COLORS",
    "empty_figure",
    "metrics_figure",
    "metrics_patch",
    "phase_bands",
    "strip_figure",
    "strip_patch",
    "top5_figure",
    "top5_patch",
    "trend_figure",
    "trend_patch",
    "why_figure",
    "why_patch",
]
