"""gunicorn settings of the team server: ``gunicorn -c gunicorn.conf.py dashboard.wsgi:server``.

gunicorn also reads this file by itself when started from this folder. Command-line
flags win over it (``-w 4``, ``-b 0.0.0.0:8050``). Environment:

- ``FLEET_BIND`` (default ``FLEET_HOST:FLEET_PORT``, as for the other commands:
  ``127.0.0.1:8050``): put a TLS proxy in front before binding other addresses;
- ``WEB_CONCURRENCY`` (default ``2 x cores + 1``, at most 9): worker processes;
- every ``FLEET_*`` setting of ``dashboard.settings``, checked here once before any
  worker starts.
"""

import os
import sys

_cores = os.cpu_count() or 1


def _int_env(name, default, low, high):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        sys.exit(f"error: {name}: expected a whole number from {low} to {high}, got {raw[:40]!r}")
    return int(raw)


bind = os.environ.get("FLEET_BIND") or "{}:{}".format(
    os.environ.get("FLEET_HOST", "").strip() or "127.0.0.1", _int_env("FLEET_PORT", 8050, 1, 65535)
)
workers = _int_env("WEB_CONCURRENCY", min(2 * _cores + 1, 9), 1, 64)
worker_class = "sync"
timeout = 30  # heavy work runs as background jobs; a request never needs longer
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # recycle workers now and then: bounded memory over weeks
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s %(u)s "%(r)s" %(s)s %(b)s %(M)sms'
limit_request_line = 8190
proc_name = "fleet-dashboard"


def on_starting(server):
    """Check the settings once, in the master, before any worker boots."""
    try:
        from dashboard.errors import DashboardError
        from dashboard.settings import Settings
    except ImportError as exc:
        sys.exit(f"error: cannot import the dashboard package ({exc}); install it: pip install -e '.[server]'")
    try:
        Settings.for_team_server()
    except DashboardError as exc:
        sys.exit(f"error: the team server cannot start: {exc}")
