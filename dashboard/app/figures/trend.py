"""The probability trend: fleet mean and max and the selected servers over phase bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from dash import Patch

from ..arrays import has_data, rounded
from ..captions import NO_SCORES
from ..fleet import Extent
from .style import (
    FLEET_MAX_COLOR,
    FLEET_MEAN_COLOR,
    GRID,
    SERVER_COLORS,
    base_layout,
    extend,
    extent_options,
    line_mode,
    note,
    plain,
    plain_text,
    time_axis,
)


def _hline(y: float, label: str, color: str) -> dict:
    return {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": color, "width": 1, "dash": "dot"},
        "label": {"text": label, "textposition": "end", "font": {"size": 10, "color": color}},
    }


def trend_figure(
    times: np.ndarray,
    mean: np.ndarray,
    peak: np.ndarray,
    servers: Mapping[str, np.ndarray],
    *,
    phase_bands: list[dict],
    threshold: float,
    clear_threshold: float,
    uirevision: str,
    extent: Extent | None = None,
    peak_servers: np.ndarray | None = None,
    empty_note: str = NO_SCORES,
) -> dict:
    """Fleet mean and max probability plus the selected servers, over phase bands and thresholds.

    ``extent`` is the window's first and last time (see ``style.time_axis``).
    ``peak_servers`` names the riskiest server at each tick (shown on hover). Without a
    single score in the window, ``empty_note`` says so.
    """
    peak_line = _line(times, peak, "fleet max", FLEET_MAX_COLOR, dash="dash")
    if peak_servers is not None:
        peak_line["customdata"] = np.asarray(peak_servers, dtype=object)  # for clicks
        peak_line["text"] = plain(peak_servers)
        peak_line["hovertemplate"] = "%{y:.0%} (%{text})"
    data = [_line(times, mean, "fleet mean", FLEET_MEAN_COLOR, width=2), peak_line]
    for i, (name, values) in enumerate(servers.items()):
        data.append(_line(times, values, name, SERVER_COLORS[i % len(SERVER_COLORS)], width=2.5))
    layout = base_layout(
        uirevision,
        260,
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "font": {"size": 11}},
        margin={"l": 48, "r": 12, "t": 28, "b": 32},
        xaxis=time_axis(extent),
        # Headroom above 100%: the phase names sit there, clear of a fleet max near 100%.
        yaxis={
            "range": [0, 1.13],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
            "gridcolor": GRID,
        },
        shapes=[
            *phase_bands,
            _hline(threshold, f"alert {threshold:.0%}", FLEET_MAX_COLOR),
            _hline(clear_threshold, f"clear {clear_threshold:.0%}", "#5d6d7e"),
        ],
        annotations=[] if has_data(mean, peak) else [note(empty_note)],
        hovermode="x unified",
    )
    return {"data": data, "layout": layout}


def _line(times, values, name: str, color: str, *, width: float = 1.5, dash: str = "solid") -> dict:
    return {
        "type": "scatter",
        "mode": line_mode(times),
        "name": plain_text(name),
        "x": times,
        "y": rounded(values),
        "line": {"color": color, "width": width, "dash": dash},
        "hovertemplate": "%{y:.0%}",
    }


def trend_patch(
    times: np.ndarray,
    mean: np.ndarray,
    peak: np.ndarray,
    servers: Sequence[np.ndarray],
    n_drop: int,
    extent: Extent,
    peak_servers: np.ndarray | None = None,
) -> Patch:
    """Move the trend forward: new points on every trace, the oldest ``n_drop`` dropped, and
    the window's new extent (the axis follows it unless the user zoomed)."""
    patch = Patch()
    for i, values in enumerate((mean, peak, *servers)):
        extend(patch["data"][i]["x"], times, n_drop)
        extend(patch["data"][i]["y"], rounded(values), n_drop)
    if peak_servers is not None:
        extend(patch["data"][1]["customdata"], np.asarray(peak_servers, dtype=object), n_drop)
    patch["layout"]["xaxis"]["autorangeoptions"] = extent_options(extent)
    return patch


