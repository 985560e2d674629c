"""One-command demo: generate the demo dataset when missing and serve the dashboard.

python run.py                                   # http://127.0.0.1:8050
python run.py --duration 10 --fleet-size 50 --refresh 2 --seed 7
python run.py --data scenario:default --no-browser
"""

from __future__ import annotations

import sys

from dashboard.cli import demo_main

if __name__ == "__main__":
    sys.exit(demo_main())
