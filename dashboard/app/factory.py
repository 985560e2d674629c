"""``create_app(settings)``: the app factory. Builds the shell, registers the tabs, freezes nothing
it does not own, writes nothing and starts nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import dash
import dash_bootstrap_components as dbc  # noqa: F401 - imported for its components' assets

from ..settings import ASSETS_DIR, Settings
from .server import configure_server
from .services import Services
from .shell import callbacks as shell_callbacks
from .shell.layout import page
from .tabs import Tab, default_tabs

MIN_REFRESH_SEC = 0.25


def create_app(
    settings: Settings | None = None,
    *,
    sources: dict[str, Any] | None = None,
    tabs: Sequence[Tab] | None = None,
    embeddable: bool = False,
) -> dash.Dash:
    """Build the app: the shell, its tabs (default: :func:`~.tabs.default_tabs`), the server's limits.

    ``settings`` default to :meth:`Settings.from_env`. ``sources`` pins already-opened
    sources under their spec (what a CLI or ``LiveDashboard`` opened and checked is what
    the app serves). ``embeddable`` lets a notebook frame the page (``LiveDashboard.show``).
    """
    settings = settings or Settings.from_env()
    if not settings.refresh_sec or settings.refresh_sec < MIN_REFRESH_SEC:
        settings = replace(settings, refresh_sec=MIN_REFRESH_SEC)
    tabs = tuple(tabs) if tabs is not None else default_tabs()
    names = [tab.name for tab in tabs]
    if not tabs or len(set(names)) != len(names):
        raise ValueError(f"an app needs at least one tab and unique tab names, got {names}")
    services = Services(settings, pinned=sources)
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS_DIR),
        title="Fleet incident risk",
        update_title=None,
        suppress_callback_exceptions=False,
        serve_locally=True,
    )
    app.layout = lambda: page(services, tabs)
    app.validation_layout = page(services, tabs)
    shell_callbacks.register_callbacks(app, services)
    for tab in tabs:
        tab.register_callbacks(app, services)
    # last: the CSP hashes every inline script
    configure_server(app, settings, services, embeddable=embeddable)
    if settings.debug:
        # Under gunicorn nobody calls app.run(debug=...): switch the dev tools on here.
        app.enable_dev_tools(debug=True, dev_tools_hot_reload=False)
    app.services = services  # for tests and benchmarks: read-only caches, no per-user state
    app.tabs = tabs
    return app
