"""Declared options of plug-ins: a model's parameters and a source kind's options are both
:class:`Parameter` lists, typed by one parser (:func:`parse_value`), so a spec string, a
link, a form and a Python call all get the same values and the same messages.

A parameter's kind (number, integer, boolean, choice or text) follows from its default and
choices unless given; text parameters of source kinds may also take Python objects from a
Python caller (``objects=True``: a column mapping as a dict, a path).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DashboardError

NUMBER, INTEGER, BOOLEAN, CHOICE, TEXT = "number", "integer", "boolean", "choice", "text"
KINDS = (NUMBER, INTEGER, BOOLEAN, CHOICE, TEXT)
MAX_TEXT_CHARS = 4096
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_WHOLE_TEXT = re.compile(r"[+-]?\d{1,30}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ParameterError(DashboardError, ValueError):
    """A value that does not fit its declared parameter; the message names the parameter."""


@dataclass(frozen=True)
class Parameter:
    """One declared option: its name, default, help text, bounds or choices, and kind.

    ``default=None`` means "not set" (the plug-in decides, e.g. "the scenario's"); such a
    parameter names its ``kind``.
    """

    name: str
    default: Any = None
    description: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    kind: str = ""
    objects: bool = False  # text that a Python caller may also give as an object

    def __post_init__(self) -> None:
        if self.choices is not None and not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        kind = self.kind or _inferred_kind(self.default, self.choices)
        if kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        object.__setattr__(self, "kind", kind)

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    def describe(self) -> dict[str, Any]:
        """A plain dict (JSON-safe) for the UI's listings."""
        return {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "description": self.description,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices is not None else None,
        }

    @classmethod
    def from_description(cls, info: Mapping[str, Any]) -> Parameter:
        """The parameter a :meth:`describe` dict describes."""
        choices = info.get("choices")
        return cls(
            name=str(info["name"]),
            default=info.get("default"),
            description=str(info.get("description") or ""),
            low=info.get("low"),
            high=info.get("high"),
            choices=tuple(choices) if choices else None,
            kind=str(info.get("kind") or ""),
        )


def _inferred_kind(default: Any, choices: tuple[Any, ...] | None) -> str:
    if choices:
        return CHOICE
    if isinstance(default, bool):
        return BOOLEAN
    if isinstance(default, int):
        return INTEGER
    if isinstance(default, float):
        return NUMBER
    return TEXT


def declared(parameters: Any) -> tuple[Parameter, ...]:
    """A plug-in's declaration as parameters: a sequence of :class:`Parameter`, or (older
    plug-ins) a dict of option name -> description, read as text options."""
    if isinstance(parameters, Mapping):
        return tuple(Parameter(str(name), None, str(text), kind=TEXT, objects=True) for name, text in parameters.items())
    return tuple(parameters or ())


def parse_value(parameter: Parameter, value: Any, what: str | None = None) -> Any:
    """``value`` (typed, or text from a spec, a link or a form) as ``parameter``'s type; its
    default when missing or blank. :class:`ParameterError` names the parameter (``what``:
    its name, or the label a form shows) and the rule."""
    what = what or parameter.name
    if value is None or (isinstance(value, str) and not value.strip()):
        return parameter.default
    kind = parameter.kind
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ParameterError(f"{what} must be true or false, got {_shown_value(value)}")
    if kind in (NUMBER, INTEGER):
        if kind == INTEGER and isinstance(value, str) and _WHOLE_TEXT.fullmatch(value.strip()):
            number: Any = int(value.strip())  # exact, however many digits
        elif kind == INTEGER and isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            number = _number(value, what, "a whole number" if kind == INTEGER else "a number")
        if kind == INTEGER:
            if number != int(number):
                raise ParameterError(f"{what} must be a whole number, got {_shown(number)}")
            number = int(number)
        low, high = parameter.low, parameter.high
        if low is not None and number < low or high is not None and number > high:
            if low is not None and high is not None:
                rule = f"between {_shown(low)} and {_shown(high)}"
            else:
                rule = f"at least {_shown(low)}" if low is not None else f"at most {_shown(high)}"
            raise ParameterError(f"{what} must be {rule}, got {_shown(number)}")
        return number
    if kind == CHOICE:
        for choice in parameter.choices or ():
            if value == choice or as_text(value).strip().lower() == str(choice).lower():
                return choice
        options = ", ".join(map(str, parameter.choices or ()))
        raise ParameterError(f"{what} must be one of {options}, got {_shown_value(value)}")
    if isinstance(value, os.PathLike) and parameter.objects:
        return os.fspath(value)
    if not isinstance(value, str):
        if parameter.objects:
            return value
        raise ParameterError(f"{what} must be text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ParameterError(f"{what} has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}")
    if _CONTROL.search(text):
        raise ParameterError(f"{what} must not contain control characters")
    return text


def parse_values(
    parameters: Iterable[Parameter], raw: Mapping[str, Any], *, defaults: bool = True, labels: bool = False
) -> dict[str, Any]:
    """Every parameter's typed value (with ``defaults``, its default where ``raw`` has none;
    without, only those given; ``labels``: messages name them as a form does). Raises :class:`ParameterError` naming every bad value and any
    name that is no parameter, so a form shows all its problems at once."""
    parameters = tuple(parameters)
    known = {p.name: p for p in parameters}
    problems = [f"{_shown_value(name)} is not a parameter here" for name in raw if name not in known]
    out: dict[str, Any] = {}
    for parameter in parameters:
        if not defaults and parameter.name not in raw:
            continue
        try:
            what = parameter.label if labels else parameter.name
            out[parameter.name] = parse_value(parameter, raw.get(parameter.name), what)
        except ParameterError as exc:
            problems.append(str(exc))
    if problems:
        raise ParameterError("; ".join(problems))
    return out


def changed(parameters: Iterable[Parameter], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from their parameter's default (what a link needs to carry)."""
    return {p.name: values[p.name] for p in parameters if p.name in values and values[p.name] != p.default}


def as_text(value: Any) -> str:
    """A typed value as a spec string writes it (``true``, ``2.5``, ``7``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)  # repr: the shortest exact text
    return str(value)


def _number(value: Any, what: str, expected: str) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{what} must be {expected}, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise ParameterError(f"{what} must be {expected}, got {_shown_value(value)}")
    if not math.isfinite(number):
        raise ParameterError(f"{what} must be a finite number, got {_shown_value(value)}")
    return number


def _shown(number: Any) -> str:
    if number is None:
        return "any"
    return f"{number:g}" if isinstance(number, float) else str(number)


def _shown_value(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else repr(value.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "BOOLEAN",
    "CHOICE",
    "INTEGER",
    "KINDS",
    "NUMBER",
    "TEXT",
    "Parameter",
    "ParameterError",
    "as_text",
    "changed",
    "declared",
    "parse_value",
    "parse_values",
]
