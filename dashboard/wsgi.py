"""The WSGI entry point for a team server: ``gunicorn dashboard.wsgi:server``.

Settings come from the environment (``FLEET_DATA``, ``FLEET_CACHE_DIR``...; see
``dashboard.settings``). Importing this writes nothing: without generated demo data
the app serves the in-memory ``scenario:default`` source. Set ``FLEET_CACHE_DIR`` so
that all workers share one score cache.
"""

from __future__ import annotations

from .app import create_app

app = create_app()
server = app.server
