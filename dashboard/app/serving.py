"""Serving the app from Python: ``run_dashboard`` and ``LiveDashboard`` (the seed's API).

>>> run_dashboard(data_path="demo_data/demo_dataset.parquet", refresh_sec=3)
>>> LiveDashboard(open_source("scenario:gc_storm?seed=7")).run()
>>> LiveDashboard(open_source("scenario:gc_storm?seed=7")).show()   # inline, in Jupyter
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import webbrowser
from dataclasses import replace
from typing import Any

import dash

from ..errors import DashboardError
from ..settings import Settings
from .factory import create_app

log = logging.getLogger(__name__)

DEFAULT_HOST = Settings.host
DEFAULT_PORT = Settings.port


def served_settings(
    settings: Settings | None,
    *,
    refresh_sec: float | None = None,
    model: str | None = None,
    debug: bool | None = None,
) -> Settings:
    """``settings`` (default: from the environment) with what the caller set explicitly.

    Anything left None keeps the settings' value, so ``FLEET_REFRESH_SEC``, ``FLEET_MODEL``
    and ``FLEET_DEBUG`` apply unless the call names its own.
    """
    settings = settings or Settings.from_env()
    changes: dict[str, Any] = {}
    if refresh_sec is not None:
        changes["refresh_sec"] = float(refresh_sec)
    if model:
        changes["default_model"] = model
    if debug is not None:
        changes["debug"] = bool(debug)
    return replace(settings, **changes)


def pin_source(settings: Settings, data: Any) -> tuple[Settings, dict[str, Any] | None]:
    """Settings serving ``data`` by default, and the opened source to pin when it is one.

    ``data`` is a path or spec (its folder becomes a data root: the operator named it) or
    an opened source (anything with a ``spec``), which the app then serves as it is.
    """
    if data is None or isinstance(data, (str, os.PathLike)):
        return settings.with_data(data), None
    spec = str(getattr(data, "spec", None) or "pinned:source")
    return replace(settings, default_source=spec), {spec: data}


def run_dashboard(
    data_path: Any = None,
    refresh_sec: float | None = None,
    model: str | None = None,
    host: str | None = None,
    port: int | None = None,
    debug: bool | None = None,
    open_browser: bool = False,
    settings: Settings | None = None,
) -> None:
    """Serve the dashboard on ``data_path`` (a file, a source spec or an opened source;
    default: the demo data) at ``host:port`` (default: the settings', 127.0.0.1:8050).
    Blocks until interrupted; in Jupyter, ``LiveDashboard(...).show()`` does not."""
    settings = served_settings(settings, refresh_sec=refresh_sec, model=model, debug=debug)
    settings, pinned = pin_source(settings, data_path)
    app = create_app(settings, sources=pinned)
    serve(app, host or settings.host, port or settings.port, settings.debug, open_browser)


def serve(app: dash.Dash, host: str, port: int, debug: bool, open_browser: bool) -> None:
    url = f"http://{host}:{port}/"
    if open_browser and has_display():
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    log.info("serving the dashboard on %s", url)
    app.run(host=host, port=port, debug=debug)


def has_display() -> bool:
    """Whether a graphical browser can open here; without one, webbrowser would start a
    console browser (lynx, w3m) in the terminal the server logs to."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LiveDashboard:
    """The seed's entry point: ``LiveDashboard(DataSource(path)).run()``.

    ``data_source`` is an opened source (anything with a ``spec``) or a path/spec string.
    ``refresh_sec``, ``model`` left None follow the settings (``FLEET_REFRESH_SEC``...).
    """

    def __init__(
        self,
        data_source: Any,
        model: str | None = None,
        refresh_sec: float | None = None,
        settings: Settings | None = None,
    ):
        self.data_source = data_source
        self.model = model
        self.refresh_sec = refresh_sec
        self._settings = settings

    def create_app(self, debug: bool | None = None, *, embeddable: bool = False) -> dash.Dash:
        settings = served_settings(
            self._settings, refresh_sec=self.refresh_sec, model=self.model, debug=debug
        )
        settings, pinned = pin_source(settings, self.data_source)
        return create_app(settings, sources=pinned, embeddable=embeddable)

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        open_browser: bool = False,
    ) -> None:
        """Serve the dashboard until interrupted (in a notebook, prefer :meth:`show`)."""
        app = self.create_app(debug)
        settings = app.services.settings
        serve(app, host or settings.host, port or settings.port, settings.debug, open_browser)

    def show(self, *, port: int | None = None, height: int = 760, host: str = DEFAULT_HOST) -> None:
        """Show the dashboard inline in a Jupyter notebook (Dash's Jupyter mode).

        The server runs in a background thread, so the kernel stays free for the next
        cells; ``self.url`` is where it answers (a free port unless ``port`` is given).
        """
        from dash import jupyter_dash

        if not jupyter_dash.active:
            raise DashboardError("show() draws the dashboard in a Jupyter notebook; elsewhere call run()")
        port = port or free_port(host)
        self.app = self.create_app(debug=False, embeddable=True)  # the output cell frames it
        self.url = f"http://{host}:{port}/"
        self.app.run(jupyter_mode="inline", jupyter_height=height, host=host, port=port, debug=False)


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on now at ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "LiveDashboard", "free_port", "run_dashboard", "serve"]
