"""Scenario expectations as tests of a model: every bundled scenario's, and the CLI's output and exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from dashboard.check import check_scenario, main
from dashboard.models import DEFAULT_MODEL
from dashboard.scenario import list_scenarios, load_scenario
from dashboard.settings import Settings

BUNDLED = [info.name for info in list_scenarios()]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_states_what_the_default_model_achieves(name):
    result = check_scenario(load_scenario(name), DEFAULT_MODEL)
    assert result.outcomes, f"{name} states no expectations"
    failed = [f"{o.expected}: got {o.got}" for o in result.outcomes if not o.passed]
    assert failed == []


def _scenario(folder, name: str, **extra) -> None:
    data = {
        "schema_version": 1,
        "name": name,
        "description": "0:00-1:30 stable, 1:30-2:30 escalation, 2:30-3:30 peak, 3:30-5:00 recovery.",
        "duration_s": "5:00",
        "seed": 5,
        "fleet": {"size": 12, "mix": {"web": 1, "database": 1, "cache": 1}},
        "phases": [
            {"name": "stable", "start": "0:00", "end": "1:30"},
            {"name": "escalation", "start": "1:30", "end": "2:30", "shape": "ramp", "intensity": 0.8},
            {"name": "peak", "start": "2:30", "end": "3:30", "intensity": 1},
            {"name": "recovery", "start": "3:30", "end": "5:00", "shape": "ramp", "intensity": 0},
        ],
        **extra,
    }
    (folder / f"{name}.json").write_text(json.dumps(data))


@pytest.fixture()
def folder(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    # a batch job pins database-001 at 95%+ CPU: the heuristic raises a false alarm there
    _scenario(
        scenarios,
        "noisy",
        disturbances=[{"kind": "batch_job", "start": "0:20", "end": "1:10", "rule": "servers", "servers": ["database-001"]}],
        expectations={"lead_time_s": 999, "quiet_disturbed_servers": True, "max_false_alarm_episodes": 0, "top5_in_peak": 0.5},
    )
    _scenario(scenarios, "calm", expectations={"lead_time_s": 30, "max_false_alarm_episodes": 0})
    _scenario(scenarios, "plain")
    return scenarios


def test_failed_expectations_exit_1_and_say_what_was_found(folder, capsys):
    # the heuristic's known false alarm on a batch job makes a failing example
    assert main(["noisy", "--model", "heuristic"], settings=Settings(scenario_dir=folder)) == 1
    out = capsys.readouterr().out
    assert "Checking noisy with model 'heuristic' (seed 5)" in out
    assert "FAILED  every incident caught >= 999 s before its peak: got lowest lead +" in out
    assert "FAILED  no alert on servers touched only by disturbances: got 1 alert episode(s) on 1 such server(s): database-001 (1)" in out
    assert "FAILED  at most 0 false-alarm episodes, all servers together: got 1: database-001 (1)" in out
    assert "SUCCESS the top 5 hold every affected server in >= 50% of peak ticks" in out
    assert out.rstrip().endswith("FAILED: 1 scenario(s), 4 expectation(s), 3 failed")


def test_passing_expectations_exit_0_and_scenarios_without_any_are_skipped(folder, capsys):
    assert main(["calm", "plain"], settings=Settings(scenario_dir=folder)) == 0
    out = capsys.readouterr().out
    assert out.count("SUCCESS every incident") == 1 and "SKIPPED no expectations stated" in out
    assert out.rstrip().endswith("SUCCESS: 2 scenario(s), 2 expectation(s), 0 failed")


def test_junit_xml_lists_every_expectation(folder, tmp_path, capsys):
    target = tmp_path / "check.xml"
    assert main(["--junit", str(target), "--model", "heuristic"], settings=Settings(scenario_dir=folder)) == 1
    root = ET.parse(target).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"calm", "noisy", "plain"}
    noisy = suites["noisy"]
    assert (noisy.get("tests"), noisy.get("failures"), noisy.get("errors")) == ("4", "3", "0")
    failures = [c for c in noisy.iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failures} == {"lead_time_s", "quiet_disturbed_servers", "max_false_alarm_episodes"}
    assert "database-001" in failures[1].find("failure").get("message")
    assert suites["calm"].get("failures") == "0"
    assert noisy.find("properties/property").get("value") == "heuristic"
    assert f"JUnit XML written to {target}" in capsys.readouterr().out


def test_a_scenario_that_cannot_run_exits_2(folder, tmp_path, capsys):
    (folder / "broken.json").write_text('{"schema_version": 1}')
    target = tmp_path / "check.xml"
    assert main(["calm", "broken", "nowhere", "--junit", str(target)], settings=Settings(scenario_dir=folder)) == 2
    out = capsys.readouterr().out
    assert "Checking nowhere" in out and "FAILED  cannot run:" in out and "scenario file not found" in out
    assert "2 could not run" in out
    errors = [s for s in ET.parse(target).getroot().iter("testsuite") if s.get("errors") == "1"]
    assert {s.get("name") for s in errors} == {"broken", "nowhere"}


def test_an_unknown_model_cannot_run(folder, capsys):
    assert main(["calm", "--model", "nope"], settings=Settings(scenario_dir=folder)) == 2
    assert "unknown risk model 'nope'" in capsys.readouterr().out


def test_seed_override_and_model_parameters(folder, capsys):
    assert main(["calm", "--seed", "9", "--param", "sensitivity=1.0"], settings=Settings(scenario_dir=folder)) == 0
    assert "(seed 9)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--junit", "/no/such/folder/x.xml"], "does not exist"),
        (["--param", "oops"], "NAME=VALUE"),
        (["--seed", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(folder, capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv, settings=Settings(scenario_dir=folder)))
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_an_empty_scenario_folder_is_said(tmp_path, capsys):
    assert main([], settings=Settings(scenario_dir=tmp_path)) == 2
    assert "no scenario files in" in capsys.readouterr().err


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "promtool" in out and "--junit" in out and "Exit" in out
