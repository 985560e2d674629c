"""The benchmark scripts still run against today's code (their figures are printed, not tested)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_tick_runs_on_a_small_fleet(capsys):
    bench = _load("bench_tick")
    assert bench.main(["--sizes", "40", "--steady", "3"]) == 0
    out = capsys.readouterr().out
    assert "steady refresh, scores cold" in out and "cpu" in out
