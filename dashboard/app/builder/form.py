"""The builder's form: one control per field of the scenario, drawn from :func:`view.form_model`.

Every control carries its field's path in its id (:func:`ids.field`), and a feedback line
under it (:func:`ids.feedback`) where that field's validation problems appear. Text and
number boxes commit on Enter or when they lose focus, so the page is not redrawn mid-word.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ...authoring.fields import FieldSpec
from ...schema import METRIC_BY_NAME
from . import ids
from .view import Control, FormModel

PHASE_HEADINGS = ("name", "kind", "start", "end", "shape", "intensity", "amplitude", "period (s)")
NUMBER_STEPS = {"int": 1}
HELP = {
    "phases[].kind": "stable, escalation, peak or recovery (empty: from the name)",
    "affected[].servers": "server names, separated by commas (web-000, database-003)",
    "affected[].profiles": "whole profiles (rule 'profiles'); other rules: only these profiles",
    "duration_s": "m:ss, h:mm:ss or seconds; a new duration stretches every phase",
}


def feedback(path: str) -> html.Div:
    return html.Div(id=ids.feedback(path), className="builder-feedback")


def _placeholder(spec: FieldSpec) -> str:
    if spec.kind == "seconds":
        return "m:ss"
    if spec.kind in ("int", "float") and spec.default is not None:
        return f"{spec.default:g}" if isinstance(spec.default, float) else str(spec.default)
    return ""


def control(c: Control, *, compact: bool = False, bare: bool = False) -> Any:
    """The input for one field (its kind decides which), with its feedback line."""
    spec = c.spec
    size = "sm"
    common: dict[str, Any] = {"id": ids.field(c.path)}
    template_help = HELP.get(spec.path, spec.description)
    if spec.path == "schema_version":
        widget: Any = dbc.Input(**common, value=c.value, type="text", disabled=True, size=size)
    elif spec.kind in ("int", "float"):
        widget = dbc.Input(
            **common,
            value=c.value,
            type="number",  # no min/max: the browser would send nothing for 0 in 1..N, and
            step=NUMBER_STEPS.get(spec.kind, "any"),  # the checks could not say "must be >= 1"
            debounce=True,
            size=size,
            placeholder=_placeholder(spec),
        )
    elif spec.kind in ("seconds", "text"):
        widget = dbc.Input(
            **common, value=c.value, type="text", debounce=True, size=size, placeholder=_placeholder(spec),
            maxLength=200 if spec.kind == "text" else 40,
        )
    elif spec.kind in ("longtext", "names"):
        widget = dbc.Textarea(**common, value=c.value, debounce=True, rows=2 if spec.kind == "names" else 3, size=size)
    elif spec.kind == "choice":
        labels = {"true": "yes", "false": "no"}
        options = [{"label": labels.get(v, v), "value": v} for v in spec.choices]
        if spec.optional:
            options.insert(0, {"label": "(from the name)", "value": ""})
        widget = dbc.Select(**common, value=c.value, options=options, size=size)
    elif spec.kind == "choices":
        widget = dcc.Dropdown(
            **common, value=c.value, options=list(spec.choices), multi=True, clearable=True, className="builder-multi"
        )
    else:  # pragma: no cover - form_model only makes the kinds above
        raise ValueError(f"no control for {spec.kind}")
    if compact:
        return html.Div([widget, feedback(c.path)], title=template_help or None)
    return html.Div(
        [
            dbc.Label(c.label, html_for=None, className="builder-label"),
            widget,
            html.Div(template_help, className="builder-help") if template_help and not bare else None,
            feedback(c.path),
        ],
        className="builder-control",
    )


def general_section(model: FormModel) -> list:
    by_path = {c.path: c for c in model.general}
    return [
        dbc.Row(
            [
                dbc.Col(control(by_path["name"]), md=6),
                dbc.Col(control(by_path["title"]), md=6),
            ],
            className="g-2",
        ),
        control(by_path["description"]),
        dbc.Row(
            [
                dbc.Col(control(by_path["duration_s"]), md=3),
                dbc.Col(control(by_path["tick_s"]), md=3),
                dbc.Col(control(by_path["seed"]), md=3),
                dbc.Col(control(by_path["schema_version"]), md=3),
            ],
            className="g-2",
        ),
    ]


def fleet_section(model: FormModel) -> list:
    size, *mix = model.fleet
    return [
        dbc.Row(
            [dbc.Col(control(size), md=4)]
            + [dbc.Col(control(c, bare=True), md=2) for c in mix],
            className="g-2",
        ),
        html.Div("profile weights: servers are split in proportion; empty leaves a profile out", className="builder-help"),
        feedback("fleet.mix"),
    ]


def _action(
    label: str, name: str, index: int, title: str, color: str = "secondary", disabled: bool = False
) -> dbc.Button:
    return dbc.Button(
        label, id=ids.action(name, index), color=color, outline=True, size="sm", title=title, n_clicks=0,
        className="builder-action", disabled=disabled,
    )


def phases_section(model: FormModel) -> list:
    head = html.Thead(html.Tr([html.Th("#"), *[html.Th(h) for h in PHASE_HEADINGS], html.Th("")]))
    rows = []
    last = len(model.phases) - 1
    for i, row in enumerate(model.phases):
        actions = html.Div(
            [
                _action("split", "split", i, "cut this phase in two at its middle"),
                _action("↑", "earlier", i, "move this phase earlier", disabled=i == 0),
                _action("↓", "later", i, "move this phase later", disabled=i == last),
                _action("✕", "delete", i, "delete this phase (its neighbour takes its time)", "danger", last == 0),
            ],
            className="builder-row-actions",
        )
        cells = [html.Td(str(i), className="builder-index")]
        cells += [html.Td(control(c, compact=True)) for c in row]
        cells.append(html.Td(actions))
        rows.append(html.Tr(cells))
    table = dbc.Table([head, html.Tbody(rows)], size="sm", borderless=True, className="builder-phases-table")
    return [
        table,
        html.Div(
            [
                _action("+ add phase", "add-phase", -1, "add a phase at the end", "primary"),
                html.Span("drag a boundary on the timeline to resize the two phases beside it", className="builder-help ms-2"),
            ],
            className="builder-row",
        ),
        feedback("phases"),
    ]


def _effects_table(rows: list[tuple[str, bool, list[Control]]], base: str) -> dbc.Table:
    body = []
    for metric, on, controls in rows:
        unit = METRIC_BY_NAME[metric].unit
        cells = [
            html.Td(
                dbc.Switch(id=ids.toggle(f"{base}.{metric}"), value=on, label=metric, className="builder-switch"),
                title=f"{METRIC_BY_NAME[metric].description} ({unit})",
            )
        ]
        cells += [html.Td(control(c, compact=True)) for c in controls] if on else [html.Td(), html.Td(), html.Td()]
        body.append(html.Tr(cells))
    head = html.Thead(html.Tr([html.Th("metric"), html.Th("mode"), html.Th("target"), html.Th("spread")]))
    return dbc.Table([head, html.Tbody(body)], size="sm", borderless=True, className="builder-effects-table")


def _oom_block(on: bool, controls: list[Control], base: str, label: str) -> html.Div:
    return html.Div(
        [
            dbc.Switch(id=ids.toggle(base), value=on, label=label, className="builder-switch"),
            dbc.Row([dbc.Col(control(c), md=4) for c in controls], className="g-2") if on else None,
            html.Div(
                "while intensity is at least min intensity, one out-of-memory kill every every (s); "
                "a killed server is offline for offline ticks",
                className="builder-help",
            )
            if on
            else None,
        ],
        className="builder-oom",
    )


def targets_section(model: FormModel) -> list:
    cards = []
    for group in model.groups:
        j = group["index"]
        header = html.Div(
            [
                html.Span(f"group {j}", className="builder-group-title"),
                _action("✕ remove", "delete-group", j, "remove this group", "danger"),
            ],
            className="builder-group-head",
        )
        own = group["own_effects"]
        body = [
            dbc.Row([dbc.Col(control(c), md=6) for c in group["controls"]], className="g-2"),
            dbc.Switch(
                id=ids.toggle(f"affected.{j}.effects"), value=own,
                label="its own effects (else the scenario's)", className="builder-switch",
            ),
            _effects_table(group["effects"], f"affected.{j}.effects") if own else None,
            feedback(f"affected.{j}.effects"),
            _oom_block(*group["oom"], f"affected.{j}.oom", "its own OOM rule (else the scenario's)"),
            feedback(f"affected.{j}"),
        ]
        cards.append(html.Div([header, *body], className="builder-group"))
    return [
        *cards,
        html.Div(
            [
                _action("+ add group", "add-group", -1, "affect more servers by another rule", "primary"),
                html.Span("a server picked by two groups follows the first", className="builder-help ms-2"),
            ],
            className="builder-row",
        ),
        feedback("affected"),
    ]


def effects_section(model: FormModel) -> list:
    return [
        html.Div(
            "how intensity moves each metric on affected servers: level goes to target (± spread) at "
            "full intensity; factor multiplies the healthy value by up to target",
            className="builder-help",
        ),
        _effects_table(model.effects, "effects"),
        feedback("effects"),
        _oom_block(*model.oom, "oom", "out-of-memory kills"),
        feedback("oom"),
    ]


def _item_card(title: str, remove: str, j: int, body: list) -> html.Div:
    header = html.Div(
        [html.Span(title, className="builder-group-title"), _action("✕ remove", remove, j, "remove it", "danger")],
        className="builder-group-head",
    )
    return html.Div([header, *body], className="builder-group")


def events_section(model: FormModel) -> list:
    """Disturbances (harmless events, never labelled incidents) and servers that run hot."""
    cards = []
    for event in model.disturbances:
        j = event["index"]
        own = event["own_effects"]
        cards.append(
            _item_card(
                f"disturbance {j}",
                "delete-disturbance",
                j,
                [
                    dbc.Row([dbc.Col(control(c), md=4) for c in event["controls"]], className="g-2"),
                    dbc.Switch(
                        id=ids.toggle(f"disturbances.{j}.effects"), value=own,
                        label="its own effects (else the kind's)", className="builder-switch",
                    ),
                    _effects_table(event["effects"], f"disturbances.{j}.effects") if own else None,
                    feedback(f"disturbances.{j}.effects"),
                    feedback(f"disturbances.{j}"),
                ],
            )
        )
    for hot in model.hot:
        j = hot["index"]
        cards.append(
            _item_card(
                f"hot servers {j}",
                "delete-hot",
                j,
                [dbc.Row([dbc.Col(control(c), md=4) for c in hot["controls"]], className="g-2"), feedback(f"hot_servers.{j}")],
            )
        )
    return [
        html.Div(
            "what moves metrics without being an incident (never labelled as one): batch jobs, busy "
            "hours, deploys, noisy neighbours, failovers; and servers whose normal is hot",
            className="builder-help",
        ),
        *cards,
        html.Div(
            [
                _action("+ add disturbance", "add-disturbance", -1, "a harmless event", "primary"),
                _action("+ add hot servers", "add-hot", -1, "servers that normally run hot", "primary"),
            ],
            className="builder-row gap-2",
        ),
        feedback("disturbances"),
        feedback("hot_servers"),
    ]


def expectations_section(model: FormModel) -> list:
    """What a good model must achieve on this scenario (python -m dashboard.check)."""
    on, controls = model.expectations
    return [
        dbc.Switch(id=ids.toggle("expectations"), value=on, label="state what a good model must do", className="builder-switch"),
        html.Div([control(c) for c in controls]) if on else None,
        html.Div("python -m dashboard.check runs them against a model, like a unit test", className="builder-help"),
        feedback("expectations"),
    ]
