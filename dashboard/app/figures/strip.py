"""The fleet risk strip: a servers x time heat map, riskiest row on top."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from dash import Patch

from ..arrays import has_data
from ..captions import NO_SCORES, NO_SERVERS
from ..fleet import Extent
from .style import (
    LOWER_HEIGHT,
    RISK_SCALE,
    base_layout,
    extend,
    extent_options,
    note,
    plain,
    time_axis,
)


def strip_figure(
    times: np.ndarray,
    z: np.ndarray,
    labels: Sequence[str],
    uirevision: str,
    *,
    extent: Extent | None = None,
    phase_bands: list[dict] | None = None,
    empty_note: str | None = None,
) -> dict:
    """Servers x time heat map of risk in percent, riskiest row on top.

    ``z`` is ``(T, R)``: one row per tick, shown transposed so time runs along x and
    a new tick appends one z row (a 4-op patch whatever the number of servers).
    ``phase_bands`` (``style.phase_bands``) run as a thin coloured row above the map.
    With no rows, or no score in the window, the map gives way to a message
    (``empty_note``, or a default) and the colour bar is hidden.
    """
    rows = len(labels)
    scored = rows > 0 and has_data(z)
    message = None if scored else empty_note or (NO_SERVERS if not rows else NO_SCORES)
    trace = {
        "type": "heatmap",
        "transpose": True,
        "x": times,
        "y": plain(labels),  # a click reads the label back: parse_click unescapes it
        "z": z,
        "zmin": 0,
        "zmax": 100,
        "colorscale": RISK_SCALE,
        "showscale": scored,
        "colorbar": {
            "title": {"text": "risk", "side": "right"},
            "ticksuffix": "%",
            "thickness": 10,
            "len": 0.9,
        },
        "hovertemplate": "<b>%{y}</b><br>%{x}<br>risk %{z}%<extra></extra>",
        "xgap": 0,
        "ygap": 0,
    }
    height = LOWER_HEIGHT
    layout = base_layout(
        uirevision,
        height,
        margin={"l": 110, "r": 8, "t": 16, "b": 32},
        # The row labels sit left of the map, clear of the first time label: keep it.
        xaxis=time_axis(extent, showgrid=False, ticklabeloverflow="allow"),
        yaxis={
            "autorange": "reversed",
            "automargin": True,
            "tickfont": {"size": 10},
            "showgrid": False,
            "dtick": 1,  # every row labelled: at most STRIP_MAX_ROWS + profiles
            "visible": rows > 0,
        },
        annotations=[] if message is None else [note(message)],
        shapes=list(phase_bands or ()),
    )
    # A heat map without rows would make plotly invent a -1..4 axis: leave the trace out.
    return {"data": [trace] if rows else [], "layout": layout}


def strip_patch(
    times: np.ndarray, z_rows: np.ndarray, n_drop: int, extent: Extent
) -> Patch:
    patch = Patch()
    extend(patch["data"][0]["x"], times, n_drop)
    extend(patch["data"][0]["z"], z_rows, n_drop)
    patch["layout"]["xaxis"]["autorangeoptions"] = extent_options(extent)
    return patch


