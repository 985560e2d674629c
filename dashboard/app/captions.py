"""What the graphs say: the rolling metrics' panels, labels and number formats, and the notes
shown where there is nothing to draw. Dash-free."""

from __future__ import annotations

# (metric, panel label, hover format), top to bottom.
METRIC_PANELS = (
    ("cpu_pct", "CPU", "%{y:.0f}%"),
    ("latency_ms", "latency", "%{y:.0f} ms"),
    ("error_rate", "error rate", "%{y:.1%}"),
)
PANEL_METRICS = tuple(metric for metric, _label, _fmt in METRIC_PANELS)
# Units on the metric panels' tick labels, so every number on the page says what it is.
METRIC_AXES = {
    "cpu_pct": {"ticksuffix": "%"},
    "latency_ms": {"ticksuffix": " ms"},
    "error_rate": {"tickformat": ".1~%"},  # 10%, 2.5%, 0.5%: no "10.0%" next to "0%"
}
METRIC_NOUNS = {"cpu_pct": "CPU", "latency_ms": "latency", "error_rate": "error-rate"}


def decimals(metric: str) -> int:
    """Decimals a metric's values keep on the wire (error rates are small shares)."""
    return 4 if metric == "error_rate" else 1


NO_SERVERS = "no servers in this source"
NO_SCORES_NOW = "no risk scores at this tick"
NO_SCORES = "no risk scores in this time range"
