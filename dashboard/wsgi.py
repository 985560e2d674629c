"""The WSGI entry point for a team server: ``gunicorn dashboard.wsgi:server``.

Settings come from the environment (``FLEET_DATA``, ``FLEET_CACHE_DIR``...; see
``dashboard.settings``), read here once. Importing this writes nothing: without
generated demo data the app serves the in-memory ``scenario:default`` source. Set
``FLEET_CACHE_DIR`` so that all workers share one score cache.
"""

from __future__ import annotations

from .app.factory import create_app
from .settings import Settings

app = create_app(Settings.from_env())
server = app.server
