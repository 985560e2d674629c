"""The figures' shared look: palette, fonts, base layout, notes over empty plots, patch helpers."""

from __future__ import annotations

import html

import numpy as np

from ...models.alerts import STATE_NAMES

# Colours of the alert states, in the order of STATE_NAMES (normal, pending, firing, recovering).
ALERT_COLORS = ("#18bc9c", "#f39c12", "#e74c3c", "#3498db")
ALERT_LABELS = STATE_NAMES
PHASE_COLORS = {
    "stable": "rgba(24, 188, 156, 0.07)",
    "escalation": "rgba(243, 156, 18, 0.14)",
    "peak": "rgba(231, 76, 60, 0.14)",
    "recovery": "rgba(52, 152, 219, 0.10)",
}
FLEET_MEAN_COLOR = "#2c3e50"
FLEET_MAX_COLOR = "#e74c3c"
SERVER_COLORS = ("#8e44ad", "#16a085", "#d35400", "#2980b9")
RISK_SCALE = [[0.0, "#edf6f3"], [0.3, "#f9e79f"], [0.6, "#f39c12"], [1.0, "#b03a2e"]]
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

