"""The builder tab's layout: start from, the timeline and the form, the preview, the actions.

The form's sections start empty: the draft kept in the browser (a session Store, so a
reload keeps the work) is drawn into them by the callbacks as soon as the page loads.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from ...authoring import draft
from ...authoring.library import Library
from ...scenario import MAX_FILE_BYTES
from ..live.layout import card
from ..server import MAX_REQUEST_BYTES
from ..services import Services
from . import ids
from .figures import empty_preview
from .view import library_options

# The largest upload the browser sends: its base64 text (4/3 of the file) must fit in one
# request with room to spare, and the file must be a scenario file the parser accepts.
UPLOAD_MAX_BYTES = min(MAX_FILE_BYTES, (MAX_REQUEST_BYTES - 64 * 1024) * 3 // 4)
TIMELINE_CONFIG = {
    "displayModeBar": False,
    "editable": False,
    "edits": {"shapePosition": True},  # the boundary lines drag sideways; nothing else moves
    "scrollZoom": False,
}
PREVIEW_CONFIG = {"displayModeBar": False}
GEN_POLL_MS = 400  # how often a page asks how its generation is going


def start_bar(library: Library, data_roots: Any = ()) -> dbc.Card:
    """Start from a library scenario, a blank one, or an uploaded JSON file."""
    options, broken = library_options(library.entries(), data_roots)
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Span("Start from", className="builder-start-label"),
                        dcc.Dropdown(
                            id=ids.START,
                            options=options,
                            value="blank:",
                            clearable=False,
                            className="builder-start",
                        ),
                        dbc.Button("Open", id=ids.LOAD, color="primary", size="sm", n_clicks=0),
                        dcc.Upload(
                            html.Div(["or drop a scenario JSON here, or ", html.A("choose a file")]),
                            id=ids.UPLOAD,
                            accept=".json,application/json",
                            multiple=False,
                            className="builder-upload",
                        ),
                        html.Span(id=ids.ORIGIN, className="builder-origin"),
                    ],
                    className="builder-start-row",
                ),
                html.Div(broken_list(broken), id=ids.BROKEN),
            ]
        ),
        className="builder-card mb-3",
    )


def broken_list(broken: list[tuple[str, str]]) -> Any:
    """Broken scenario files, each with its error (never hidden)."""
    if not broken:
        return None
    return html.Details(
        [
            html.Summary(f"{len(broken)} scenario file{'s' if len(broken) != 1 else ''} cannot be opened"),
            html.Ul([html.Li([html.Code(label), ": ", error]) for label, error in broken], className="builder-broken-list"),
        ],
        className="builder-broken",
    )


def actions_bar() -> html.Div:
    """Save, play, generate (with progress and cancel), download; and the tab's messages."""
    return html.Div(
        [
            html.Div(
                [
                    dbc.Button("Save", id=ids.SAVE, color="primary", size="sm", n_clicks=0, disabled=True),
                    dbc.Button("▶ Play now", id=ids.PLAY, color="success", size="sm", n_clicks=0, disabled=True),
                    dbc.Button("Generate dataset", id=ids.GENERATE, color="secondary", size="sm", n_clicks=0),
                    dbc.Button("Cancel", id=ids.CANCEL, color="danger", outline=True, size="sm", n_clicks=0, disabled=True),
                    dbc.Button("Download JSON", id=ids.DOWNLOAD, color="secondary", outline=True, size="sm", n_clicks=0),
                    dcc.Download(id=ids.DOWNLOAD_FILE),
                ],
                className="builder-actions",
            ),
            html.Div(
                dbc.Progress(id=ids.PROGRESS, value=0, label="", max=100, striped=True, animated=True, className="builder-progress"),
                id=ids.PROGRESS_WRAP,
                style={"display": "none"},
            ),
            html.Div(
                [
                    html.Span(id=ids.GEN_STATUS, className="builder-gen-status"),
                    dbc.Button("Open in Live", id=ids.OPEN_DATASET, color="link", size="sm", n_clicks=0, disabled=True, className="builder-open"),
                ],
                className="builder-gen-row",
            ),
            dbc.Alert(
                [
                    html.Span(id=ids.EXISTS_TEXT),
                    dbc.Button("Overwrite it", id=ids.OVERWRITE, color="danger", size="sm", n_clicks=0, className="ms-2"),
                ],
                id=ids.EXISTS,
                color="warning",
                is_open=False,
                className="builder-exists",
            ),
            dbc.Alert(id=ids.STATUS, is_open=False, color="info", dismissable=True, duration=12000, className="builder-status"),
        ]
    )


def conflict_modal() -> dbc.Modal:
    """Someone saved the same scenario after it was opened here: both versions, three ways out."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Changed by someone else")),
            dbc.ModalBody(
                [
                    html.Div(id=ids.CONFLICT_MESSAGE, className="mb-2"),
                    html.Div(id=ids.CONFLICT_BODY),
                    html.Div(
                        [
                            dbc.Label("save mine under a new name", className="builder-label"),
                            dbc.Input(id=ids.SAVE_AS_NAME, type="text", size="sm", maxLength=80),
                        ],
                        className="mt-2",
                    ),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Keep mine (overwrite theirs)", id=ids.KEEP_MINE, color="danger", size="sm", n_clicks=0),
                    dbc.Button("Take theirs", id=ids.TAKE_THEIRS, color="secondary", size="sm", n_clicks=0),
                    dbc.Button("Save mine as…", id=ids.SAVE_AS, color="primary", size="sm", n_clicks=0),
                ]
            ),
        ],
        id=ids.CONFLICT_MODAL,
        is_open=False,
        size="xl",
        scrollable=True,
    )


def layout(services: Services) -> html.Div:
    """The builder tab's content and the Stores that keep its state in the browser."""
    library = services.library()
    blank = {"doc": draft.blank(), "origin": {"kind": "blank", "name": None, "version": None}, "rev": 0, "via": "load"}
    editor = card(
        "Timeline",
        [
            dcc.Graph(id=ids.TIMELINE, config=TIMELINE_CONFIG, figure=empty_preview("loading…"), className="builder-timeline"),
            html.Div(id=ids.PHASES, className="builder-phases"),
        ],
        "phases, their intensity, and the boundaries you can drag",
    )
    scenario = card("Scenario", [html.Div(id=ids.GENERAL), actions_bar()], "name, timing and what to do with it")
    fleet = card(
        "Fleet and targets",
        [html.Div(id=ids.FLEET), html.Hr(), html.H6("Affected servers"), html.Div(id=ids.TARGETS)],
        "how big, which profiles, who is hit",
    )
    effects = card("Effects", html.Div(id=ids.EFFECTS), "which metrics move on affected servers, and how hard")
    events = card("Harmless events", html.Div(id=ids.EVENTS), "disturbances and hot servers: noise, not incidents")
    expect = card("Expectations", html.Div(id=ids.EXPECT), "the scenario as a test of a model")
    preview = card(
        "Live preview",
        dbc.Row(
            [
                dbc.Col(
                    [
                        html.Div(id=ids.PREVIEW_NOTE, className="builder-help"),
                        dcc.Graph(id=ids.PREVIEW, config=PREVIEW_CONFIG, figure=empty_preview("loading…")),
                    ],
                    lg=8,
                ),
                dbc.Col(html.Div(id=ids.AFFECTED, className="builder-affected"), lg=4),
            ]
        ),
        "what will be generated: one affected and one healthy server",
    )
    advanced = dbc.Card(
        [
            dbc.CardHeader(
                dbc.Button("Advanced: the scenario as JSON", id=ids.JSON_TOGGLE, color="link", size="sm", n_clicks=0),
                className="live-card-header",
            ),
            dbc.Collapse(
                dbc.CardBody(
                    [
                        html.Div("edit freely: the form follows when the JSON is valid (Enter or leaving the box applies it)", className="builder-help"),
                        dbc.Textarea(id=ids.JSON, debounce=True, rows=18, spellCheck=False, className="builder-json"),
                    ]
                ),
                id=ids.JSON_COLLAPSE,
                is_open=False,
            ),
        ],
        className="live-card mb-3",
    )
    return html.Div(
        [
            dcc.Store(id=ids.DRAFT, storage_type="session", data=blank),
            dcc.Store(id=ids.SHAPE, storage_type="memory"),
            dcc.Store(id=ids.SYNC, storage_type="memory"),
            dcc.Store(id=ids.UPLOADED, storage_type="memory"),
            dcc.Store(id=ids.UPLOAD_LIMIT, storage_type="memory", data=UPLOAD_MAX_BYTES),
            dcc.Store(id=ids.CONFLICT, storage_type="memory"),
            dcc.Store(id=ids.GEN_JOB, storage_type="memory"),
            dcc.Interval(id=ids.GEN_POLL, interval=GEN_POLL_MS, disabled=True),
            dcc.Store(id=ids.GEN_RESULT, storage_type="memory"),
            conflict_modal(),
            start_bar(library, services.settings.data_roots),
            dbc.Alert(id=ids.PROBLEMS, color="danger", is_open=False, className="builder-problems"),
            dbc.Row([dbc.Col(editor, lg=8), dbc.Col(scenario, lg=4)], className="g-3 mb-3"),
            dbc.Row([dbc.Col(fleet, lg=6), dbc.Col(effects, lg=6)], className="g-3 mb-3"),
            dbc.Row([dbc.Col(events, lg=8), dbc.Col(expect, lg=4)], className="g-3 mb-3"),
            dbc.Row(dbc.Col(preview), className="g-3 mb-3"),
            advanced,
        ],
        className="builder-tab",
    )
