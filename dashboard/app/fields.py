"""Form fields from declared parameter lists: a model's or a source kind's
:class:`~dashboard.parameters.Parameter` list, as the registries describe them. Dash-free: the
forms that render them (``shell/forms.py``) and the callbacks that read them back share these.

A field is a :class:`~dashboard.parameters.Parameter` (kind, default, bounds, help text);
:func:`clean_values` types what a form or a link sends with the parameters' one parser,
refusing each bad value with a message that names the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..parameters import (
    BOOLEAN,
    CHOICE,
    INTEGER,
    NUMBER,
    TEXT,
    Parameter,
    ParameterError,
    changed,
    parse_values,
)
from .validate import ViewError

Field = Parameter  # a form field is a declared parameter


def fields_from(info: Mapping[str, Any]) -> tuple[Field, ...]:
    """The fields of a model (``dashboard.models.describe_model``) or a source kind
    (``dashboard.sources.list_sources``): its described parameters."""
    out = []
    for item in info.get("parameters") or ():
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            out.append(Parameter.from_description(item))
    return tuple(out)



def clean_values(fields: Iterable[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every field's typed value (its default where ``raw`` has none).

    Raises :class:`ViewError` naming every bad field (and any name that is no field), so
    a form shows all its problems at once. What arrives from a browser is text or a number,
    never an object, whatever a Python caller may pass.
    """
    fields = tuple(fields)
    problems = [
        f"{f.label} must be text, got {type(raw[f.name]).__name__}"
        for f in fields
        if f.kind == TEXT and raw.get(f.name) is not None and not isinstance(raw[f.name], str)
    ]
    if problems:
        raise ViewError("; ".join(problems))
    try:
        return parse_values(fields, raw, labels=True)
    except ParameterError as exc:
        raise ViewError(str(exc)) from None


__all__ = [
    "BOOLEAN",
    "CHOICE",
    "INTEGER",
    "NUMBER",
    "TEXT",
    "Field",
    "changed",
    "clean_values",
    "fields_from",
]
