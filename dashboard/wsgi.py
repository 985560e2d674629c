"""The team server's WSGI entry point: ``gunicorn -c gunicorn.conf.py dashboard.wsgi:server``.

Settings come from the environment (``dashboard.settings``); the team server refuses
to start without ``FLEET_DATA_ROOTS`` and with any invalid setting, printing what is
wrong instead of a traceback. Its workers share scores and jobs through
``FLEET_CACHE_URL`` / ``FLEET_JOBS_URL`` (default: a DiskCache folder ``.fleet-state``
in the first data root), and one of them, elected through that cache, runs the
background scorer.
"""

from __future__ import annotations

import logging
import sys

from .app.factory import create_app
from .errors import DashboardError
from .settings import Settings

APP_LOAD_ERROR = 4  # gunicorn's exit code for "the app failed to load": it stops, no respawn loop


def build_team_app():
    """The team server's app, its settings checked and its shared cache reachable."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.for_team_server()
        application = create_app(settings)
        shared = application.services.shared()
        if shared.url.startswith("diskcache:"):
            shared.ping()  # a folder that cannot be written is a setup error, not an outage
    except DashboardError as exc:
        print(f"error: the team server cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(APP_LOAD_ERROR) from None
    if settings.background_scorer:
        application.background = application.services.start_background()
    return application


app = build_team_app()
server = app.server
