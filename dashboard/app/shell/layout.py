"""The page: the shell's header (pickers, About button), message area and tabs, and the drawer."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from ..about.layout import drawer
from ..services import Services
from ..tabs import Tab
from . import ids

PATH_KIND = "path"  # the open-data form's kind for "a path, or a whole spec as typed"


def header(services: Services) -> dbc.Navbar:
    """The brand, the data and model pickers and the About button."""
    return dbc.Navbar(
        dbc.Container(
            [
                html.Div(
                    [
                        html.Span("◉", className="brand-dot"),
                        html.Span("Fleet incident risk", className="brand-name"),
                    ],
                    className="navbar-brand shell-brand",
                ),
                html.Div(
                    [
                        html.Label("data", htmlFor=ids.SOURCE, className="shell-label"),
                        dcc.Dropdown(
                            id=ids.SOURCE,
                            options=services.source_options(),
                            value=services.default_source(),
                            clearable=False,
                            className="shell-picker shell-source",
                        ),
                        dbc.Button(
                            "Open data…",
                            id=ids.OPEN,
                            color="light",
                            outline=True,
                            size="sm",
                            n_clicks=0,
                            title="open a file, a folder or a source spec under the data roots",
                        ),
                        html.Label("model", htmlFor=ids.MODEL, className="shell-label"),
                        dcc.Dropdown(
                            id=ids.MODEL,
                            options=services.model_options(),
                            value=services.default_model(),
                            clearable=False,
                            className="shell-picker shell-model",
                        ),
                        dbc.Button(
                            "parameters",
                            id=ids.PARAMS_OPEN,
                            color="light",
                            outline=True,
                            size="sm",
                            n_clicks=0,
                            title="set the model's parameters",
                        ),
                        dbc.Button(
                            "About this data", id=ids.ABOUT_OPEN, color="light", size="sm", n_clicks=0
                        ),
                    ],
                    className="shell-pickers",
                ),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        className="shell-navbar",
    )


def message_area() -> dbc.Alert:
    """Where every tab's messages appear (bad links, sources that cannot be opened...)."""
    return dbc.Alert(
        id=ids.MESSAGE,
        is_open=False,
        dismissable=True,
        color="warning",
        duration=10000,
        className="shell-message",
    )


def tab_area(services: Services, tabs: Sequence[Tab]) -> object:
    """The tabs' contents; with more than one, under a tab bar."""
    if len(tabs) == 1:
        return html.Div(tabs[0].layout(services), className=f"tab-{tabs[0].name}")
    return dbc.Tabs(
        [
            dbc.Tab(tab.layout(services), label=tab.label, tab_id=tab.name, className=f"tab-{tab.name}")
            for tab in tabs
        ],
        id=ids.TABS,
        active_tab=tabs[0].name,
        className="shell-tabs",
    )


def params_modal() -> dbc.Modal:
    """The model's parameters, as a form rendered from what the model declares."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Model parameters")),
            dbc.ModalBody(
                [
                    html.Div(id=ids.PARAMS_FORM),
                    dbc.Alert(id=ids.PARAMS_ERROR, color="warning", is_open=False, className="mt-2 mb-0"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Use the defaults", id=ids.PARAMS_RESET, color="secondary", outline=True, n_clicks=0),
                    dbc.Button("Apply", id=ids.PARAMS_APPLY, color="primary", n_clicks=0),
                ]
            ),
        ],
        id=ids.PARAMS_PANEL,
        is_open=False,
        scrollable=True,
    )


def open_modal(services: Services) -> dbc.Modal:
    """Opening data by path or spec (under the data roots, as a link would), and the ones
    this browser opened before."""
    kinds = [{"label": "a path or a full spec", "value": PATH_KIND}] + [
        {"label": f"{k['name']}: {k.get('description', '')}"[:90], "value": str(k["name"])}
        for k in services.source_kinds()
        if k.get("available", True)
    ]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Open data")),
            dbc.ModalBody(
                [
                    dbc.Label("kind", html_for=ids.OPEN_KIND, className="shell-field-label"),
                    dbc.Select(id=ids.OPEN_KIND, options=kinds, value=PATH_KIND, size="sm"),
                    dbc.Label("path or target", html_for=ids.OPEN_TARGET, className="shell-field-label mt-2"),
                    dbc.Input(
                        id=ids.OPEN_TARGET,
                        type="text",
                        placeholder="exports/metrics.csv, data/, scenario:gc_storm?seed=7",
                        size="sm",
                    ),
                    dbc.FormText(
                        "An absolute path, or one relative to the folder the server runs in; "
                        "only files under the data roots open, as in a link."
                    ),
                    html.Div(id=ids.OPEN_OPTIONS, className="mt-2"),
                    dbc.Alert(id=ids.OPEN_ERROR, color="warning", is_open=False, className="mt-2 mb-0"),
                    html.H6("Opened before in this browser", className="mt-3"),
                    html.Div(id=ids.RECENT_LIST, className="shell-recent"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.OPEN_CANCEL, color="secondary", outline=True, n_clicks=0),
                    dbc.Button("Open", id=ids.OPEN_GO, color="primary", n_clicks=0),
                ]
            ),
        ],
        id=ids.OPEN_MODAL,
        is_open=False,
        scrollable=True,
    )


def page(services: Services, tabs: Sequence[Tab]) -> html.Div:
    """The whole page, built afresh per page load so the pickers list today's datasets."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.PARAMS, storage_type="memory"),
            dcc.Store(id=ids.RECENT, storage_type="local"),
            header(services),
            dbc.Container(
                [message_area(), tab_area(services, tabs)], fluid=True, className="shell-body"
            ),
            drawer(),
            params_modal(),
            open_modal(services),
        ],
        className="app-root",
    )
