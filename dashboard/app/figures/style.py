"""The figures' shared look: palette, fonts, base layout, notes over empty plots, patch helpers."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from ...models.alerts import STATE_NAMES
from ..fleet import Extent, Phase

# Colours of the alert states, in the order of STATE_NAMES (normal, pending, firing,
# recovering): Okabe & Ito's green and orange with a dark red and an indigo, chosen so that
# every two stay far apart (CIELAB distance over 30) with protanopia, deuteranopia and
# tritanopia simulated; the states are also written out wherever their colour appears.
ALERT_COLORS = ("#009E73", "#E69F00", "#A50026", "#4B4BA8")
ALERT_LABELS = STATE_NAMES
PHASE_RGB = {
    "stable": (0, 158, 115),
    "escalation": (230, 159, 0),
    "peak": (165, 0, 38),
    "recovery": (75, 75, 168),
}
PHASE_ALPHA = {"stable": 0.06, "escalation": 0.13, "peak": 0.13, "recovery": 0.09}
PHASE_COLORS = {k: f"rgba({r}, {g}, {b}, {PHASE_ALPHA[k]})" for k, (r, g, b) in PHASE_RGB.items()}
OTHER_PHASE_RGB = (127, 140, 141)
FLEET_MEAN_COLOR = "#2c3e50"
FLEET_MAX_COLOR = ALERT_COLORS[2]
# The selected servers' lines: Okabe & Ito's blue, reddish purple, sky blue and vermillion.
SERVER_COLORS = ("#0072B2", "#CC79A7", "#56B4E9", "#D55E00")
# ColorBrewer's YlOrBr: lightness falls steadily with risk, so the map reads the same in
# any colour vision and in grey.
RISK_SCALE = [
    [0.0, "#fbfbf2"],
    [0.25, "#fee391"],
    [0.5, "#fe9929"],
    [0.75, "#cc4c02"],
    [1.0, "#662506"],
]
NOTE_COLOR = "#95a5a6"
FONT = {
    "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "size": 12,
    "color": "#2c3e50",
}
GRID = "#eceff1"
TIME_FORMAT = "%H:%M:%S"
# A time label centred on the plot's left edge would run into the "0%" below the y axis.
TIME_AXIS = {"tickformat": TIME_FORMAT, "ticklabeloverflow": "hide past domain"}
LOWER_HEIGHT = 500  # strip and rolling metrics


def note(text: str, *, x: float = 0.5, y: float = 0.5, size: int = 13) -> dict:
    """A centred grey message over a plot area that has nothing to show."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": x,
        "y": y,
        "xanchor": "center",
        "yanchor": "middle",
        "showarrow": False,
        "font": {"size": size, "color": NOTE_COLOR},
    }


def base_layout(uirevision: str, height: int, **extra) -> dict:
    layout = {
        "uirevision": uirevision,
        "height": height,
        "margin": {"l": 48, "r": 12, "t": 8, "b": 32},
        "font": FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "showlegend": False,
        "hoverlabel": {"font": {"size": 12}},
    }
    layout.update(extra)
    return layout


def time_axis(extent: Extent | None, **extra) -> dict:
    """A date x axis that autoranges to ``extent`` (the window's first and last times).

    Autorange, not a fixed range: a user's zoom then survives every refresh (uirevision
    keeps it while the figure's own range settings do not change) until a double-click.
    ``autorangeoptions`` pin the autorange to the window even where phase bands reach
    beyond it, or the window has a single tick (no made-up axis around one point).
    """
    axis = {"type": "date", "autorange": True, "gridcolor": GRID, **TIME_AXIS, **extra}
    if extent is not None:
        axis["autorangeoptions"] = extent_options(extent)
    return axis


def extent_options(extent: Extent) -> dict:
    # clipmin/clipmax, not minallowed/maxallowed: plotly reads date strings in the former only.
    # "include" only while the window fills: then the axis reaches past the data.
    options = {"clipmin": extent.start, "clipmax": extent.end}
    if extent.filling:
        options["include"] = [extent.start, extent.end]
    return options


def phase_bands(
    phases: Sequence[Phase],
    times: np.ndarray,
    *,
    labels: bool = True,
    y0: float = 0.0,
    y1: float = 1.0,
    layer: str = "below",
    alpha: float | None = None,
) -> list[dict]:
    """Shaded bands for the phases (``times`` has one timestamp per source tick).

    ``alpha`` (0-1) overrides the kinds' light default shades, for a narrow strip of
    colour; ``labels`` names each band at its top left.
    """
    shapes = []
    n = len(times)
    for phase in phases:
        if n == 0 or phase.start_tick >= n or phase.end_tick <= 0:
            continue
        r, g, b = PHASE_RGB.get(phase.kind, OTHER_PHASE_RGB)
        shade = alpha if alpha is not None else PHASE_ALPHA.get(phase.kind, 0.08)
        shape = {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": times[max(phase.start_tick, 0)],
            "x1": times[min(phase.end_tick, n - 1)],
            "y0": y0,
            "y1": y1,
            "line": {"width": 0},
            "fillcolor": f"rgba({r}, {g}, {b}, {shade})",
            "layer": layer,
        }
        if labels:
            shape["label"] = {
                "text": plain_text(phase.name),
                "textposition": "top left",
                "font": {"size": 10, "color": "#5d6d7e"},
            }
        shapes.append(shape)
    return shapes


def line_mode(times: Sequence) -> str:
    """Lines, with markers while there is a single point (a lone point draws no line)."""
    return "lines+markers" if len(times) == 1 else "lines"


def extend(target, values: np.ndarray, n_drop: int) -> None:
    """Patch ops on one array: append ``values``, delete the ``n_drop`` oldest."""
    if len(values) == 1:
        target.append(values[0])
    elif len(values):
        target.extend(list(values))  # Patch.extend takes a list; its items stay numpy
    for _ in range(n_drop):
        del target[0]


def empty_figure(message: str, height: int = 260) -> dict:
    """A blank figure carrying a short message (no data yet, or an error)."""
    return {
        "data": [],
        "layout": {
            "height": height,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "annotations": [
                {
                    "text": message,
                    "showarrow": False,
                    "font": {"size": 13, "color": NOTE_COLOR},
                    "xref": "paper",
                    "yref": "paper",
                }
            ],
        },
    }


def plain(values) -> np.ndarray:
    """Data-derived text (server, profile, phase, factor names) made safe for a figure.

    Plotly renders a subset of HTML in every text it draws (tick labels, legends, hover,
    annotations): a server named ``<a href="javascript:x">web-001</a>`` would show as a
    link. Escaped, it shows as written (plotly decodes ``&lt;`` back for display).
    """
    return np.array([html.escape(str(v), quote=False) for v in values], dtype=object)


def plain_text(value) -> str:
    """One data-derived string, escaped like :func:`plain`."""
    return html.escape(str(value), quote=False)

