"""The live preview: a sample of what will be generated, exactly, at a bounded cost."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.authoring import draft
from dashboard.authoring.preview import preview
from dashboard.generate import METRICS, _plan, generate_table, sample_servers, sample_ticks
from dashboard.scenario import list_scenarios, load_scenario, parse_scenario
from dashboard.schema import STATES

BUNDLED = [i.name for i in list_scenarios()]


def generated(scenario):
    frame = generate_table(scenario).table.to_pandas()
    n = scenario.fleet.size
    return frame, n


@pytest.mark.parametrize("name", BUNDLED)
def test_the_sample_equals_the_generated_rows(name):
    scenario = load_scenario(name)
    result = preview(scenario)
    frame, n = generated(scenario)
    ticks = np.rint(result.sample_s / scenario.tick_s).astype(int)
    assert result.every_tick and len(ticks) == scenario.n_ticks
    index = {s: i for i, (s, _) in enumerate(scenario.fleet.server_names())}
    for series in result.servers:
        rows = frame.iloc[ticks * n + index[series.name]]
        assert (rows["server_name"].astype(str) == series.name).all()
        for metric in result.metrics:
            np.testing.assert_array_equal(rows[metric].to_numpy(), series.values[metric])
        assert list(rows["state"].astype(str)) == [STATES[k] for k in series.state]
        assert rows["problem_child"].all() == series.affected


def test_a_sparse_sample_of_a_large_fleet_equals_its_rows():
    scenario = load_scenario("memory_leak").resolved(fleet_size=3000, duration_min=4)
    plan = _plan(scenario)
    ticks = sample_ticks(plan.n_ticks, plan.block_ticks, len(plan.names), 2999, points=30, draws=200_000)
    assert 0 < len(ticks) <= 30
    sample = sample_servers(scenario, [1, 7, 2999], ticks)
    frame, n = generated(scenario)
    for column, server in enumerate([1, 7, 2999]):
        rows = frame.iloc[ticks * n + server]
        for m, metric in enumerate(METRICS):
            np.testing.assert_array_equal(rows[metric].to_numpy(), sample["values"][:, column, m])
        np.testing.assert_array_equal(rows["container_oom"].to_numpy(), sample["oom"][:, column])


def test_delays_share_rules_and_oom_are_sampled_as_generated():
    doc = draft.from_scenario(load_scenario("default").resolved(fleet_size=30))
    doc = draft.set_value(doc, "affected.0.delay_s", 20)
    doc = draft.add_group(doc)
    doc = draft.set_enabled(doc, "affected.1.oom", True)
    doc = draft.set_value(doc, "affected.1.oom.offline_ticks", 3)
    doc = draft.set_value(doc, "affected.1.oom.min_intensity", 0.5)
    scenario = parse_scenario(doc)
    hit = [a["index"] for a in scenario.affected_servers() if a["group"] == 1][:2]
    sample = sample_servers(scenario, hit)
    frame, n = generated(scenario)
    for column, server in enumerate(sorted(hit)):
        rows = frame.iloc[sample["ticks"] * n + server]
        np.testing.assert_array_equal(rows["cpu_pct"].to_numpy(), sample["values"][:, column, 0])
        np.testing.assert_array_equal(rows["container_oom"].to_numpy(), sample["oom"][:, column])
    assert sample["oom"].sum() > 0


def test_a_fleet_with_nobody_or_everybody_affected():
    nobody = draft.blank()
    nobody["affected"] = []
    result = preview(parse_scenario(nobody))
    assert [s.affected for s in result.servers] == [False] and result.n_affected == 0
    everybody = draft.set_value(draft.blank(), "affected.0.rule", "profiles")
    everybody = draft.set_value(everybody, "affected.0.profiles", ["web", "database", "cache", "ml_compute"])
    result = preview(parse_scenario(everybody))
    assert [s.affected for s in result.servers] == [True] and result.n_affected == 20


def test_large_fleets_list_the_first_affected_and_count_them_all():
    scenario = load_scenario("cascading_failure").resolved(fleet_size=10_000)
    result = preview(scenario)
    assert result.n_affected > len(result.affected) == 50
    assert not result.every_tick and len(result.sample_s) > 0


@settings(max_examples=60, deadline=None)
@given(
    n_ticks=st.integers(1, 10**7),
    n_servers=st.integers(1, 100_000),
    last=st.integers(0, 99_999),
    points=st.integers(1, 400),
    draws=st.integers(1_000, 10_000_000),
)
def test_sample_ticks_stay_within_the_budget(n_ticks, n_servers, last, points, draws):
    last = min(last, n_servers - 1)
    block = max(1, 120_000 // n_servers)
    ticks = sample_ticks(n_ticks, block, n_servers, last, points=points, draws=draws)
    assert len(ticks) >= 1 and np.all(np.diff(ticks) > 0) and ticks[0] >= 0 and ticks[-1] < n_ticks
    assert len(ticks) <= max(points, 1) + np.ceil(n_ticks / block)  # never more than asked, by much
    blocks = ticks // block
    cost = 0
    for b in np.unique(blocks):
        row = int((ticks[blocks == b] - b * block).max())
        cost += (row * n_servers + last + 1) * len(METRICS)
    cheapest = len(np.unique(blocks)) * (last + 1) * len(METRICS)
    assert cost <= max(draws, cheapest)


@pytest.mark.parametrize("name", ["busy_fleet", "repeat_offender"])
def test_disturbances_and_hot_servers_are_sampled_as_generated(name):
    if name not in BUNDLED:
        pytest.skip(f"no bundled scenario {name}")  # pragma: no cover - both are bundled
    scenario = load_scenario(name)
    frame, n = generated(scenario)
    touched = sorted({i for d in scenario.disturbance_servers() for i in d["indices"] + d["peer_indices"]})
    hot = sorted(scenario.hot_server_levels())
    picked = sorted(set(touched[:3] + hot[:2] + [0]))
    sample = sample_servers(scenario, picked, np.arange(scenario.n_ticks))
    for column, server in enumerate(picked):
        rows = frame.iloc[np.arange(scenario.n_ticks) * n + server]
        for m, metric in enumerate(METRICS):
            np.testing.assert_array_equal(rows[metric].to_numpy(), sample["values"][:, column, m], err_msg=f"{metric} of server {server}")
        assert list(rows["state"].astype(str)) == [STATES[k] for k in sample["state"][:, column]]
