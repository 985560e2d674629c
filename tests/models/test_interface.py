"""The risk-model contract, checked for every built-in model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import schema
from dashboard.models import RiskScores, get_model, list_models, model_names
from dashboard.models.alerts import is_active
from dashboard.models.scoring import Scorer

from .fleets import ArraySource, make_window, synthetic_fleet

BUILTINS = ("heuristic", "phase-aware")


@pytest.fixture(params=BUILTINS)
def model(request):
    return get_model(request.param)


def fleet_window(end=None, labelled=True, seed=0):
    src = synthetic_fleet(seed=seed, labelled=labelled)
    end = src.n_ticks() - 1 if end is None else end
    return src.window(end, 60)


def check_scores(scores: RiskScores, n: int):
    assert isinstance(scores, RiskScores)
    assert scores.probability.shape == (n,)
    assert scores.contributions.shape == (n, len(scores.factors))
    assert np.all(np.isfinite(scores.probability))
    assert np.all((scores.probability >= 0) & (scores.probability <= 1))
    assert np.all(np.isfinite(scores.contributions))
    assert np.all(scores.contributions >= 0)


@pytest.mark.parametrize("end", [0, 1, 5, 25, 40, 59])
def test_shape_range_and_contributions(model, end):
    window = fleet_window(end)
    scores = model.score(window)
    check_scores(scores, window.n_servers)


def test_contributions_add_up_to_the_probability(model):
    for end in (20, 26, 35, 50):
        scores = model.score(fleet_window(end))
        np.testing.assert_allclose(scores.contributions.sum(axis=1), scores.probability, rtol=0, atol=1e-12)


def test_factors_name_the_metrics_and_trend(model):
    scores = model.score(fleet_window(30))
    assert {"cpu", "latency", "error_rate", "memory", "gc", "trend"} <= set(scores.factors)
    assert len(set(scores.factors)) == len(scores.factors)


def test_one_call_scores_the_whole_fleet_and_ranks_affected_servers_first(model):
    window = fleet_window(35)  # peak
    scores = model.score(window)
    affected = np.flatnonzero(window.problem_child)
    top = np.argsort(-scores.probability)[: affected.size]
    assert set(top) == set(affected)
    assert scores.probability[affected].min() > 0.9
    assert np.median(scores.probability[~window.problem_child]) < 0.1


def test_explanation_names_the_moving_metric(model):
    # only latency moves on the affected servers
    src = synthetic_fleet(metrics=("latency_ms",))
    scores = model.score(src.window(35, 60))
    # The phase-aware model adds the answer key as a factor of its own; among the
    # factors read from metrics, latency must still come first.
    ranked = [name for name, _ in scores.top_factors(0, k=len(scores.factors)) if name != "incident_phase"]
    assert ranked[0] == "latency"


@pytest.mark.parametrize(
    "damage",
    ["metric_missing", "server_all_nan", "scattered_nan", "all_nan", "single_tick"],
)
def test_missing_values_are_handled(model, damage):
    window = fleet_window(40)
    metrics = {k: v.copy() for k, v in window.metrics.items()}
    rng = np.random.default_rng(1)
    if damage == "metric_missing":
        metrics.pop("latency_ms")
        metrics.pop("gc_pause_ms")
    elif damage == "server_all_nan":
        for v in metrics.values():
            v[:, 3] = np.nan
    elif damage == "scattered_nan":
        for v in metrics.values():
            v[rng.random(v.shape) < 0.2] = np.nan
    elif damage == "all_nan":
        for v in metrics.values():
            v[:] = np.nan
    elif damage == "single_tick":
        metrics = {k: v[-1:] for k, v in metrics.items()}
    w = make_window(metrics, profiles=window.profiles)
    with np.errstate(all="raise"):  # no silent invalid arithmetic either
        scores = model.score(w)
    check_scores(scores, w.n_servers)
    if damage == "all_nan":
        assert np.all(scores.probability == 0)
    if damage == "server_all_nan":
        assert scores.probability[3] == 0
    if damage == "scattered_nan":
        assert scores.probability[window.problem_child].min() > 0.5


def test_empty_fleet(model):
    w = make_window({"cpu_pct": np.zeros((5, 0))}, profiles=[])
    scores = model.score(w)
    assert scores.probability.shape == (0,)


def test_scores_are_deterministic(model):
    a = model.score(fleet_window(30))
    b = type(model)(**model.params).score(fleet_window(30))
    np.testing.assert_array_equal(a.probability, b.probability)
    np.testing.assert_array_equal(a.contributions, b.contributions)


def test_history_and_metrics_are_declared(model):
    assert 1 <= model.history <= 60
    assert set(model.metrics) <= set(schema.METRIC_NAMES)
    assert {"cpu_pct", "latency_ms", "error_rate"} <= set(model.metrics)


def test_only_the_declared_history_matters(model):
    src = synthetic_fleet(stable=60)
    end = 100
    full = src.window(end, end + 1)
    cut = src.window(end, model.history)
    np.testing.assert_array_equal(model.score(full).probability, model.score(cut).probability)


# -- honesty --------------------------------------------------------------------
def test_honest_models_do_not_read_ground_truth():
    for info in list_models():
        if info["reads_ground_truth"]:
            continue
        model = get_model(info["name"])
        window = fleet_window(30)
        with_truth = model.score(window)
        # Scrambled labels must change nothing for a model that never reads them.
        scrambled = make_window(
            window.metrics,
            profiles=window.profiles,
            phase=np.full_like(window.phase, schema.PHASE_KINDS.index("peak")),
            problem_child=~window.problem_child,
        )
        np.testing.assert_array_equal(model.score(scrambled).probability, with_truth.probability)
        np.testing.assert_array_equal(model.score(window.without_truth()).probability, with_truth.probability)


def test_the_scorer_hides_ground_truth_from_honest_models_only():
    seen = {}

    def spy(name):
        cls = type(get_model(name))

        class Spy(cls):
            def score(self, window):
                seen[name] = window.has_truth
                return super().score(window)

        return Spy()

    src = synthetic_fleet()
    for name in BUILTINS:
        Scorer(src, spy(name)).at(30)
    assert seen == {"heuristic": False, "phase-aware": True}


def test_phase_aware_says_it_reads_ground_truth_and_uses_it():
    info = {m["name"]: m for m in list_models()}["phase-aware"]
    assert info["reads_ground_truth"] is True
    assert "ground truth" in info["description"].lower()
    assert "incident_phase" in info["description"]
    model = get_model("phase-aware")
    window = fleet_window(5)  # stable: the heuristic sees nothing yet
    peak = np.full_like(window.phase, schema.PHASE_KINDS.index("peak"))
    told = make_window(window.metrics, profiles=window.profiles, phase=peak, problem_child=window.problem_child)
    affected = window.problem_child
    told_scores = model.score(told)
    assert told_scores.probability[affected].min() >= 0.7 - 1e-9
    assert told_scores.probability[~affected].max() < 0.5  # only problem children by default
    everyone = get_model("phase-aware", affected_only=False).score(told)
    assert everyone.probability.min() >= 0.7 - 1e-9
    assert model.score(window.without_truth()).probability.max() < 0.5
    assert "incident_phase" in told_scores.factors


def test_phase_aware_is_never_the_default():
    from dashboard.models import DEFAULT_MODEL

    assert DEFAULT_MODEL == "adaptive"
    assert get_model().name == "adaptive"


# -- behaviour of the heuristic ---------------------------------------------------
def test_heuristic_rises_during_escalation_before_the_peak():
    src = synthetic_fleet(stable=30, escalation=12, peak=12, recovery=6)
    model = get_model("heuristic")
    scorer = Scorer(src, model)
    probs = scorer.probabilities(0, src.n_ticks() - 1)
    affected = src.window(0, 1).problem_child
    stable, escalation_end = probs[20:30, affected], probs[36:42, affected]
    assert stable.max() < 0.2
    assert escalation_end.min() > 0.5  # before the peak starts at tick 42
    # and it keeps rising through the escalation
    mean_by_tick = probs[30:42, affected].mean(axis=1)
    assert mean_by_tick[-1] > mean_by_tick[0]


def test_heuristic_compares_with_peers_and_own_normal():
    # Server 0 runs hot but steadily: neither its own normal nor its peers say "incident".
    t, n = 60, 8
    rng = np.random.default_rng(0)
    cpu = 40 + rng.normal(0, 1.5, (t, n))
    cpu[:, 0] += 30
    lat = 50 + rng.normal(0, 3, (t, n))
    w = make_window({"cpu_pct": cpu, "latency_ms": lat}, profiles=["web"] * n)
    assert get_model("heuristic").score(w).probability[0] < 0.3
    # A whole profile drifting up together is less alarming than one server doing it alone.
    drift = np.linspace(0, 25, 20)
    together, alone = cpu.copy(), cpu.copy()
    together[-20:] += drift[:, None]
    alone[-20:, 3] += drift
    p_together = get_model("heuristic").score(make_window({"cpu_pct": together, "latency_ms": lat})).probability[3]
    p_alone = get_model("heuristic").score(make_window({"cpu_pct": alone, "latency_ms": lat})).probability[3]
    assert p_alone > p_together


def test_short_bursts_are_not_incidents():
    t, n = 80, 6
    rng = np.random.default_rng(2)
    lat = 50 * (1 + 0.1 * rng.standard_normal((t, n)))
    lat[40, 1] *= 1.8  # one-tick and two-tick bursts, like the generator's harmless spikes
    lat[60:62, 2] *= 1.8
    cpu = 30 + rng.normal(0, 1, (t, n))
    w = make_window({"latency_ms": lat, "cpu_pct": cpu})
    model = get_model("heuristic")
    # a single tick does not move the median of the recent ticks
    single = make_window({"latency_ms": lat[:41], "cpu_pct": cpu[:41]})
    assert model.score(single).probability[1] < 0.1
    # and a two-tick burst may raise a pending alert but never fires one
    src = ArraySource({"latency_ms": lat, "cpu_pct": cpu}, ["web"] * n)
    states = Scorer(src, model).alerts(0, t - 1)
    assert not is_active(states).any()
    assert w.n_ticks == t


def test_parameters_change_the_model():
    window = fleet_window(24)
    low = get_model("heuristic", sensitivity=0.2).score(window).probability
    high = get_model("heuristic", sensitivity=3.0).score(window).probability
    assert np.all(high >= low) and np.any(high > low)


def test_registered_names():
    assert set(BUILTINS) <= set(model_names())


# -- property: any window of finite, missing or absurd readings gives a valid answer ---------
_values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e9, allow_nan=False, width=32),
    st.just(float("nan")),
    st.just(float("inf")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n_ticks=st.integers(1, 12),
    n_servers=st.integers(1, 6),
    name=st.sampled_from(BUILTINS),
)
def test_any_window_scores_validly(data, n_ticks, n_servers, name):
    metrics = {
        m: np.array(data.draw(st.lists(_values, min_size=n_ticks * n_servers, max_size=n_ticks * n_servers)))
        .reshape(n_ticks, n_servers)
        for m in ("cpu_pct", "latency_ms", "error_rate", "mem_pct")
    }
    profiles = data.draw(st.lists(st.sampled_from(["web", "db"]), min_size=n_servers, max_size=n_servers))
    scores = get_model(name).score(make_window(metrics, profiles=profiles))
    check_scores(scores, n_servers)
    np.testing.assert_allclose(scores.contributions.sum(axis=1), scores.probability, atol=1e-9)
