"""The shell registers a list of tabs: each brings its layout and callbacks under its own ids."""

from __future__ import annotations

import pytest
from dash import Input, Output, html

from dashboard.app import Tab, create_app, default_tabs
from dashboard.app.shell import ids as shell_ids


def _notes_tab() -> Tab:
    def layout(services):
        return html.Div([html.Button("count", id="notes-button"), html.Span(id="notes-count")])

    def register_callbacks(app, services):
        @app.callback(Output("notes-count", "children"), Input("notes-button", "n_clicks"))
        def count(n_clicks):
            return str(n_clicks or 0)

    return Tab("notes", "Notes", layout, register_callbacks)


def test_the_default_app_has_the_live_and_builder_tabs_under_a_tab_bar(client):
    assert [t.name for t in default_tabs()] == ["live", "builder"]
    layout = str(client.get("/_dash-layout").get_json())
    assert shell_ids.TABS in layout and "live-interval" in layout and "builder-timeline" in layout


def test_a_lone_tab_has_no_tab_bar(settings):
    app = create_app(settings, tabs=[_notes_tab()])
    layout = str(app.server.test_client().get("/_dash-layout").get_json())
    assert shell_ids.TABS not in layout and "notes-button" in layout


def test_a_second_tab_joins_under_a_tab_bar_with_its_callbacks(settings):
    app = create_app(settings, tabs=[*default_tabs(), _notes_tab()])
    client = app.server.test_client()
    layout = str(client.get("/_dash-layout").get_json())
    assert shell_ids.TABS in layout and "'Live'" in layout and "'Notes'" in layout
    assert "notes-button" in layout and "live-interval" in layout
    body = {
        "output": "notes-count.children",
        "outputs": {"id": "notes-count", "property": "children"},
        "inputs": [{"id": "notes-button", "property": "n_clicks", "value": 2}],
        "changedPropIds": ["notes-button.n_clicks"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200 and response.get_json()["response"]["notes-count"]


@pytest.mark.parametrize("tabs", [[], "twice"])
def test_an_app_needs_tabs_with_unique_names(settings, tabs):
    if tabs == "twice":
        tabs = [*default_tabs(), *default_tabs()]
    with pytest.raises(ValueError, match="tab"):
        create_app(settings, tabs=tabs)
