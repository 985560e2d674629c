"""The builder's model of a scenario being edited: a plain JSON document, valid or not.

A draft is the scenario file as a dict. Every edit returns a new dict; nothing is validated
on the way in, so a half-typed value stays where the user put it and :func:`check` lists
every problem at its field. Edits that touch the timeline keep the phases tiling it:
moving a boundary resizes the two phases beside it, a typed end moves the next start, a new
duration stretches every phase. :class:`DraftError` says why an edit cannot be done.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from ..errors import DashboardError, ScenarioError
from ..jsontext import DuplicateKeyError, loads_strict
from ..scenario import (
    DISTURBANCE_EFFECTS,
    MAX_DISTURBANCES,
    MAX_GROUPS,
    MAX_PHASES,
    NAME_PATTERN,
    PROFILES,
    SCHEMA_VERSION,
    Scenario,
    parse_clock,
    parse_scenario,
)
from ..schema import PHASE_KINDS
from .fields import FieldSpec, coerce, field_index, template_of
from .names import ScenarioNameError, check_name

Doc = dict[str, Any]
SPECS = field_index()
MAX_DOC_CHARS = 1_000_000
# Effects a metric gets when it is switched on (then edited by the user).
NEW_EFFECTS: dict[str, dict[str, Any]] = {
    "cpu_pct": {"mode": "level", "target": 85.0, "spread": 4.0},
    "mem_pct": {"mode": "level", "target": 92.0, "spread": 2.0},
    "latency_ms": {"mode": "factor", "target": 6.0, "spread": 0.0},
    "error_rate": {"mode": "level", "target": 0.12, "spread": 0.02},
    "disk_io_mb_s": {"mode": "factor", "target": 3.0, "spread": 0.0},
    "net_in_mb_s": {"mode": "factor", "target": 2.0, "spread": 0.0},
    "net_out_mb_s": {"mode": "factor", "target": 2.0, "spread": 0.0},
    "gc_pause_ms": {"mode": "factor", "target": 3.0, "spread": 0.0},
}
NEW_OOM = {"min_intensity": 0.9, "every_s": 60.0, "offline_ticks": 1}
# What an optional part holds when it is switched on, by field name.
NEW_PARTS: dict[str, dict[str, Any]] = {
    "oom": NEW_OOM,
    "expectations": {"lead_time_s": None, "quiet_disturbed_servers": False, "top5_in_peak": None, "max_false_alarm_episodes": None},
}
SELECTOR_LISTS = ("affected", "disturbances", "hot_servers")  # lists of items picked by a rule
_INDEX = re.compile(r"^\d+$")


class DraftError(DashboardError, ValueError):
    """An edit that cannot be applied to the draft as it is (the message says why)."""


# -- making drafts --------------------------------------------------------------------
def blank(name: str = "new-scenario") -> Doc:
    """A small valid scenario to start from: one healthy phase over five minutes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "title": "",
        "description": "A new incident scenario.",
        "duration_s": 300.0,
        "tick_s": 5.0,
        "seed": 42,
        "fleet": {"size": 20, "mix": {p: 1.0 for p in PROFILES}},
        "phases": [{"name": "stable", "kind": "stable", "start": 0.0, "end": 300.0, "shape": "flat", "intensity": 0.0, "amplitude": 0.3, "period_s": None}],
        "affected": [{"rule": "first_of_each_profile", "servers": None, "share": None, "profiles": None, "delay_s": 0.0, "effects": None, "oom": None}],
        "effects": copy.deepcopy({m: NEW_EFFECTS[m] for m in ("cpu_pct", "latency_ms", "error_rate", "gc_pause_ms")}),
        "oom": None,
    }


def from_scenario(scenario: Scenario) -> Doc:
    """A valid scenario as a draft (every default filled in, times in seconds)."""
    return scenario.to_dict()


def from_json(text: str) -> Doc:
    """A draft from JSON text typed or uploaded; refuses what is not a JSON object.

    Only the syntax is checked here (with the line and column); the fields are :func:`check`'s.
    """
    if len(text) > MAX_DOC_CHARS:
        raise DraftError(f"JSON: {len(text):,} characters; at most {MAX_DOC_CHARS:,}")
    try:
        doc = loads_strict(text, parse_constant=_refuse_constant)
    except DuplicateKeyError as exc:
        raise DraftError(f"JSON: {exc.location}: {exc}; keep one of them") from None
    except (ValueError, RecursionError) as exc:
        raise DraftError(f"JSON: not valid: {exc}") from None
    if not isinstance(doc, dict):
        raise DraftError(f"JSON: a scenario is a JSON object {{...}}, not {type(doc).__name__}")
    return doc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


# -- reading -------------------------------------------------------------------------
def _parts(path: str) -> list[str | int]:
    return [int(p) if _INDEX.match(p) else p for p in path.split(".")]


def get(doc: Doc, path: str, default: Any = None) -> Any:
    """The value at a dotted path (``phases.1.intensity``), or ``default`` where there is none."""
    node: Any = doc
    for part in _parts(path):
        in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
        in_dict = isinstance(part, str) and isinstance(node, dict) and part in node
        if not (in_list or in_dict):
            return default
        node = node[part]
    return node


def seconds(value: Any) -> float | None:
    """A time as typed (``90``, ``"1:30"``) in seconds, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        parsed = parse_clock(value)
    except ValueError:
        return None
    if isinstance(parsed, str):
        try:
            parsed = float(parsed)
        except ValueError:
            return None
    return float(parsed) if isinstance(parsed, (int, float)) and math.isfinite(parsed) else None


def bounds(doc: Doc) -> list[float] | None:
    """Phase boundaries ``[0, end_0, end_1, ..., duration]`` when every phase time is a number."""
    phases = doc.get("phases")
    if not isinstance(phases, list) or not phases or not all(isinstance(p, dict) for p in phases):
        return None
    out = [seconds(phases[0].get("start"))]
    out += [seconds(p.get("end")) for p in phases]
    if any(b is None for b in out):
        return None
    return [float(b) for b in out]  # type: ignore[arg-type]


def step(doc: Doc) -> float:
    """The grid boundaries snap to: the tick when it is at least a second, else 0.1 s."""
    tick = doc.get("tick_s")
    if isinstance(tick, (int, float)) and not isinstance(tick, bool) and 1 <= tick <= 3600:
        return float(tick)
    return 0.1


# -- writing -------------------------------------------------------------------------
def _set(doc: Doc, path: str, value: Any) -> None:
    parts = _parts(path)
    node: Any = doc
    for part, following in zip(parts, parts[1:], strict=False):
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise DraftError(f"{path}: no such item")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise DraftError(f"{path}: no such field")
        if not isinstance(node.get(part), (dict, list)):
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not 0 <= last < len(node):
            raise DraftError(f"{path}: no such item")
        node[last] = value
    elif isinstance(node, dict):
        if value is None and last in node and isinstance(node, dict) and _removable(path):
            del node[last]
        else:
            node[last] = value
    else:
        raise DraftError(f"{path}: no such field")


def _removable(path: str) -> bool:
    """Map entries (a profile's weight, a metric's effect) disappear when emptied."""
    template = template_of(path, SPECS)
    return template.endswith("{}")


def spec_of(path: str) -> FieldSpec:
    """The field a concrete path names (:class:`DraftError` for a path that is not one)."""
    template = template_of(path, SPECS)
    spec = SPECS.get(template)
    container = SPECS.get(template[:-2]) if template.endswith("{}") else None
    if spec is None and container is not None and container.kind == "weights":
        # One entry of a map of numbers (a profile's weight): a number, emptied to remove it.
        spec = FieldSpec(template, "float", container.label, container.description, low=0.0, optional=True)
    if spec is None:
        raise DraftError(f"{path[:80]}: not a field of the scenario format")
    return spec


def set_value(doc: Doc, path: str, value: Any) -> Doc:
    """``doc`` with the field at ``path`` set to what its control sent.

    Phase times keep the timeline tiled (a typed end moves the next phase's start, a new
    duration stretches every phase); a new rule clears the settings of the previous one.
    """
    spec = spec_of(path)
    value = coerce(spec, value)
    out = copy.deepcopy(doc)
    parts = path.split(".")
    if parts[0] == "phases" and len(parts) == 3 and parts[2] in ("start", "end"):
        return _set_phase_time(out, int(parts[1]), parts[2], value)
    if path == "duration_s":
        return _stretch(out, value)
    if len(parts) == 3 and parts[0] == "phases" and parts[2] == "name":
        return _rename_phase(out, int(parts[1]), value)
    if len(parts) == 3 and parts[0] in SELECTOR_LISTS and parts[2] == "rule":
        _set(out, path, value)
        return _fit_rule(out, parts[0], int(parts[1]))
    if len(parts) == 3 and parts[0] == "disturbances" and parts[2] == "kind" and value != "deploy":
        _set(out, f"disturbances.{parts[1]}.restart_s", None)  # only deploys restart servers
    _set(out, path, value)
    if path.startswith("fleet.mix.") and isinstance(out["fleet"].get("mix"), dict):
        mix = out["fleet"]["mix"]
        if value is not None and list(mix)[-1] == parts[-1] and parts[-1] in PROFILES:
            # a profile added back takes its usual place (servers are numbered in mix order)
            order = {p: k for k, p in enumerate(PROFILES)}
            out["fleet"]["mix"] = dict(sorted(mix.items(), key=lambda kv: order.get(kv[0], 99)))
    return out


def _set_phase_time(doc: Doc, i: int, which: str, value: Any) -> Doc:
    phases = doc.get("phases") or []
    if not 0 <= i < len(phases):
        raise DraftError(f"phases.{i}: no such phase")
    phases[i][which] = value
    t = seconds(value)
    if t is None:
        return doc
    if which == "end" and i + 1 < len(phases):
        phases[i + 1]["start"] = t
    elif which == "end":
        doc["duration_s"] = t
    elif which == "start" and i > 0:
        phases[i - 1]["end"] = t
    return doc


def _rename_phase(doc: Doc, i: int, name: Any) -> Doc:
    """A phase renamed to a kind's name (``peak``) takes that kind, unless its kind was chosen
    apart from its old name."""
    phases = doc.get("phases") or []
    if not 0 <= i < len(phases) or not isinstance(phases[i], dict):
        raise DraftError(f"phases.{i}: no such phase")
    phase = phases[i]
    old = re.sub(r"-\d+$", "", str(phase.get("name") or ""))
    if name in PHASE_KINDS and phase.get("kind") in (None, "", old):
        phase["kind"] = name
    phase["name"] = name
    return doc


def _stretch(doc: Doc, value: Any) -> Doc:
    old = seconds(doc.get("duration_s"))
    new = seconds(value)
    marks = bounds(doc)
    doc["duration_s"] = value
    if new is None or new <= 0 or not old or old <= 0 or marks is None:
        return doc
    factor = new / old
    grid = step(doc)
    stretched = [round(b * factor / grid) * grid for b in marks]
    stretched[-1] = new
    _apply_bounds(doc, stretched)
    # Everything else on the clock stretches with it, as Scenario.resolved() does.
    for key, fields in (("affected", ("delay_s",)), ("disturbances", ("start", "end", "restart_s"))):
        for item in doc.get(key) or []:
            for name in fields:
                value = seconds(item.get(name)) if isinstance(item, dict) else None
                if value:
                    item[name] = round(value * factor, 3)
    return doc


def _apply_bounds(doc: Doc, marks: list[float]) -> None:
    for k, phase in enumerate(doc["phases"]):
        phase["start"], phase["end"] = _tidy(marks[k]), _tidy(marks[k + 1])


def _tidy(t: float) -> float:
    return float(round(t, 3))


def _fit_rule(doc: Doc, key: str, j: int) -> Doc:
    group = doc[key][j]
    rule = group.get("rule")
    for key in ("servers", "share"):
        if rule != key:
            group[key] = None
    if rule == "servers" and not group.get("servers"):
        group["servers"] = [f"{_first_profile(doc)}-000"]
    if rule == "share" and group.get("share") is None:
        group["share"] = 0.1
    if rule == "profiles" and not group.get("profiles"):
        group["profiles"] = [_first_profile(doc)]
    return doc


def _first_profile(doc: Doc) -> str:
    mix = get(doc, "fleet.mix")
    if isinstance(mix, dict):
        for profile in PROFILES:
            weight = mix.get(profile)
            if isinstance(weight, (int, float)) and weight > 0:
                return profile
    return PROFILES[0]


def set_enabled(doc: Doc, path: str, on: bool) -> Doc:
    """Switch an optional part on (with sensible values) or off: ``oom``, ``affected.0.oom``,
    ``affected.0.effects`` (the group's own effects), a metric's effect (``effects.mem_pct``)."""
    template = template_of(path, SPECS)
    spec = SPECS.get(template)
    out = copy.deepcopy(doc)
    if spec is not None and spec.kind == "optional":
        _set(out, path, copy.deepcopy(NEW_PARTS.get(template.rsplit(".", 1)[-1], {})) if on else None)
    elif spec is not None and template == "affected[].effects":
        _set(out, path, copy.deepcopy(out.get("effects") or {}) if on else None)
    elif spec is not None and template == "disturbances[].effects":
        kind = get(out, path.rsplit(".", 1)[0] + ".kind")
        defaults = {m: e.model_dump(mode="json") for m, e in DISTURBANCE_EFFECTS.get(kind, {}).items()}
        _set(out, path, defaults if on else None)
    elif template.endswith("{}") and getattr(SPECS.get(template[:-2]), "kind", None) == "map":
        parent, metric = path.rsplit(".", 1)
        if metric not in NEW_EFFECTS:
            raise DraftError(f"{path[:80]}: no metric called {metric[:40]!r}")
        effects = get(out, parent)
        if not isinstance(effects, dict):
            effects = {}
            _set(out, parent, effects)
        if on:
            effects.setdefault(metric, copy.deepcopy(NEW_EFFECTS[metric]))
        else:
            effects.pop(metric, None)
    else:
        raise DraftError(f"{path[:80]}: not something that can be switched on or off")
    return out


# -- the timeline --------------------------------------------------------------------
def _marks_or_fail(doc: Doc) -> list[float]:
    marks = bounds(doc)
    if marks is None:
        raise DraftError("some phase times are not numbers yet; fix them first")
    return marks


def _unique_name(doc: Doc, base: str) -> str:
    taken = {p.get("name") for p in doc.get("phases") or [] if isinstance(p, dict)}
    base = base if re.fullmatch(NAME_PATTERN, base) else "phase"
    if base not in taken:
        return base
    stem = re.sub(r"-\d+$", "", base)[:58]
    k = 2
    while f"{stem}-{k}" in taken:
        k += 1
    return f"{stem}-{k}"


def move_boundary(doc: Doc, k: int, t: float) -> Doc:
    """Move the boundary between phases ``k`` and ``k + 1`` to ``t`` seconds (snapped to the
    grid, kept at least one grid step inside both phases): both phases change length."""
    out = copy.deepcopy(doc)
    marks = _marks_or_fail(out)
    if not 0 <= k < len(marks) - 2:
        raise DraftError(f"there is no boundary {k} between two phases")
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        raise DraftError(f"a boundary must move to a time in seconds, got {str(t)[:40]!r}")
    grid = step(out)
    low, high = marks[k] + grid, marks[k + 2] - grid
    if low > high:
        raise DraftError(f"phases {k} and {k + 1} are too short to move the boundary between them")
    marks[k + 1] = min(max(round(t / grid) * grid, low), high)
    _apply_bounds(out, marks)
    return out


def add_phase(doc: Doc) -> Doc:
    """A new phase after the last one; the timeline grows by a quarter (at least one step)."""
    out = copy.deepcopy(doc)
    marks = _marks_or_fail(out)
    if len(out["phases"]) >= MAX_PHASES:
        raise DraftError(f"a scenario has at most {MAX_PHASES} phases")
    grid = step(out)
    length = max(grid, round(marks[-1] / 4 / grid) * grid)
    kinds = [p.get("kind") or p.get("name") for p in out["phases"]]
    kind = next((k for k in PHASE_KINDS if k not in kinds), "peak")
    name = _unique_name(out, kind)
    out["phases"].append(
        {"name": name, "kind": kind, "start": _tidy(marks[-1]), "end": _tidy(marks[-1] + length), "shape": "flat", "intensity": 0.0, "amplitude": 0.3, "period_s": None}
    )
    out["duration_s"] = _tidy(marks[-1] + length)
    return out


def split_phase(doc: Doc, i: int) -> Doc:
    """Phase ``i`` cut in two at its middle; the second half is a copy with a new name."""
    out = copy.deepcopy(doc)
    marks = _marks_or_fail(out)
    if not 0 <= i < len(out["phases"]):
        raise DraftError(f"phases.{i}: no such phase")
    if len(out["phases"]) >= MAX_PHASES:
        raise DraftError(f"a scenario has at most {MAX_PHASES} phases")
    grid = step(out)
    start, end = marks[i], marks[i + 1]
    middle = round((start + end) / 2 / grid) * grid
    if middle - start < grid or end - middle < grid:
        raise DraftError(f"phases.{i} is too short to split (shorter than two steps of {grid:g} s)")
    second = copy.deepcopy(out["phases"][i])
    second["name"] = _unique_name(out, str(second.get("name") or "phase"))
    second["start"] = out["phases"][i]["end"] = _tidy(middle)
    second["end"] = _tidy(end)
    out["phases"].insert(i + 1, second)
    return out


def delete_phase(doc: Doc, i: int) -> Doc:
    """Phase ``i`` removed; the phase before it (or after it, for the first) takes its time."""
    out = copy.deepcopy(doc)
    marks = _marks_or_fail(out)
    phases = out["phases"]
    if not 0 <= i < len(phases):
        raise DraftError(f"phases.{i}: no such phase")
    if len(phases) == 1:
        raise DraftError("a scenario needs at least one phase")
    del marks[i + 1 if i == 0 else i]
    del phases[i]
    _apply_bounds(out, marks)
    return out


def move_phase(doc: Doc, i: int, delta: int) -> Doc:
    """Phase ``i`` moved ``delta`` places earlier (-1) or later (+1), keeping every length."""
    out = copy.deepcopy(doc)
    marks = _marks_or_fail(out)
    phases = out["phases"]
    j = i + delta
    if not (0 <= i < len(phases) and 0 <= j < len(phases)):
        raise DraftError(f"phases.{i} cannot move {'earlier' if delta < 0 else 'later'}")
    lengths = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    phases[i], phases[j] = phases[j], phases[i]
    lengths[i], lengths[j] = lengths[j], lengths[i]
    marks = [marks[0]]
    for length in lengths:
        marks.append(marks[-1] + length)
    _apply_bounds(out, marks)
    return out


# -- affected groups -----------------------------------------------------------------
def add_group(doc: Doc) -> Doc:
    out = copy.deepcopy(doc)
    groups = out.setdefault("affected", [])
    if not isinstance(groups, list):
        raise DraftError("affected: not a list")
    if len(groups) >= MAX_GROUPS:
        raise DraftError(f"a scenario has at most {MAX_GROUPS} affected groups")
    groups.append({"rule": "share", "servers": None, "share": 0.1, "profiles": None, "delay_s": 0.0, "effects": None, "oom": None})
    return out


def delete_item(doc: Doc, key: str, j: int) -> Doc:
    """Item ``j`` of a list (``affected``, ``disturbances``, ``hot_servers``) removed."""
    out = copy.deepcopy(doc)
    items = out.get(key) if key in SELECTOR_LISTS else None
    if not isinstance(items, list) or not 0 <= j < len(items):
        raise DraftError(f"{key[:40]}.{j}: no such item")
    del items[j]
    return out


def delete_group(doc: Doc, j: int) -> Doc:
    return delete_item(doc, "affected", j)


def add_disturbance(doc: Doc) -> Doc:
    """A batch job on a tenth of the fleet across the middle third of the timeline."""
    out = copy.deepcopy(doc)
    items = out.setdefault("disturbances", [])
    if not isinstance(items, list):
        raise DraftError("disturbances: not a list")
    if len(items) >= MAX_DISTURBANCES:
        raise DraftError(f"a scenario has at most {MAX_DISTURBANCES} disturbances")
    duration = seconds(out.get("duration_s")) or 300.0
    grid = step(out)
    start, end = round(duration / 3 / grid) * grid, round(2 * duration / 3 / grid) * grid
    items.append(
        {"rule": "share", "servers": None, "share": 0.1, "profiles": None, "kind": "batch_job", "title": "",
         "start": _tidy(start), "end": _tidy(max(end, start + grid)), "intensity": 1.0, "effects": None, "restart_s": None}
    )
    return out


def add_hot_servers(doc: Doc) -> Doc:
    """Every ML server running hot (92% CPU), healthy."""
    out = copy.deepcopy(doc)
    items = out.setdefault("hot_servers", [])
    if not isinstance(items, list):
        raise DraftError("hot_servers: not a list")
    if len(items) >= MAX_GROUPS:
        raise DraftError(f"a scenario has at most {MAX_GROUPS} groups of hot servers")
    items.append({"rule": "profiles", "servers": None, "share": None, "profiles": ["ml_compute"], "cpu_pct": 92.0, "mem_pct": None})
    return out


# -- checking ------------------------------------------------------------------------
def check(doc: Doc) -> tuple[Scenario | None, list[tuple[str, str]]]:
    """The scenario when the draft is valid, else every problem as ``(field path, message)``."""
    try:
        return parse_scenario(doc, source="draft"), []
    except ScenarioError as exc:
        problems = list(exc.problems)
    name = doc.get("name")
    if any(loc == "name" for loc, _ in problems) and isinstance(name, str):
        try:  # the naming rules in words, with a name to use instead
            check_name(name)
        except ScenarioNameError as exc:
            problems = [(loc, str(exc) if loc == "name" else msg) for loc, msg in problems]
    return None, problems


def structure(doc: Doc) -> str:
    """What decides which controls the form shows: the phases, the groups and their rules,
    which effects and OOM rules exist. Equal structures have the same controls."""
    parts = [f"p{len(doc.get('phases') or [])}"]
    for group in doc.get("affected") or []:
        if not isinstance(group, dict):
            parts.append("g?")
            continue
        effects = group.get("effects")
        parts.append(
            "g:" + str(group.get("rule"))
            + ":" + (",".join(sorted(effects)) if isinstance(effects, dict) else "-")
            + ":" + ("oom" if group.get("oom") is not None else "-")
        )
    for event in doc.get("disturbances") or []:
        event = event if isinstance(event, dict) else {}
        effects = event.get("effects")
        parts.append(
            f"d:{event.get('rule')}:{event.get('kind') == 'deploy'}:"
            + (",".join(sorted(effects)) if isinstance(effects, dict) else "-")
        )
    for hot in doc.get("hot_servers") or []:
        parts.append(f"h:{hot.get('rule') if isinstance(hot, dict) else '?'}")
    parts.append("x" if doc.get("expectations") is not None else "-")
    effects = doc.get("effects")
    parts.append("e:" + (",".join(sorted(effects)) if isinstance(effects, dict) else "-"))
    parts.append("oom" if doc.get("oom") is not None else "-")
    return "|".join(parts)
