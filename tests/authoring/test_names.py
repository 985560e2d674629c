"""Names of saved scenarios: plain portable file names, every refusal with its reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.authoring.names import ScenarioNameError, check_name, slug
from dashboard.scenario import NAME_PATTERN


@pytest.mark.parametrize(
    ("raw", "name"), [("incident-1", "incident-1"), ("db_outage", "db_outage"), (" x.json ", "x"), ("9", "9")]
)
def test_good_names(raw, name):
    assert check_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "words", "suggestion"),
    [
        ("", ["needs a name"], None),
        ("   ", ["needs a name"], None),
        ("..", ["dot"], None),
        (".hidden", ["dot"], "hidden"),
        ("a/b", ["slashes"], "a-b"),
        ("..\\evil", ["slashes"], "evil"),
        ("../../etc/passwd", ["slashes"], "etc-passwd"),
        ("CON", ["lowercase"], "my-con"),
        ("con", ["reserved"], "my-con"),
        ("lpt1", ["reserved"], "my-lpt1"),
        ("draft-0123456789abcdef", ["played without saving"], "my-draft-0123456789abcdef"),
        ("Überlast", ["plain letters"], "uberlast"),
        ("报告", ["plain letters"], None),
        ("a\u200bb", ["invisible"], "ab"),
        ("tab\there", ["invisible"], "tab-here"),
        ("My Scenario", ["lowercase letters a-z"], "my-scenario"),
        ("-dash", ["starting with a letter"], "dash"),
        ("x" * 65, ["65 characters"], "x" * 64),
        ("<b>x</b>", ["no slashes"], "b-x-b"),
        ("<b>x", ["lowercase letters a-z"], "b-x"),
    ],
)
def test_bad_names_say_why_and_suggest_one(raw, words, suggestion):
    with pytest.raises(ScenarioNameError) as info:
        check_name(raw)
    for word in words:
        assert word in str(info.value)
    assert info.value.suggestion == suggestion
    if suggestion:
        assert check_name(suggestion) == suggestion  # a suggestion is always usable


def test_non_text_is_refused():
    with pytest.raises(ScenarioNameError, match="must be text"):
        check_name(["x"])


@settings(deadline=None)
@given(st.text(max_size=80))
def test_a_checked_name_stays_inside_its_folder(raw):
    base = Path("/srv/scenarios")
    try:
        name = check_name(raw)
    except ScenarioNameError as exc:
        assert exc.suggestion is None or re.fullmatch(NAME_PATTERN, exc.suggestion)
        return
    assert re.fullmatch(NAME_PATTERN, name)
    assert (base / f"{name}.json").resolve().parent == base


@settings(deadline=None)
@given(st.text(max_size=80))
def test_slug_is_empty_or_a_valid_name(text):
    out = slug(text)
    assert out == "" or check_name(out) == out
