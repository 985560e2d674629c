"""Component ids of the scenario builder tab; every one starts with ``builder-``.

Form controls use pattern-matching ids that carry the field's dotted path in the scenario
(``{"type": FIELD, "path": "phases.1.intensity"}``), so one callback reads them all.
"""

from __future__ import annotations

# State kept in the browser
DRAFT = "builder-draft"  # dcc.Store (session): the scenario being edited and where it came from
SHAPE = "builder-shape"  # dcc.Store: the structure the form was last drawn for
SYNC = "builder-sync"  # dcc.Store: bumped after the form is drawn, to set its values
UPLOADED = "builder-uploaded"  # dcc.Store: an upload that passed the browser's size check
UPLOAD_LIMIT = "builder-upload-limit"  # dcc.Store: the size limit the browser checks
CONFLICT = "builder-conflict"  # dcc.Store: the name and version of "theirs" in a conflict
GEN_JOB = "builder-gen-job"  # dcc.Store: the id of the generation job this page follows
GEN_POLL = "builder-gen-poll"  # dcc.Interval: polls the job while it runs
GEN_RESULT = "builder-gen-result"  # dcc.Store: the spec of the last dataset generated

# Start from
START = "builder-start"  # library picker (bundled, user, broken)
LOAD = "builder-load"
UPLOAD = "builder-upload"
BROKEN = "builder-broken"  # the list of broken scenario files and their errors
STATUS = "builder-status"  # the tab's message area

# Editor
TIMELINE = "builder-timeline"
PHASES = "builder-phases"  # the phase rows (drawn per structure)
GENERAL = "builder-general"  # name, title, description, times, seed
FLEET = "builder-fleet"  # size and profile mix
TARGETS = "builder-targets"  # affected groups
EFFECTS = "builder-effects"  # the scenario's effects and OOM rule
EVENTS = "builder-events"  # harmless events: disturbances and hot servers
EXPECT = "builder-expect"  # what a good model must achieve on the scenario
PROBLEMS = "builder-problems"  # every validation problem at once
JSON = "builder-json"  # the advanced view: the scenario as editable JSON
JSON_TOGGLE = "builder-json-toggle"
JSON_COLLAPSE = "builder-json-collapse"
ORIGIN = "builder-origin"  # where the draft came from, and whether it is saved

# Preview
PREVIEW = "builder-preview"
PREVIEW_NOTE = "builder-preview-note"
AFFECTED = "builder-affected"

# Actions
SAVE = "builder-save"
PLAY = "builder-play"
GENERATE = "builder-generate"
CANCEL = "builder-cancel"
PROGRESS = "builder-progress"
PROGRESS_WRAP = "builder-progress-wrap"
GEN_STATUS = "builder-gen-status"
OPEN_DATASET = "builder-open-dataset"
DOWNLOAD = "builder-download"
DOWNLOAD_FILE = "builder-download-file"

# A name that exists / a conflict
EXISTS = "builder-exists"  # alert: the name is taken (overwrite, or save as)
EXISTS_TEXT = "builder-exists-text"
OVERWRITE = "builder-overwrite"
CONFLICT_MODAL = "builder-conflict-modal"
CONFLICT_BODY = "builder-conflict-body"
CONFLICT_MESSAGE = "builder-conflict-message"
KEEP_MINE = "builder-keep-mine"
TAKE_THEIRS = "builder-take-theirs"
SAVE_AS = "builder-save-as"
SAVE_AS_NAME = "builder-save-as-name"

# Pattern-matching id types
FIELD = "builder-field"  # {"type": FIELD, "path": "<dotted path>"}: a value of the scenario
TOGGLE = "builder-toggle"  # {"type": TOGGLE, "path": ...}: an optional part on or off
ACTION = "builder-action"  # {"type": ACTION, "action": ..., "index": i}: add/split/delete/move
FEEDBACK = "builder-feedback"  # {"type": FEEDBACK, "path": ...}: problems of one field

ACTIONS = (
    "add-phase",
    "split",
    "delete",
    "earlier",
    "later",
    "add-group",
    "delete-group",
    "add-disturbance",
    "delete-disturbance",
    "add-hot",
    "delete-hot",
)


def field(path: str) -> dict[str, str]:
    return {"type": FIELD, "path": path}


def toggle(path: str) -> dict[str, str]:
    return {"type": TOGGLE, "path": path}


def action(name: str, index: int = -1) -> dict[str, object]:
    return {"type": ACTION, "action": name, "index": index}


def feedback(path: str) -> dict[str, str]:
    return {"type": FEEDBACK, "path": path}
