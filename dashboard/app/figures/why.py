"""The "why" bars: what each driver that matters adds to one server's probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from dash import Patch

from .style import ALERT_COLORS, GRID, base_layout, note, plain

HEIGHT = 200
QUIET_NOTE = "nothing stands out"


def _why_data(labels: Sequence[str], contributions: np.ndarray) -> dict:
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    return {
        "x": np.round(c, 3),
        "y": plain(labels),
        "marker": {"color": np.where(c > 0, ALERT_COLORS[2], ALERT_COLORS[0]).astype(object)},
    }


def _why_notes(labels: Sequence[str]) -> list[dict]:
    return [] if len(labels) else [note(QUIET_NOTE, size=12)]


def why_figure(labels: Sequence[str], contributions: np.ndarray, uirevision: str) -> dict:
    """What each driver adds to one server's probability, as horizontal bars, largest first.

    ``labels`` are readable, with the metric's value (``latency 240 ms``). No driver:
    a note says nothing stands out.
    """
    trace = {
        "type": "bar",
        "orientation": "h",
        # Contributions are shares of the probability: percent points, like every risk shown.
        "hovertemplate": "%{y}: %{x:+.1%}<extra></extra>",
        "texttemplate": "%{x:+.0%}",
        "textposition": "outside",
        "cliponaxis": False,
        **_why_data(labels, contributions),
    }
    layout = base_layout(
        uirevision,
        HEIGHT,
        margin={"l": 110, "r": 36, "t": 4, "b": 24},
        xaxis={
            "range": _why_range(contributions),
            "tickformat": ".0%",
            "gridcolor": GRID,
            "fixedrange": True,
            "zeroline": True,
            "visible": len(labels) > 0,
        },
        yaxis={
            "autorange": "reversed",
            "fixedrange": True,
            "automargin": True,
            "visible": len(labels) > 0,
        },
        bargap=0.35,
        annotations=_why_notes(labels),
    )
    return {"data": [trace], "layout": layout}


def why_patch(labels: Sequence[str], contributions: np.ndarray) -> Patch:
    patch = Patch()
    for key, value in _why_data(labels, contributions).items():
        patch["data"][0][key] = value
    patch["layout"]["xaxis"]["range"] = _why_range(contributions)
    patch["layout"]["xaxis"]["visible"] = len(labels) > 0
    patch["layout"]["yaxis"]["visible"] = len(labels) > 0
    patch["layout"]["annotations"] = _why_notes(labels)
    return patch


def _why_range(contributions: np.ndarray) -> list[float]:
    """At least 0..1; wider when a model reports negative or larger contributions."""
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    low = min(0.0, float(c.min(initial=0.0)) * 1.15)
    high = max(1.0, float(c.max(initial=0.0)) * 1.15)
    return [round(low, 3), round(high, 3)]
