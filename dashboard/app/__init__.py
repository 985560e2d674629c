"""The Dash app: ``create_app`` (the factory), ``run_dashboard`` and ``LiveDashboard`` (seed API).

>>> app = create_app()                      # gunicorn: server = app.server
>>> run_dashboard(data_path="demo_data/demo_dataset.parquet", refresh_sec=3)
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import webbrowser
from dataclasses import replace
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc  # noqa: F401 - imported for its components' assets

from ..settings import ASSETS_DIR, Settings
from . import live
from .layout import page
from .services import Services

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # callback bodies are small; refuse anything bigger (413)
MIN_REFRESH_SEC = 0.25
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def create_app(
    settings: Settings | None = None, *, sources: dict[str, Any] | None = None
) -> dash.Dash:
    """Build the app: layout, callbacks, request limits. Writes nothing, starts nothing.

    ``sources`` pins already-opened sources under their spec (for ``LiveDashboard``).
    """
    settings = settings or Settings.from_env()
    if not settings.refresh_sec or settings.refresh_sec < MIN_REFRESH_SEC:
        settings = replace(settings, refresh_sec=MIN_REFRESH_SEC)
    services = Services(settings, pinned=sources)
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS_DIR),
        title="Fleet incident risk",
        update_title=None,
        suppress_callback_exceptions=False,
        serve_locally=True,
    )
    app.layout = lambda: page(services)
    app.validation_layout = page(services)
    live.register_callbacks(app, services)
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.server.register_error_handler(Exception, _answer_malformed_requests)
    app.services = services  # for tests and benchmarks: read-only caches, no per-user state
    return app


def _answer_malformed_requests(error: Exception):
    """A callback request Dash cannot dispatch (an unknown output, inputs that do not match
    the callback, a forged body) is the client's mistake: answer 400 with a short message
    instead of a 500 and a traceback in the log. The app's own callbacks turn their
    failures into messages themselves, so nothing else should reach here from dispatch.
    """
    from flask import request
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if request.path.endswith("/_dash-update-component"):
        log.warning("refused a malformed callback request: %s: %s", type(error).__name__, error)
        return {"message": "this request does not match any callback of the dashboard"}, 400
    log.error("unhandled error on %s", request.path, exc_info=error)
    return {"message": "internal error; the server log has the details"}, 500


def run_dashboard(
    data_path: str | Path | None = None,
    refresh_sec: float = 3,
    model: str | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    debug: bool = False,
    open_browser: bool = False,
    settings: Settings | None = None,
) -> None:
    """Serve the dashboard on ``data_path`` (a file or source spec; default: the demo data)."""
    settings = settings or Settings.from_env()
    settings = replace(
        settings.with_data(data_path), refresh_sec=float(refresh_sec), debug=bool(debug)
    )
    if model:
        settings = replace(settings, default_model=model)
    _serve(create_app(settings), host, port, settings.debug, open_browser)


def _serve(app: dash.Dash, host: str, port: int, debug: bool, open_browser: bool) -> None:
    url = f"http://{host}:{port}/"
    if open_browser and _has_display():
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    log.info("serving the dashboard on %s", url)
    app.run(host=host, port=port, debug=debug)


def _has_display() -> bool:
    """Whether a graphical browser can open here; without one, webbrowser would start a
    console browser (lynx, w3m) in the terminal the server logs to."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LiveDashboard:
    """The seed's entry point: ``LiveDashboard(DataSource(path)).run()``.

    ``data_source`` is an opened source (anything with a ``spec``) or a path/spec string.
    """

    def __init__(
        self,
        data_source: Any,
        model: str | None = None,
        refresh_sec: float = 3,
        settings: Settings | None = None,
    ):
        self.data_source = data_source
        self.model = model
        self.refresh_sec = refresh_sec
        self._settings = settings

    def create_app(self) -> dash.Dash:
        settings = self._settings or Settings.from_env()
        pinned = None
        if isinstance(self.data_source, (str, Path)):
            settings = settings.with_data(self.data_source)
        else:
            spec = str(getattr(self.data_source, "spec", None) or "pinned:source")
            settings = replace(settings, default_source=spec)
            pinned = {spec: self.data_source}
        settings = replace(settings, refresh_sec=float(self.refresh_sec))
        if self.model:
            settings = replace(settings, default_model=self.model)
        return create_app(settings, sources=pinned)

    def run(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        debug: bool = False,
        open_browser: bool = False,
    ) -> None:
        _serve(self.create_app(), host, port, debug, open_browser)


__all__ = ["LiveDashboard", "create_app", "run_dashboard"]
