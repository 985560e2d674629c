"""Score a risk model against a labelled dataset: lead times, false alarms, precision/recall, AUROC.

As a CLI::

    python -m dashboard.evaluate --data scenario:default?seed=7 --model heuristic --json card.json

and as a Python API, :func:`evaluate`, returning a :class:`Scorecard` the app can show.
The model scores every tick of the dataset (one vectorised call over the fleet per
tick) and the alert state machine runs over the whole history.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import schema
from .argtypes import verify_arg
from .errors import DashboardError
from .models import RiskModel, get_model
from .models.alerts import AlertPolicy, alert_states, is_active
from .models.scoring import DEFAULT_LOOKBACK_TICKS, ScoreCache, Scorer
from .settings import Settings

# The AUROC label is "in an incident phase now or within the horizon". Onsets are not
# foreseeable from a genuinely stable phase, so every tick of horizon before an onset
# is a positive no honest model can rank high; three ticks keeps the question "is this
# server heading into (or in) trouble" without scoring clairvoyance.
DEFAULT_HORIZON_S = 15.0
TOP_K = 5

_PEAK = schema.PHASE_KINDS.index("peak")
_INCIDENT_CODES = tuple(schema.PHASE_KINDS.index(k) for k in schema.INCIDENT_PHASE_KINDS)


class EvaluationError(DashboardError, ValueError):
    """The evaluation cannot run: unlabelled data, a bad horizon, an empty dataset."""


@dataclass(frozen=True)
class ServerResult:
    """How one affected server was (or was not) detected. Times are seconds from the data's start."""

    server_name: str
    profile: str
    incident_start_s: float | None  # first tick in an incident phase (escalation or peak)
    peak_start_s: float | None  # first tick of its peak phase (the incident start when it has none)
    first_firing_s: float | None  # first active alert during its incident, None when never
    lead_time_s: float | None  # peak start - first firing; negative when late, None when never

    @property
    def detected(self) -> bool:
        return self.first_firing_s is not None


@dataclass(frozen=True)
class Scorecard:
    """The evaluation of one model on one labelled dataset."""

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
        return _clean(out)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def format(self) -> str:
        """A human-readable scorecard."""
        lines = [
            f"Scorecard: model {self.model!r} on {self.data}",
            f"  {self.n_servers} servers x {self.n_ticks} ticks of {self.tick_seconds:g} s; "
            f"horizon {self.horizon_s:g} s; alert policy {_policy_text(self.policy)}",
        ]
        if self.reads_ground_truth:
            lines.append(
                "  NOTE: this model reads ground truth; its scores do not measure detection."
            )
        lines.append("")
        lines.append(
            f"  {'affected server':<24} {'profile':<12} {'peak at':>9} {'fired at':>9} {'lead time':>10}"
        )
        for a in self.affected:
            lines.append(
                f"  {a.server_name:<24} {a.profile:<12} {_secs(a.peak_start_s):>9} "
                f"{_secs(a.first_firing_s):>9} {_secs(a.lead_time_s, signed=True):>10}"
            )
        if not self.affected:
            lines.append("  (no affected servers in this dataset)")
        lines.append("")
        rows = [
            ("detection rate", _pct(self.detection_rate)),
            ("false alarms (share of unaffected server-ticks)", _pct(self.false_alarm_share, 2)),
            ("false alarms per server-hour (episodes)", _num(self.false_alarms_per_server_hour)),
            ("precision (firing vs affected & in incident)", _pct(self.precision)),
            ("recall", _pct(self.recall)),
            (f"AUROC (incident within {self.horizon_s:g} s)", _num(self.auroc, 3)),
            (f"top-{TOP_K} holds every affected server in peak", _pct(self.top5_peak_coverage)),
        ]
        width = max(len(r[0]) for r in rows)
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        return "\n".join(lines)


def evaluate(
    source_or_spec: Any,
    model_or_name: RiskModel | str = "heuristic",
    *,
    horizon_s: float = DEFAULT_HORIZON_S,
    policy: AlertPolicy | None = None,
    cache: ScoreCache | None = None,
    model_params: dict[str, Any] | None = None,
    data_roots: Any = None,
    settings: Settings | None = None,
) -> Scorecard:
    """Evaluate a model on a labelled source (or a source spec such as ``scenario:default?seed=7``).

    A spec is opened with ``settings`` (default ``Settings()``: data roots, scenario
    folder); ``data_roots`` overrides their roots.
    """
    if (
        isinstance(horizon_s, bool)
        or not isinstance(horizon_s, (int, float))
        or not math.isfinite(horizon_s)
        or horizon_s < 0
    ):
        raise EvaluationError(f"horizon must be a finite number of seconds >= 0, got {horizon_s!r}")
    policy = policy or AlertPolicy()
    model = (
        get_model(model_or_name, **(model_params or {}))
        if isinstance(model_or_name, str)
        else model_or_name
    )
    if model_params and not isinstance(model_or_name, str):
        raise EvaluationError("model_params only apply when the model is given by name")

    if isinstance(source_or_spec, str):
        from .sources import open_source

        spec = source_or_spec
        source = open_source(spec, data_roots=data_roots, settings=settings)
    else:
        source = source_or_spec
        spec = str(getattr(source, "spec", None) or source.identity())

    n_ticks = int(source.n_ticks())
    if n_ticks <= 0:
        raise EvaluationError(f"{spec}: the dataset has no ticks to evaluate")
    truth = source.window(n_ticks - 1, n_ticks)
    if truth.phase is None or truth.problem_child is None:
        raise EvaluationError(
            f"{spec} carries no ground truth: evaluation needs the {schema.PHASE} and "
            f"{schema.PROBLEM_CHILD} columns (generated scenario data has them)"
        )
    phase = np.asarray(truth.phase)
    affected = np.asarray(truth.problem_child, dtype=bool)
    tick_s = float(source.tick_seconds() or truth.tick_seconds or 0.0)
    if tick_s <= 0:
        raise EvaluationError(
            f"{spec}: cannot tell the tick interval (fewer than two distinct timestamps)"
        )

    # The full-history state machine below needs no look-back; the scorer's own must
    # merely be long enough for the policy.
    lookback = max(DEFAULT_LOOKBACK_TICKS, policy.memory_ticks(tick_s))
    scorer = Scorer(source, model, policy=policy, cache=cache, lookback_ticks=lookback)
    probability = scorer.probabilities(0, n_ticks - 1)
    states = alert_states(probability, policy, tick_s)
    seconds = _seconds(truth.timestamps, n_ticks, tick_s)

    card = score_arrays(
        probability,
        states,
        phase,
        affected,
        seconds=seconds,
        tick_seconds=tick_s,
        horizon_s=float(horizon_s),
        servers=np.asarray(truth.servers),
        profiles=np.asarray(truth.profiles),
    )
    meta = source.metadata() if hasattr(source, "metadata") else None
    details = dict(card.pop("details"))
    if meta:
        details["scenario"] = meta.get("scenario_name")
        details["seed"] = meta.get("seed")
    return Scorecard(
        data=spec,
        model=str(getattr(model, "name", "") or type(model).__name__),
        model_params=dict(getattr(model, "params", {}) or {}),
        reads_ground_truth=bool(getattr(model, "reads_ground_truth", False)),
        horizon_s=float(horizon_s),
        policy=policy.to_dict(),
        tick_seconds=tick_s,
        n_ticks=n_ticks,
        n_servers=int(affected.size),
        details=details,
        **card,
    )


def score_arrays(
    probability: np.ndarray,
    states: np.ndarray,
    phase: np.ndarray,
    affected: np.ndarray,
    *,
    seconds: np.ndarray,
    tick_seconds: float,
    horizon_s: float,
    servers: np.ndarray,
    profiles: np.ndarray,
) -> dict[str, Any]:
    """The scorecard's figures from ``(T, N)`` probabilities, alert states and phase codes."""
    n_ticks, n = probability.shape
    incident = np.isin(phase, _INCIDENT_CODES)
    active = is_active(states)

    # Lead time and detection, per affected server.
    results = []
    detected = 0
    eligible = 0
    for j in np.flatnonzero(affected):
        inc = np.flatnonzero(incident[:, j])
        if inc.size == 0:
            results.append(ServerResult(str(servers[j]), str(profiles[j]), None, None, None, None))
            continue
        eligible += 1
        start = int(inc[0])
        # The first incident is the run of incident ticks that starts at `start`.
        gaps = np.flatnonzero(np.diff(inc) > 1)
        stop = int(inc[gaps[0]]) if gaps.size else int(inc[-1])
        peaks = np.flatnonzero(phase[start : stop + 1, j] == _PEAK)
        peak = start + int(peaks[0]) if peaks.size else start
        fired = np.flatnonzero(active[start : stop + 1, j])
        first = start + int(fired[0]) if fired.size else None
        if first is not None:
            detected += 1
        results.append(
            ServerResult(
                server_name=str(servers[j]),
                profile=str(profiles[j]),
                incident_start_s=float(seconds[start]),
                peak_start_s=float(seconds[peak]),
                first_firing_s=None if first is None else float(seconds[first]),
                lead_time_s=None if first is None else float(seconds[peak] - seconds[first]),
            )
        )

    # False alarms on unaffected servers.
    healthy = ~affected
    healthy_active = active[:, healthy]
    false_ticks = int(healthy_active.sum())
    onsets = healthy_active.copy()
    onsets[1:] &= ~healthy_active[:-1]
    episodes = int(onsets.sum())
    server_hours = healthy.sum() * n_ticks * tick_seconds / 3600.0

    # Precision / recall of active alerts against "affected and in an incident phase".
    truth = incident & affected[None, :]
    tp = int((active & truth).sum())
    fp = int((active & ~truth).sum())
    fn = int((~active & truth).sum())

    # AUROC of the probability for "in an incident phase now or within the horizon".
    horizon_ticks = int(math.ceil(horizon_s / tick_seconds - 1e-9)) if horizon_s > 0 else 0
    label = incident.copy()
    for k in range(1, min(horizon_ticks, n_ticks - 1) + 1):
        label[:-k] |= incident[k:]
    label &= affected[None, :]

    return {
        "affected": results,
        "detection_rate": _ratio(detected, eligible),
        "false_alarm_share": _ratio(false_ticks, int(healthy_active.size)),
        "false_alarm_server_ticks": false_ticks,
        "false_alarm_episodes": episodes,
        "false_alarms_per_server_hour": (episodes / server_hours) if server_hours > 0 else None,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "auroc": auroc(probability.ravel(), label.ravel()),
        "top5_peak_coverage": top_k_coverage(probability, phase, affected, TOP_K),
        "details": {
            "affected_servers": int(affected.sum()),
            "unaffected_servers": int(healthy.sum()),
            "affected_without_incident": int(affected.sum()) - eligible,
            "true_positive_ticks": tp,
            "false_positive_ticks": fp,
            "false_negative_ticks": fn,
            "horizon_ticks": horizon_ticks,
            "positive_label_ticks": int(label.sum()),
        },
    }


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None with one class only."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    keep = np.isfinite(scores)
    scores, labels = scores[keep], labels[keep]
    n_pos = int(labels.sum())
    n_neg = int(labels.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mid_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each tie group
    ranks = mid_rank[inverse]
    rank_sum = float(ranks[labels[order]].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def top_k_coverage(
    probability: np.ndarray, phase: np.ndarray, affected: np.ndarray, k: int = TOP_K
) -> float | None:
    """Share of peak ticks where the top ``k`` servers by probability hold every affected
    server then in its peak phase.

    Counted over ticks with between 1 and ``k`` affected servers in peak (more cannot fit
    in a top ``k``); None when there is no such tick.
    """
    in_peak = (phase == _PEAK) & np.asarray(affected, dtype=bool)[None, :]
    counts = in_peak.sum(axis=1)
    ticks = np.flatnonzero((counts > 0) & (counts <= k))
    if ticks.size == 0:
        return None
    n = probability.shape[1]
    hits = 0
    for t in ticks:
        p = np.nan_to_num(probability[t], nan=-1.0)
        # Rank by probability, ties broken by server order, so the answer is deterministic.
        top = np.lexsort((np.arange(n), -p))[:k]
        chosen = np.zeros(n, dtype=bool)
        chosen[top] = True
        hits += bool(np.all(chosen[in_peak[t]]))
    return hits / ticks.size


# -- CLI -----------------------------------------------------------------------
def _horizon(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"horizon must be a number of seconds, got {text!r}"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"horizon must be a finite number of seconds >= 0, got {text!r}"
        )
    return value


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"model parameter must look like NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, instead of the usage block
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m dashboard.evaluate",
        description=(
            "Score a risk model on a labelled dataset (one that carries incident_phase and "
            "problem_child, as generated scenarios do): lead time per affected server, detection "
            "rate, false alarms on unaffected servers, precision/recall of firing alerts and the "
            "AUROC of the probability."
        ),
        epilog="example: python -m dashboard.evaluate --data 'scenario:default?seed=7' --model heuristic --json card.json",
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="SPEC",
        help="data source spec or file (e.g. scenario:default?seed=7, data.parquet)",
    )
    parser.add_argument(
        "--model",
        default="heuristic",
        metavar="NAME",
        help="registered risk model (default: heuristic)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        type=_param,
        metavar="NAME=VALUE",
        help="model parameter (repeatable)",
    )
    parser.add_argument(
        "--horizon",
        type=_horizon,
        default=DEFAULT_HORIZON_S,
        metavar="SECONDS",
        help=f"AUROC label: the server is in an incident phase now or within this many seconds (default {DEFAULT_HORIZON_S:g})",
    )
    defaults = AlertPolicy()
    parser.add_argument(
        "--threshold",
        type=float,
        default=defaults.threshold,
        help=f"alert threshold (default {defaults.threshold})",
    )
    parser.add_argument(
        "--clear-threshold",
        type=float,
        default=defaults.clear_threshold,
        help=f"a firing alert recovers below this (default {defaults.clear_threshold})",
    )
    parser.add_argument(
        "--for",
        dest="for_s",
        type=float,
        default=defaults.for_s,
        metavar="SECONDS",
        help=f"pending period before firing (default {defaults.for_s:g})",
    )
    parser.add_argument(
        "--keep-firing-for",
        dest="keep_firing_for_s",
        type=float,
        default=defaults.keep_firing_for_s,
        metavar="SECONDS",
        help=f"how long a recovered alert keeps firing (default {defaults.keep_firing_for_s:g})",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the scorecard as JSON here (atomically)"
    )
    verify_arg(parser)
    return parser


def main(argv: list[str] | None = None, *, settings: Settings | None = None) -> int:
    """The evaluation CLI (``python -m dashboard.evaluate``); ``settings`` come from its caller."""
    args = build_parser().parse_args(argv)
    settings = (settings or Settings()).with_data(args.data)
    try:
        policy = AlertPolicy(
            args.threshold, args.clear_threshold, args.for_s, args.keep_firing_for_s
        )
        if args.json:  # a target that cannot be written fails before the evaluation, not after
            from .atomic import check_folder

            check_folder(args.json)
        data: Any = args.data
        if args.verify:
            from .sources import open_source

            data = open_source(args.data, settings=settings, verify=args.verify)
        card = evaluate(
            data,
            args.model,
            horizon_s=args.horizon,
            policy=policy,
            model_params=dict(args.param),
            settings=settings,
        )
        print(card.format())
        if args.json:
            from .atomic import write_text_atomic

            write_text_atomic(args.json, card.to_json() + "\n")
            print(f"\nscorecard written to {args.json}")
    except (DashboardError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


# -- helpers -------------------------------------------------------------------
def _seconds(timestamps: np.ndarray, n_ticks: int, tick_s: float) -> np.ndarray:
    ts = np.asarray(timestamps)
    if ts.shape == (n_ticks,) and np.issubdtype(ts.dtype, np.datetime64):
        return (ts - ts[0]).astype("timedelta64[ms]").astype(np.int64) / 1000.0
    return np.arange(n_ticks) * tick_s


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _secs(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "never" if not signed else "-"
    return f"{value:+.0f} s" if signed else f"{value:.0f} s"


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _policy_text(policy: dict[str, float]) -> str:
    return (
        f"fire >= {policy['threshold']:g} for {policy['for_s']:g} s, "
        f"clear < {policy['clear_threshold']:g}, keep firing {policy['keep_firing_for_s']:g} s"
    )


if __name__ == "__main__":  # pragma: no cover - the entry point reads the environment
    raise SystemExit(main(settings=Settings.from_env()))
