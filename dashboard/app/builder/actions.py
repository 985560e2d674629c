"""The builder's actions: open from the library, save (with its conflicts), play, download.

Saves go through :class:`~dashboard.authoring.library.Library`: a version check under a file
lock, so a scenario someone else saved after it was opened here is never overwritten
silently. The three ways out of a conflict (keep mine, take theirs, save mine as) are
buttons of one dialog. "Play now" opens the scenario in the Live tab through the page's URL,
the way the shell switches sources.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from ...authoring import draft
from ...authoring.library import ConflictError, Library, NameTakenError
from ...authoring.names import ScenarioNameError
from ...errors import DashboardError, ScenarioError
from ..messages import GENERIC_ERROR, public_message
from ..server import current_user, may_edit
from ..services import Services
from ..shell import ids as shell_ids
from ..validate import ViewError
from . import ids
from .layout import broken_list
from .view import Draft, Origin, differences, draft_from_store, library_options, parse_start

log = logging.getLogger(__name__)

SAVE_OUTPUTS = (
    (ids.DRAFT, "data"),
    (ids.STATUS, "children"),
    (ids.STATUS, "color"),
    (ids.STATUS, "is_open"),
    (ids.EXISTS, "is_open"),
    (ids.EXISTS_TEXT, "children"),
    (ids.CONFLICT_MODAL, "is_open"),
    (ids.CONFLICT_MESSAGE, "children"),
    (ids.CONFLICT_BODY, "children"),
    (ids.CONFLICT, "data"),
    (ids.SAVE_AS_NAME, "value"),
    (ids.START, "options"),
    (ids.BROKEN, "children"),
)
# The save callback's outputs that carry a message (shown through public_message).
MESSAGE_OUTPUTS = frozenset({(ids.STATUS, "children"), (ids.EXISTS_TEXT, "children"), (ids.CONFLICT_MESSAGE, "children")})


def login_user() -> tuple[str | None, bool]:
    """This request's user and whether they may save (everyone may without a login)."""
    from flask import has_request_context

    if not has_request_context():
        return None, True
    return current_user(), may_edit()


class SaveAnswer(dict):
    """The save callback's outputs by (component, property); the rest stay as they are."""

    def set(self, component: str, prop: str, value: Any) -> SaveAnswer:
        self[(component, prop)] = value
        return self

    def say(self, message: str, color: str) -> SaveAnswer:
        return self.set(ids.STATUS, "children", message).set(ids.STATUS, "color", color).set(ids.STATUS, "is_open", True)

    def outputs(self, data_roots: Any = ()) -> tuple:
        """The outputs in ``SAVE_OUTPUTS`` order, messages as a web page may show them."""
        return tuple(
            public_message(value, data_roots) if key in MESSAGE_OUTPUTS and isinstance(value, str) else value
            for key, value in ((key, self.get(key, no_update)) for key in SAVE_OUTPUTS)
        )


def refresh_library(answer: SaveAnswer, library: Library, data_roots: Any = ()) -> SaveAnswer:
    options, broken = library_options(library.entries(), data_roots)
    return answer.set(ids.START, "options", options).set(ids.BROKEN, "children", broken_list(broken))


def _pretty(doc: Any) -> str:
    try:
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    except ValueError:
        return str(doc)[:20000]


def conflict_view(name: str, mine: dict[str, Any], theirs_bytes: bytes) -> Any:
    """Both versions side by side (as text), with where they differ."""
    try:
        theirs = json.loads(theirs_bytes.decode("utf-8", errors="replace"))
    except ValueError:
        theirs = theirs_bytes.decode("utf-8", errors="replace")
    changed = differences(mine, theirs)
    return html.Div(
        [
            html.Div(
                ["they differ in: ", html.Code(", ".join(changed) or "nothing but formatting")],
                className="builder-conflict-diff mb-2",
            ),
            html.Div(
                [
                    html.Div([html.H6("mine"), html.Pre(_pretty(mine), className="builder-pre")], className="builder-conflict-col"),
                    html.Div([html.H6(f"theirs (saved as {name})"), html.Pre(_pretty(theirs), className="builder-pre")], className="builder-conflict-col"),
                ],
                className="builder-conflict-cols",
            ),
        ]
    )


def save_answer(
    library: Library,
    trigger: str,
    state: Draft,
    conflict: Any,
    save_as_name: Any,
    *,
    user: str | None,
    may_edit: bool,
    data_roots: Any = (),
) -> SaveAnswer:
    """What a click on Save, Overwrite, or one of the conflict's three buttons does."""
    answer = SaveAnswer()
    if not may_edit:
        return answer.say(f"{user or 'you'} may watch but not save scenarios on this server", "danger")
    held = conflict if isinstance(conflict, dict) else {}
    held_name = held.get("name") if isinstance(held.get("name"), str) else None
    held_version = held.get("version") if isinstance(held.get("version"), str) else None
    if trigger == ids.TAKE_THEIRS:
        if not held_name:
            return answer.say("there is no conflict to resolve", "warning")
        scenario, entry = library.read(held_name)
        taken = Draft(draft.from_scenario(scenario), Origin("user", entry.name, entry.version), state.rev + 1, "load")
        answer.set(ids.DRAFT, "data", taken.to_store()).set(ids.CONFLICT_MODAL, "is_open", False)
        return answer.say(f"took their version of {entry.label}", "info")
    scenario, problems = draft.check(state.doc)
    if scenario is None:
        return answer.say(f"fix the {len(problems)} problem(s) listed above before saving", "danger")
    name = scenario.name
    expected = state.origin.version if state.origin.kind == "user" and state.origin.name == name else None
    overwrite = False
    if trigger == ids.SAVE_AS:
        name = save_as_name if isinstance(save_as_name, str) else ""
        expected = None
    elif trigger in (ids.KEEP_MINE, ids.OVERWRITE):
        if not held_name or held_name != name:
            return answer.say("nothing to overwrite: save again", "warning")
        expected, overwrite = held_version, False  # overwrite only what was shown to the user
    try:
        saved = library.save(scenario, name, expected=expected, overwrite=overwrite, user=user)
    except NameTakenError as exc:
        if trigger == ids.SAVE_AS:
            return answer.set(ids.CONFLICT_MESSAGE, "children", f"{exc}: choose another name")
        answer.set(ids.EXISTS, "is_open", True).set(ids.EXISTS_TEXT, "children", str(exc))
        return answer.set(ids.CONFLICT, "data", {"name": exc.name, "version": exc.version})
    except ConflictError as exc:
        answer.set(ids.CONFLICT_MODAL, "is_open", True).set(ids.EXISTS, "is_open", False)
        answer.set(ids.CONFLICT_MESSAGE, "children", f"{exc}. Nothing was saved yet: keep yours, take theirs, or save yours under a new name.")
        answer.set(ids.CONFLICT_BODY, "children", conflict_view(exc.name, scenario.to_dict(), exc.theirs))
        answer.set(ids.SAVE_AS_NAME, "value", library.free_name(f"{exc.name}-mine"))
        return answer.set(ids.CONFLICT, "data", {"name": exc.name, "version": exc.version})
    except ScenarioNameError as exc:
        if trigger == ids.SAVE_AS:
            return answer.set(ids.CONFLICT_MESSAGE, "children", str(exc))
        return answer.say(f"cannot save: {exc}", "danger")
    except DashboardError as exc:
        return answer.say(str(exc), "danger")
    doc = {**scenario.to_dict(), "name": saved.entry.name}
    done = Draft(doc, Origin("user", saved.entry.name, saved.version), state.rev + 1, "load")
    answer.set(ids.DRAFT, "data", done.to_store())
    answer.set(ids.EXISTS, "is_open", False).set(ids.CONFLICT_MODAL, "is_open", False).set(ids.CONFLICT, "data", None)
    verb = "overwrote" if saved.replaced else "saved"
    refresh_library(answer, library, data_roots)
    return answer.say(f"{verb} {saved.entry.label}", "success")


def open_answer(library: Library, value: Any, rev: int) -> tuple[Draft | None, str, str]:
    """The draft for a "start from" choice, with the message to show."""
    try:
        kind, name = parse_start(value)
    except ViewError as exc:
        return None, str(exc), "warning"
    if kind == "blank":
        return Draft(draft.blank(library.free_name("new-scenario")), Origin("blank"), rev + 1, "load"), "a blank scenario: one healthy phase; split it and shape it", "info"
    try:
        scenario, entry = library.read(name)
    except ScenarioError as exc:
        return None, str(exc), "danger"
    origin = Origin(entry.kind, entry.name, entry.version)
    note = "bundled scenarios are read-only: save yours under a new name" if entry.read_only else "saves go back to this file"
    doc = draft.from_scenario(scenario)
    if entry.read_only:
        doc["name"] = library.free_name(f"my-{entry.name}")
    return Draft(doc, origin, rev + 1, "load"), f"opened {entry.label}; {note}", "info"


def play_spec(library: Library, state: Draft) -> tuple[str | None, str]:
    """The ``scenario:`` spec that plays the draft: its saved name when unchanged, else a
    draft kept under a content-derived name (any worker can open it). Or why not."""
    scenario, problems = draft.check(state.doc)
    if scenario is None:
        return None, f"fix the {len(problems)} problem(s) listed above before playing"
    if state.origin.kind in ("user", "bundled") and state.origin.name:
        try:
            saved, _entry = library.read(state.origin.name)
        except ScenarioError:
            saved = None
        if saved is not None and _without_name(saved) == _without_name(scenario):
            return f"scenario:{state.origin.name}", f"playing {state.origin.name} in the Live tab"
    try:
        name = library.snapshot(scenario)
    except DashboardError as exc:
        return None, str(exc)
    return f"scenario:{name}", f"playing {scenario.name} (not saved) in the Live tab"


def _without_name(scenario: Any) -> dict[str, Any]:
    return {**scenario.to_dict(), "name": None}


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire open, save (and its conflicts), play and download."""
    library = services.library()
    roots = services.settings.data_roots

    # allow_duplicate: the editing callbacks own the draft and the status line; these
    # replace the draft (open, take theirs) or its origin (a save), and say what they did.
    @app.callback(
        Output(ids.DRAFT, "data", allow_duplicate=True),
        Output(ids.STATUS, "children", allow_duplicate=True),
        Output(ids.STATUS, "color", allow_duplicate=True),
        Output(ids.STATUS, "is_open", allow_duplicate=True),
        Input(ids.LOAD, "n_clicks"),
        State(ids.START, "value"),
        State(ids.DRAFT, "data"),
        prevent_initial_call=True,
    )
    def open_scenario(n_clicks, value, data) -> tuple:
        """Start from the picked library scenario, or a blank one."""
        if not n_clicks:
            raise PreventUpdate
        rev = data.get("rev", 0) if isinstance(data, dict) and isinstance(data.get("rev"), int) else 0
        new, message, color = open_answer(library, value, rev)
        return (new.to_store() if new else no_update), public_message(message, roots), color, True

    @app.callback(
        *[Output(c, p, allow_duplicate=True) if (c, p) in _DUPLICATED else Output(c, p) for c, p in SAVE_OUTPUTS],
        Input(ids.SAVE, "n_clicks"),
        Input(ids.OVERWRITE, "n_clicks"),
        Input(ids.KEEP_MINE, "n_clicks"),
        Input(ids.TAKE_THEIRS, "n_clicks"),
        Input(ids.SAVE_AS, "n_clicks"),
        State(ids.DRAFT, "data"),
        State(ids.CONFLICT, "data"),
        State(ids.SAVE_AS_NAME, "value"),
        prevent_initial_call=True,
    )
    def save_scenario(_save, _overwrite, _keep, _take, _save_as, data, conflict, save_as_name) -> tuple:
        """Save, or settle a name that exists or a conflict with someone else's save."""
        trigger = ctx.triggered_id
        if trigger not in (ids.SAVE, ids.OVERWRITE, ids.KEEP_MINE, ids.TAKE_THEIRS, ids.SAVE_AS):
            raise PreventUpdate
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # a button that was not clicked (n_clicks None or 0)
        try:
            state = draft_from_store(data)
        except ViewError as exc:
            return SaveAnswer().say(str(exc), "danger").outputs(roots)
        user, may_edit = login_user()
        try:
            answer = save_answer(
                library, trigger, state, conflict, save_as_name, user=user, may_edit=may_edit, data_roots=roots
            )
            return answer.outputs(roots)
        except DashboardError as exc:
            return SaveAnswer().say(str(exc), "danger").outputs(roots)
        except Exception:
            log.exception("saving a scenario failed")
            return SaveAnswer().say(GENERIC_ERROR, "danger").outputs()

    @app.callback(
        Output(shell_ids.URL, "search"),
        Output(shell_ids.TABS, "active_tab"),
        Output(ids.STATUS, "children", allow_duplicate=True),
        Output(ids.STATUS, "color", allow_duplicate=True),
        Output(ids.STATUS, "is_open", allow_duplicate=True),
        Input(ids.PLAY, "n_clicks"),
        State(ids.DRAFT, "data"),
        prevent_initial_call=True,
    )
    def play_now(n_clicks, data) -> tuple:
        """Open the scenario in the Live tab (an in-memory ``scenario:`` source)."""
        if not n_clicks:
            raise PreventUpdate
        try:
            state = draft_from_store(data)
        except ViewError as exc:
            return no_update, no_update, public_message(exc, roots), "danger", True
        spec, message = play_spec(library, state)
        if spec is None:
            return no_update, no_update, public_message(message, roots), "danger", True
        return live_query(spec), "live", public_message(message, roots), "success", True

    @app.callback(
        Output(ids.DOWNLOAD_FILE, "data"),
        Input(ids.DOWNLOAD, "n_clicks"),
        State(ids.DRAFT, "data"),
        prevent_initial_call=True,
    )
    def download_scenario(n_clicks, data) -> Any:
        """The scenario as a JSON file (as typed when it does not validate yet)."""
        if not n_clicks:
            raise PreventUpdate
        try:
            state = draft_from_store(data)
        except ViewError:
            raise PreventUpdate from None
        scenario, _ = draft.check(state.doc)
        name = scenario.name if scenario else (state.doc.get("name") if isinstance(state.doc.get("name"), str) else "")
        filename = f"{name if name and name.replace('-', '').replace('_', '').isalnum() else 'scenario'}.json"
        text = scenario.to_json() if scenario else _pretty(state.doc) + "\n"
        return dcc.send_string(text, filename)


_DUPLICATED = {(ids.DRAFT, "data"), (ids.STATUS, "children"), (ids.STATUS, "color"), (ids.STATUS, "is_open")}


def live_query(spec: str) -> str:
    """The page query that opens ``spec`` in the Live tab from its first tick."""
    from urllib.parse import urlencode

    return "?" + urlencode({"source": spec})
