"""gunicorn settings of the team server: ``gunicorn -c gunicorn.conf.py dashboard.wsgi:server``.

gunicorn also reads this file by itself when started from this folder. Command-line
flags win over it (``-w 4``, ``-b 0.0.0.0:8050``). Environment:

- ``FLEET_BIND`` (default ``FLEET_HOST:FLEET_PORT``, as for the other commands:
  ``127.0.0.1:8050``): put a TLS proxy in front before binding other addresses;
- ``WEB_CONCURRENCY`` (default ``2 x cores + 1``, at most 9): worker processes;
- every ``FLEET_*`` setting of ``dashboard.settings``, checked here once before any
  worker starts;
- ``PROMETHEUS_MULTIPROC_DIR``: where the workers' counters for ``/metrics`` live
  (prometheus_client's multiprocess mode); default: a temporary folder removed at exit.
"""

import glob
import os
import shutil
import sys
import tempfile

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

# prometheus_client's multiprocess mode: set before any worker imports it, emptied at start.
_metrics_made = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_made:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fleet-metrics-")
_metrics_folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
os.makedirs(_metrics_folder, exist_ok=True)
for _stale in glob.glob(os.path.join(_metrics_folder, "*.db")):
    os.remove(_stale)


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


def child_exit(server, worker):
    """A worker's live gauges leave /metrics with it (its counters stay in the sums)."""
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _metrics_folder)
    except Exception as exc:  # never stop the master over metrics
        server.log.warning("metrics of worker %s not cleaned up: %s", worker.pid, exc)


def on_exit(server):
    if _metrics_made:
        shutil.rmtree(_metrics_folder, ignore_errors=True)
