"""The builder tab's editing callbacks: controls -> draft -> form, timeline, checks, preview.

The draft lives in the browser (:data:`ids.DRAFT`). Editing is one loop:

1. a control, switch, button or dragged boundary changes the draft (``edit_draft``; the
   JSON view, the library and uploads have their own callbacks);
2. ``render_draft`` redraws what depends on it: the timeline, the list of problems, the
   JSON, and the form's sections whose *structure* changed (a phase added, a rule changed);
3. ``sync_form`` then sets every control's value and its problems, leaving the control
   being typed in alone (its value is already the draft's), so focus is never lost;
4. ``render_preview`` samples what the scenario will generate.

Saving, playing and generating are in :mod:`.actions` and :mod:`.jobs`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from ...authoring import draft
from ...authoring.preview import preview
from ..messages import GENERIC_ERROR, public_message
from ..services import Services
from ..validate import ViewError
from . import actions, form, ids, jobs
from .edits import apply_json, apply_triggers, apply_upload, canonical_text
from .figures import affected_rows, empty_preview, preview_caption, preview_figure, timeline_figure
from .layout import UPLOAD_MAX_BYTES
from .view import Draft, draft_from_store, feedback_for, form_model, problem_lines, saved_state

log = logging.getLogger(__name__)

SECTIONS = (
    (ids.GENERAL, "general", form.general_section),
    (ids.FLEET, "fleet", form.fleet_section),
    (ids.PHASES, "phases", form.phases_section),
    (ids.TARGETS, "targets", form.targets_section),
    (ids.EFFECTS, "effects", form.effects_section),
    (ids.EVENTS, "events", form.events_section),
    (ids.EXPECT, "expectations", form.expectations_section),
)

# Runs in the browser: an upload over the limit is refused before it is sent, with the
# message the server gives (edits.too_large); the Upload is emptied so the same file can
# be dropped again.
CHECK_UPLOAD_JS = """
function(contents, filename, limit) {
    const noUpdate = window.dash_clientside.no_update;
    if (!contents) { return [noUpdate, noUpdate]; }
    const comma = contents.indexOf(",");
    const size = Math.floor((comma >= 0 ? contents.length - comma - 1 : contents.length) * 3 / 4);
    let name = (typeof filename === "string" && filename) ? filename : "the file";
    name = name.replace(/\\\\/g, "/").split("/").pop().slice(0, 80);
    if (size > limit) {
        const kb = (n) => Math.ceil(n / 1024).toLocaleString("en-US");
        return [{"error": name + ": " + kb(size) + " KB; a scenario file may be at most " + kb(limit) + " KB"}, null];
    }
    return [{"filename": name, "contents": contents}, null];
}
"""


def section_keys(doc: dict[str, Any]) -> dict[str, str]:
    """Per section, what decides which controls it has (redrawn only when this changes)."""
    structure = draft.structure(doc).split("|")
    return {
        "general": "general",
        "fleet": "fleet",
        "phases": structure[0],
        "targets": "|".join(s for s in structure if s.startswith("g")),
        "effects": "|".join(structure[-2:]),
        "events": "|".join(s for s in structure if s.startswith(("d:", "h:"))),
        "expectations": structure[-3],
    }


def status(message: str, color: str = "warning", data_roots: Any = ()) -> tuple:
    """The status line's outputs, the message as a web page may show it."""
    return public_message(message, data_roots), color, True


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the builder tab: editing here, saving in :mod:`.actions`, generating in :mod:`.jobs`."""
    roots = services.settings.data_roots

    @app.callback(
        Output(ids.DRAFT, "data"),
        Output(ids.STATUS, "children"),
        Output(ids.STATUS, "color"),
        Output(ids.STATUS, "is_open"),
        Input({"type": ids.FIELD, "path": ALL}, "value"),
        Input({"type": ids.TOGGLE, "path": ALL}, "value"),
        Input({"type": ids.ACTION, "action": ALL, "index": ALL}, "n_clicks"),
        Input(ids.TIMELINE, "relayoutData"),
        State(ids.DRAFT, "data"),
        prevent_initial_call=True,
    )
    def edit_draft(_fields, _toggles, _actions, _relayout, data) -> tuple:
        """Apply what the user typed, switched, clicked or dragged to the draft."""
        try:
            state = draft_from_store(data)
        except ViewError as exc:
            return Draft(draft.blank()).to_store(), *status(str(exc), data_roots=roots)
        triggered = []
        for item in ctx.triggered:
            prop = item.get("prop_id", "")
            component = prop.rsplit(".", 1)[0]
            if component.startswith("{"):
                try:
                    component = json.loads(component)
                except ValueError:
                    continue
            triggered.append((component, item.get("value")))
        new, messages = apply_triggers(state, triggered)
        if new is None and not messages:
            raise PreventUpdate
        answer = new.to_store() if new is not None else no_update
        if messages:
            return answer, *status(" · ".join(messages), data_roots=roots)
        return answer, no_update, no_update, no_update

    # allow_duplicate: the JSON view, the library, uploads and saves each replace the draft.
    @app.callback(
        Output(ids.DRAFT, "data", allow_duplicate=True),
        Output(ids.STATUS, "children", allow_duplicate=True),
        Output(ids.STATUS, "color", allow_duplicate=True),
        Output(ids.STATUS, "is_open", allow_duplicate=True),
        Input(ids.JSON, "value"),
        Input(ids.UPLOADED, "data"),
        State(ids.DRAFT, "data"),
        prevent_initial_call=True,
    )
    def replace_draft(text, uploaded, data) -> tuple:
        """The advanced view's JSON (once it parses), or an uploaded file (already under the
        size limit in the browser), becomes the draft."""
        try:
            state = draft_from_store(data)
        except ViewError:
            state = Draft(draft.blank())
        if ctx.triggered_id == ids.UPLOADED:
            new, problem = apply_upload(uploaded, UPLOAD_MAX_BYTES, state.rev)
            done = f"opened {uploaded.get('filename', 'the file')}: not saved yet" if new else None
        else:
            new, problem = apply_json(state, text)
            done = None
        if problem:
            return no_update, *status(problem, "danger", roots)
        if new is None:
            raise PreventUpdate
        return new.to_store(), *(status(done, "info", roots) if done else (no_update,) * 3)

    app.clientside_callback(
        CHECK_UPLOAD_JS,
        Output(ids.UPLOADED, "data"),
        Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        *[Output(component, "children") for component, _, _ in SECTIONS],
        Output(ids.TIMELINE, "figure"),
        Output(ids.PROBLEMS, "children"),
        Output(ids.PROBLEMS, "is_open"),
        Output(ids.JSON, "value"),
        Output(ids.SAVE, "disabled"),
        Output(ids.PLAY, "disabled"),
        Output(ids.ORIGIN, "children"),
        Output(ids.SHAPE, "data"),
        Output(ids.SYNC, "data"),
        Input(ids.DRAFT, "data"),
        State(ids.SHAPE, "data"),
    )
    def render_draft(data, shape) -> tuple:
        """Redraw what the draft decides: the sections whose structure changed, the timeline,
        the problems, the JSON; then ask ``sync_form`` to set the values."""
        try:
            state = draft_from_store(data)
        except ViewError:
            state = Draft(draft.blank())
        try:
            return draft_answer(state, shape)
        except Exception:  # the user gets a message, the log the traceback
            log.exception("drawing the scenario builder failed")
            return (*[no_update] * len(SECTIONS), no_update, GENERIC_ERROR, True, *[no_update] * 6)

    @app.callback(
        Output({"type": ids.FIELD, "path": ALL}, "value"),
        Output({"type": ids.TOGGLE, "path": ALL}, "value"),
        Output({"type": ids.FEEDBACK, "path": ALL}, "children"),
        Input(ids.SYNC, "data"),
        State(ids.DRAFT, "data"),
        State({"type": ids.FIELD, "path": ALL}, "value"),
        State({"type": ids.TOGGLE, "path": ALL}, "value"),
        prevent_initial_call=True,
    )
    def sync_form(_sync, data, values, switches) -> tuple:
        """Set each control to the draft's value where it differs, and show each field's problems."""
        try:
            state = draft_from_store(data)
        except ViewError:
            raise PreventUpdate from None
        field_ids = [o["id"] for o in ctx.outputs_list[0]]
        toggle_ids = [o["id"] for o in ctx.outputs_list[1]]
        feedback_ids = [o["id"] for o in ctx.outputs_list[2]]
        return sync_answer(state, field_ids, values, toggle_ids, switches, feedback_ids)

    @app.callback(
        Output(ids.PREVIEW, "figure"),
        Output(ids.PREVIEW_NOTE, "children"),
        Output(ids.AFFECTED, "children"),
        Input(ids.DRAFT, "data"),
    )
    def render_preview(data) -> tuple:
        """Sample what the scenario will generate (nothing while it has problems)."""
        try:
            state = draft_from_store(data)
        except ViewError:
            raise PreventUpdate from None
        scenario, problems = draft.check(state.doc)
        if scenario is None:
            return no_update, f"the preview waits until the {len(problems)} problem(s) above are fixed", no_update
        try:
            result = preview(scenario)
        except Exception:
            log.exception("the scenario preview failed")
            return empty_preview("the preview failed; the details are in the server log"), "", no_update
        rows, line = affected_rows(result)
        table = dbc.Table(
            [
                html.Thead(html.Tr([html.Th("server"), html.Th("profile"), html.Th("why"), html.Th("")])),
                html.Tbody([html.Tr([html.Td(r["server"]), html.Td(r["profile"]), html.Td(r["why"]), html.Td(r["delay"])]) for r in rows]),
            ],
            size="sm",
            className="builder-affected-table",
        )
        return preview_figure(result), preview_caption(result), [html.Div(line, className="builder-affected-count"), table]

    @app.callback(
        Output(ids.JSON_COLLAPSE, "is_open"),
        Input(ids.JSON_TOGGLE, "n_clicks"),
        State(ids.JSON_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )
    def toggle_json(n_clicks, is_open) -> bool:
        if not n_clicks:
            raise PreventUpdate
        return not bool(is_open)

    actions.register_callbacks(app, services)
    jobs.register_callbacks(app, services)


def draft_answer(state: Draft, shape: Any) -> tuple:
    """``render_draft``'s outputs for a draft (callable without Dash's request context)."""
    doc = state.doc
    scenario, problems = draft.check(doc)
    keys = section_keys(doc)
    drawn = shape if isinstance(shape, dict) else {}
    model = form_model(doc)
    sections = [
        build(model) if drawn.get(key) != keys[key] else no_update for _, key, build in SECTIONS
    ]
    lines = problem_lines(problems)
    problems_view = [
        html.Div(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} to fix before saving or playing:", className="builder-problems-head"),
        html.Ul([html.Li(line) for line in lines]),
    ] if problems else None
    json_text = no_update if state.via == "json" else canonical_text(doc)
    invalid = scenario is None
    return (
        *sections,
        timeline_figure(doc, scenario),
        problems_view,
        bool(problems),
        json_text,
        invalid,
        invalid,
        saved_state(state, scenario),
        keys,
        state.rev,
    )


def sync_answer(
    state: Draft,
    field_ids: list[dict[str, Any]],
    values: list[Any],
    toggle_ids: list[dict[str, Any]],
    switches: list[Any],
    feedback_ids: list[dict[str, Any]],
) -> tuple:
    """``sync_form``'s outputs: values that differ from the draft's, and each field's problems."""
    model = form_model(state.doc)
    wanted = {c.path: c.value for c in model.controls()}
    field_out = [
        wanted[i.get("path")] if i.get("path") in wanted and wanted[i.get("path")] != value else no_update
        for i, value in zip(field_ids, values, strict=False)
    ]
    toggle_out = [
        model.toggles[i.get("path")] if i.get("path") in model.toggles and model.toggles[i.get("path")] != value else no_update
        for i, value in zip(toggle_ids, switches, strict=False)
    ]
    _, problems = draft.check(state.doc)
    by_path = feedback_for(problems, [i.get("path") for i in feedback_ids])
    feedback_out = [" · ".join(by_path.get(i.get("path"), [])) or None for i in feedback_ids]
    return field_out, toggle_out, feedback_out
