"""The scorecard: what an evaluation found, as a dataclass, JSON and readable text."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .measures import TOP_K, IncidentResult, ServerResult
from .nab import PROFILE_NAMES

PROFILE_SHORT = {"standard": "standard", "reward_low_FP_rate": "low FP", "reward_low_FN_rate": "low FN"}
TABLE_ROWS = 40  # rows of the incident and server tables in the text; the JSON has them all


@dataclass(frozen=True)
class Scorecard:
    """The evaluation of one model on one labelled dataset.

    The long-standing figures (``affected``, ``detection_rate``, ``false_alarm_*`` on
    unaffected servers, ``precision``, ``recall``, ``auroc``, ``top5_peak_coverage``)
    keep their meaning; ``incidents`` scores every incident episode, and
    ``false_alarm_episodes_per_server_day`` counts false alarms on every server.
    """

    data: str
    model: str
    model_params: dict[str, Any]
    reads_ground_truth: bool
    horizon_s: float
    policy: dict[str, float]
    tick_seconds: float
    n_ticks: int
    n_servers: int
    affected: list[ServerResult]
    detection_rate: float | None
    false_alarm_share: float | None
    false_alarm_server_ticks: int
    false_alarm_episodes: int
    false_alarms_per_server_hour: float | None
    precision: float | None
    recall: float | None
    auroc: float | None
    top5_peak_coverage: float | None
    details: dict[str, Any] = field(default_factory=dict)
    # -- every incident, false alarms everywhere, NAB ---------------------------------
    incidents: list[IncidentResult] = field(default_factory=list)
    incident_detection_rate: float | None = None
    false_alarm_episodes_all: int = 0
    false_alarm_episodes_per_server_day: float | None = None
    false_alarm_allowance: dict[str, float] = field(default_factory=dict)
    false_alarms_by_server: dict[str, int] = field(default_factory=dict)  # servers with any
    nab: dict[str, float | None] | None = None
    nab_tuned: dict[str, float | None] | None = None
    nab_info: dict[str, Any] = field(default_factory=dict)
    # -- what the evaluation stood on --------------------------------------------------
    ground_truth: str = ""
    at_tick_size: dict[str, Any] = field(default_factory=dict)
    period: dict[str, str] | None = None
    metrics_present: dict[str, str] = field(default_factory=dict)
    metrics_read: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data_report: list[str] = field(default_factory=list)

    @property
    def min_lead_time_s(self) -> float | None:
        leads = [a.lead_time_s for a in self.affected if a.incident_start_s is not None]
        if not leads or any(x is None for x in leads):
            return None
        return float(min(leads))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["affected"] = [asdict(a) | {"detected": a.detected} for a in self.affected]
        out["min_lead_time_s"] = self.min_lead_time_s
        return clean(out)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def format(self) -> str:
        """A human-readable scorecard."""
        ticks = self.at_tick_size
        lines = [
            f"Scorecard: model {self.model!r} on {self.data}",
            f"  {self.n_servers} servers x {self.n_ticks} ticks of {self.tick_seconds:g} s"
            + (f" ({self.period['start']} to {self.period['end']})" if self.period else ""),
            f"  ground truth: {self.ground_truth}" if self.ground_truth else "",
            f"  alert policy: {_policy_text(self.policy, ticks)}",
            f"  horizon {_duration(self.horizon_s)}"
            + (f" ({ticks['horizon_ticks']} ticks)" if "horizon_ticks" in ticks else "")
            + "; an alert counts for an incident if it starts within [start - horizon, end]",
        ]
        lines = [line for line in lines if line]
        for note in ticks.get("notes") or []:
            lines.append(f"  note: {note}")
        if self.reads_ground_truth:
            lines.append("  NOTE: this model reads ground truth; its scores do not measure detection.")
        for warning in self.warnings:
            lines.append(f"  WARNING: {warning}")
        lines += ["", *self._incident_lines(), "", *self._server_lines(), ""]
        allowance = self.false_alarm_allowance
        rows = [
            ("incidents detected", _fraction(sum(i.detected for i in self.incidents), len(self.incidents))),
            ("detection rate (affected servers, first incident)", _pct(self.detection_rate)),
            (
                "false-alarm episodes per server-day (all servers)",
                f"{_num(self.false_alarm_episodes_per_server_day)} ({self.false_alarm_episodes_all} episodes; "
                f"allowed {_duration(allowance.get('before_s', 0))} before to "
                f"{_duration(allowance.get('after_s', 0))} after each incident)",
            ),
            ("false alarms (share of unaffected server-ticks)", _pct(self.false_alarm_share, 2)),
            ("false alarms per server-hour (unaffected, episodes)", _num(self.false_alarms_per_server_hour)),
            ("precision (firing vs in an incident)", _pct(self.precision)),
            ("recall", _pct(self.recall)),
            (f"AUROC (incident within {_duration(self.horizon_s)})", _num(self.auroc, 3)),
            (
                f"top-{TOP_K} holds every affected server in peak",
                _pct(self.top5_peak_coverage)
                if self.top5_peak_coverage is not None or self.n_servers > TOP_K
                else f"n/a ({self.n_servers} server(s): any top {TOP_K} holds them all)",
            ),
        ]
        width = max(len(r[0]) for r in rows)
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        lines += ["", *self._nab_lines()]
        return "\n".join(lines).rstrip()

    # -- text pieces -----------------------------------------------------------------
    def _incident_lines(self) -> list[str]:
        if not self.incidents:
            return ["  (no incidents in the evaluated data)"]
        out = [
            f"  {'incident on':<24} {'start (UTC)':<20} {'end':<20} {'first alert':<20} {'lead':>9} {'to detect':>10}"
        ]
        for i in self.incidents[:TABLE_ROWS]:
            out.append(
                f"  {i.server_name[:24]:<24} {_when(i.start):<20} {_when(i.end):<20} "
                f"{_when(i.first_alert) if i.first_alert else 'never':<20} "
                f"{_signed(i.lead_time_s):>9} {_signed(i.time_to_detect_s):>10}"
            )
        if len(self.incidents) > TABLE_ROWS:
            out.append(f"  ... and {len(self.incidents) - TABLE_ROWS} more (all in --json)")
        return out

    def _server_lines(self) -> list[str]:
        out = [f"  {'affected server':<24} {'profile':<12} {'peak at':>9} {'fired at':>9} {'lead time':>10}"]
        for a in self.affected[:TABLE_ROWS]:
            out.append(
                f"  {a.server_name[:24]:<24} {a.profile[:12]:<12} {_secs(a.peak_start_s):>9} "
                f"{_secs(a.first_firing_s):>9} {_secs(a.lead_time_s, signed=True):>10}"
            )
        if len(self.affected) > TABLE_ROWS:
            out.append(f"  ... and {len(self.affected) - TABLE_ROWS} more (all in --json)")
        if not self.affected:
            out.append("  (no affected servers in this dataset)")
        return out

    def _nab_lines(self) -> list[str]:
        if not self.nab:
            return ["  NAB score: n/a (no incident window after the probationary rows)"]
        info = self.nab_info.get("profiles", {})
        windows = self.nab_info.get("windows", 0)

        def row(label: str, scores: dict[str, float | None] | None, hit_key: str) -> str:
            values = "  ".join(
                f"{PROFILE_SHORT[p]} {_num((scores or {}).get(p), 1):>6}" for p in PROFILE_NAMES
            )
            hit = info.get("standard", {}).get(hit_key)
            return f"  {label:<34} {values}   windows hit {hit}/{windows}"

        threshold = info.get("standard", {}).get("tuned_threshold")
        return [
            "  NAB score (0 = never fires, 100 = perfect):",
            row("alerts as a user sees them", self.nab, "windows_hit"),
            row("probability at NAB's tuned threshold", self.nab_tuned, "tuned_windows_hit")
            + (f" (standard threshold {threshold:.4g})" if threshold is not None else " (never fires)"),
        ]


# -- formatting helpers ------------------------------------------------------------------
def clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    import numpy as np

    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _policy_text(policy: dict[str, float], ticks: dict[str, Any]) -> str:
    for_ticks = ticks.get("for_ticks")
    keep_ticks = ticks.get("keep_firing_for_ticks")
    return (
        f"fire >= {policy['threshold']:g} for {_duration(policy['for_s'])}"
        + (f" ({for_ticks} ticks)" if for_ticks is not None else "")
        + f", clear < {policy['clear_threshold']:g}, keep firing {_duration(policy['keep_firing_for_s'])}"
        + (f" ({keep_ticks} ticks)" if keep_ticks is not None else "")
    )


def _when(iso: str | None) -> str:
    return "" if not iso else iso.replace("T", " ").removesuffix("Z")[:19]


def _signed(value: float | None) -> str:
    if value is None:
        return "-"
    return ("+" if value >= 0 else "-") + _duration(abs(value))


def _fraction(num: int, den: int) -> str:
    return "n/a" if not den else f"{num}/{den} ({100 * num / den:.1f}%)"


def _secs(value: float | None, signed: bool = False) -> str:
    """Seconds as ``115 s`` (``+35 s`` signed); hours and days beyond an hour (``3.5 d``)."""
    if value is None:
        return "never" if not signed else "-"
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    size = abs(value)
    if size >= 86400:
        return f"{sign}{size / 86400:.1f} d"
    if size >= 3600:
        return f"{sign}{size / 3600:.1f} h"
    return f"{sign}{size:.0f} s"


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


__all__ = ["Scorecard", "clean"]
