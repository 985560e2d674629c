"""Forms rendered from declared parameter lists (:mod:`dashboard.app.fields`): a model's
parameters, a source kind's options. Each field's id is a pattern-matching dict
``{"type": PARAM_FIELD, "form": <form>, "name": <field>}``, so one callback reads a whole form
with ``ALL``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from ..fields import BOOLEAN, CHOICE, INTEGER, NUMBER, TEXT, Field
from . import ids


def field_id(form: str, name: str) -> dict[str, str]:
    return {"type": ids.PARAM_FIELD, "form": form, "name": name}


def _control(form: str, field: Field, value: Any) -> Any:
    fid = field_id(form, field.name)
    if field.kind == BOOLEAN:
        return dbc.Switch(id=fid, value=bool(value), label=field.label, className="shell-field-switch")
    if field.kind == CHOICE:
        # An option without a default (the plug-in decides) starts on "default": not set.
        unset = [{"label": "default", "value": ""}] if field.default is None else []
        return dbc.Select(
            id=fid,
            options=[*unset, *({"label": str(c), "value": str(c)} for c in field.choices or ())],
            value="" if value is None else str(value),
            size="sm",
        )
    # No debounce: the Apply button reads the fields, and must read what was typed last.
    if field.kind in (NUMBER, INTEGER):
        # No min/max on the element: the browser would turn an out-of-range number into no
        # value at all; the bounds are checked (and named) when the form is applied.
        return dbc.Input(
            id=fid, type="number", value=value, step=1 if field.kind == INTEGER else "any", size="sm"
        )
    return dbc.Input(id=fid, type="text", value=value or "", size="sm")


def _bounds(field: Field) -> str:
    if field.kind not in (NUMBER, INTEGER):
        return f" · default {field.default}" if field.kind in (TEXT, CHOICE) and field.default not in (None, "") else ""
    low = None if field.low is None else f"{field.low:g}"
    high = None if field.high is None else f"{field.high:g}"
    if low is not None and high is not None:
        rule = f"{low}–{high}"
    else:
        rule = f"at least {low}" if low is not None else f"at most {high}" if high is not None else ""
    default = f"default {field.default:g}" if field.default is not None else ""
    return "".join(f" · {x}" for x in (rule, default) if x)


def render_form(form: str, fields: Sequence[Field], values: Mapping[str, Any]) -> list:
    """One row per field: its label, its control (holding ``values`` or the default) and its help."""
    rows = []
    for field in fields:
        value = values.get(field.name, field.default)
        label = [] if field.kind == BOOLEAN else [dbc.Label(field.label, html_for=field.name, className="shell-field-label")]
        rows.append(
            html.Div(
                [
                    *label,
                    _control(form, field, value),
                    dbc.FormText(f"{field.description}{_bounds(field)}"),
                ],
                className="shell-field mb-2",
            )
        )
    if not rows:
        rows.append(html.P("Nothing to set here.", className="text-muted small"))
    return rows


def values_of(field_ids: Any, values: Any) -> dict[str, Any]:
    """A form's values by field name, from the ``ALL`` field ids and values a callback got
    (untrusted: anything not shaped like a field is left out)."""
    if not isinstance(field_ids, list) or not isinstance(values, list):
        return {}
    out = {}
    for key, value in zip(field_ids, values, strict=False):
        if isinstance(key, dict) and isinstance(key.get("name"), str):
            out[key["name"]] = value
    return out
