"""Form fields from declared parameter lists: typed, bounded, every bad value named."""

from __future__ import annotations

import pytest

from dashboard.app.fields import (
    BOOLEAN,
    CHOICE,
    INTEGER,
    NUMBER,
    TEXT,
    changed,
    clean_values,
    fields_from,
)
from dashboard.app.validate import ViewError
from dashboard.models import describe_model
from dashboard.sources import list_sources

INFO = {
    "parameters": [
        {"name": "sensitivity", "default": 1.0, "description": "", "low": 0.1, "high": 10.0},
        {"name": "ticks", "default": 3, "description": "", "low": 1, "high": 20},
        {"name": "strict", "default": False, "description": ""},
        {"name": "mode", "default": "a", "description": "", "choices": ["a", "b"]},
    ]
}


def test_kinds_follow_the_declaration():
    kinds = {f.name: f.kind for f in fields_from(INFO)}
    assert kinds == {"sensitivity": NUMBER, "ticks": INTEGER, "strict": BOOLEAN, "mode": CHOICE}
    heuristic = fields_from(describe_model("heuristic"))
    assert {f.name for f in heuristic} >= {"sensitivity", "z_threshold", "persist_ticks"}


def test_values_are_typed_from_forms_and_links():
    fields = fields_from(INFO)
    values = clean_values(fields, {"sensitivity": "2.5", "ticks": 4.0, "strict": "true", "mode": "b"})
    assert values == {"sensitivity": 2.5, "ticks": 4, "strict": True, "mode": "b"}
    assert changed(fields, values) == values
    assert changed(fields, clean_values(fields, {})) == {}  # all defaults: nothing to carry


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"sensitivity": 50}, "sensitivity must be between 0.1 and 10, got 50"),
        ({"ticks": 2.5}, "ticks must be a whole number"),
        ({"sensitivity": "1e400"}, "finite"),
        ({"sensitivity": "abc"}, "must be a number"),
        ({"strict": "maybe"}, "true or false"),
        ({"mode": "c"}, "one of a, b"),
        ({"nope": 1}, "'nope' is not a parameter here"),
    ],
)
def test_each_bad_value_is_named(raw, words):
    with pytest.raises(ViewError, match=words):
        clean_values(fields_from(INFO), raw)


def test_every_problem_at_once():
    with pytest.raises(ViewError) as caught:
        clean_values(fields_from(INFO), {"sensitivity": 50, "ticks": 0})
    assert "sensitivity" in str(caught.value) and "ticks" in str(caught.value)


def test_source_kinds_get_typed_fields_from_their_declared_options():
    kinds = {k["name"]: {f.name: f for f in fields_from(k)} for k in list_sources()}
    csv = kinds["csv"]
    assert {"columns", "units", "tz"} <= set(csv) and csv["tz"].kind == TEXT
    assert csv["epoch_unit"].kind == CHOICE and csv["epoch_unit"].choices == ("s", "ms", "us", "ns")
    assert kinds["parquet"]["lazy_rows"].kind == INTEGER
    assert kinds["scenario"]["fleet_size"].kind == INTEGER and kinds["scenario"]["tick"].kind == NUMBER
    history = kinds["prometheus"]["history"]
    assert (history.kind, history.low, history.high) == (INTEGER, 1, 10_000)
    assert clean_values((history,), {"history": "60"}) == {"history": 60}
    with pytest.raises(ViewError, match="history must be between 1 and 10000, got 0"):
        clean_values((history,), {"history": 0})


def test_a_browser_never_sends_objects_for_text_options():
    columns = next(f for f in fields_from(next(k for k in list_sources() if k["name"] == "csv")) if f.name == "columns")
    with pytest.raises(ViewError, match="columns must be text, got dict"):
        clean_values((columns,), {"columns": {"host": "server_name"}})
