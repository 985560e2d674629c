"""Validating what the browser sends: every callback argument is untrusted client input.

Anyone can POST any JSON to ``/_dash-update-component``. These pure functions return
clean values or raise :class:`ViewError` with a message fit to show the user; the
shell and every tab validate their inputs with them. Nothing here imports Dash.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import DashboardError

MAX_TICK = 10**9
MAX_SPEC_CHARS = 512
MAX_NAME_CHARS = 200
MAX_ECHO_CHARS = 60  # a value quoted back in a message is cut to this many characters

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ViewError(DashboardError, ValueError):
    """A value sent by the browser is not a valid part of the view."""


def short_repr(value: Any, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: what a message may echo of a bad value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- single values -------------------------------------------------------------
def clean_text(value: Any, what: str, limit: int = MAX_NAME_CHARS) -> str:
    """A non-empty single-line string of at most ``limit`` characters."""
    if not isinstance(value, str):
        raise ViewError(f"{what} must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ViewError(f"{what} is empty")
    if len(text) > limit:
        raise ViewError(f"{what} is too long ({len(text)} characters, at most {limit})")
    if _CONTROL.search(text):
        raise ViewError(f"{what} contains control characters")
    return text


def clean_spec(value: Any) -> str:
    """A data-source spec as typed or picked: text only; the source registry checks the rest."""
    return clean_text(value, "the data source", MAX_SPEC_CHARS)


def clean_model(value: Any, known: tuple[str, ...] | list[str]) -> str:
    """A model name that is one of ``known``."""
    name = clean_text(value, "the model")
    if name not in known:
        raise ViewError(f"unknown model {short_repr(name)}; choose one of {', '.join(known)}")
    return name


def clean_int(value: Any, what: str, low: int = 0, high: int = MAX_TICK) -> int:
    """An integer in ``[low, high]``; integral floats and digit strings (from the URL) pass."""
    if isinstance(value, bool):
        raise ViewError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,10}", text):
            raise ViewError(f"{what} must be a whole number, got {short_repr(value)}")
        value = int(text)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ViewError(f"{what} must be a whole number, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ViewError(f"{what} must be a whole number, got {type(value).__name__}")
    if not low <= value <= high:
        shown = value if abs(value) < 10**15 else f"{float(value):.3g}"
        raise ViewError(f"{what} must be between {low} and {high}, got {shown}")
    return value


def clean_tick(value: Any) -> int:
    return clean_int(value, "the tick")


def clean_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"0", "1", "true", "false"}:
        return value.strip().lower() in {"1", "true"}
    raise ViewError(f"{what} must be true or false, got {short_repr(value)}")


def clean_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ViewError(f"{what} must be a finite number, got {short_repr(value)}")
    return float(value)


