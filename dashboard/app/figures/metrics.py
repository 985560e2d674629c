"""The rolling metrics: CPU, latency and error rate against their peers' band, one panel each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from dash import Patch

from ..arrays import has_data, rounded
from ..captions import METRIC_AXES, METRIC_NOUNS, METRIC_PANELS, decimals
from ..fleet import Extent
from .style import (
    GRID,
    LOWER_HEIGHT,
    NOTE_COLOR,
    SERVER_COLORS,
    base_layout,
    extend,
    extent_options,
    line_mode,
    note,
    plain_text,
    time_axis,
)


def metrics_figure(
    times: np.ndarray,
    bands: Mapping[str, tuple[np.ndarray, np.ndarray]],
    servers: Mapping[str, Mapping[str, np.ndarray]],
    uirevision: str,
    *,
    band: str = "fleet",
    extent: Extent | None = None,
    phase_bands: list[dict] | None = None,
    empty_notes: Mapping[str, str] | None = None,
) -> dict:
    """CPU, latency and error rate: a median-p95 band and the selected servers' lines.

    ``band`` names whose band it is ("fleet", "web peers"). Trace order (the patch
    relies on it): per panel, median then p95; then per selected server one trace per
    panel. A panel whose metric has no value at all shows a message instead
    (``empty_notes[metric]``, or "no CPU data") over a blank axis: plotly's own guess
    for an empty axis reads 0-400%.
    """
    mode = line_mode(times)
    data = []
    n_panels = len(METRIC_PANELS)
    for i, (metric, label, fmt) in enumerate(METRIC_PANELS):
        axis = "y" if i == 0 else f"y{i + 1}"
        median, p95 = bands[metric]
        d = decimals(metric)
        data.append(
            {
                "type": "scatter",
                "mode": mode,
                "name": f"{plain_text(band)} median {label}",
                "x": times,
                "y": rounded(median, d),
                "yaxis": axis,
                "line": {"color": "#95a5a6", "width": 1},
                "hovertemplate": f"{plain_text(band)} median {fmt}<extra></extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": mode,
                "name": f"{plain_text(band)} p95 {label}",
                "x": times,
                "y": rounded(p95, d),
                "yaxis": axis,
                "fill": "tonexty",
                "fillcolor": "rgba(149, 165, 166, 0.22)",
                "line": {"color": "#bdc3c7", "width": 1},
                "hovertemplate": f"{plain_text(band)} p95 {fmt}<extra></extra>",
            }
        )
    for j, (server, series) in enumerate(servers.items()):
        color = SERVER_COLORS[j % len(SERVER_COLORS)]
        for i, (metric, _label, fmt) in enumerate(METRIC_PANELS):
            data.append(
                {
                    "type": "scatter",
                    "mode": mode,
                    "name": plain_text(server),
                    "x": times,
                    "y": rounded(series[metric], decimals(metric)),
                    "yaxis": "y" if i == 0 else f"y{i + 1}",
                    "line": {"color": color, "width": 2},
                    "hovertemplate": f"{plain_text(server)} {fmt}<extra></extra>",
                }
            )
    gap = 0.07
    height = (1 - gap * (n_panels - 1)) / n_panels
    layout = base_layout(
        uirevision,
        LOWER_HEIGHT,
        margin={"l": 60, "r": 12, "t": 18, "b": 32},
        xaxis=time_axis(extent, anchor=f"y{n_panels}"),
        hovermode="x unified",
        annotations=[],
        shapes=list(phase_bands or ()),
    )
    notes = empty_notes or {}
    for i, (metric, label, _fmt) in enumerate(METRIC_PANELS):
        top = 1 - i * (height + gap)
        key = "yaxis" if i == 0 else f"yaxis{i + 1}"
        axis = {
            "domain": [top - height, top],
            "gridcolor": GRID,
            "rangemode": "tozero",
            "nticks": 4,
            "automargin": True,
            **METRIC_AXES.get(metric, {}),
        }
        median, p95 = bands[metric]
        if not has_data(median, p95, *(series[metric] for series in servers.values())):
            axis.update(range=[0, 1], showticklabels=False, showgrid=False, zeroline=False)
            text = notes.get(metric) or f"no {METRIC_NOUNS.get(metric, label)} data"
            layout["annotations"].append(note(text, y=top - height / 2, size=12))
        layout[key] = axis
        layout["annotations"].append(
            {
                "text": label,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": top,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": "#7f8c8d"},
            }
        )
    # The servers' names in their line colours: the legend of the panels.
    title = " · ".join(
        f"<span style='color:{SERVER_COLORS[j % len(SERVER_COLORS)]}'>{plain_text(name)}</span>"
        for j, name in enumerate(servers)
    )
    layout["annotations"].append(
        {
            "text": title or "click a server to compare it with the fleet",
            "xref": "paper",
            "yref": "paper",
            "x": 1,
            "y": 1,
            "xanchor": "right",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11, "color": NOTE_COLOR},
        }
    )
    return {"data": data, "layout": layout}


def metrics_patch(
    times: np.ndarray,
    bands: Mapping[str, tuple[np.ndarray, np.ndarray]],
    servers: Sequence[Mapping[str, np.ndarray]],
    n_drop: int,
    extent: Extent,
) -> Patch:
    patch = Patch()
    patch["layout"]["xaxis"]["autorangeoptions"] = extent_options(extent)
    index = 0
    for metric, _label, _fmt in METRIC_PANELS:
        for values in bands[metric]:
            extend(patch["data"][index]["x"], times, n_drop)
            extend(patch["data"][index]["y"], rounded(values, decimals(metric)), n_drop)
            index += 1
    for series in servers:
        for metric, _label, _fmt in METRIC_PANELS:
            extend(patch["data"][index]["x"], times, n_drop)
            extend(patch["data"][index]["y"], rounded(series[metric], decimals(metric)), n_drop)
            index += 1
    return patch


