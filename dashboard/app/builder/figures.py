"""The builder tab's figures, as plain dicts: the timeline editor and the live preview. Dash-free.

Text that users wrote (phase names) is escaped, so Plotly shows it as text, never as markup.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...authoring import draft
from ...authoring.preview import Preview
from ...generate import intensity_curve
from ...scenario import Scenario, format_clock
from ...schema import METRIC_BY_NAME
from ..figures.style import GRID, NOTE_COLOR, base_layout, note, plain_text

PHASE_FILL = {
    "stable": "rgba(24, 188, 156, 0.30)",
    "escalation": "rgba(243, 156, 18, 0.34)",
    "peak": "rgba(231, 76, 60, 0.34)",
    "recovery": "rgba(52, 152, 219, 0.30)",
}
UNKNOWN_FILL = "rgba(127, 140, 141, 0.22)"
CURVE_COLOR = "#2c3e50"
DELAYED_COLOR = "#8e44ad"
BOUNDARY_COLOR = "rgba(44, 62, 80, 0.75)"
DISTURBANCE_COLOR = "rgba(127, 140, 141, 0.8)"
AFFECTED_COLOR = "#e74c3c"
HEALTHY_COLOR = "#18bc9c"
TIMELINE_HEIGHT = 230
PANEL_HEIGHT = 120
def plot_text(value: Any, limit: int = 80) -> str:
    """User-written text for a figure: cut short and escaped (:func:`plain_text`), so Plotly
    shows it as text (``<b>`` stays ``<b>``) instead of reading it as markup."""
    text = str(value)
    return plain_text(text if len(text) <= limit else text[: limit - 1] + "…")


def _time_axis(duration: float, count: int = 8) -> dict[str, Any]:
    """Nice ticks in m:ss (h:mm:ss) over ``[0, duration]`` seconds."""
    duration = max(float(duration), 1e-6)
    raw = duration / count
    steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400]
    step = next((s for s in steps if s >= raw), 86400 * math.ceil(raw / 86400))
    values = np.arange(0.0, duration + 1e-9, step)
    return {
        "range": [0, duration],
        "tickvals": values.tolist(),
        "ticktext": [format_clock(v) if v < 86400 else f"{v / 86400:g} d" for v in values],
        "fixedrange": True,
        "gridcolor": GRID,
        "zeroline": False,
    }


def _disturbance_marks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each disturbance as a grey bar along the top of the timeline (not an incident)."""
    xs: list[float | None] = []
    texts: list[str | None] = []
    events = doc.get("disturbances") if isinstance(doc.get("disturbances"), list) else []
    for event in events:
        if not isinstance(event, dict):
            continue
        start, end = draft.seconds(event.get("start")), draft.seconds(event.get("end"))
        if start is None or end is None:
            continue
        label = plot_text(f"{event.get('kind', '')}: {event.get('title') or ''}".rstrip(": "), 60)
        xs += [start, end, None]
        texts += [label, label, None]
    if not xs:
        return []
    return [
        {
            "type": "scatter",
            "x": xs,
            "y": [1.03 if x is not None else None for x in xs],
            "mode": "lines",
            "line": {"color": DISTURBANCE_COLOR, "width": 6},
            "hovertext": texts,
            "hoverinfo": "text",
            "name": "disturbances",
            "connectgaps": False,
        }
    ]


def timeline_figure(doc: dict[str, Any], scenario: Scenario | None) -> dict[str, Any]:
    """The phases as coloured blocks on a time axis, the intensity curve over them, and one
    draggable line on each boundary between two phases (dragging it resizes both)."""
    marks = draft.bounds(doc)
    phases = doc.get("phases") if isinstance(doc.get("phases"), list) else []
    layout: dict[str, Any] = base_layout(
        "timeline",
        TIMELINE_HEIGHT,
        margin={"l": 44, "r": 12, "t": 26, "b": 28},
        dragmode=False,
        bargap=0,
        yaxis={"range": [0, 1.08], "fixedrange": True, "title": {"text": "intensity"}, "gridcolor": GRID, "tickformat": ".1f"},
    )
    if marks is None or not phases or marks[-1] <= marks[0]:
        layout["xaxis"] = {"visible": False}
        layout["yaxis"] = {"visible": False}
        layout["annotations"] = [note("the phase times are not all numbers yet; fix them below")]
        return {"data": [], "layout": layout}
    starts, ends = np.array(marks[:-1]), np.array(marks[1:])
    kinds = [(p.get("kind") or p.get("name")) if isinstance(p, dict) else None for p in phases]
    names = [plot_text(p.get("name", "") if isinstance(p, dict) else "", 40) for p in phases]
    hover = [
        f"{names[i]} · {plot_text(kinds[i] or 'no kind', 20)}<br>{format_clock(max(0.0, starts[i]))} to {format_clock(max(0.0, ends[i]))}"
        for i in range(len(phases))
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": ((starts + ends) / 2).tolist(),
            "y": [1.0] * len(phases),
            "width": np.maximum(ends - starts, 0).tolist(),
            "marker": {"color": [PHASE_FILL.get(k, UNKNOWN_FILL) for k in kinds], "line": {"width": 0}},
            "hovertext": hover,
            "hoverinfo": "text",
            "name": "phases",
        }
    ]
    if scenario is not None:
        times = np.linspace(0.0, scenario.duration_s, 400)
        times = np.unique(np.concatenate([times, ends[:-1] - 1e-6, ends[:-1]]))
        data.append(
            {
                "type": "scatter",
                "x": times.round(3).tolist(),
                "y": intensity_curve(scenario, times).round(4).tolist(),
                "mode": "lines",
                "line": {"color": CURVE_COLOR, "width": 2.5},
                "name": "intensity",
                "hovertemplate": "intensity %{y:.2f}<extra></extra>",
            }
        )
        for g, group in enumerate(scenario.affected):
            if group.delay_s > 0:
                data.append(
                    {
                        "type": "scatter",
                        "x": times.round(3).tolist(),
                        "y": intensity_curve(scenario, times, group.delay_s).round(4).tolist(),
                        "mode": "lines",
                        "line": {"color": DELAYED_COLOR, "width": 1.5, "dash": "dash"},
                        "name": f"affected.{g} +{group.delay_s:g} s",
                        "hovertemplate": f"affected.{g} (+{group.delay_s:g} s): %{{y:.2f}}<extra></extra>",
                    }
                )
    data += _disturbance_marks(doc)
    layout["xaxis"] = _time_axis(marks[-1])
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": float(b),
            "x1": float(b),
            "y0": 0,
            "y1": 1,
            "line": {"color": BOUNDARY_COLOR, "width": 5},
            "layer": "above",
        }
        for b in ends[:-1]
    ]
    layout["annotations"] = [
        {
            "x": float((starts[i] + ends[i]) / 2),
            "y": 1.0,
            "xref": "x",
            "yref": "paper",
            "yanchor": "bottom",
            "text": names[i],
            "showarrow": False,
            "font": {"size": 11, "color": "#2c3e50"},
        }
        for i in range(len(phases))
        if (ends[i] - starts[i]) / max(marks[-1], 1e-9) > 0.06
    ]
    return {"data": data, "layout": layout}


def preview_figure(preview: Preview) -> dict[str, Any]:
    """The sampled metrics of one affected and one healthy server, one panel per metric, over
    the phases."""
    panels = preview.metrics
    n = len(panels)
    gap = 0.06
    height = 40 + PANEL_HEIGHT * n
    layout: dict[str, Any] = base_layout("preview", height, margin={"l": 56, "r": 12, "t": 30, "b": 28})
    layout |= {
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 11}},
        "hovermode": "x unified",
    }
    duration = preview.phases[-1]["end"] if preview.phases else 1.0
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": p["start"],
            "x1": p["end"],
            "y0": 0,
            "y1": 1,
            "line": {"width": 0},
            "fillcolor": PHASE_FILL.get(p["kind"], UNKNOWN_FILL).replace("0.3", "0.1"),
            "layer": "below",
        }
        for p in preview.phases
    ]
    layout["shapes"] = shapes
    data: list[dict[str, Any]] = []
    height_each = (1.0 - gap * (n - 1)) / n
    for k, metric in enumerate(panels):
        axis = "" if k == 0 else str(k + 1)
        top = 1.0 - k * (height_each + gap)
        spec = METRIC_BY_NAME[metric]
        layout[f"yaxis{axis}"] = {
            "domain": [max(0.0, top - height_each), top],
            "title": {"text": f"{metric.replace('_', ' ')}", "font": {"size": 11}},
            "automargin": True,  # the title beside the tick labels, never over them
            "gridcolor": GRID,
            "fixedrange": True,
            "rangemode": "tozero",
            "ticksuffix": f" {spec.unit}" if spec.unit in ("ms",) else ("%" if spec.unit == "%" else ""),
        }
        layout[f"xaxis{axis}"] = {
            **_time_axis(duration),
            "anchor": f"y{axis}",
            "matches": "x" if k else None,
            "showticklabels": k == n - 1,
        }
        for series in preview.servers:
            color = AFFECTED_COLOR if series.affected else HEALTHY_COLOR
            label = f"{plot_text(series.name, 40)} ({'affected' if series.affected else 'healthy'})"
            data.append(
                {
                    "type": "scatter",
                    "x": preview.sample_s.round(3).tolist(),
                    "y": np.round(series.values[metric], 4).tolist(),
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "mode": "lines" if len(preview.sample_s) > 1 else "markers",
                    "line": {"color": color, "width": 1.8},
                    "name": label,
                    "legendgroup": label,
                    "showlegend": k == 0,
                    "hovertemplate": f"{label}: %{{y}}<extra></extra>",
                }
            )
    for key in list(layout):
        if key.startswith("xaxis") and layout[key].get("matches") is None:
            layout[key].pop("matches", None)
    if not preview.servers:
        layout["annotations"] = [note("no servers to show")]
    return {"data": data, "layout": layout}


def preview_caption(preview: Preview) -> str:
    """What the preview shows, in words (including whether every tick is in the sample)."""
    ticks = f"{len(preview.sample_s):,} of {preview.n_ticks:,} ticks"
    how = "every tick" if preview.every_tick else f"a sample of {ticks}"
    names = [f"{s.name} ({'affected' if s.affected else 'healthy'})" for s in preview.servers]
    return f"{' and '.join(names) or 'no servers'}, exactly as generated: {how}"


def affected_rows(preview: Preview) -> tuple[list[dict[str, str]], str]:
    """The affected servers (the first ones) as rows, and a line that counts them all."""
    rows = [
        {
            "server": a["server_name"],
            "profile": a["profile"],
            "why": a["reason"],
            "delay": f"+{a['delay_s']:g} s" if a["delay_s"] else "",
        }
        for a in preview.affected
    ]
    more = preview.n_affected - len(rows)
    line = f"{preview.n_affected:,} of {preview.fleet_size:,} servers affected"
    return rows, line + (f"; the first {len(rows)} are listed" if more > 0 else "")


def empty_preview(message: str) -> dict[str, Any]:
    return {
        "data": [],
        "layout": {
            "height": 260,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "annotations": [{**note(message), "font": {"size": 13, "color": NOTE_COLOR}}],
        },
    }


