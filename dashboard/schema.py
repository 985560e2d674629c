"""The fleet-metrics schema: column names, types, units and valid ranges, in one place."""

from __future__ import annotations

from dataclasses import dataclass

TIMESTAMP = "timestamp"
SERVER = "server_name"
PROFILE = "profile"
STATE = "state"
PHASE = "incident_phase"
PROBLEM_CHILD = "problem_child"
OOM = "container_oom"

STATES = ("online", "warning", "critical_issue", "offline")
DEFAULT_STATE = "online"
DEFAULT_PROFILE = "unknown"

# Phase kinds every scenario phase maps to; evaluation and phase bands read these.
PHASE_KINDS = ("stable", "escalation", "peak", "recovery")
INCIDENT_PHASE_KINDS = ("escalation", "peak")


@dataclass(frozen=True)
class Metric:
    """A numeric metric column with its unit and the range a valid value lies in."""

    name: str
    unit: str
    description: str
    low: float = 0.0
    high: float = float("inf")


METRICS: tuple[Metric, ...] = (
    Metric("cpu_pct", "%", "CPU utilisation", 0.0, 100.0),
    Metric("mem_pct", "%", "memory utilisation", 0.0, 100.0),
    Metric("latency_ms", "ms", "request latency"),
    Metric("error_rate", "share 0-1", "share of failed requests", 0.0, 1.0),
    Metric("disk_io_mb_s", "MB/s", "disk throughput"),
    Metric("net_in_mb_s", "MB/s", "network ingress"),
    Metric("net_out_mb_s", "MB/s", "network egress"),
    Metric("gc_pause_ms", "ms", "garbage-collection pause"),
)
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
METRIC_BY_NAME = {m.name: m for m in METRICS}

REQUIRED_COLUMNS = (TIMESTAMP, SERVER, PROFILE, STATE, *METRIC_NAMES)
GROUND_TRUTH_COLUMNS = (PHASE, PROBLEM_CHILD)
OPTIONAL_COLUMNS = (PHASE, PROBLEM_CHILD, OOM)
ALL_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)

# Column descriptions with units, as written into dataset metadata.
COLUMN_DOCS: dict[str, tuple[str, str]] = {
    TIMESTAMP: ("datetime (UTC)", "tick time; all rows with one timestamp form one tick"),
    SERVER: ("string", "server name, unique within a tick"),
    PROFILE: ("string", "server type"),
    STATE: ("string", "online / warning / critical_issue / offline"),
    **{m.name: (f"float ({m.unit})", m.description) for m in METRICS},
    PHASE: ("string", "ground truth: the scenario phase this server is in"),
    PROBLEM_CHILD: ("bool", "ground truth: this server is impacted by the scenario"),
    OOM: ("int", "out-of-memory kills in this tick"),
}

# Columns that are never metrics, even when numeric: ground truth and bookkeeping that
# labelled datasets carry beside their metrics (anomaly labels, train/test splits, row
# numbers). Compared case-insensitively; pandas' unnamed index columns are left out too.
NON_METRIC_COLUMNS = frozenset(
    {PHASE, PROBLEM_CHILD, "label", "labels", "is_anomaly", "anomaly", "anomaly_label", "split", "index", "row_id"}
)


def may_be_extra_metric(column: str) -> bool:
    """Whether a file column outside the schema may hold an extra metric (when numeric).

    Numeric columns beyond the core metrics are kept as *extra metrics* under their own
    names (NAB's ``value``, SMD's ``m00``..``m37``), so a model can read them; ground-truth
    and bookkeeping columns (:data:`NON_METRIC_COLUMNS`) never are.
    """
    name = str(column).strip()
    return bool(name) and name not in ALL_COLUMNS and name.lower() not in NON_METRIC_COLUMNS and not name.startswith("Unnamed:")


def is_core_metric(name: str) -> bool:
    """One of the schema's eight metrics (not an extra metric, not ``container_oom``)."""
    return name in METRIC_BY_NAME
