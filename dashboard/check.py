"""Scenario files as tests of a risk model, the way promtool tests alerting rules.

A scenario's ``expectations`` state what a good model must do on it::

    "expectations": {
      "lead_time_s": 30,               every incident caught (an alert starts) >= 30 s before its peak
      "quiet_disturbed_servers": true, no alert on servers touched only by disturbances
      "top5_in_peak": 0.9,             the top 5 hold every affected server in >= 90% of peak ticks
      "max_false_alarm_episodes": 2    at most 2 false-alarm episodes, all servers together
    }

``python -m dashboard.check [SCENARIO ...] --model NAME`` generates each scenario in memory
(at its own seed, or ``--seed``), evaluates the model on it and prints one line per
expectation; ``--junit PATH`` also writes JUnit XML for a CI. The exit status is 0 when every
expectation holds, 1 when one fails, 2 when a scenario or an argument cannot be used.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .argtypes import OneLineParser
from .errors import DashboardError
from .evaluate import evaluate, parse_param
from .evaluation.scorecard import Scorecard
from .scenario import Scenario, list_scenarios, load_scenario
from .settings import Settings


@dataclass(frozen=True)
class Outcome:
    """One expectation: what it asks, whether it held, what was found."""

    name: str
    expected: str
    passed: bool
    got: str


@dataclass(frozen=True)
class ScenarioCheck:
    """Every expectation of one scenario for one model."""

    scenario: str
    source: str
    model: str
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(o.passed for o in self.outcomes)


def check_scenario(
    scenario: Scenario,
    model: str = "adaptive",
    *,
    model_params: dict[str, Any] | None = None,
    source: str = "",
) -> ScenarioCheck:
    """Generate ``scenario`` in memory, evaluate ``model`` on it, test its expectations."""
    from .sources.scenario_source import ScenarioSource

    t0 = time.perf_counter()
    card = evaluate(ScenarioSource(scenario), model, model_params=model_params)
    outcomes = expectation_outcomes(scenario, card)
    return ScenarioCheck(
        scenario.name, source or scenario.name, card.model, scenario.seed, outcomes, time.perf_counter() - t0
    )


def expectation_outcomes(scenario: Scenario, card: Scorecard) -> list[Outcome]:
    """Each of the scenario's expectations against the scorecard (none when it states none)."""
    want = scenario.expectations
    if want is None:
        return []
    out = []
    if want.lead_time_s is not None:
        out.append(_lead_time(card, want.lead_time_s))
    if want.quiet_disturbed_servers:
        out.append(_quiet(scenario, card))
    if want.top5_in_peak is not None:
        got = card.top5_peak_coverage
        out.append(
            Outcome(
                "top5_in_peak",
                f"the top 5 hold every affected server in >= {want.top5_in_peak:.0%} of peak ticks",
                got is not None and got >= want.top5_in_peak - 1e-12,
                "n/a (no peak tick fits a top 5, or the fleet has 5 servers or fewer)"
                if got is None
                else f"{got:.1%}",
            )
        )
    if want.max_false_alarm_episodes is not None:
        k = want.max_false_alarm_episodes
        out.append(
            Outcome(
                "max_false_alarm_episodes",
                f"at most {k} false-alarm episode{'s' if k != 1 else ''}, all servers together",
                card.false_alarm_episodes_all <= k,
                f"{card.false_alarm_episodes_all}" + _where(card.false_alarms_by_server),
            )
        )
    return out


def _lead_time(card: Scorecard, need_s: float) -> Outcome:
    expected = f"every incident caught >= {need_s:g} s before its peak"
    if not card.incidents:
        return Outcome("lead_time_s", expected, False, "no incident in the data")
    missed = [i for i in card.incidents if not i.detected]
    if missed:
        names = ", ".join(f"{i.server_name} (from {i.start[11:19]})" for i in missed[:5])
        return Outcome("lead_time_s", expected, False, f"{len(missed)} of {len(card.incidents)} missed: {names}")
    worst = min(card.incidents, key=lambda i: i.lead_time_s if i.lead_time_s is not None else float("inf"))
    lead = worst.lead_time_s or 0.0
    return Outcome(
        "lead_time_s",
        expected,
        lead >= need_s - 1e-9,
        f"lowest lead {lead:+g} s ({worst.server_name}, incident from {worst.start[11:19]})",
    )


def _quiet(scenario: Scenario, card: Scorecard) -> Outcome:
    affected = {a["server_name"] for a in scenario.affected_servers()}
    touched = {
        name
        for d in scenario.disturbance_servers()
        for name in (*d["servers"], *d["peers"])
        if name not in affected
    }
    noisy = {s: c for s, c in card.false_alarms_by_server.items() if s in touched}
    expected = "no alert on servers touched only by disturbances"
    if not touched:
        return Outcome("quiet_disturbed_servers", expected, True, "no server is touched only by disturbances")
    return Outcome(
        "quiet_disturbed_servers",
        expected,
        not noisy,
        f"{sum(noisy.values())} alert episode(s) on {len(touched)} such server(s)" + _where(noisy),
    )


def _where(counts: dict[str, int], limit: int = 5) -> str:
    if not counts:
        return ""
    worst = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ", ".join(f"{s} ({c})" for s, c in worst[:limit])
    return f": {listed}" + (" ..." if len(worst) > limit else "")


# -- output ---------------------------------------------------------------------------
def format_check(result: ScenarioCheck) -> str:
    """promtool-like text: the scenario, then SUCCESS/FAILED per expectation."""
    head = f"Checking {result.source} with model {result.model!r} (seed {result.seed})"
    if result.error is not None:
        return f"{head}\n  FAILED  cannot run: {result.error}"
    if not result.outcomes:
        return f"{head}\n  SKIPPED no expectations stated"
    lines = [head]
    for o in result.outcomes:
        lines.append(f"  {'SUCCESS' if o.passed else 'FAILED '} {o.expected}: got {o.got}")
    return "\n".join(lines)


def junit_xml(results: list[ScenarioCheck]) -> bytes:
    """JUnit XML: one testsuite per scenario, one testcase per expectation."""
    root = ET.Element("testsuites", name="dashboard.check")
    for r in results:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=r.source,
            tests=str(max(len(r.outcomes), 1 if r.error else 0)),
            failures=str(sum(not o.passed for o in r.outcomes)),
            errors="1" if r.error else "0",
            skipped="0",
            time=f"{r.seconds:.3f}",
        )
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="model", value=r.model)
        if r.error is not None:
            case = ET.SubElement(suite, "testcase", classname=r.scenario, name="run", time="0")
            ET.SubElement(case, "error", message=r.error).text = r.error
        for o in r.outcomes:
            case = ET.SubElement(suite, "testcase", classname=r.scenario, name=o.name, time="0")
            if not o.passed:
                ET.SubElement(case, "failure", message=f"{o.expected}: got {o.got}").text = (
                    f"expected: {o.expected}\ngot: {o.got}"
                )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# -- CLI ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m dashboard.check",
        description=textwrap.fill(
            "Run the expectations stated in scenario files against a risk model, like "
            "promtool's rule tests: each scenario is generated in memory, the model is "
            "evaluated on it and every expectation is reported as SUCCESS or FAILED. Exit "
            "status 0 when all hold, 1 when one fails, 2 when a scenario cannot be used."
        ),
        epilog=(
            "examples:\n"
            "  python -m dashboard.check                       every scenario in the scenario folder\n"
            "  python -m dashboard.check default memory_leak --model heuristic\n"
            "  python -m dashboard.check my_scenarios/*.json --junit check.xml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="scenario names or files (default: every one in the scenario folder)"
    )
    parser.add_argument("--model", default=None, metavar="NAME", help="registered risk model (default: the settings' default, adaptive)")
    parser.add_argument(
        "--param", action="append", default=[], type=parse_param, metavar="NAME=VALUE", help="model parameter (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=None, help="generate every scenario with this seed instead of its own")
    parser.add_argument("--junit", metavar="PATH", help="also write the results as JUnit XML here")
    return parser


def main(argv: list[str] | None = None, *, settings: Settings | None = None) -> int:
    """The check CLI (``python -m dashboard.check``); ``settings`` come from its caller."""
    settings = settings or Settings()
    args = build_parser().parse_args(argv)
    try:
        params = dict(args.param)
        if args.junit:
            from .atomic import check_folder

            check_folder(args.junit)
        if args.seed is not None and args.seed < 0:
            raise DashboardError(f"--seed must be 0 or more, got {args.seed}")
        scenarios = _scenarios(args.scenarios, settings)
    except (DashboardError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = args.model or settings.default_model
    results = []
    for label, scenario in scenarios:
        try:
            if isinstance(scenario, Exception):
                raise scenario
            if args.seed is not None:
                scenario = scenario.resolved(seed=args.seed)
            result = check_scenario(scenario, model, model_params=params, source=label)
        except DashboardError as exc:
            result = ScenarioCheck(Path(label).stem, label, model, args.seed or 0, error=str(exc))
        results.append(result)
        print(format_check(result))
    failed = [r for r in results if not r.passed]
    ran = sum(len(r.outcomes) for r in results)
    print(
        f"\n{'SUCCESS' if not failed else 'FAILED'}: {len(results)} scenario(s), {ran} expectation(s), "
        f"{sum(not o.passed for r in results for o in r.outcomes)} failed"
        + (f", {sum(r.error is not None for r in results)} could not run" if any(r.error for r in results) else "")
    )
    if args.junit:
        from .atomic import write_bytes_atomic

        try:
            write_bytes_atomic(args.junit, junit_xml(results))
        except OSError as exc:
            print(f"error: cannot write {args.junit}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"JUnit XML written to {args.junit}")
    if any(r.error is not None for r in results):
        return 2
    return 1 if failed else 0


def _scenarios(names: list[str], settings: Settings) -> list[tuple[str, Any]]:
    """``(label, Scenario or the error loading it)`` for each name; every scenario of the folder by default."""
    if not names:
        infos = list_scenarios(settings.scenario_dir)
        if not infos:
            raise DashboardError(f"no scenario files in {settings.scenario_dir}")
        names = [info.name for info in infos]
    out: list[tuple[str, Any]] = []
    for name in names:
        try:
            out.append((name, load_scenario(name, scenario_dir=settings.scenario_dir)))
        except DashboardError as exc:
            out.append((name, exc))
    return out


if __name__ == "__main__":  # pragma: no cover - the entry point reads the environment
    raise SystemExit(main(settings=Settings.from_env()))
