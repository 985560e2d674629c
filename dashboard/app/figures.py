"""Figure builders of the Live tab: numpy arrays in, plain figure dicts or ``Patch`` deltas out.

Pure functions, no I/O. Figures are dicts holding numpy arrays (never ``go.Figure``:
its validation costs more than the rest of a tick), and each full figure has a
matching ``*_patch`` that moves it forward by a few ticks: append the new points,
drop as many old ones, so a steady-state update is O(traces), not O(points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from dash import Patch

from ..models.alerts import FIRING, PENDING, RECOVERING, STATE_NAMES

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
METRIC_PANELS = (
    ("cpu_pct", "CPU", "%{y:.0f}%"),
    ("latency_ms", "latency", "%{y:.0f} ms"),
    ("error_rate", "error rate", "%{y:.1%}"),
)
# Units on the metric panels' tick labels, so every number on the page says what it is.
METRIC_AXES = {
    "cpu_pct": {"ticksuffix": "%"},
    "latency_ms": {"ticksuffix": " ms"},
    "error_rate": {"tickformat": ".1~%"},  # 10%, 2.5%, 0.5%: no "10.0%" next to "0%"
}
METRIC_NOUNS = {"cpu_pct": "CPU", "latency_ms": "latency", "error_rate": "error-rate"}
NOTE_COLOR = "#95a5a6"
NO_SCORES_NOW = "no risk scores at this tick"
NO_SCORES = "no risk scores in this time range"
FONT = {
    "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "size": 12,
    "color": "#2c3e50",
}
GRID = "#eceff1"
TIME_FORMAT = "%H:%M:%S"
# A time label centred on the plot's left edge would run into the "0%" below the y axis.
TIME_AXIS = {"tickformat": TIME_FORMAT, "ticklabeloverflow": "hide past domain"}
UPPER_HEIGHT = 260  # top 5 and trend
LOWER_HEIGHT = 500  # strip and rolling metrics


@dataclass(frozen=True)
class Phase:
    """A phase band for the trend: name, kind (stable/escalation/peak/recovery) and tick range."""

    name: str
    kind: str
    start_tick: int
    end_tick: int  # exclusive


# -- helpers ---------------------------------------------------------------------
def iso_times(timestamps: np.ndarray) -> np.ndarray:
    """datetime64 timestamps as ISO strings to the second (UTC, no zone suffix)."""
    return np.datetime_as_string(np.asarray(timestamps, dtype="datetime64[s]"), unit="s")


def percent(probability: np.ndarray) -> np.ndarray:
    """Probabilities as whole percents: uint8 when all are known (2-3 bytes each in JSON)."""
    p = np.asarray(probability, dtype=np.float32) * np.float32(100.0)
    if np.isfinite(p).all():
        return np.clip(np.rint(p), 0, 100).astype(np.uint8)
    return np.round(np.clip(p, 0, 100), 0)


def rounded(values: np.ndarray, decimals: int = 3) -> np.ndarray:
    """Rounded float64: float32 would print its binary noise (0.02500000037) in JSON."""
    return np.round(np.asarray(values, dtype=np.float64), decimals)


def has_data(*arrays: np.ndarray) -> bool:
    """Whether any of ``arrays`` holds a finite value (an empty or all-NaN input holds none)."""
    return any(np.isfinite(np.asarray(a, dtype=np.float64)).any() for a in arrays)


def _note(text: str, *, x: float = 0.5, y: float = 0.5, size: int = 13) -> dict:
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


def _base_layout(uirevision: str, height: int, **extra) -> dict:
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


def _extend(target, values: np.ndarray, n_drop: int) -> None:
    """Patch ops on one array: append ``values``, delete the ``n_drop`` oldest."""
    if len(values) == 1:
        target.append(values[0])
    elif len(values):
        target.extend(list(values))  # Patch.extend takes a list; its items stay numpy
    for _ in range(n_drop):
        del target[0]


# -- 1. KPI summary ------------------------------------------------------------------
def kpi_summary(probability: np.ndarray, alerts: np.ndarray, threshold: float) -> dict:
    """Fleet health and counts for the KPI header.

    Health is ``critical`` while any server's alert fires, ``degraded`` while any server
    is at risk (probability at or above the alert threshold, or an alert pending or
    recovering), ``healthy`` otherwise.
    """
    p = np.asarray(probability, dtype=np.float64)
    a = np.asarray(alerts)
    known = p[np.isfinite(p)]
    at_risk = int((known >= threshold).sum())
    firing = int((a == FIRING).sum())
    unsettled = int(((a == PENDING) | (a == RECOVERING)).sum())
    health = "critical" if firing else "degraded" if at_risk or unsettled else "healthy"
    return {
        "health": health,
        "at_risk": at_risk,
        "firing": firing,
        "max": float(known.max()) if known.size else float("nan"),
        "mean": float(known.mean()) if known.size else float("nan"),
        "fleet_size": int(p.shape[0]),
    }


# -- 2. top 5 ------------------------------------------------------------------------
def top_servers(probability: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` riskiest servers, riskiest first (NaN last, ties by index)."""
    p = np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=-1.0)
    k = min(k, p.shape[0])
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-p, k - 1)[:k]
    return part[np.lexsort((part, -p[part]))]


def _top5_data(names, profiles, probability, alerts) -> dict:
    states = np.clip(np.asarray(alerts, dtype=np.int64), 0, len(ALERT_COLORS) - 1)
    p = np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=0.0)
    return {
        "x": np.round(p, 3),
        "y": np.asarray(names, dtype=object),
        "customdata": np.asarray(names, dtype=object),
        "text": np.array(
            [f"{prof} · {ALERT_LABELS[s]}" for prof, s in zip(profiles, states, strict=False)],
            dtype=object,
        ),
        "marker": {"color": np.array([ALERT_COLORS[s] for s in states], dtype=object)},
    }


def _top5_notes(names, probability, empty_note: str | None) -> list[dict]:
    if len(names) == 0:
        return [_note(empty_note or "no servers in this source")]
    if not has_data(probability):
        return [_note(empty_note or NO_SCORES_NOW)]
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
        "textposition": "auto",
        "insidetextanchor": "start",
        "insidetextfont": {"color": "#ffffff", "size": 11},
        "outsidetextfont": {"color": "#7f8c8d", "size": 11},
        "hovertemplate": "<b>%{y}</b><br>%{text}<br>risk %{x:.0%}<extra></extra>",
        "cliponaxis": False,
        **_top5_data(names, profiles, probability, alerts),
    }
    layout = _base_layout(
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


# -- 3. probability trend ----------------------------------------------------------------
def phase_shapes(phases: Sequence[Phase], times: np.ndarray) -> list[dict]:
    """Shaded, labelled bands for the phases (``times`` has one timestamp per source tick)."""
    shapes = []
    n = len(times)
    for phase in phases:
        if n == 0 or phase.start_tick >= n or phase.end_tick <= 0:
            continue
        start = times[max(phase.start_tick, 0)]
        end = times[min(phase.end_tick, n - 1)]
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": end,
                "y0": 0,
                "y1": 1,
                "line": {"width": 0},
                "fillcolor": PHASE_COLORS.get(phase.kind, "rgba(127, 140, 141, 0.08)"),
                "layer": "below",
                "label": {
                    "text": phase.name,
                    "textposition": "top left",
                    "font": {"size": 10, "color": "#7f8c8d"},
                },
            }
        )
    return shapes


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
    peak_servers: np.ndarray | None = None,
    empty_note: str = NO_SCORES,
) -> dict:
    """Fleet mean and max probability plus the selected servers, over phase bands and thresholds.

    ``peak_servers`` names the riskiest server at each tick: a click on the max line
    selects it. Without a single score in the window, ``empty_note`` says so.
    """
    peak_line = _line(times, peak, "fleet max", FLEET_MAX_COLOR, dash="dash")
    if peak_servers is not None:
        peak_line["customdata"] = np.asarray(peak_servers, dtype=object)
        peak_line["hovertemplate"] = "%{y:.0%} (%{customdata})"
    data = [_line(times, mean, "fleet mean", FLEET_MEAN_COLOR, width=2), peak_line]
    for i, (name, values) in enumerate(servers.items()):
        data.append(_line(times, values, name, SERVER_COLORS[i % len(SERVER_COLORS)], width=2.5))
    layout = _base_layout(
        uirevision,
        260,
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "font": {"size": 11}},
        margin={"l": 48, "r": 12, "t": 28, "b": 32},
        xaxis={
            "range": _range(times),
            "gridcolor": GRID,
            "type": "date",
            **TIME_AXIS,
        },
        # Headroom above 100%: the phase names sit there, clear of a fleet max near 100%.
        yaxis={
            "range": [0, 1.13],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
            "gridcolor": GRID,
        },
        shapes=[
            *phase_bands,
            _hline(threshold, f"alert {threshold:.0%}", "#c0392b"),
            _hline(clear_threshold, f"clear {clear_threshold:.0%}", "#7f8c8d"),
        ],
        annotations=[] if has_data(mean, peak) else [_note(empty_note)],
        hovermode="x unified",
    )
    return {"data": data, "layout": layout}


def _line(times, values, name: str, color: str, *, width: float = 1.5, dash: str = "solid") -> dict:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": times,
        "y": rounded(values),
        "line": {"color": color, "width": width, "dash": dash},
        "hovertemplate": "%{y:.0%}",
    }


def _range(times: np.ndarray) -> list:
    if len(times) == 0:
        return [0, 1]
    if len(times) == 1:
        return [times[0], times[0]]
    return [times[0], times[-1]]


def trend_patch(
    times: np.ndarray,
    mean: np.ndarray,
    peak: np.ndarray,
    servers: Sequence[np.ndarray],
    n_drop: int,
    x_range: list,
    peak_servers: np.ndarray | None = None,
) -> Patch:
    """Move the trend forward: new points on every trace, the oldest ``n_drop`` dropped."""
    patch = Patch()
    for i, values in enumerate((mean, peak, *servers)):
        _extend(patch["data"][i]["x"], times, n_drop)
        _extend(patch["data"][i]["y"], rounded(values), n_drop)
    if peak_servers is not None:
        _extend(patch["data"][1]["customdata"], np.asarray(peak_servers, dtype=object), n_drop)
    patch["layout"]["xaxis"]["range"] = x_range
    return patch


# -- 4. fleet risk strip -----------------------------------------------------------------
def strip_figure(
    times: np.ndarray,
    z: np.ndarray,
    labels: Sequence[str],
    uirevision: str,
    *,
    empty_note: str | None = None,
) -> dict:
    """Servers x time heat map of risk in percent, riskiest row on top.

    ``z`` is ``(T, R)``: one row per tick, shown transposed so time runs along x and
    a new tick appends one z row (a 4-op patch whatever the number of servers).
    With no rows, or no score in the window, the map gives way to a message
    (``empty_note``, or a default) and the colour bar is hidden.
    """
    rows = len(labels)
    scored = rows > 0 and has_data(z)
    if scored:
        note = None
    else:
        note = empty_note or ("no servers in this source" if not rows else NO_SCORES)
    trace = {
        "type": "heatmap",
        "transpose": True,
        "x": times,
        "y": np.asarray(labels, dtype=object),
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
    layout = _base_layout(
        uirevision,
        height,
        margin={"l": 110, "r": 8, "t": 8, "b": 32},
        # The row labels sit left of the map, clear of the first time label: keep it.
        xaxis={"type": "date", "showgrid": False, "tickformat": TIME_FORMAT},
        yaxis={
            "autorange": "reversed",
            "automargin": True,
            "tickfont": {"size": 10},
            "showgrid": False,
            "dtick": 1,  # every row labelled: at most STRIP_MAX_ROWS + profiles
            "visible": rows > 0,
        },
        annotations=[] if note is None else [_note(note)],
    )
    # A heat map without rows would make plotly invent a -1..4 axis: leave the trace out.
    return {"data": [trace] if rows else [], "layout": layout}


def strip_patch(times: np.ndarray, z_rows: np.ndarray, n_drop: int) -> Patch:
    patch = Patch()
    _extend(patch["data"][0]["x"], times, n_drop)
    _extend(patch["data"][0]["z"], z_rows, n_drop)
    return patch


def strip_rows(
    window_max: np.ndarray, profiles: np.ndarray, max_rows: int
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Which servers get a row of their own (riskiest first) and the per-profile rest.

    Up to ``max_rows`` servers each get a row; past that, the rest are folded into one
    row per profile showing that profile's highest risk, so the strip stays readable
    at thousands of servers.
    """
    n = window_max.shape[0]
    if n <= max_rows:
        return top_servers(window_max, n), []
    own = top_servers(window_max, max_rows)
    rest = np.ones(n, dtype=bool)
    rest[own] = False
    groups = []
    for profile in sorted(set(profiles[rest].tolist())):
        groups.append((str(profile), np.flatnonzero(rest & (profiles == profile))))
    return own, groups


def strip_values(
    probability: np.ndarray, own: np.ndarray, groups: Sequence[tuple[str, np.ndarray]]
) -> np.ndarray:
    """``(T, R)`` percent values of the strip's rows for ``probability`` of shape ``(T, N)``."""
    p = np.atleast_2d(np.asarray(probability, dtype=np.float32))
    cols = [p[:, own]]
    for _, members in groups:
        block = p[:, members]
        with np.errstate(all="ignore"):
            agg = np.where(
                np.isfinite(block).any(axis=1),
                np.nanmax(np.nan_to_num(block, nan=-1.0), axis=1),
                np.nan,
            )
        cols.append(agg[:, None])
    return percent(np.hstack(cols))


def strip_labels(
    names: np.ndarray, own: np.ndarray, groups: Sequence[tuple[str, np.ndarray]]
) -> list[str]:
    return [str(n) for n in names[own]] + [
        f"{profile}: {len(m)} more (max)" for profile, m in groups
    ]


# -- 5. rolling metrics --------------------------------------------------------------------
def fleet_bands(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-tick fleet median and 95th percentile of a ``(T, N)`` metric, NaN ignored."""
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:  # no servers: no band (NaN, not a misleading line at zero)
        return np.full(v.shape[0], np.nan, np.float32), np.full(v.shape[0], np.nan, np.float32)
    if np.isfinite(v).all():
        median, p95 = np.percentile(v, [50, 95], axis=1)
    else:
        with np.errstate(all="ignore"), _quiet():
            median, p95 = np.nanpercentile(v, [50, 95], axis=1)
    return median.astype(np.float32), p95.astype(np.float32)


class _quiet:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def _decimals(metric: str) -> int:
    return 4 if metric == "error_rate" else 1


def metrics_figure(
    times: np.ndarray,
    bands: Mapping[str, tuple[np.ndarray, np.ndarray]],
    servers: Mapping[str, Mapping[str, np.ndarray]],
    uirevision: str,
    *,
    empty_notes: Mapping[str, str] | None = None,
) -> dict:
    """CPU, latency and error rate: the fleet's median-p95 band and the selected servers' lines.

    Trace order (the patch relies on it): per panel, median then p95; then per
    selected server one trace per panel. A panel whose metric has no value at all
    shows a message instead (``empty_notes[metric]``, or "no CPU data") over a
    blank axis: plotly's own guess for an empty axis reads 0-400%.
    """
    data = []
    n_panels = len(METRIC_PANELS)
    for i, (metric, label, fmt) in enumerate(METRIC_PANELS):
        axis = "y" if i == 0 else f"y{i + 1}"
        median, p95 = bands[metric]
        d = _decimals(metric)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"fleet median {label}",
                "x": times,
                "y": rounded(median, d),
                "yaxis": axis,
                "line": {"color": "#95a5a6", "width": 1},
                "hovertemplate": f"fleet median {fmt}<extra></extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"fleet p95 {label}",
                "x": times,
                "y": rounded(p95, d),
                "yaxis": axis,
                "fill": "tonexty",
                "fillcolor": "rgba(149, 165, 166, 0.22)",
                "line": {"color": "#bdc3c7", "width": 1},
                "hovertemplate": f"fleet p95 {fmt}<extra></extra>",
            }
        )
    for j, (server, series) in enumerate(servers.items()):
        color = SERVER_COLORS[j % len(SERVER_COLORS)]
        for i, (metric, _label, fmt) in enumerate(METRIC_PANELS):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": server,
                    "x": times,
                    "y": rounded(series[metric], _decimals(metric)),
                    "yaxis": "y" if i == 0 else f"y{i + 1}",
                    "line": {"color": color, "width": 2},
                    "hovertemplate": f"{server} {fmt}<extra></extra>",
                }
            )
    gap = 0.07
    height = (1 - gap * (n_panels - 1)) / n_panels
    layout = _base_layout(
        uirevision,
        LOWER_HEIGHT,
        margin={"l": 60, "r": 12, "t": 18, "b": 32},
        xaxis={"type": "date", "gridcolor": GRID, "anchor": "y3", **TIME_AXIS},
        hovermode="x unified",
        annotations=[],
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
            layout["annotations"].append(_note(text, y=top - height / 2, size=12))
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
        f"<span style='color:{SERVER_COLORS[j % len(SERVER_COLORS)]}'>{name}</span>"
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
) -> Patch:
    patch = Patch()
    index = 0
    for metric, _label, _fmt in METRIC_PANELS:
        for values in bands[metric]:
            _extend(patch["data"][index]["x"], times, n_drop)
            _extend(patch["data"][index]["y"], rounded(values, _decimals(metric)), n_drop)
            index += 1
    for series in servers:
        for metric, _label, _fmt in METRIC_PANELS:
            _extend(patch["data"][index]["x"], times, n_drop)
            _extend(patch["data"][index]["y"], rounded(series[metric], _decimals(metric)), n_drop)
            index += 1
    return patch


# -- the "why" of one server -------------------------------------------------------------
def _why_data(factors: Sequence[str], contributions: np.ndarray) -> dict:
    c = np.nan_to_num(np.asarray(contributions, dtype=np.float64))
    return {
        "x": np.round(c, 3),
        "y": np.asarray(factors, dtype=object),
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
    layout = _base_layout(
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
                    "font": {"size": 13, "color": "#95a5a6"},
                    "xref": "paper",
                    "yref": "paper",
                }
            ],
        },
    }
