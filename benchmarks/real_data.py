"""Every registered risk model on the real development data, beside the published detectors.

    python benchmarks/real_data.py [--models heuristic ...] [--nab-only | --smd-only]
                                   [--files nyc_taxi machine-1-2 ...] [--cache-dir DIR] [--json out.json]

Reads ``../shared/data/real/`` (``--data-dir``) through the project's own sources: NAB's
files as single-server CSVs whose ``value`` column is an extra metric, with NAB's
windows JSON as the incident log; SMD's machines as Parquet files whose ``m00..m37``
are extra metrics and whose ``label``/``split`` columns are never metrics, each with the
incident log beside it, scored on the test half (the model reads the train half as
history). Nothing is copied into the project.

1. **NAB scorer check.** Scores the published per-row outputs of ``numenta``,
   ``windowedGaussian`` and ``null`` at their published thresholds with
   :mod:`dashboard.evaluation.nab` and compares every file's raw score and TP/TN/FP/FN
   with NAB's published per-file scores (to 1e-6), then the normalised totals with the
   data README's table.
2. **NAB files.** Per file and over the 5 files as one corpus: each model's NAB score for
   the alerts a user sees (``nab``) and for its probability at NAB's tuned threshold
   (``nab_tuned``, tuned over the 5 files for the corpus row), the windows hit, the
   false-alarm episodes per server-day and the pooled point-wise AUROC, beside the
   published detectors (per file: numenta, windowedGaussian, null; corpus: the README's
   table of every detector).
3. **SMD machines.** Per machine: point-wise AUROC of the probability against the
   labelled minutes of the test half, incidents detected, false alarms per server-day
   and NAB, beside a plain baseline: the largest absolute z-score of any metric against
   the machine's train half.

Exit status 1 when the NAB scorer check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard.evaluate import evaluate_many
from dashboard.evaluation import nab
from dashboard.evaluation.measures import auroc
from dashboard.models import model_names
from dashboard.models.scoring import MemoryScoreCache, Scorer, make_score_cache
from dashboard.sources import open_source


def _default_data() -> Path:
    """``../shared/data/real`` from the project root, or from a folder above it."""
    here = Path(__file__).resolve().parents[1]
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "data" / "real"
        if candidate.is_dir():
            return candidate
    return here.parent / "shared" / "data" / "real"


DEFAULT_DATA = _default_data()
PUBLISHED = ("numenta", "windowedGaussian", "null")
NAB_UNITS = {"nyc_taxi": "passengers per 30 min"}  # the only unit NAB's data README states
TOLERANCE = 1e-6
SHORT = {"standard": "std", "reward_low_FP_rate": "lowFP", "reward_low_FN_rate": "lowFN"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="the real-data folder (default: %(default)s)")
    parser.add_argument("--models", nargs="+", default=None, help="registered models (default: every one)")
    parser.add_argument("--files", nargs="+", default=None, help="only these NAB file stems / SMD machines")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--nab-only", action="store_true")
    only.add_argument("--smd-only", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=None, help="keep model scores here between runs (diskcache)")
    parser.add_argument("--full", action="store_true", help="also print each model's whole scorecard per file")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args(argv)
    root = args.data_dir
    if not (root / "nab").is_dir() or not (root / "smd").is_dir():
        print(f"error: {root} does not hold nab/ and smd/ (pass --data-dir)", file=sys.stderr)
        return 2
    models = args.models or model_names()
    cache = make_score_cache(args.cache_dir) if args.cache_dir else MemoryScoreCache(2 * 1024**3)
    print(f"models: {', '.join(models)}; data: {root}\n")
    out: dict = {}
    ok = True
    if not args.smd_only:
        ok = check_nab_scorer(root / "nab", out)
        nab_files(root / "nab", models, args.files, cache, out, args.full)
    if not args.nab_only:
        smd_machines(root / "smd", models, args.files, cache, out, args.full)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0 if ok else 1


# -- 1. the NAB scorer against NAB's published scores -------------------------------------
def check_nab_scorer(folder: Path, out: dict) -> bool:
    windows = json.loads((folder / "windows.json").read_text())
    thresholds = json.loads((folder / "config" / "thresholds.json").read_text())
    worst, compared, counts_equal = 0.0, 0, 0
    totals = {}
    for detector in PUBLISHED:
        for profile in nab.PROFILES:
            published = _published_scores(folder, detector, profile.name)
            raw_sum, window_sum = 0.0, 0
            for key, wins in windows.items():
                series, scores = _published_rows(folder, detector, key, wins)
                result = nab.score([series], [scores], thresholds[detector][profile.name]["threshold"], profile)
                row = published[key]
                worst = max(worst, abs(result.raw - float(row["Score"])))
                compared += 1
                counts_equal += (result.tp, result.tn, result.fp, result.fn) == tuple(int(row[k]) for k in ("TP", "TN", "FP", "FN"))
                raw_sum += result.raw
                window_sum += result.windows
            totals[(detector, profile.name)] = nab.normalized(raw_sum, window_sum, profile)
    table = _readme_table(folder.parent / "README.md")
    ok = worst <= TOLERANCE and counts_equal == compared
    print("1. NAB scorer against NAB's published per-file scores (numenta, windowedGaussian, null)")
    print(f"   {compared} (detector, profile, file) raw scores: largest difference {worst:.1e} (tolerance {TOLERANCE:g}); "
          f"TP/TN/FP/FN equal in {counts_equal} of {compared}: {'OK' if ok else 'FAILED'}")
    for detector in PUBLISHED:
        mine = " / ".join(f"{totals[(detector, p)]:.1f}" for p in nab.PROFILE_NAMES)
        readme = table.get(detector)
        theirs = " / ".join(f"{v:.1f}" for v in readme[:3]) if readme else "?"
        print(f"   {detector:<17} normalised {mine:<20} README table {theirs}")
    print()
    out["nab_scorer_check"] = {"largest_difference": worst, "compared": compared, "counts_equal": counts_equal, "ok": ok}
    return ok


def _published_scores(folder: Path, detector: str, profile: str) -> dict[str, dict]:
    path = folder / "results" / detector / f"{detector}_{profile}_scores.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["File"]: row for row in csv.DictReader(fh)}


def _published_rows(folder: Path, detector: str, key: str, wins) -> tuple[nab.Series, np.ndarray]:
    name = key.split("/", 1)[1]
    frame = pd.read_csv(folder / "results" / detector / "realKnownCause" / f"{detector}_{name}")
    stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
    return nab.Series.prepare(stamps, wins, name=name), frame["anomaly_score"].to_numpy(dtype=float)


def _readme_table(readme: Path) -> dict[str, list[float]]:
    """The data README's published baseline table: detector -> [std, lowFP, lowFN, AUROC, hit, windows]."""
    rows = {}
    if not readme.is_file():
        return rows
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*([A-Za-z]+)[^|]*\|\s*([-−\d.]+)\s*\|\s*([-−\d.]+)\s*\|\s*([-−\d.]+)\s*\|\s*([\d.]+)\s*\|\s*(\d+)/(\d+)\s*\|", line)
        if m:
            values = [float(v.replace("−", "-")) for v in m.groups()[1:5]] + [int(m.group(6)), int(m.group(7))]
            rows[m.group(1)] = values
    return rows


# -- 2. NAB files ---------------------------------------------------------------------------
def nab_files(folder: Path, models: list[str], only: list[str] | None, cache, out: dict, full: bool) -> None:
    windows_path = folder / "windows.json"
    windows = json.loads(windows_path.read_text())
    thresholds = json.loads((folder / "config" / "thresholds.json").read_text())
    keys = [k for k in windows if only is None or Path(k).stem in only]
    if not keys:
        return
    items = []
    for key in keys:
        stem = Path(key).stem
        units = f"&units=value={NAB_UNITS[stem]}" if stem in NAB_UNITS else ""
        spec = f"csv:{folder / 'data' / key}?server={stem}{units}"
        items.append({"data": open_source(spec, data_roots=[folder]), "incidents": windows_path})
    published = {d: {key: _published_rows(folder, d, key, windows[key]) for key in keys} for d in PUBLISHED}
    print(f"2. NAB realKnownCause files ({len(keys)}), through the project's sources; windows.json as the incident log")
    print("   nab: alerts as a user sees them (onsets under the default policy); tuned: the probability at NAB's best threshold")
    print("   FP: NAB's false positives at the standard profile (detections outside every window, after the probation)")
    header = (
        f"   {'file':<36} {'model / detector':<26} {'nab std/lowFP/lowFN':>20} {'tuned std/lowFP/lowFN':>22} "
        f"{'hit':>5} {'FP':>4} {'FA/day':>7} {'AUROC':>6}"
    )
    print(header)
    print("   " + "-" * (len(header) - 3))
    results = {}
    for model in models:
        t0 = time.perf_counter()
        corpus = evaluate_many(items, model, cache=cache)
        results[model] = (corpus, time.perf_counter() - t0)
    for k, key in enumerate(keys):
        stem = Path(key).stem
        for detector in PUBLISHED:
            series, scores = published[detector][key]
            per = [nab.score([series], [scores], thresholds[detector][p.name]["threshold"], p) for p in nab.PROFILES]
            line = " / ".join(f"{r.normalized:5.1f}" for r in per)
            print(
                f"   {stem:<36} {detector + ' (published)':<26} {'':>20} {line:>22} "
                f"{per[0].windows_hit:>3}/{per[0].windows:<1} {per[0].fp:>4} {'':>7} {auroc_in_windows([series], [scores]):>6.3f}"
            )
        for model, (corpus, _) in results.items():
            card = corpus.cards[k]
            probs = _probabilities(items[k]["data"], model, cache)
            series = nab.Series.prepare(items[k]["data"].timestamps(), windows[key])
            print(
                f"   {stem:<36} {model:<26} {_three(card.nab):>20} {_three(card.nab_tuned):>22} "
                f"{card.nab_info['profiles']['standard']['windows_hit']:>3}/{card.nab_info['windows']:<1} "
                f"{card.nab_info['profiles']['standard']['false_positives']:>4} "
                f"{_fmt(card.false_alarm_episodes_per_server_day, 2):>7} {auroc_in_windows([series], [probs]):>6.3f}"
            )
            out.setdefault("nab_files", {}).setdefault(stem, {})[model] = card.to_dict()
        print()
    table = _readme_table(folder.parent / "README.md")
    published_fp = {
        d: sum(
            nab.score([s], [v], thresholds[d]["standard"]["threshold"], nab.PROFILES[0]).fp
            for s, v in (published[d][key] for key in keys)
        )
        for d in PUBLISHED
    }
    print(f"   corpus: the {len(keys)} files as one (NAB normalises the summed raw scores; tuned: one threshold over all files)")
    if len(keys) == len(windows):
        for detector, values in sorted(table.items(), key=lambda kv: -kv[1][0]):
            print(
                f"   {'corpus':<36} {detector + ' (published)':<26} {'':>20} "
                f"{values[0]:5.1f} / {values[1]:5.1f} / {values[2]:5.1f} {values[4]:>3}/{values[5]:<2}"
                f"{published_fp.get(detector, ''):>4} {'':>7} {values[3]:>6.3f}"
            )
    for model, (corpus, seconds) in results.items():
        info = corpus.nab_info
        series = [nab.Series.prepare(item["data"].timestamps(), windows[key]) for item, key in zip(items, keys, strict=True)]
        probs = [_probabilities(item["data"], model, cache) for item in items]
        fa = [c.false_alarm_episodes_all for c in corpus.cards]
        days = sum(c.details.get("observed_server_days", 0.0) for c in corpus.cards)
        print(
            f"   {'corpus':<36} {model:<26} {_three(corpus.nab):>20} {_three(corpus.nab_tuned):>22} "
            f"{info['profiles']['standard']['windows_hit']:>3}/{info['windows']:<2}{info['profiles']['standard']['false_positives']:>4} "
            f"{sum(fa) / days if days else 0:>7.2f} "
            f"{auroc_in_windows(series, probs):>6.3f}   ({seconds:.0f} s)"
        )
        out.setdefault("nab_corpus", {})[model] = {
            "nab": corpus.nab,
            "nab_tuned": corpus.nab_tuned,
            "nab_info": corpus.nab_info,
            "false_alarm_episodes": sum(fa),
            "seconds": seconds,
        }
        _print_warnings([(Path(c.data.split("?")[0]).stem, c.warnings) for c in corpus.cards])
    if full:
        for corpus, _ in results.values():
            for card in corpus.cards:
                print(card.format() + "\n")
    print()


def _print_warnings(per_file: list[tuple[str, list[str]]]) -> None:
    """Each distinct warning once, with the files it concerns."""
    seen: dict[str, list[str]] = {}
    for name, warnings in per_file:
        for warning in warnings:
            seen.setdefault(warning, []).append(name)
    for warning, names in seen.items():
        print(f"      warning ({', '.join(names)}): {warning}")


def auroc_in_windows(series: list[nab.Series], scores: list[np.ndarray]) -> float:
    """Point-wise AUROC against "row inside a window" over the scored (post-probation) rows,
    pooled: the data README's "AUROC pooled"."""
    values = np.concatenate([np.asarray(s, dtype=float)[one.probation :] for one, s in zip(series, scores, strict=True)])
    labels = np.concatenate([one.window >= 0 for one in series])
    value = auroc(values, labels)
    return float("nan") if value is None else value


# -- 3. SMD machines --------------------------------------------------------------------------
def smd_machines(folder: Path, models: list[str], only: list[str] | None, cache, out: dict, full: bool) -> None:
    machines = sorted(p.stem for p in folder.glob("machine-*.parquet") if only is None or p.stem in only)
    if not machines:
        return
    print("3. SMD machines: the test half scored (the train half is history); point-wise AUROC against labelled minutes")
    header = f"   {'machine':<12} {'model':<24} {'AUROC':>6} {'incidents hit':>14} {'FA/day':>7} {'nab std':>8} {'tuned std':>10} {'secs':>6}"
    print(header)
    print("   " + "-" * (len(header) - 3))
    for machine in machines:
        path = folder / f"{machine}.parquet"
        raw = pd.read_parquet(path, columns=["timestamp", "split", "label"])
        test = (raw["split"] == "test").to_numpy()
        start = raw["timestamp"][test].iloc[0]
        labels = raw["label"][test].fillna(0).to_numpy() > 0
        baseline = max_z_baseline(path)
        print(f"   {machine:<12} {'max-z baseline':<24} {auroc(baseline[test], labels):>6.3f}")
        source = open_source(f"parquet:{path}?server={machine}", data_roots=[folder])
        for model in models:
            t0 = time.perf_counter()
            (card,) = evaluate_many([{"data": source, "start": start}], model, cache=cache).cards
            seconds = time.perf_counter() - t0
            probs = _probabilities(source, model, cache)[test]
            hit = sum(i.detected for i in card.incidents)
            print(
                f"   {machine:<12} {model:<24} {auroc(probs, labels):>6.3f} {hit:>8}/{len(card.incidents):<5} "
                f"{_fmt(card.false_alarm_episodes_per_server_day, 2):>7} {_fmt((card.nab or {}).get('standard'), 1):>8} "
                f"{_fmt((card.nab_tuned or {}).get('standard'), 1):>10} {seconds:>6.0f}"
            )
            _print_warnings([(machine, card.warnings)])
            if full:
                print(card.format() + "\n")
            out.setdefault("smd", {}).setdefault(machine, {})[model] = card.to_dict() | {"auroc_test_labels": auroc(probs, labels)}
        out.setdefault("smd", {}).setdefault(machine, {})["max-z baseline"] = {"auroc_test_labels": auroc(baseline[test], labels)}
        print()


def max_z_baseline(path: Path) -> np.ndarray:
    """Each minute's largest absolute z-score of any metric against the train half's mean and
    standard deviation (constant train columns are left out)."""
    frame = pd.read_parquet(path)
    metrics = [c for c in frame.columns if re.fullmatch(r"m\d\d", c)]
    values = frame[metrics].to_numpy(dtype=np.float64)
    train = (frame["split"] == "train").to_numpy()
    mean, std = values[train].mean(axis=0), values[train].std(axis=0)
    usable = std > 0
    z = np.abs(values[:, usable] - mean[usable]) / std[usable]
    return z.max(axis=1)


# -- helpers ----------------------------------------------------------------------------------
def _probabilities(source, model: str, cache) -> np.ndarray:
    """The model's probability per tick of a one-server source (read back from the cache)."""
    return Scorer(source, model, cache=cache).probabilities(0, source.n_ticks() - 1)[:, 0].astype(float)


def _three(scores: dict | None) -> str:
    if not scores:
        return "n/a"
    return " / ".join(f"{scores[p]:5.1f}" for p in nab.PROFILE_NAMES)


def _fmt(value, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    raise SystemExit(main())
