"""The top-5 bar chart: the riskiest servers, coloured by alert state, labelled with profile."""

from __future__ import annotations

import numpy as np
from dash import Patch

from ..arrays import has_data
from ..captions import NO_SCORES_NOW, NO_SERVERS
from .style import ALERT_COLORS, ALERT_LABELS, GRID, base_layout, note, plain, plain_text

INSIDE_FROM = 0.35  # a bar this long holds its label; a shorter one has it beside it


def _top5_data(names, profiles, probability, alerts) -> dict:
    states = np.clip(np.asarray(alerts, dtype=np.int64), 0, len(ALERT_COLORS) - 1)
    p = np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=0.0)
    inside = p >= INSIDE_FROM
    return {
        "x": np.round(p, 3),
        "y": plain(names),
        "customdata": np.asarray(names, dtype=object),  # the name itself, for clicks (never drawn)
        "text": np.array(
            [
                f"{plain_text(prof)} · {ALERT_LABELS[s]} · {v:.0%}"
                for prof, s, v in zip(profiles, states, p, strict=False)
            ],
            dtype=object,
        ),
        # Every bar says its state and risk, a zero-length one too (beside it); inside a bar
        # plotly picks the text colour that contrasts with the bar's.
        "textposition": np.where(inside, "inside", "outside").astype(object),
        "marker": {"color": np.array([ALERT_COLORS[s] for s in states], dtype=object)},
    }


def _top5_notes(names, probability, empty_note: str | None) -> list[dict]:
    if len(names) == 0:
        return [note(empty_note or NO_SERVERS)]
    if not has_data(probability):
        return [note(empty_note or NO_SCORES_NOW)]
    return []


def top5_figure(
    names,
    profiles,
    probability,
    alerts,
    threshold: float,
    uirevision: str,
    *,
    empty_note: str | None = None,
) -> dict:
    """Risk-ranked horizontal bars, riskiest on top, coloured by alert state, labelled with profile.

    With no servers, or no score at this tick, the bars give way to ``empty_note``
    (a default message when None) over a plain 0-100% axis.
    """
    trace = {
        "type": "bar",
        "orientation": "h",
        "insidetextanchor": "start",
        "insidetextfont": {"size": 11},
        "outsidetextfont": {"color": "#5d6d7e", "size": 11},
        "hovertemplate": "<b>%{y}</b><br>%{text}<br>risk %{x:.0%}<extra></extra>",
        "cliponaxis": False,
        **_top5_data(names, profiles, probability, alerts),
    }
    layout = base_layout(
        uirevision,
        260,
        margin={"l": 96, "r": 20, "t": 8, "b": 32},  # r: room for the "100%" tick label
        xaxis={
            "range": [0, 1],
            "tickformat": ".0%",
            "dtick": 0.25,
            "gridcolor": GRID,
            "fixedrange": True,
        },
        yaxis={
            "autorange": "reversed",
            "fixedrange": True,
            "automargin": True,
            "visible": len(names) > 0,
        },
        bargap=0.25,
        shapes=[_vline(threshold)],
        annotations=_top5_notes(names, probability, empty_note),
    )
    return {"data": [trace], "layout": layout}


def top5_patch(names, profiles, probability, alerts) -> Patch:
    """The bars of a new tick, and the "no scores" note shown or cleared to match."""
    patch = Patch()
    for key, value in _top5_data(names, profiles, probability, alerts).items():
        patch["data"][0][key] = value
    patch["layout"]["annotations"] = _top5_notes(names, probability, None)
    return patch


def _vline(x: float) -> dict:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": "#c0392b", "width": 1, "dash": "dot"},
    }


