"""Declared parameters: one type and one parser for a model's parameters and a source kind's options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.errors import DataError, ModelError
from dashboard.models import get_model
from dashboard.parameters import (
    BOOLEAN,
    CHOICE,
    INTEGER,
    NUMBER,
    TEXT,
    Parameter,
    ParameterError,
    as_text,
    declared,
    parse_value,
    parse_values,
)
from dashboard.sources import SOURCES, list_sources, open_source, register_source
from dashboard.sources.base import Source, Window

RATE = Parameter("rate", 1.0, "a rate", 0.0, 10.0)
TICKS = Parameter("ticks", 3, "ticks", 1, 20)
STRICT = Parameter("strict", False, "strict")
MODE = Parameter("mode", "a", "mode", choices=("a", "b"))
NAME = Parameter("name", None, "a name", kind=TEXT)


def test_kinds_follow_the_default_and_choices_unless_named():
    assert [p.kind for p in (RATE, TICKS, STRICT, MODE, NAME)] == [NUMBER, INTEGER, BOOLEAN, CHOICE, TEXT]
    assert Parameter("seed", None, "", low=0, kind=INTEGER).kind == INTEGER
    with pytest.raises(ValueError, match="kind must be one of"):
        Parameter("x", None, "", kind="date")


@pytest.mark.parametrize(
    ("parameter", "raw", "value"),
    [
        (RATE, "2.5", 2.5),
        (RATE, 2, 2.0),
        (TICKS, "7", 7),
        (TICKS, 4.0, 4),
        (STRICT, "yes", True),
        (STRICT, "off", False),
        (MODE, " b ", "b"),
        (NAME, "  db-01 ", "db-01"),
        (RATE, "", 1.0),
        (NAME, None, None),
    ],
)
def test_text_and_typed_values_parse_alike(parameter, raw, value):
    parsed = parse_value(parameter, raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("parameter", "raw", "words"),
    [
        (RATE, "abc", "rate must be a number, got 'abc'"),
        (RATE, "inf", "rate must be a number"),
        (RATE, 11, "rate must be between 0 and 10, got 11"),
        (TICKS, 2.5, "ticks must be a whole number, got 2.5"),
        (TICKS, True, "ticks must be a whole number, got True"),
        (Parameter("seed", None, "", low=0, kind=INTEGER), "-1", "seed must be at least 0, got -1"),
        (STRICT, "maybe", "strict must be true or false, got 'maybe'"),
        (MODE, "c", "mode must be one of a, b, got 'c'"),
        (NAME, {"a": 1}, "name must be text, got dict"),
        (NAME, "a\x00b", "name must not contain control characters"),
    ],
)
def test_each_bad_value_names_its_parameter_and_rule(parameter, raw, words):
    with pytest.raises(ParameterError, match=words):
        parse_value(parameter, raw)


def test_every_problem_at_once_and_unknown_names():
    with pytest.raises(ParameterError) as caught:
        parse_values((RATE, TICKS), {"rate": 50, "ticks": 0, "nope": 1})
    assert all(word in str(caught.value) for word in ("'nope' is not a parameter here", "rate", "ticks"))
    assert parse_values((RATE, TICKS), {"ticks": "5"}, defaults=False) == {"ticks": 5}


@given(st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.lists(st.integers())))
def test_only_declared_errors_escape(value):
    for parameter in (RATE, TICKS, STRICT, MODE, NAME):
        try:
            parsed = parse_value(parameter, value)
        except ParameterError:
            continue
        # what parses once parses again to itself (a spec written back reads the same)
        if parsed is not None:
            assert parse_value(parameter, as_text(parsed)) == parsed


def test_models_and_sources_share_the_parser():
    model = get_model("heuristic", sensitivity="2", recent_ticks="4")
    assert model.params["sensitivity"] == 2.0 and model.params["recent_ticks"] == 4
    assert get_model("heuristic", sensitivity=2).key() == model.key().replace("recent_ticks=4", "recent_ticks=3")
    with pytest.raises(ModelError, match="model 'heuristic': parameter sensitivity must be between 0.1 and 10, got 50"):
        get_model("heuristic", sensitivity=50)
    with pytest.raises(DataError, match="scenario: fleet_size must be at least 1, got 0"):
        open_source("scenario:default?fleet_size=0")
    source = open_source("scenario:default", fleet_size="4", seed=7)
    assert source.servers().shape[0] == 4 and source.spec.endswith("fleet_size=4&seed=7&tick=5")


class Typed(Source):
    """A plug-in declaring typed options: open() gets them typed, from a spec or a call."""

    name = "typed"
    parameters = (Parameter("servers", 2, "servers", 1, 50), Parameter("level", 5.0, "cpu level", 0.0, 100.0))

    def __init__(self, target: str, servers: int = 2, level: float = 5.0):
        assert type(servers) is int and type(level) is float
        self.n, self.level = servers, level

    def n_ticks(self) -> int:
        return 1

    def timestamps(self) -> np.ndarray:
        return np.array(["2024-01-01T00:00:00"], dtype="datetime64[ns]")

    def servers(self) -> pd.DataFrame:
        return pd.DataFrame({"server_name": [f"s{i}" for i in range(self.n)], "profile": "web"})

    def batch(self, i: int) -> pd.DataFrame:
        return pd.DataFrame({"server_name": [f"s{i}" for i in range(self.n)], "cpu_pct": self.level})

    def window(self, end: int, length: int) -> Window:
        raise NotImplementedError


@pytest.fixture()
def typed_kind():
    register_source("typed", Typed)
    yield
    SOURCES.clear()


def test_a_plugin_gets_its_options_typed_and_listed(typed_kind):
    assert open_source("typed:x?servers=3&level=7.5").servers().shape[0] == 3
    assert open_source("typed:x", servers=4.0).servers().shape[0] == 4
    with pytest.raises(DataError, match="typed: servers must be between 1 and 50, got 99; level must be a number"):
        open_source("typed:x?servers=99&level=high")
    listed = next(k for k in list_sources() if k["name"] == "typed")
    assert [(p["name"], p["kind"], p["low"]) for p in listed["parameters"][:2]] == [("servers", INTEGER, 1), ("level", NUMBER, 0.0)]


def test_older_plugins_declaring_descriptions_get_text_options():
    assert [(p.name, p.kind) for p in declared({"value": "the cpu value"})] == [("value", TEXT)]
