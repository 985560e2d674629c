"""Train a risk model's artifact: ``python -m dashboard.train --model learned --out PATH``.

Trainers are registered by model name (``TRAINERS``), so another trained model plugs in
beside ``learned`` with its own entry. The same options and seed give the same artifact.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from typing import Any

from .argtypes import positive_int
from .errors import DashboardError

# model name -> "module:function" taking (out, config, progress=, log=) and returning a report
TRAINERS = {"learned": "dashboard.models.learned_train:train"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.train",
        description=(
            "Train a risk model from the scenario library and procedurally varied scenarios "
            "(random timelines, effects, fleet mixes, tick sizes, disturbances, missing metrics, "
            "long healthy stretches) and write a versioned artifact with a training report."
        ),
        epilog=(
            "examples:\n"
            "  python -m dashboard.train --model learned --out dashboard/models/artifacts/learned\n"
            "  python -m dashboard.train --model learned --out /tmp/no-gc --exclude gc_storm\n"
            "then: python -m dashboard.evaluate --data scenario:gc_storm --model learned --param artifact=/tmp/no-gc"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="learned", choices=sorted(TRAINERS), help="which model to train (default: learned)")
    parser.add_argument("--out", required=True, metavar="PATH", help="folder to write the artifact into (model.txt, metadata.json)")
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same artifact (default 7)")
    parser.add_argument("--variants", type=positive_int, default=None, metavar="N", help="procedural scenarios per scenario type (default 12)")
    parser.add_argument("--rounds", type=positive_int, default=None, metavar="N", help="boosting rounds (default 120)")
    parser.add_argument("--exclude", nargs="+", default=(), metavar="TYPE", help="scenario types to leave out (held-out evaluation)")
    parser.add_argument("--report", metavar="PATH", help="also write the training report as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    trainer = _trainer(args.model)
    from .models.learned_train import TrainConfig

    overrides: dict[str, Any] = {"seed": args.seed, "exclude": tuple(args.exclude)}
    if args.variants is not None:
        overrides["variants_per_type"] = args.variants
    if args.rounds is not None:
        overrides["rounds"] = args.rounds
    config = TrainConfig(**overrides)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=0, unit="scenario", desc="building training data", file=sys.stderr)

    def progress(done: int, total: int, kind: str) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(kind)
            bar.refresh()

    try:
        from .scenario import list_scenarios

        known = {info.name for info in list_scenarios() if info.error is None}
        unknown = [k for k in args.exclude if k not in known]
        if unknown:
            raise DashboardError(f"--exclude: no scenario type {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        report = trainer(args.out, config, progress=progress, log=lambda msg: print(msg, file=sys.stderr))
    except (DashboardError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps(report, indent=2))
    if args.report:
        from .atomic import write_text_atomic

        write_text_atomic(args.report, json.dumps(report, indent=2) + "\n")
    return 0


def _trainer(name: str):
    module, _, func = TRAINERS[name].partition(":")
    return getattr(import_module(module), func)


if __name__ == "__main__":
    raise SystemExit(main())
