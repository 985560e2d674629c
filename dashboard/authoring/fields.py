"""Every field of the scenario format, walked from the pydantic model.

:func:`scenario_fields` lists one :class:`FieldSpec` per field, nested fields included,
under a *template* path: ``phases[].intensity`` (a field of every phase),
``effects{}.target`` (of every metric's effect), ``fleet.mix{}`` (every profile's weight).
The builder's form has a control for each; a test walks this list, so a field added to the
format fails that test until the form gains its control. :func:`coerce` turns what a
control sends into the value the field takes.
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from ..scenario import Scenario

# Kinds of field, each with its kind of control.
SCALAR_KINDS = ("int", "float", "seconds", "text", "longtext", "choice")
CONTAINER_KINDS = ("group", "optional", "list", "map", "weights")
LIST_KINDS = ("choices", "names")  # a list of choices (multi-select), of free names (text)
LONG_TEXT_CHARS = 500


@dataclass(frozen=True)
class FieldSpec:
    """One field of the format: where it is, what it holds, its bounds and its help text."""

    path: str  # template path
    kind: str  # one of SCALAR_KINDS, CONTAINER_KINDS, LIST_KINDS
    label: str
    description: str = ""
    choices: tuple[str, ...] = ()  # choice/choices: the allowed values as text; map/weights: the keys
    values: tuple[Any, ...] = ()  # choice/choices: the allowed values themselves (1, not "1")
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the bound excludes ``low`` (gt rather than ge)
    optional: bool = False  # None is allowed (an unset optional value)
    default: Any = None

    @property
    def name(self) -> str:
        return re.split(r"[.\[\]{}]+", self.path.rstrip("[]{}"))[-1]


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while get_origin(annotation) is typing.Annotated:
        args = get_args(annotation)
        annotation, metadata = args[0], [*metadata, *args[1:]]
    return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in metadata:
        for attr, key, opened in (("ge", "low", False), ("gt", "low", True), ("le", "high", False), ("lt", "high", True)):
            value = getattr(item, attr, None)
            if value is not None:
                out[key] = float(value)
                if key == "low":
                    out["low_open"] = opened
    return out


def _label(name: str) -> str:
    return f"{name[:-2]} (s)".replace("_", " ") if name.endswith("_s") else name.replace("_", " ")


def _walk(model: type[BaseModel], prefix: str) -> list[FieldSpec]:
    specs: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        specs.extend(_field(f"{prefix}{name}", name, info))
    return specs


def _field(path: str, name: str, info: FieldInfo) -> list[FieldSpec]:
    annotation, optional = _unwrap_optional(info.annotation)
    annotation, metadata = _strip_annotated(annotation)
    metadata = [*metadata, *info.metadata]
    annotation, inner_optional = _unwrap_optional(annotation)
    optional = optional or inner_optional
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    common = {
        "label": _label(name),
        "description": info.description or "",
        "optional": optional,
        "default": default,
    }
    origin = get_origin(annotation)
    if _is_model(annotation):
        kind = "optional" if optional else "group"
        return [FieldSpec(path, kind, **common), *_walk(annotation, f"{path}.")]
    if origin is list:
        (item,) = get_args(annotation)
        item, _ = _strip_annotated(item)
        if _is_model(item):
            return [FieldSpec(path, "list", **common), *_walk(item, f"{path}[].")]
        if get_origin(item) is Literal:
            values = get_args(item)
            return [FieldSpec(path, "choices", choices=tuple(map(str, values)), values=values, **common)]
        return [FieldSpec(path, "names", **common)]
    if origin is dict:
        key, value = get_args(annotation)
        key, _ = _strip_annotated(key)
        keys = tuple(map(str, get_args(key))) if get_origin(key) is Literal else ()
        if _is_model(value):
            return [FieldSpec(path, "map", choices=keys, **common), *_walk(value, f"{path}{{}}.")]
        return [FieldSpec(path, "weights", choices=keys, **common)]
    if origin is Literal:
        values = get_args(annotation)
        return [FieldSpec(path, "choice", choices=tuple(map(str, values)), values=values, **common)]
    bounds = _bounds(metadata)
    if annotation is bool:
        return [FieldSpec(path, "choice", choices=("true", "false"), values=(True, False), **common)]
    if annotation is int:
        return [FieldSpec(path, "int", **bounds, **common)]
    if annotation is float:
        seconds = any(isinstance(m, BeforeValidator) for m in metadata)
        return [FieldSpec(path, "seconds" if seconds else "float", **bounds, **common)]
    if annotation is str:
        longest = max((getattr(m, "max_length", 0) or 0 for m in metadata), default=0)
        return [FieldSpec(path, "longtext" if longest > LONG_TEXT_CHARS else "text", **common)]
    raise TypeError(f"the scenario builder has no kind of control for {path}: {annotation!r}")


def scenario_fields(model: type[BaseModel] = Scenario) -> list[FieldSpec]:
    """Every field of ``model`` and of the models inside it, in declaration order."""
    return _walk(model, "")


def field_index(model: type[BaseModel] = Scenario) -> dict[str, FieldSpec]:
    return {spec.path: spec for spec in scenario_fields(model)}


def template_of(path: str, specs: dict[str, FieldSpec] | None = None) -> str:
    """The template of a concrete path: ``phases.2.intensity`` -> ``phases[].intensity``,
    ``affected.0.effects.cpu_pct.target`` -> ``affected[].effects{}.target``."""
    specs = specs if specs is not None else field_index()
    template = ""
    for part in path.split("."):
        spec = specs.get(template)
        if spec is not None and spec.kind in ("list", "map", "weights"):
            template += "[]" if spec.kind == "list" else "{}"  # this part is an index or a key
            continue
        template = f"{template}.{part}" if template else part
    return template


def coerce(spec: FieldSpec, value: Any) -> Any:
    """What a control sent, as the field's value (or left as it is for the validator to refuse).

    Empty controls become None (the validator then says "required" where it is).
    """
    empty_list = isinstance(value, list) and not value
    if value is None or empty_list or (isinstance(value, str) and not value.strip()):
        if spec.kind == "text" and not spec.optional and isinstance(value, str):
            return ""  # an emptied title is an empty title
        return [] if spec.kind in LIST_KINDS and not spec.optional else None
    if spec.kind == "choices" and isinstance(value, str):
        value = [value]
    if spec.kind in ("choice", "choices") and spec.values:
        raw = dict(zip(spec.choices, spec.values, strict=True))  # "1" from a select -> 1
        if isinstance(value, list):
            return [raw.get(v, v) if isinstance(v, str) else v for v in value]
        return raw.get(value, value) if isinstance(value, str) else value
    if spec.kind == "int":
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        return value
    if spec.kind in ("float", "seconds"):
        if isinstance(value, str):
            text = value.strip()
            try:
                number = float(text)
            except ValueError:
                return text  # "1:30" for seconds; anything else is refused with its reason
            return number if math.isfinite(number) else text
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if spec.kind == "names":
        if isinstance(value, str):
            return [n for n in re.split(r"[\s,;]+", value) if n]
        return value
    return value
