#!/usr/bin/env bash
# Set up (a local .venv) and run the dashboard on the demo data: http://127.0.0.1:8050
# Any arguments go to run.py, e.g. `bash scripts/demo.sh --fleet-size 200 --no-browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
exec .venv/bin/python run.py "$@"
