"""What the builder's controls do to the draft: typed values, switches, buttons, drags. Dash-free.

Each function takes the draft as the browser sent it and what was triggered (already
parsed from the request), and returns the new draft with a message when something could
not be done; ``None`` when nothing changed (the page then stays as it is).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from ...authoring import draft
from ...authoring.draft import DraftError
from ...authoring.names import slug
from ..validate import ViewError, short_repr
from . import ids
from .view import Draft, Origin, boundary_move

MAX_PATH_CHARS = 200


def _path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_PATH_CHARS:
        raise ViewError(f"not a field of the scenario: {short_repr(raw)}")
    return raw


def apply_triggers(state: Draft, triggered: list[tuple[dict[str, Any] | str, Any]]) -> tuple[Draft | None, list[str]]:
    """Apply what the form sent: ``(component id, new value)`` pairs, in order.

    Field values and switches are applied one by one (a problem with one does not stop the
    others); a button or a dragged boundary is one edit. Returns the new draft (None when
    nothing changed) and the messages of edits that could not be done.
    """
    doc = state.doc
    messages: list[str] = []
    via = "field"
    for component, value in triggered:
        try:
            if isinstance(component, dict) and component.get("type") == ids.FIELD:
                doc = draft.set_value(doc, _path(component.get("path")), value)
            elif isinstance(component, dict) and component.get("type") == ids.TOGGLE:
                if not isinstance(value, bool):
                    raise ViewError(f"a switch is on or off, got {short_repr(value)}")
                doc = draft.set_enabled(doc, _path(component.get("path")), value)
                via = "toggle"
            elif isinstance(component, dict) and component.get("type") == ids.ACTION:
                if not value:  # a button drawn anew (n_clicks 0 or None) was not clicked
                    continue
                doc = apply_action(doc, component.get("action"), component.get("index"))
                via = "action"
            elif component == ids.TIMELINE:
                move = boundary_move(value)
                if move is None:
                    continue
                via = "timeline"
                doc = draft.move_boundary(doc, *move)
        except (DraftError, ViewError) as exc:
            messages.append(str(exc))
            if component == ids.TIMELINE:
                return state.changed(doc, "timeline"), messages  # redraw: the line snaps back
    if doc == state.doc:
        return None, messages
    return state.changed(doc, via), messages


def apply_action(doc: dict[str, Any], action: Any, index: Any) -> dict[str, Any]:
    """One button of the timeline or the targets: add/split/delete/move a phase, add/remove a group."""
    if action not in ids.ACTIONS:
        raise ViewError(f"unknown action {short_repr(action)}")
    if isinstance(index, bool) or not isinstance(index, int) or not -1 <= index < 1000:
        raise ViewError(f"the action {action} needs a row number, got {short_repr(index)}")
    if action == "add-phase":
        return draft.add_phase(doc)
    if action == "add-group":
        return draft.add_group(doc)
    if action == "add-disturbance":
        return draft.add_disturbance(doc)
    if action == "add-hot":
        return draft.add_hot_servers(doc)
    if action == "delete-disturbance":
        return draft.delete_item(doc, "disturbances", index)
    if action == "delete-hot":
        return draft.delete_item(doc, "hot_servers", index)
    if action == "split":
        return draft.split_phase(doc, index)
    if action == "delete":
        return draft.delete_phase(doc, index)
    if action in ("earlier", "later"):
        return draft.move_phase(doc, index, -1 if action == "earlier" else 1)
    return draft.delete_group(doc, index)


def apply_json(state: Draft, text: Any) -> tuple[Draft | None, str | None]:
    """The advanced view's JSON as the new draft, or the reason it cannot be one yet."""
    if not isinstance(text, str):
        return None, None
    try:
        doc = draft.from_json(text)
    except DraftError as exc:
        return None, str(exc)
    if doc == state.doc:
        return None, None
    return Draft(doc, state.origin, state.rev + 1, "json"), None


def too_large(filename: str, size: int, limit: int) -> str:
    """The one message for an upload over the limit (the browser says the same before sending)."""
    return f"{filename}: {math.ceil(size / 1024):,} KB; a scenario file may be at most {math.ceil(limit / 1024):,} KB"


def apply_upload(uploaded: Any, limit: int, rev: int) -> tuple[Draft | None, str | None]:
    """An uploaded scenario file as a new draft (its fields checked by the validator after)."""
    if not isinstance(uploaded, dict):
        return None, None
    filename = uploaded.get("filename")
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:80] if isinstance(filename, str) and filename else "the file"
    if isinstance(uploaded.get("error"), str):
        return None, uploaded["error"][:300]
    contents = uploaded.get("contents")
    if not isinstance(contents, str):
        return None, f"{filename}: could not read the upload"
    head, comma, body = contents.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        return None, f"{filename}: could not decode the upload (not a base64 data URL)"
    if len(body) * 3 // 4 > limit + 3:
        return None, too_large(filename, len(body) * 3 // 4, limit)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None, f"{filename}: could not decode the upload (broken base64)"
    if len(data) > limit:
        return None, too_large(filename, len(data), limit)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"{filename}: not UTF-8 text (byte {exc.start}); a scenario file is JSON"
    try:
        doc = draft.from_json(text)
    except DraftError as exc:
        return None, f"{filename}: {exc}"
    if not isinstance(doc.get("name"), str) or not doc.get("name"):
        doc["name"] = slug(filename.rsplit(".", 1)[0]) or "uploaded"
    return Draft(doc, Origin("upload"), rev + 1, "load"), None


def canonical_text(doc: dict[str, Any]) -> str:
    """The draft as the advanced view shows it: indented JSON, keys in the order they came."""
    try:
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:  # NaN or Infinity from a forged request: shown, and refused by the checks
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str)
