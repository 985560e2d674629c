"""argparse value types shared by the CLIs."""

from __future__ import annotations

import argparse

import pytest

from dashboard.argtypes import non_negative_int, port, positive_float, positive_int


@pytest.mark.parametrize(
    ("convert", "text", "message"),
    [
        (positive_float, "0", "must be a positive number, got '0'"),
        (positive_float, "nan", "expected a finite number, got 'nan'"),
        (positive_float, "inf", "expected a finite number"),
        (positive_float, "abc", "expected a number, got 'abc'"),
        (positive_int, "2.5", "expected a whole number, got '2.5'"),
        (positive_int, "-3", "must be a positive whole number"),
        (non_negative_int, "-1", "must be 0 or more, got '-1'"),
        (port, "70000", "a port is at most 65535"),
        (port, "0", "must be a positive whole number"),
    ],
)
def test_bad_text_is_refused_with_its_rule(convert, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message.replace("(", r"\(")):
        convert(text)


def test_good_text_converts():
    assert positive_float("0.5") == 0.5
    assert positive_int("7") == 7
    assert non_negative_int("0") == 0
    assert port("8050") == 8050
