"""The page: the shell's header (pickers, About button), message area and tabs, and the drawer."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from ..about.layout import drawer
from ..services import Services
from ..tabs import Tab
from . import ids


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
                        html.Label("model", htmlFor=ids.MODEL, className="shell-label"),
                        dcc.Dropdown(
                            id=ids.MODEL,
                            options=services.model_options(),
                            value=services.default_model(),
                            clearable=False,
                            className="shell-picker shell-model",
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


def page(services: Services, tabs: Sequence[Tab]) -> html.Div:
    """The whole page, built afresh per page load so the pickers list today's datasets."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            header(services),
            dbc.Container(
                [message_area(), tab_area(services, tabs)], fluid=True, className="shell-body"
            ),
            drawer(),
        ],
        className="app-root",
    )
