"""Evaluate risk models on every built-in scenario with several seeds and print a table.

    python benchmarks/scorecards.py [--model heuristic] [--seeds 1 2 3 4 5] [--horizon 15]
                                    [--fleet-size 1000] [--json out.json]

One row per (scenario, seed): detection rate, the smallest lead time, false alarms on
unaffected servers, precision/recall of firing alerts, AUROC, top-5 coverage during
the peak, incident episodes detected, false-alarm episodes per server-day on every
server, the NAB standard score of the alerts and of the tuned probability, and how
honest the probability is on unaffected servers (h.p99 and h.max: its 99th percentile
and maximum over their server-ticks); then one row per scenario
aggregated over seeds and a verdict on the targets (detection >= 90%, AUROC >= 0.9, unaffected p99 < 0.3; on
the default scenario: every affected server fired >= 30 s before its peak, top 5 holds
the affected servers in >= 90% of peak ticks, false alarms <= 1% of unaffected
server-ticks).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dashboard.evaluate import evaluate
from dashboard.models.scoring import MemoryScoreCache, Scorer
from dashboard.scenario import list_scenarios
from dashboard.sources import open_source

HEALTHY_P99_MAX = 0.3


def _fmt(value, pct=False, digits=3):
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if pct else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="adaptive")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--scenarios", nargs="+", default=None, help="scenario names (default: all built-in)")
    parser.add_argument("--horizon", type=float, default=None, help="seconds (default: 3 ticks)")
    parser.add_argument("--fleet-size", type=int, default=None, help="override each scenario's fleet size")
    parser.add_argument("--json", metavar="PATH", help="write every scorecard as JSON here")
    args = parser.parse_args(argv)

    names = args.scenarios or [info.name for info in list_scenarios() if info.error is None]
    header = (
        f"{'scenario':<18} {'seed':>4} {'detect':>7} {'min lead':>9} {'FA share':>9} {'FA/srv-h':>9} {'prec':>6} "
        f"{'recall':>7} {'AUROC':>6} {'top5':>6} {'incid.':>6} {'FA/srv-d':>8} {'NAB':>6} {'NABt':>6} {'h.p99':>6} "
        f"{'h.max':>6} {'secs':>5}"
    )
    fleet = "" if args.fleet_size is None else f"&fleet_size={args.fleet_size}"
    horizon = "3 ticks" if args.horizon is None else f"{args.horizon:g} s"
    print(f"model {args.model!r}, horizon {horizon}" + (f", fleet size {args.fleet_size}" if fleet else ""))
    print(header)
    print("-" * len(header))
    cards: dict[str, list[dict]] = {}
    for name in names:
        for seed in args.seeds:
            t0 = time.perf_counter()
            source = open_source(f"scenario:{name}?seed={seed}{fleet}")
            cache = MemoryScoreCache()  # scored once, read by the evaluation and here
            card = evaluate(source, args.model, horizon_s=args.horizon, cache=cache)
            healthy_p99, healthy_max = _healthy_probability(source, args.model, cache)
            d = card.to_dict()
            d["healthy_p99"], d["healthy_max"] = healthy_p99, healthy_max
            cards.setdefault(name, []).append(d)
            lead = card.min_lead_time_s
            print(
                f"{name:<18} {seed:>4} {_fmt(card.detection_rate, True):>7} "
                f"{'never' if lead is None else f'{lead:+.0f} s':>9} {_fmt(card.false_alarm_share, True):>9} "
                f"{_fmt(card.false_alarms_per_server_hour, digits=2):>9} {_fmt(card.precision, True):>6} "
                f"{_fmt(card.recall, True):>7} {_fmt(card.auroc):>6} {_fmt(card.top5_peak_coverage, True):>6} "
                f"{sum(i.detected for i in card.incidents):>3}/{len(card.incidents):<2} "
                f"{_fmt(card.false_alarm_episodes_per_server_day, digits=1):>8} {_nab(card.nab):>6} {_nab(card.nab_tuned):>6} "
                f"{_fmt(healthy_p99, digits=2):>6} {_fmt(healthy_max, digits=2):>6} {time.perf_counter() - t0:>5.1f}"
            )

    print()
    print(f"{'scenario':<18} {'detect min':>10} {'AUROC min':>10} {'AUROC mean':>11} {'FA max':>8} {'h.p99':>7} {'h.max':>7}  targets")
    all_ok = True
    for name, rows in cards.items():
        detect = [r["detection_rate"] for r in rows]
        aurocs = [r["auroc"] for r in rows if r["auroc"] is not None]
        fa = [r["false_alarm_share"] or 0.0 for r in rows]
        p99 = max(r["healthy_p99"] for r in rows)
        top = max(r["healthy_max"] for r in rows)
        ok = min(detect) >= 0.9 and bool(aurocs) and min(aurocs) >= 0.9 and p99 < HEALTHY_P99_MAX
        notes = []
        if name == "default":
            leads = [r["min_lead_time_s"] for r in rows]
            top5 = [r["top5_peak_coverage"] for r in rows]
            default_ok = (
                all(x is not None and x >= 30 for x in leads)
                and all(x is not None and x >= 0.9 for x in top5)
                and max(fa) <= 0.01
            )
            notes.append(f"lead>=30s, top5>=90%, FA<=1%: {'ok' if default_ok else 'MISSED'}")
            ok &= default_ok
        all_ok &= ok
        print(
            f"{name:<18} {_fmt(min(detect), True):>10} {_fmt(min(aurocs) if aurocs else None):>10} "
            f"{_fmt(float(np.mean(aurocs)) if aurocs else None):>11} {_fmt(max(fa), True):>8} "
            f"{_fmt(p99, digits=2):>7} {_fmt(top, digits=2):>7}  "
            f"{'ok' if ok else 'MISSED'} {'; '.join(notes)}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(cards, fh, indent=2)
    return 0 if all_ok else 1


def _nab(scores) -> str:
    return "n/a" if not scores or scores.get("standard") is None else f"{scores['standard']:.1f}"


def _healthy_probability(source, model: str, cache) -> tuple[float, float]:
    """99th percentile and maximum of the probability over unaffected servers' ticks."""
    n_ticks = int(source.n_ticks())
    affected = np.asarray(source.window(n_ticks - 1, 1).problem_child, dtype=bool)
    probability = Scorer(source, model, cache=cache).probabilities(0, n_ticks - 1)[:, ~affected]
    if probability.size == 0:
        return 0.0, 0.0
    return float(np.percentile(probability, 99)), float(probability.max())


if __name__ == "__main__":
    raise SystemExit(main())
