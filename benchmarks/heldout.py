"""Held-out scenario types: train ``learned`` without one scenario type, evaluate it there.

    python benchmarks/heldout.py [--types gc_storm ...] [--seeds 1 2 3] [--variants 8] [--rounds 80]
                                 [--out benchmarks/out/heldout] [--json out.json]

For each bundled scenario type: an artifact is trained with ``--exclude TYPE`` (a smaller
configuration than the shipped one, so six trainings fit in minutes), then the learned
model (with that artifact) and the default ``adaptive`` model are evaluated on the
scenario itself with each seed. Printed per type: the mean AUROC, the median lead time of
the affected servers' first incidents (time before the peak that the first alert came;
never-detected servers count as missed) and the false-alarm episodes, summed over seeds;
the verdict asks for a higher AUROC, a longer median lead time and no more false alarms.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dashboard.evaluate import evaluate
from dashboard.models.adaptive import AdaptiveModel
from dashboard.models.learned import LearnedModel
from dashboard.models.learned_train import TrainConfig, train
from dashboard.models.scoring import MemoryScoreCache
from dashboard.models.training import scenario_types
from dashboard.sources import open_source


def measure(model, kind: str, seeds: list[int]) -> dict:
    aurocs, leads, missed, false_alarms = [], [], 0, 0
    for seed in seeds:
        card = evaluate(open_source(f"scenario:{kind}?seed={seed}"), model, cache=MemoryScoreCache())
        aurocs.append(card.auroc)
        for server in card.affected:
            if server.incident_start_s is None:
                continue
            if server.lead_time_s is None:
                missed += 1
            else:
                leads.append(server.lead_time_s)
        false_alarms += card.false_alarm_episodes_all
    return {
        "auroc": float(np.mean(aurocs)),
        "median_lead_s": float(np.median(leads)) if leads else None,
        "missed": missed,
        "false_alarms": false_alarms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--types", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--variants", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/heldout"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    kinds = args.types or scenario_types()
    print(f"{'held-out type':<18} {'model':<9} {'AUROC':>6} {'median lead':>12} {'missed':>7} {'false alarms':>13} {'train s':>8}")
    results, ok = {}, True
    for kind in kinds:
        folder = args.out / kind
        t0 = time.perf_counter()
        report = train(folder, TrainConfig(variants_per_type=args.variants, rounds=args.rounds, exclude=(kind,)))
        seconds = time.perf_counter() - t0
        learned = measure(LearnedModel(artifact=str(folder)), kind, args.seeds)
        default = measure(AdaptiveModel(), kind, args.seeds)
        results[kind] = {"learned": learned, "adaptive": default, "train_seconds": seconds,
                         "ece_out_of_type": report["out_of_type"]["ece_calibrated"]}
        for name, r in (("learned", learned), ("adaptive", default)):
            lead = "n/a" if r["median_lead_s"] is None else f"{r['median_lead_s']:+.0f} s"
            print(f"{kind:<18} {name:<9} {r['auroc']:>6.3f} {lead:>12} {r['missed']:>7} {r['false_alarms']:>13} "
                  f"{seconds if name == 'learned' else 0:>8.0f}")
        better = (
            learned["auroc"] > default["auroc"]
            and (learned["median_lead_s"] or -1e9) > (default["median_lead_s"] or -1e9)
            and learned["false_alarms"] <= default["false_alarms"]
        )
        ok &= better
        print(f"{kind:<18} verdict: {'learned better' if better else 'NOT better'} (ECE out of type {results[kind]['ece_out_of_type']:.3f})\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
