"""The Celery app of the team server's jobs: ``celery -A dashboard.celery_worker worker``.

Run it (on any host) with the same ``FLEET_JOBS_URL=redis://...`` and ``FLEET_*``
settings as the web workers; it runs the jobs they submit (see :mod:`dashboard.jobs`).
"""

from __future__ import annotations

import sys

from .errors import DashboardError
from .jobs import celery_app
from .settings import Settings

try:
    _settings = Settings.from_env()
except DashboardError as exc:
    sys.exit(f"error: {exc}")
if not (_settings.jobs_url or "").startswith(("redis://", "rediss://")):
    sys.exit("error: FLEET_JOBS_URL: the Celery worker needs a redis://HOST:PORT/DB jobs URL")

app = celery_app(_settings.jobs_url)
