"""Locust users of the team-server load benchmark: each is a browser tab playing one source.

A user loads the page as the Dash renderer does (``/``, ``/_dash-layout``,
``/_dash-dependencies``), opens one of the sources named in ``FLEET_BENCH_SOURCES``
(``;``-separated) at a staggered tick, then posts the tick callback once a second with
the view its last answer gave it, exactly as the browser does. A response that is not
200 or lacks the view counts as a failure. The request bodies come from
``FLEET_BENCH_TEMPLATES`` (written by ``run.py`` with the app's own request builder), so
this file needs only locust.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from urllib.parse import quote

from locust import HttpUser, constant_pacing, task

SOURCES = [s for s in os.environ.get("FLEET_BENCH_SOURCES", "scenario:default").split(";") if s]
with open(os.environ["FLEET_BENCH_TEMPLATES"]) as _fh:
    TEMPLATES = json.load(_fh)
_numbers = itertools.count()


class Tab(HttpUser):
    wait_time = constant_pacing(1.0)

    def on_start(self) -> None:
        k = next(_numbers)
        for path in ("/", "/_dash-layout", "/_dash-dependencies"):
            self.client.get(path, name=path)
        spec = SOURCES[k % len(SOURCES)]
        body = copy.deepcopy(TEMPLATES["open"])
        body["inputs"][TEMPLATES["search_index"]]["value"] = f"?source={quote(spec, safe='')}&tick={(k * 7) % 40}"
        self.store = None
        self.store = self._post(body, "open")
        self.n = 0

    def _post(self, body: dict, name: str):
        with self.client.post("/_dash-update-component", json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return self.store
            try:
                store = json.loads(response.content)["response"][TEMPLATES["view_id"]]["data"]
            except (ValueError, KeyError, TypeError):
                response.failure("no view in the answer")
                return self.store
            response.success()
            return store

    @task
    def refresh(self) -> None:
        if self.store is None:
            return
        self.n += 1
        body = copy.deepcopy(TEMPLATES["tick"])
        body["inputs"][TEMPLATES["n_index"]]["value"] = self.n
        body["state"][0]["value"] = self.store
        self.store = self._post(body, "tick")
