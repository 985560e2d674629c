"""The team server with two test models, for tests that run it under real gunicorn.

``counting`` is the heuristic that appends one line per evaluation to the file named by
``FLEET_TEST_CALLS`` (O_APPEND: whole lines, whichever worker writes); ``slow`` sleeps
``FLEET_TEST_SLOW_S`` seconds per evaluation and writes its pid to ``FLEET_TEST_SLOW_PID``
first, so a test can kill the worker in the middle of a request.
"""

from __future__ import annotations

import hashlib
import os
import time

from dashboard.models import register_model
from dashboard.models.heuristic import HeuristicModel


class CountingModel(HeuristicModel):
    name = "counting"

    def score(self, window):
        fingerprint = hashlib.sha256(window.metrics["cpu_pct"][-1].tobytes()).hexdigest()[:12]
        line = f"{window.timestamps[-1]} {fingerprint} {os.getpid()}\n"
        fd = os.open(os.environ["FLEET_TEST_CALLS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return super().score(window)


class SlowModel(HeuristicModel):
    name = "slow"

    def score(self, window):
        pid_file = os.environ.get("FLEET_TEST_SLOW_PID")
        if pid_file:
            with open(pid_file, "w") as fh:
                fh.write(str(os.getpid()))
        time.sleep(float(os.environ.get("FLEET_TEST_SLOW_S", "5")))
        return super().score(window)


register_model("counting", CountingModel)
register_model("slow", SlowModel)

from dashboard.wsgi import app, server  # noqa: E402 - the models must be registered first

__all__ = ["app", "server"]
