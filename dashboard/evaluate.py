"""Score a risk model against labelled history: every incident, false alarms, AUROC, NAB.

As a CLI::

    python -m dashboard.evaluate --data scenario:default?seed=7 --model heuristic --json card.json
    python -m dashboard.evaluate --data exports/fleet.parquet --incidents postmortems.csv

and as a Python API, :func:`evaluate` (one dataset) and :func:`evaluate_many` (a corpus,
NAB-scored as one), returning a :class:`Scorecard`. Ground truth comes from an incident
log (``incidents=``, the source's own ``incidents=`` option, or ``<name>_incidents.csv``
beside the data) or from the ``incident_phase`` and ``problem_child`` columns that
generated data carries. The model scores every tick (one vectorised call over the
fleet per tick) and the alert state machine runs over the whole history.

Durations default to ticks, so they mean the same at any tick size: the horizon is 3
ticks, the alert policy fires after 2 and keeps firing for 6 (15 s, 10 s and 30 s at
5-second ticks; 15, 10 and 30 minutes at 5-minute ticks).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .argtypes import OneLineParser, add_mapping_args, mapping_options, verify_arg
from .errors import DashboardError
from .evaluation import measures
from .evaluation.measures import TOP_K, IncidentResult, NabInputs, ServerResult, auroc, iso
from .evaluation.nab import PROFILE_NAMES
from .evaluation.scorecard import PROFILE_SHORT, Scorecard, clean
from .evaluation.truth import Truth, from_log, from_phases
from .incidents import IncidentLog, load_incidents
from .models import RiskModel, get_model
from .models.alerts import AlertPolicy, alert_states
from .models.scoring import DEFAULT_LOOKBACK_TICKS, ScoreCache, Scorer
from .settings import Settings

HORIZON_TICKS = 3  # the default horizon, in ticks
DEFAULT_HORIZON_S = 15.0  # HORIZON_TICKS at the generator's 5-second ticks
FEW_METRICS_SHARE = 0.5  # a model reading less than this share of the data's metrics is warned about


class EvaluationError(DashboardError, ValueError):
    """The evaluation cannot run: unlabelled data, a bad horizon or period, an empty dataset."""


def evaluate(
    source_or_spec: Any,
    model_or_name: RiskModel | str = "adaptive",
    *,
    incidents: str | IncidentLog | pd.DataFrame | list | None = None,
    horizon_s: float | None = None,
    policy: AlertPolicy | None = None,
    start: Any = None,
    end: Any = None,
    cache: ScoreCache | None = None,
    model_params: dict[str, Any] | None = None,
    data_roots: Any = None,
    settings: Settings | None = None,
    nab_inputs: list[NabInputs] | None = None,
) -> Scorecard:
    """Evaluate a model on a labelled source (or a spec such as ``scenario:default?seed=7``).

    ``incidents`` is an incident log (a CSV or JSON path, NAB windows JSON, an
    :class:`~dashboard.incidents.IncidentLog`, a DataFrame or records) that replaces
    any other ground truth. ``horizon_s`` and the ``policy`` durations default to ticks
    (see the module doc). ``start``/``end`` limit the scored ticks to a period (times,
    inclusive); the model still reads the history before it. ``data_roots`` are where a
    spec is opened with ``settings`` (default ``Settings()``: data roots, scenario
    folder); ``data_roots`` overrides their roots. ``nab_inputs``, when given, gets
    the evaluation's NAB series appended (how :func:`evaluate_many` pools a corpus).
    """
    if horizon_s is not None and (
        isinstance(horizon_s, bool)
        or not isinstance(horizon_s, (int, float))
        or not math.isfinite(horizon_s)
        or horizon_s < 0
    ):
        raise EvaluationError(f"horizon must be a finite number of seconds >= 0, got {horizon_s!r}")
    if model_params and not isinstance(model_or_name, str):
        raise EvaluationError("model_params only apply when the model is given by name")
    model = _model(model_or_name, model_params)
    source, spec = _source(source_or_spec, data_roots, settings)

    n_ticks = int(source.n_ticks())
    if n_ticks <= 0:
        raise EvaluationError(f"{spec}: the dataset has no ticks to evaluate")
    whole = source.window(n_ticks - 1, n_ticks)
    ts_ns = np.asarray(whole.timestamps).astype("datetime64[ns]").astype(np.int64)
    tick_s = float(source.tick_seconds() or whole.tick_seconds or 0.0)
    if tick_s <= 0:
        raise EvaluationError(f"{spec}: cannot tell the tick interval (fewer than two distinct timestamps)")
    lo, hi = _period(ts_ns, start, end, spec)
    truth = _truth(source, spec, whole, ts_ns, incidents, (int(ts_ns[lo]), int(ts_ns[hi])))

    policy = policy or AlertPolicy.for_tick_seconds(tick_s)
    horizon = float(HORIZON_TICKS * tick_s if horizon_s is None else horizon_s)
    keep_s = policy.keep_ticks(tick_s) * tick_s
    # The model reads the history before the period; alert states need a bounded look-back.
    lookback = max(DEFAULT_LOOKBACK_TICKS, policy.memory_ticks(tick_s))
    scorer = Scorer(source, model, policy=policy, cache=cache, lookback_ticks=lookback)
    first = max(0, lo - lookback)
    probability = scorer.probabilities(first, hi)
    states = alert_states(probability, policy, tick_s)
    onsets = measures.alert_onsets(states)
    cut = slice(lo - first, None)
    rows = slice(lo, hi + 1)
    present = whole.extra.get("present") if isinstance(whole.extra, dict) else None
    counts = source.row_counts() if hasattr(source, "row_counts") else None
    arrays = measures.Arrays(
        probability=probability[cut],
        states=states[cut],
        onsets=onsets[cut],
        ts_ns=ts_ns[rows],
        seconds=(ts_ns[rows] - ts_ns[0]) / 1e9,
        tick_seconds=tick_s,
        servers=np.asarray(whole.servers),
        profiles=np.asarray(whole.profiles),
        present=None if present is None else np.asarray(present, dtype=bool)[rows],
        row_counts=None if counts is None else np.asarray(counts)[rows],
    )
    if lo or hi < n_ticks - 1:
        truth = _restricted(truth, rows)
    figures = measures.measure(arrays, truth, horizon_s=horizon, keep_firing_s=keep_s)
    inputs = NabInputs.of(arrays, truth)
    figures.update(measures.nab_scores(inputs))

    details = dict(figures.pop("details"))
    meta = source.metadata() if hasattr(source, "metadata") else None
    if meta:
        details["scenario"] = meta.get("scenario_name")
        details["seed"] = meta.get("seed")
    present_metrics, read, coverage = metric_coverage(model, source)
    warnings = _warnings(coverage, arrays, truth)
    card = Scorecard(
        data=spec,
        model=_model_name(model),
        model_params=dict(getattr(model, "params", {}) or {}),
        reads_ground_truth=bool(getattr(model, "reads_ground_truth", False)),
        horizon_s=horizon,
        policy=policy.to_dict(),
        tick_seconds=tick_s,
        n_ticks=hi - lo + 1,
        n_servers=int(arrays.servers.shape[0]),
        details=details,
        false_alarm_allowance={
            "before_s": horizon,
            "after_s": keep_s + horizon,
            "horizon_s": horizon,
            "keep_firing_for_s": keep_s,
        },
        ground_truth=truth.description,
        at_tick_size=_at_tick_size(policy, tick_s, horizon, horizon_s is None),
        period=None if not (lo or hi < n_ticks - 1) else {"start": iso(ts_ns[lo]), "end": iso(ts_ns[hi])},
        metrics_present=present_metrics,
        metrics_read=read,
        warnings=warnings,
        data_report=[*_report(source), *truth.report],
        **figures,
    )
    if nab_inputs is not None:
        nab_inputs.append(inputs)
    return card


@dataclass(frozen=True)
class CorpusResult:
    """One model on several datasets: a scorecard each, and NAB over them all as one corpus.

    ``nab`` sums the files' raw scores before normalising, as NAB's scoreboard does;
    ``nab_tuned`` sweeps one threshold per profile over every file together.
    """

    model: str
    cards: list[Scorecard]
    nab: dict[str, float | None] | None
    nab_tuned: dict[str, float | None] | None
    nab_info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "model": self.model,
                "nab": self.nab,
                "nab_tuned": self.nab_tuned,
                "nab_info": self.nab_info,
                "cards": [c.to_dict() for c in self.cards],
            }
        )


def evaluate_many(
    items: Sequence[Any], model_or_name: RiskModel | str = "adaptive", **options: Any
) -> CorpusResult:
    """Evaluate one model on several datasets and NAB-score them as one corpus.

    Each item is a source or spec, or a dict of :func:`evaluate`'s arguments with the
    source under ``data`` (e.g. ``{"data": "csv:a.csv", "incidents": "a.csv.json",
    "start": "2020-01-17"}``); ``options`` apply to every item.
    """
    cards, parts = [], []
    model = _model(model_or_name, options.pop("model_params", None))
    for item in items:
        kwargs = dict(options)
        if isinstance(item, dict):
            kwargs.update({k: v for k, v in item.items() if k != "data"})
            item = item["data"]
        cards.append(evaluate(item, model, nab_inputs=parts, **kwargs))
    pooled = measures.nab_scores(NabInputs.pooled(parts))
    return CorpusResult(_model_name(model), cards, pooled["nab"], pooled["nab_tuned"], pooled["nab_info"])


def has_ground_truth(source: Any) -> bool:
    """Whether ``source`` can be evaluated as it is: an incident log came with it, or its
    rows carry the scenario labels (``incident_phase`` and ``problem_child``)."""
    incidents = getattr(source, "incidents", None)
    try:
        if callable(incidents) and incidents() is not None:
            return True
        n = int(source.n_ticks())
        window = source.window(n - 1, 1) if n > 0 else None
    except DashboardError:
        return False
    return window is not None and window.phase is not None and window.problem_child is not None


# -- the evaluation ----------------------------------------------------------------------
def _model(model_or_name: RiskModel | str, params: dict[str, Any] | None) -> RiskModel:
    if isinstance(model_or_name, str):
        return get_model(model_or_name, **(params or {}))
    return model_or_name


def _model_name(model: Any) -> str:
    return str(getattr(model, "name", "") or type(model).__name__)


def _source(source_or_spec: Any, data_roots: Any, settings: Settings | None) -> tuple[Any, str]:
    if isinstance(source_or_spec, str):
        from .sources import open_source

        return open_source(source_or_spec, data_roots=data_roots, settings=settings), source_or_spec
    source = source_or_spec
    return source, str(getattr(source, "spec", None) or source.identity())


def _period(ts_ns: np.ndarray, start: Any, end: Any, spec: str) -> tuple[int, int]:
    """The first and last tick of the evaluated period."""
    lo, hi = 0, ts_ns.shape[0] - 1
    if start is not None:
        lo = int(np.searchsorted(ts_ns, _time(start, "start"), side="left"))
    if end is not None:
        hi = int(np.searchsorted(ts_ns, _time(end, "end"), side="right")) - 1
    if lo > hi:
        raise EvaluationError(
            f"{spec}: no tick between {start or 'the start'} and {end or 'the end'}; the data runs "
            f"from {iso(ts_ns[0])} to {iso(ts_ns[-1])}"
        )
    return lo, hi


def _time(value: Any, what: str) -> int:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise EvaluationError(f"{what}: not a time (expected ISO 8601, e.g. 2020-01-17T00:00:00Z), got {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def _truth(
    source: Any, spec: str, whole: Any, ts_ns: np.ndarray, incidents: Any, span: tuple[int, int]
) -> Truth:
    servers = np.asarray(whole.servers)
    if incidents is None and callable(getattr(source, "incidents", None)):
        incidents = source.incidents()
    if incidents is not None:
        return from_log(load_incidents(incidents), ts_ns, servers, span_ns=span)
    if whole.phase is None or whole.problem_child is None:
        raise EvaluationError(
            f"{spec} carries no ground truth: give an incident log (--incidents LOG, or "
            f"incidents=LOG in the spec, or <name>_incidents.csv beside the file), or use data "
            f"with the {schema.PHASE} and {schema.PROBLEM_CHILD} columns (generated scenario data has them)"
        )
    return from_phases(np.asarray(whole.phase), whole.problem_child, ts_ns, servers)


def _restricted(truth: Truth, rows: slice) -> Truth:
    return Truth(
        truth.description,
        truth.episodes,
        truth.affected,
        truth.incident[rows],
        truth.peak[rows],
        truth.report,
    )


def _report(source: Any) -> list[str]:
    try:
        return [str(line) for line in source.report()]
    except (AttributeError, DashboardError):
        return []


def _metrics_present(source: Any) -> dict[str, str]:
    units = getattr(source, "metric_units", None)
    try:
        return dict(units()) if callable(units) else {}
    except DashboardError:
        return {}


def _metrics_read(model: Any, present: dict[str, str]) -> list[str]:
    declared = tuple(getattr(model, "metrics", ()) or ())
    if "*" in declared:
        return list(present)
    return [m for m in present if m in declared]


def metric_coverage(model: Any, source: Any) -> tuple[dict[str, str], list[str], str | None]:
    """The metrics ``source`` holds (name -> unit), those ``model`` reads, and a warning when
    it reads none or few of them (a model declaring ``"*"`` in ``metrics`` reads every one)."""
    present = _metrics_present(source)
    read = _metrics_read(model, present)
    name = _model_name(model)
    declared = [m for m in getattr(model, "metrics", ()) or () if m != "*"]
    warning = None
    if present and not read:
        warning = (
            f"model {name!r} reads none of the metrics in this data (it reads "
            f"{', '.join(declared) or 'no metrics'}; the data has {_names(present)}): "
            "it cannot see anything here, so its scores do not measure it"
        )
    elif present and len(read) < FEW_METRICS_SHARE * len(present):
        ignored = [m for m in present if m not in read]
        warning = (
            f"model {name!r} reads only {len(read)} of the {len(present)} metrics in this data "
            f"({', '.join(read)}); it ignores {_names(ignored)}"
        )
    return present, read, warning


def _warnings(coverage_warning: str | None, a: measures.Arrays, truth: Truth) -> list[str]:
    out = [coverage_warning] if coverage_warning else []
    p = a.probability if a.present is None else a.probability[a.present]
    finite = p[np.isfinite(p)]
    if finite.size and float(finite.min()) == float(finite.max()):
        out.append(
            f"the model gave every server-tick the same probability ({float(finite[0]):.3g}): "
            "it ranked nothing, so AUROC 0.5 and the alert figures are not a result"
        )
    if not truth.episodes:
        why = [line for line in truth.report if "were left out" in line]
        out.append(
            "no incident falls in the evaluated data: detection, lead times and NAB are n/a"
            + (f" ({'; '.join(why)})" if why else "")
        )
    return out


def _names(metrics: Any, limit: int = 8) -> str:
    names = list(metrics)
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def _at_tick_size(policy: AlertPolicy, tick_s: float, horizon_s: float, default_horizon: bool) -> dict[str, Any]:
    """What the policy's durations and the horizon are at this tick size, and what rounding did."""
    out: dict[str, Any] = dict(policy.at_tick_size(tick_s))
    horizon_ticks = measures._ticks_within(horizon_s, tick_s)
    out["horizon_ticks"] = horizon_ticks
    out["horizon_effective_s"] = horizon_ticks * tick_s
    notes = []
    for label, given, ticks in (
        ("for", policy.for_s, out["for_ticks"]),
        ("keep_firing_for", policy.keep_firing_for_s, out["keep_firing_for_ticks"]),
    ):
        if abs(ticks * tick_s - given) > 1e-9 * max(1.0, given):
            notes.append(
                f"{label} {given:g} s is {ticks} tick(s) of {tick_s:g} s here ({ticks * tick_s:g} s, rounded up)"
            )
    if not default_horizon and abs(horizon_ticks * tick_s - horizon_s) > 1e-9 * max(1.0, horizon_s):
        notes.append(
            f"horizon {horizon_s:g} s covers {horizon_ticks} whole tick(s) of {tick_s:g} s here"
        )
    out["notes"] = notes
    return out


# -- compatibility: the figures' building blocks -----------------------------------------
def top_k_coverage(probability: np.ndarray, phase: np.ndarray, affected: np.ndarray, k: int = TOP_K) -> float | None:
    """Share of peak ticks where the top ``k`` servers by probability hold every affected
    server then in its peak phase (see :func:`dashboard.evaluation.measures.top_k_coverage`)."""
    in_peak = (np.asarray(phase) == schema.PHASE_KINDS.index("peak")) & np.asarray(affected, dtype=bool)[None, :]
    return measures.top_k_coverage(probability, in_peak, k)


# -- CLI -----------------------------------------------------------------------
def _seconds_arg(what: str):
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number of seconds, got {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"{what} must be a finite number of seconds >= 0, got {text!r}")
        return value

    convert.__name__ = what
    return convert


def parse_param(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` (VALUE read as JSON when it is JSON) for a model parameter flag."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"model parameter must look like NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m dashboard.evaluate",
        description=textwrap.fill(
            "Score a risk model on labelled history: every incident (detected or not, lead time "
            "to its peak, time to detect), false alarms on every server per server-day, precision "
            "and recall of firing alerts, the AUROC of the probability and the Numenta Anomaly "
            "Benchmark score. Ground truth is an incident log (--incidents, or <name>_incidents.csv "
            "beside the data) or the incident_phase and problem_child columns generated data carries. "
            "Durations default to ticks, so they mean the same at any tick size."
        ),
        epilog=(
            "examples:\n"
            "  python -m dashboard.evaluate --data 'scenario:default?seed=7' --json card.json\n"
            "  python -m dashboard.evaluate --data fleet.parquet --incidents postmortems.csv\n"
            "  python -m dashboard.evaluate --data 'csv:nyc_taxi.csv?server=nyc_taxi' --incidents windows.json\n"
            "incident log: CSV or JSON with server_name (* = the whole fleet), start, end (inclusive),\n"
            "optional peak, severity, title; or NAB's windows JSON (file name -> server)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="SPEC",
        help="data source spec or file (e.g. scenario:default?seed=7, data.parquet)",
    )
    add_mapping_args(parser)
    parser.add_argument("--model", default="adaptive", metavar="NAME", help="registered risk model (default: adaptive)")
    parser.add_argument(
        "--param", action="append", default=[], type=parse_param, metavar="NAME=VALUE", help="model parameter (repeatable)"
    )
    parser.add_argument(
        "--incidents",
        metavar="LOG",
        help="incident log to score against (CSV, JSON or NAB windows JSON); replaces other ground truth",
    )
    parser.add_argument("--from", dest="start", metavar="TIME", help="score only ticks from this time on (ISO 8601)")
    parser.add_argument("--to", dest="end", metavar="TIME", help="score only ticks up to this time (ISO 8601)")
    parser.add_argument(
        "--horizon",
        type=_seconds_arg("horizon"),
        default=None,
        metavar="SECONDS",
        help=f"how early an alert may come and still count (AUROC label: in an incident now or within it); "
        f"default {HORIZON_TICKS} ticks ({DEFAULT_HORIZON_S:g} s at 5-second ticks)",
    )
    defaults = AlertPolicy()
    parser.add_argument("--threshold", type=float, default=defaults.threshold, help=f"alert threshold (default {defaults.threshold})")
    parser.add_argument(
        "--clear-threshold",
        type=float,
        default=defaults.clear_threshold,
        help=f"a firing alert recovers below this (default {defaults.clear_threshold})",
    )
    parser.add_argument(
        "--for",
        dest="for_s",
        type=_seconds_arg("for"),
        default=None,
        metavar="SECONDS",
        help="pending period before firing (default 2 ticks: 10 s at 5-second ticks)",
    )
    parser.add_argument(
        "--keep-firing-for",
        dest="keep_firing_for_s",
        type=_seconds_arg("keep-firing-for"),
        default=None,
        metavar="SECONDS",
        help="how long a recovered alert keeps firing (default 6 ticks: 30 s at 5-second ticks)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the scorecard as JSON here (atomically)")
    verify_arg(parser)
    return parser


def main(argv: list[str] | None = None, *, settings: Settings | None = None) -> int:
    """The evaluation CLI (``python -m dashboard.evaluate``); ``settings`` come from its caller."""
    args = build_parser().parse_args(argv)
    settings = (settings or Settings()).with_data(args.data)
    try:
        if args.json:  # a target that cannot be written fails before the evaluation, not after
            from .atomic import check_folder

            check_folder(args.json)
        from .sources import open_source

        options = mapping_options(args)
        if args.verify:
            options["verify"] = args.verify
        source = open_source(args.data, settings=settings, **options)
        overrides = {"for_s": args.for_s, "keep_firing_for_s": args.keep_firing_for_s}
        policy = AlertPolicy.for_tick_seconds(
            source.tick_seconds(), threshold=args.threshold, clear_threshold=args.clear_threshold, **overrides
        )
        incidents = load_incidents(args.incidents) if args.incidents else None
        card = evaluate(
            source,
            args.model,
            incidents=incidents,
            horizon_s=args.horizon,
            policy=policy,
            start=args.start,
            end=args.end,
            model_params=dict(args.param),
        )
        if card.data_report:
            print("Loading notes:")
            print("\n".join(f"  - {line}" for line in card.data_report))
            print()
        print(card.format())
        if args.json:
            from .atomic import write_text_atomic

            write_text_atomic(args.json, card.to_json() + "\n")
            print(f"\nscorecard written to {args.json}")
    except (DashboardError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "DEFAULT_HORIZON_S",
    "HORIZON_TICKS",
    "PROFILE_NAMES",
    "PROFILE_SHORT",
    "CorpusResult",
    "EvaluationError",
    "IncidentResult",
    "Scorecard",
    "ServerResult",
    "auroc",
    "evaluate",
    "evaluate_many",
    "has_ground_truth",
    "main",
    "metric_coverage",
    "parse_param",
    "top_k_coverage",
]


if __name__ == "__main__":  # pragma: no cover - the entry point reads the environment
    try:
        _settings = Settings.from_env()
    except DashboardError as _exc:  # a bad variable: its message, never a traceback
        print(f"error: {_exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(main(settings=_settings))
