"""The Dash app: ``create_app`` (the factory), ``run_dashboard`` and ``LiveDashboard`` (seed API).

>>> app = create_app()                      # gunicorn: server = app.server
>>> run_dashboard(data_path="demo_data/demo_dataset.parquet", refresh_sec=3)

The package is laid out as a shell (``shell/``: header, pickers, messages; ``about/``:
the About drawer) around tabs (``live/``), each a package with its layout, a pure
view-model, its callbacks and its own ids. Names here resolve lazily, so importing a
Dash-free module of the package (a view-model, ``validate``) does not import Dash.
"""

from __future__ import annotations

from ..exports import lazy_attributes

_EXPORTS = {
    "create_app": "dashboard.app.factory",
    "MIN_REFRESH_SEC": "dashboard.app.factory",
    "run_dashboard": "dashboard.app.serving",
    "LiveDashboard": "dashboard.app.serving",
    "Tab": "dashboard.app.tabs",
    "default_tabs": "dashboard.app.tabs",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS, globals())
