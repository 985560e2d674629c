"""The builder tab's view-model: the state it keeps in the browser and what the form holds. Dash-free.

:func:`form_model` says which controls the form has for a draft (one per field of the
scenario format that the draft's structure reaches) and what each shows; the layout draws
them, the callbacks set their values and put each validation problem next to its field.
The figures are in :mod:`.figures`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ...authoring import draft
from ...authoring.fields import FieldSpec
from ...authoring.library import BUNDLED, Entry, version_of
from ...scenario import PROFILES, SCHEMA_VERSION, Scenario, format_clock
from ...schema import METRIC_NAMES
from ..messages import public_message
from ..validate import ViewError

MAX_PROBLEMS_SHOWN = 50
ORIGIN_KINDS = ("blank", "bundled", "user", "upload", "json")
_VERSION = re.compile(r"^[0-9a-f]{16}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


# -- the browser's state ---------------------------------------------------------------
@dataclass
class Origin:
    """Where the draft came from: a library entry (its name and the version opened) or not."""

    kind: str = "blank"
    name: str | None = None
    version: str | None = None  # the file's version when it was opened or saved here


@dataclass
class Draft:
    """The builder's Store: the scenario document being edited and its origin."""

    doc: dict[str, Any]
    origin: Origin = field(default_factory=Origin)
    rev: int = 0  # bumped by every change, so the page redraws even for an equal document
    via: str = "load"  # what made the last change ("field", "json", "timeline", "load", ...)

    def to_store(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "origin": {"kind": self.origin.kind, "name": self.origin.name, "version": self.origin.version},
            "rev": self.rev,
            "via": self.via,
        }

    def changed(self, doc: dict[str, Any], via: str) -> Draft:
        return Draft(doc, self.origin, self.rev + 1, via)


def draft_from_store(data: Any) -> Draft:
    """The Store's content, checked like any client input; :class:`ViewError` when unusable."""
    if data is None:
        return Draft(draft.blank())
    if not isinstance(data, dict) or not isinstance(data.get("doc"), dict):
        raise ViewError("the scenario being edited was unreadable; starting from a blank one")
    origin = data.get("origin") if isinstance(data.get("origin"), dict) else {}
    kind = origin.get("kind") if origin.get("kind") in ORIGIN_KINDS else "blank"
    name = origin.get("name") if isinstance(origin.get("name"), str) and _NAME.match(origin["name"]) else None
    version = origin.get("version")
    version = version if isinstance(version, str) and _VERSION.match(version) else None
    rev = data.get("rev") if isinstance(data.get("rev"), int) and not isinstance(data.get("rev"), bool) else 0
    via = data.get("via") if isinstance(data.get("via"), str) else "load"
    return Draft(data["doc"], Origin(kind, name, version), max(0, min(rev, 2**31)), via[:20])


# -- the library ----------------------------------------------------------------------
BLANK = "blank:"


def library_options(
    entries: list[Entry], data_roots: Any = ()
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The "start from" picker's entries (blank, bundled, yours; broken ones disabled, their
    error as the tooltip) and the broken files as ``(file, error)``, errors as a web page
    may show them (:func:`~dashboard.app.messages.public_message`)."""
    options: list[dict[str, Any]] = [{"label": "a blank scenario", "value": BLANK}]
    broken: list[tuple[str, str]] = []
    for entry in entries:
        kind = "bundled" if entry.kind == BUNDLED else "yours"
        if entry.error:
            error = public_message(entry.error, data_roots)
            options.append(
                {"label": f"broken · {entry.label}", "value": f"broken:{entry.kind}:{entry.name}", "disabled": True, "title": error}
            )
            broken.append((entry.label, error))
            continue
        title = f" — {entry.title}" if entry.title and entry.title != entry.name else ""
        options.append({"label": f"{kind} · {entry.name}{title}", "value": f"{entry.kind}:{entry.name}", "title": entry.description[:300]})
    return options, broken


def parse_start(value: Any) -> tuple[str, str | None]:
    """``(kind, name)`` of a "start from" value (client input: checked)."""
    if value == BLANK:
        return "blank", None
    if isinstance(value, str) and value.count(":") == 1:
        kind, name = value.split(":")
        if kind in ("bundled", "user") and _NAME.match(name):
            return kind, name
    raise ViewError("pick a scenario to start from")


# -- the form ------------------------------------------------------------------------
@dataclass(frozen=True)
class Control:
    """One control of the form: the field it edits and what it shows now."""

    path: str
    spec: FieldSpec
    value: Any
    label: str = ""


def _control(doc: dict[str, Any], path: str, label: str = "") -> Control:
    spec = draft.spec_of(path)
    return Control(path, spec, display_value(spec, draft.get(doc, path)), label or spec.label)


def display_value(spec: FieldSpec, value: Any) -> Any:
    """How a control shows a draft value: times as ``m:ss``, lists of names as text."""
    if value is None:
        return [] if spec.kind == "choices" else ""
    if spec.kind == "seconds":
        seconds = draft.seconds(value)
        return format_clock(seconds) if seconds is not None and seconds >= 0 else str(value)
    if spec.kind == "names":
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if spec.kind == "choices":
        return [str(v) for v in value] if isinstance(value, list) else []
    if spec.kind == "choice":
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, (dict, list)):
        return str(value)[:200]
    return value


@dataclass
class FormModel:
    """Every control of the form, by section; ``toggles`` are optional parts on or off."""

    general: list[Control]
    fleet: list[Control]
    phases: list[list[Control]]  # one row per phase
    groups: list[dict[str, Any]]  # per group: rule, targets, delay, effects, oom controls
    effects: list[tuple[str, bool, list[Control]]]  # per metric: on?, mode/target/spread
    oom: tuple[bool, list[Control]]
    toggles: dict[str, bool]
    disturbances: list[dict[str, Any]] = field(default_factory=list)  # as groups, with their kind
    hot: list[dict[str, Any]] = field(default_factory=list)  # per group of hot servers: controls
    expectations: tuple[bool, list[Control]] = (False, [])

    def controls(self) -> list[Control]:
        out = [*self.general, *self.fleet]
        for row in self.phases:
            out += row
        for group in self.groups:
            out += group["controls"]
            for _metric, _on, controls in group["effects"]:
                out += controls
            out += group["oom"][1]
        for _metric, _on, controls in self.effects:
            out += controls
        out += self.oom[1]
        for event in self.disturbances:
            out += event["controls"]
            for _metric, _on, controls in event["effects"]:
                out += controls
        for hot in self.hot:
            out += hot["controls"]
        out += self.expectations[1]
        return out

    def feedback_paths(self) -> list[str]:
        """Where problems can be shown: every control, and the containers without one."""
        paths = [c.path for c in self.controls()]
        paths += ["phases", "affected", "effects", "fleet.mix", "oom", "disturbances", "hot_servers", "expectations"]
        paths += [f"affected.{j}" for j in range(len(self.groups))]
        paths += [f"affected.{j}.effects" for j in range(len(self.groups))]
        paths += [f"disturbances.{j}" for j in range(len(self.disturbances))]
        paths += [f"disturbances.{j}.effects" for j in range(len(self.disturbances))]
        paths += [f"hot_servers.{j}" for j in range(len(self.hot))]
        return list(dict.fromkeys(paths))


PHASE_FIELDS = ("name", "kind", "start", "end", "shape", "intensity", "amplitude", "period_s")
RULE_FIELDS = {
    "first_of_each_profile": ("profiles",),
    "servers": ("servers",),
    "share": ("share", "profiles"),
    "profiles": ("profiles",),
}
EFFECT_FIELDS = ("mode", "target", "spread")
OOM_FIELDS = ("min_intensity", "every_s", "offline_ticks")
DISTURBANCE_FIELDS = ("kind", "title", "start", "end", "intensity")
HOT_FIELDS = ("cpu_pct", "mem_pct")
EXPECTATION_FIELDS = ("lead_time_s", "quiet_disturbed_servers", "top5_in_peak", "max_false_alarm_episodes")


def _effect_rows(doc: dict[str, Any], base: str) -> list[tuple[str, bool, list[Control]]]:
    effects = draft.get(doc, base)
    effects = effects if isinstance(effects, dict) else {}
    rows = []
    for metric in METRIC_NAMES:
        on = isinstance(effects.get(metric), dict)
        controls = [_control(doc, f"{base}.{metric}.{f}") for f in EFFECT_FIELDS] if on else []
        rows.append((metric, on, controls))
    return rows


def _oom(doc: dict[str, Any], base: str) -> tuple[bool, list[Control]]:
    on = isinstance(draft.get(doc, base), dict)
    return on, [_control(doc, f"{base}.{f}") for f in OOM_FIELDS] if on else []


def _items(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = doc.get(key) if isinstance(doc.get(key), list) else []
    return [i if isinstance(i, dict) else {} for i in items]


def _selector(doc: dict[str, Any], key: str, j: int, item: dict[str, Any]) -> list[Control]:
    """The rule of item ``j`` of ``key`` and the settings that rule uses."""
    rule = item.get("rule") if item.get("rule") in RULE_FIELDS else "first_of_each_profile"
    return [_control(doc, f"{key}.{j}.rule"), *[_control(doc, f"{key}.{j}.{f}") for f in RULE_FIELDS[rule]]]


def _events(doc: dict[str, Any], toggles: dict[str, bool]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The controls of the harmless events: disturbances and hot servers."""
    disturbances = []
    for j, event in enumerate(_items(doc, "disturbances")):
        fields = [*DISTURBANCE_FIELDS, *(("restart_s",) if event.get("kind") == "deploy" else ())]
        own = isinstance(event.get("effects"), dict)
        toggles[f"disturbances.{j}.effects"] = own
        rows = _effect_rows(doc, f"disturbances.{j}.effects") if own else []
        for metric, on, _ in rows:
            toggles[f"disturbances.{j}.effects.{metric}"] = on
        disturbances.append(
            {
                "index": j,
                "controls": [*_selector(doc, "disturbances", j, event), *[_control(doc, f"disturbances.{j}.{f}") for f in fields]],
                "own_effects": own,
                "effects": rows,
            }
        )
    hot = [
        {"index": j, "controls": [*_selector(doc, "hot_servers", j, item), *[_control(doc, f"hot_servers.{j}.{f}") for f in HOT_FIELDS]]}
        for j, item in enumerate(_items(doc, "hot_servers"))
    ]
    return disturbances, hot


def form_model(doc: dict[str, Any]) -> FormModel:
    """The controls the form has for ``doc`` (its structure decides which), with their values."""
    general = [
        _control(doc, p)
        for p in ("name", "title", "description", "duration_s", "tick_s", "seed", "schema_version")
    ]
    fleet = [_control(doc, "fleet.size")] + [
        _control(doc, f"fleet.mix.{p}", p) for p in PROFILES
    ]
    phases = [
        [_control(doc, f"phases.{i}.{f}") for f in PHASE_FIELDS]
        for i in range(len(doc.get("phases") or []) if isinstance(doc.get("phases"), list) else 0)
    ]
    groups = []
    raw_groups = doc.get("affected") if isinstance(doc.get("affected"), list) else []
    toggles: dict[str, bool] = {}
    for j, group in enumerate(raw_groups):
        group = group if isinstance(group, dict) else {}
        rule = group.get("rule") if group.get("rule") in RULE_FIELDS else "first_of_each_profile"
        controls = [*_selector(doc, "affected", j, group), _control(doc, f"affected.{j}.delay_s")]
        own = isinstance(group.get("effects"), dict)
        toggles[f"affected.{j}.effects"] = own
        oom = _oom(doc, f"affected.{j}.oom")
        toggles[f"affected.{j}.oom"] = oom[0]
        groups.append(
            {
                "index": j,
                "rule": rule,
                "controls": controls,
                "own_effects": own,
                "effects": _effect_rows(doc, f"affected.{j}.effects") if own else [],
                "oom": oom,
            }
        )
        for metric, on, _ in groups[-1]["effects"]:
            toggles[f"affected.{j}.effects.{metric}"] = on
    effects = _effect_rows(doc, "effects")
    for metric, on, _ in effects:
        toggles[f"effects.{metric}"] = on
    oom = _oom(doc, "oom")
    toggles["oom"] = oom[0]
    disturbances, hot = _events(doc, toggles)
    expect_on = isinstance(doc.get("expectations"), dict)
    toggles["expectations"] = expect_on
    expectations = (expect_on, [_control(doc, f"expectations.{f}") for f in EXPECTATION_FIELDS] if expect_on else [])
    return FormModel(general, fleet, phases, groups, effects, oom, toggles, disturbances, hot, expectations)


def feedback_for(problems: list[tuple[str, str]], paths: list[str]) -> dict[str, list[str]]:
    """Each problem under the nearest field the form shows (``affected.0.servers.3`` goes to
    ``affected.0.servers``); problems with no such field are left for the list at the top."""
    known = set(paths)
    out: dict[str, list[str]] = {p: [] for p in paths}
    for loc, message in problems:
        parts = loc.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts:
            out[".".join(parts)].append(message)
    return out


def problem_lines(problems: list[tuple[str, str]]) -> list[str]:
    lines = [f"{loc}: {message}" for loc, message in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return lines


def saved_state(state: Draft, scenario: Scenario | None) -> str:
    """One line on where the draft came from and whether it differs from its file."""
    origin = state.origin
    if origin.kind in ("user", "bundled") and origin.name:
        where = f"{'bundled' if origin.kind == 'bundled' else 'your'} scenario {origin.name!r}"
        if scenario is not None and origin.version and version_of(scenario.to_json().encode()) == origin.version:
            return f"{where}, saved"
        return f"{where}, with unsaved changes" if origin.kind == "user" else f"opened from the {where}"
    return {"upload": "an uploaded file, not saved yet", "json": "typed JSON, not saved yet"}.get(
        origin.kind, "a new scenario, not saved yet"
    )


# -- the timeline's input ---------------------------------------------------------
def boundary_move(relayout: Any) -> tuple[int, float] | None:
    """``(boundary index, new time)`` from a dragged boundary line's ``relayoutData``, or None."""
    if not isinstance(relayout, dict):
        return None
    for key, value in relayout.items():
        match = re.fullmatch(r"shapes\[(\d{1,3})\]\.x([01])", str(key))
        if match and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            other = relayout.get(f"shapes[{match.group(1)}].x{1 - int(match.group(2))}")
            if isinstance(other, (int, float)) and not isinstance(other, bool) and math.isfinite(other):
                value = (value + other) / 2  # a line moved whole: both ends say where
            return int(match.group(1)), float(value)
    return None


# -- conflicts ------------------------------------------------------------------------
def differences(mine: Any, theirs: Any, path: str = "", limit: int = 20) -> list[str]:
    """The paths where two documents differ (at most ``limit``), for the conflict dialog."""
    out: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(dict.fromkeys([*a, *b])):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}.{i}")
        elif a != b:
            out.append(where or "(whole document)")

    walk(mine, theirs, path)
    return out


def schema_note() -> str:
    return f"format version {SCHEMA_VERSION}"
