"""Form fields from declared parameter lists: a model's typed :class:`~dashboard.models.Parameter`
list, or a source kind's ``parameters`` (option -> description). Dash-free: the forms that
render them (``shell/forms.py``) and the callbacks that read them back share these.

A field knows its kind (number, integer, boolean, choice or text), default, bounds and
help text; :func:`clean_values` turns what a form or a link sends into typed values,
refusing each bad one with a message that names the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .validate import ViewError, clean_text, short_repr

NUMBER, INTEGER, BOOLEAN, CHOICE, TEXT = "number", "integer", "boolean", "choice", "text"
MAX_TEXT_CHARS = 512
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


@dataclass(frozen=True)
class Field:
    """One form field: a parameter's name, kind, default, bounds, choices and help text."""

    name: str
    kind: str
    default: Any = None
    description: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def fields_from_model(info: Mapping[str, Any]) -> tuple[Field, ...]:
    """The fields of a model described by ``dashboard.models.describe_model``."""
    out = []
    for p in info.get("parameters") or ():
        default = p.get("default")
        choices = p.get("choices")
        if choices:
            kind = CHOICE
        elif isinstance(default, bool):
            kind = BOOLEAN
        elif isinstance(default, int):
            kind = INTEGER
        elif isinstance(default, float):
            kind = NUMBER
        else:
            kind = TEXT
        out.append(
            Field(
                name=str(p["name"]),
                kind=kind,
                default=default,
                description=str(p.get("description") or ""),
                low=p.get("low"),
                high=p.get("high"),
                choices=tuple(choices) if choices else None,
            )
        )
    return tuple(out)


def fields_from_source(info: Mapping[str, Any]) -> tuple[Field, ...]:
    """The fields of a source kind listed by ``dashboard.sources.list_sources`` (text options)."""
    parameters = info.get("parameters") or {}
    return tuple(Field(str(name), TEXT, None, str(text)) for name, text in parameters.items())


def clean_value(field: Field, value: Any) -> Any:
    """``value`` (from a form, a link or a store) as the field's type; ViewError if it is not one."""
    what = f"{field.label}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return field.default
    if field.kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ViewError(f"{what} must be true or false, got {short_repr(value)}")
    if field.kind in (NUMBER, INTEGER):
        number = _number(value, what)
        if field.kind == INTEGER:
            if number != int(number):
                raise ViewError(f"{what} must be a whole number, got {_shown(number)}")
            number = int(number)
        if field.low is not None and number < field.low or field.high is not None and number > field.high:
            raise ViewError(
                f"{what} must be between {_shown(field.low)} and {_shown(field.high)}, got {_shown(number)}"
            )
        return number
    if field.kind == CHOICE:
        for choice in field.choices or ():
            if value == choice or str(value).strip() == str(choice):
                return choice
        options = ", ".join(map(str, field.choices or ()))
        raise ViewError(f"{what} must be one of {options}, got {short_repr(value)}")
    return clean_text(value, what, MAX_TEXT_CHARS)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ViewError(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise ViewError(f"{what} must be a number, got {short_repr(value)}")
    if not math.isfinite(number):
        raise ViewError(f"{what} must be a finite number, got {short_repr(value)}")
    return number


def _shown(number: Any) -> str:
    if number is None:
        return "any"
    return f"{number:g}" if isinstance(number, float) else str(number)


def clean_values(fields: Iterable[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every field's typed value (its default where ``raw`` has none).

    Raises :class:`ViewError` naming every bad field (and any name that is no field), so
    a form shows all its problems at once.
    """
    fields = tuple(fields)
    known = {f.name: f for f in fields}
    problems = [f"{short_repr(name)} is not a parameter here" for name in raw if name not in known]
    out: dict[str, Any] = {}
    for field in fields:
        try:
            out[field.name] = clean_value(field, raw.get(field.name))
        except ViewError as exc:
            problems.append(str(exc))
    if problems:
        raise ViewError("; ".join(problems))
    return out


def changed(fields: Iterable[Field], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from their field's default (what a link needs to carry)."""
    return {f.name: values[f.name] for f in fields if f.name in values and values[f.name] != f.default}
