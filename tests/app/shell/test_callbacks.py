"""The shell's forms: model parameters and opening data, through their callbacks' logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.app.shell import callbacks as shell
from dashboard.app.shell.forms import field_id
from dashboard.app.validate import ViewError


def _form(values: dict) -> tuple[list, list]:
    return [field_id(shell.MODEL_FORM, k) for k in values], list(values.values())


def test_applied_parameters_keep_only_what_differs_from_the_defaults(app):
    ids, values = _form({"sensitivity": 2, "z_threshold": 3.0})
    stored = shell.apply_params(app.services, "heuristic", ids, values)
    assert stored == {"model": "heuristic", "params": {"sensitivity": 2.0}}
    assert shell.params_label(app.services, "heuristic", stored) == ("parameters (1 set)", False)
    assert shell.apply_params(app.services, "heuristic", ids, values, defaults=True)["params"] == {}


def test_a_bad_value_names_its_field(app):
    ids, values = _form({"sensitivity": 50, "recent_ticks": 0})
    with pytest.raises(ViewError) as caught:
        shell.apply_params(app.services, "heuristic", ids, values)
    assert "sensitivity" in str(caught.value) and "recent ticks" in str(caught.value)


def test_the_form_shows_the_applied_values(app):
    form = str(shell.params_form(app.services, "heuristic", {"model": "heuristic", "params": {"sensitivity": 2.0}}))
    assert "sensitivity" in form and "2.0" in form
    other = str(shell.params_form(app.services, "heuristic", {"model": "phase-aware", "params": {"sensitivity": 7.0}}))
    assert "7.0" not in other  # another model's values are not this one's


def test_parameters_reach_the_scores_and_their_cache_key(client, app):
    from dashboard.app.live import ids
    from dashboard.app.shell import ids as shell_ids

    from ..conftest import post_tick, response_value

    _, plain = post_tick(client, {(shell_ids.URL, "search"): "?tick=41"})
    _, tuned = post_tick(client, {(shell_ids.URL, "search"): "?tick=41&p.sensitivity=0.2"})
    store = response_value(tuned, ids.VIEW, "data")
    assert store["params"] == {"sensitivity": 0.2} and "p.sensitivity=0.2" in store["query"]
    assert response_value(tuned, shell_ids.PARAMS, "data") == {
        "model": "adaptive",
        "params": {"sensitivity": 0.2},
    }
    risk = [response_value(d, ids.kpi("max", "value"), "children") for d in (plain, tuned)]
    assert risk[0] != risk[1]  # a less sensitive model, other scores
    keys = {key[2] for key in app.services._scorers._items}
    assert (("sensitivity", 0.2),) in keys and () in keys


def test_a_bad_parameter_in_a_link_is_reported_and_dropped(client):
    from dashboard.app.live import ids
    from dashboard.app.shell import ids as shell_ids

    from ..conftest import post_tick, response_value

    _, data = post_tick(client, {(shell_ids.URL, "search"): "?p.sensitivity=99&p.nope=1"})
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "sensitivity" in message and "nope" in message
    assert response_value(data, ids.VIEW, "data")["params"] == {}


def test_open_data_composes_a_spec_from_the_form(app):
    fields = app.services.source_fields("csv")
    assert shell.compose_spec("path", " exports/m.csv ", {}) == "exports/m.csv"
    spec = shell.compose_spec("csv", "exports/m.csv", {"tz": "Europe/Paris", "units": "", "verify": "auto"}, fields)
    assert spec == "csv:exports/m.csv?tz=Europe%2FParis"  # defaults and blanks stay out
    with pytest.raises(ViewError):
        shell.compose_spec("csv", "", {}, fields)


def test_open_data_types_each_option_by_its_declaration(app):
    """A source kind's options are typed like a model's parameters: one parser, every bad one named."""
    scenario = {f.name: f for f in app.services.source_fields("scenario")}
    assert scenario["fleet_size"].kind == "integer" and scenario["fleet_size"].low == 1
    assert scenario["duration"].kind == "number"
    fields = tuple(scenario.values())
    spec = shell.compose_spec("scenario", "default", {"fleet_size": 12, "seed": "3", "tick": 2.5}, fields)
    assert spec == "scenario:default?seed=3&fleet_size=12&tick=2.5"
    with pytest.raises(ViewError) as caught:
        shell.compose_spec("scenario", "default", {"fleet_size": 0, "seed": "x"}, fields)
    assert "fleet size must be at least 1, got 0" in str(caught.value) and "seed must be a whole number" in str(caught.value)
    with pytest.raises(ViewError, match="'speed' is not a parameter here"):
        shell.compose_spec("scenario", "default", {"speed": 2}, fields)
    verify = {f.name: f for f in app.services.source_fields("parquet")}["verify"]
    assert verify.kind == "choice" and verify.choices == ("auto", "full", "size", "off")
    with pytest.raises(ViewError, match="verify must be one of auto, full, size, off"):
        shell.compose_spec("parquet", "x.parquet", {"verify": "always"}, (verify,))


def test_open_data_follows_the_path_rules_and_speaks_relative_paths(app, settings):
    demo = Path(settings.data_roots[0]) / "demo_dataset.parquet"
    assert shell.open_data(app.services, str(demo)) == str(demo)
    # Outside the roots or missing: one answer (nothing tells whether a file exists there).
    for spec in ("../../etc/passwd", str(demo.parent / "missing.csv")):
        with pytest.raises(ViewError) as caught:
            shell.open_data(app.services, spec)
        assert "not a data file inside the folders this server serves" in str(caught.value)
        assert str(settings.data_roots[0]) not in str(caught.value)


def test_recent_data_is_remembered_per_browser_and_checked():
    recent = shell.remember(["a.csv", 42, "b.csv", "a.csv"], "c.csv")
    assert recent == ["c.csv", "a.csv", "b.csv"]
    assert len(shell.remember([f"{i}.csv" for i in range(20)], "new.csv")) == shell.MAX_RECENT
    assert "a.csv" in str(shell.recent_items(["a.csv"]))


def test_open_data_names_the_configured_prometheus_targets(settings):
    from dataclasses import replace

    from dashboard.app import create_app
    from dashboard.prometheus.config import Target

    services = create_app(replace(settings, prometheus_targets=(Target("prod", "http://127.0.0.1:9"),))).services
    assert services.source_targets("prometheus") == ("prod",)
    assert services.source_targets("csv") is None
    # a remote kind's links never name an incident log file
    assert [f.name for f in services.source_fields("prometheus")] == ["step", "history", "keep"]
    assert "incidents" in [f.name for f in services.source_fields("csv")]
