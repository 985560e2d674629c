"""The "why" bars: what each factor adds to one server's probability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from dash import Patch

from .style import GRID, base_layout, plain


def _why_data(factors: Sequence[str], contributions: np.ndarray) -> dict:
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    return {
        "x": np.round(c, 3),
        "y": plain(factors),
        "marker": {"color": np.where(c > 0, "#e74c3c", "#18bc9c").astype(object)},
    }


def why_figure(factors: Sequence[str], contributions: np.ndarray, uirevision: str) -> dict:
    """What each factor adds to one server's probability, as horizontal bars (model order)."""
    trace = {
        "type": "bar",
        "orientation": "h",
        # Contributions are shares of the probability: percent points, like every risk shown.
        "hovertemplate": "%{y}: %{x:+.1%}<extra></extra>",
        "texttemplate": "%{x:+.0%}",
        "textposition": "outside",
        "cliponaxis": False,
        **_why_data(factors, contributions),
    }
    layout = base_layout(
        uirevision,
        220,
        margin={"l": 80, "r": 36, "t": 4, "b": 24},
        xaxis={
            "range": _why_range(contributions),
            "tickformat": ".0%",
            "gridcolor": GRID,
            "fixedrange": True,
            "zeroline": True,
        },
        yaxis={"autorange": "reversed", "fixedrange": True, "automargin": True},
        bargap=0.35,
    )
    return {"data": [trace], "layout": layout}


def why_patch(factors: Sequence[str], contributions: np.ndarray) -> Patch:
    patch = Patch()
    for key, value in _why_data(factors, contributions).items():
        patch["data"][0][key] = value
    patch["layout"]["xaxis"]["range"] = _why_range(contributions)
    return patch


def _why_range(contributions: np.ndarray) -> list[float]:
    """At least 0..1; wider when a model reports negative or larger contributions."""
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    low = min(0.0, float(c.min(initial=0.0)) * 1.15)
    high = max(1.0, float(c.max(initial=0.0)) * 1.15)
    return [round(low, 3), round(high, 3)]


