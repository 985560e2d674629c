#!/usr/bin/env bash
# Set up (a local .venv) and run every test: ruff, then pytest with the browser tests in headless
# Chromium. Any arguments go to pytest, e.g. `bash scripts/test.sh -k live001`.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_EXTRAS=test source scripts/_env.sh

# Browser tests drive Debian's chromium through chromium-driver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver for the browser tests..."
  apt_install chromium chromium-driver || {
    echo "error: the browser tests need chromium and chromium-driver: apt-get install chromium chromium-driver" >&2
    exit 1
  }
fi
# The team-server tests run a real Redis server (and Celery workers from the Python packages).
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server for the team-server tests..."
  apt_install redis-server || {
    echo "error: the team-server tests need redis-server: apt-get install redis-server" >&2
    exit 1
  }
fi
# The Prometheus tests run Debian's prometheus, prometheus-node-exporter and prometheus-alertmanager.
missing=()
for binary in prometheus prometheus-node-exporter prometheus-alertmanager; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the Prometheus tests..."
  apt_install "${missing[@]}" || {
    echo "error: the Prometheus tests need ${missing[*]}: apt-get install ${missing[*]}" >&2
    exit 1
  }
fi
export DASH_TEST_CHROMEPATH=${DASH_TEST_CHROMEPATH:-$(command -v chromium)}
export SE_CHROMEDRIVER=${SE_CHROMEDRIVER:-$(command -v chromedriver)}

.venv/bin/ruff check .
# Dependency advisories: printed; fatal only for a direct dependency with a fixed release.
.venv/bin/python scripts/audit.py
exec .venv/bin/python -m pytest --headless "$@"
