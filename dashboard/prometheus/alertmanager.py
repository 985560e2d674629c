"""Alert transitions posted to an Alertmanager (``/api/v2/alerts``), once per deployment.

The background scorer's elected process calls :meth:`AlertExporter.on_head` for each newly
scored head of a configured live source. That call only compares the head's alert states
with the **ledger** of alerts already announced (in the shared cache, so a new leader
carries on where the old one stopped) and queues what changed in the **outbox** (also in
the shared cache): a server whose alert became active (firing) is posted as firing with
``startsAt`` at that tick; one whose alert ended, or that left the fleet, as resolved with
``endsAt`` at that tick. No network call happens there: a thread posts the outbox,
retrying with exponential backoff while Alertmanager is down, so the dashboard never waits
for it. Active alerts are posted again every ``resend_s`` with ``endsAt`` four resends
ahead, as Prometheus does, so Alertmanager keeps them until they are resolved (or until
the dashboard has been silent for that long).

Labels: ``alertname="FleetIncidentRisk"``, ``server``, ``profile``, ``model``, ``source``
and the configured static ones. Annotations: ``summary``, ``description`` (the Why
sentence) and ``dashboard`` (a link to the server at that tick; also ``generatorURL``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import numpy as np
import requests

from ..cache import CacheUnavailable, SharedCache
from ..models.alerts import ACTIVE_STATES
from .client import http_session
from .config import Alertmanager

log = logging.getLogger(__name__)

ALERT_NAME = "FleetIncidentRisk"
OUTBOX_KEY = "alerts:outbox"
LEDGER_PREFIX = "alerts:ledger:"
LOCK_KEY = "alerts:lock"
LAST_RESEND_KEY = "alerts:resent"
LEDGER_INDEX_KEY = "alerts:ledgers"
MAX_OUTBOX = 10_000
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
KEEP_S = 30 * 86400.0


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dashboard_link(base_url: str | None, spec: str, model: str, tick: int, server: str) -> str:
    """The dashboard's view of ``server`` at ``tick`` (paused there), or "" without a base URL."""
    if not base_url:
        return ""
    query = urlencode({"source": spec, "model": model, "tick": tick + 1, "server": server, "paused": 1})
    return f"{base_url.rstrip('/')}/?{query}"


class AlertExporter:
    """Queues alert transitions of heads (:meth:`on_head`) and posts them (:meth:`start`).

    ``describe(spec, model, scores, server_index) -> (server, profile, tick_time, why)`` says
    what the head's servers are; ``leader()`` whether this process is the elected one (only
    it posts).
    """

    def __init__(
        self,
        shared: SharedCache,
        config: Alertmanager,
        *,
        describe: Callable[[str, str, Any], dict[str, Any]],
        base_url: str | None = None,
        leader: Callable[[], bool] = lambda: True,
        metrics: Any = None,
        clock: Callable[[], float] = time.time,
    ):
        self.shared = shared
        self.config = config
        self.describe = describe
        self.base_url = base_url
        self.leader = leader
        self.metrics = metrics
        self.clock = clock
        self.url = config.url + "/api/v2/alerts"
        self._session = http_session(config)
        self._session.headers["Content-Type"] = "application/json"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self.last_error: str | None = None

    # -- transitions (in the scorer's thread: no network) --------------------------------
    def on_head(self, spec: str, model: str, scores: Any) -> None:
        """Queue the alerts of this head that started or ended since the ledger's state."""
        facts = self.describe(spec, model, scores)
        if facts is None:
            return
        servers, profiles, when, tick = facts["servers"], facts["profiles"], facts["time"], scores.tick
        active = np.isin(np.asarray(scores.alert), ACTIVE_STATES)
        ledger_key = LEDGER_PREFIX + _digest(spec, model)
        with self.shared.lock(LOCK_KEY, timeout=10, wait=10) as got:
            if not got:
                log.warning("alerts: the outbox lock was busy; this head's transitions wait for the next one")
                return
            ledger = _load(self.shared, ledger_key)
            outbox = _load(self.shared, OUTBOX_KEY)
            now_active = {str(servers[i]): i for i in np.flatnonzero(active)}
            changed = False
            for server, i in now_active.items():
                if server in ledger:
                    continue
                why = facts["why"](i)
                alert = self._alert(spec, model, server, str(profiles[i]), tick, float(scores.probability[i]), why)
                alert["startsAt"] = iso(when)
                ledger[server] = {"alert": alert, "tick": tick}
                outbox[_fingerprint(alert)] = {"alert": alert, "kind": "firing"}
                changed = True
            for server in [s for s in ledger if s not in now_active]:
                alert = dict(ledger.pop(server)["alert"])
                alert["endsAt"] = iso(max(when, _seconds(alert["startsAt"])))
                outbox[_fingerprint(alert)] = {"alert": alert, "kind": "resolved"}
                changed = True
            if changed:
                _trim(outbox)
                self.shared.set(ledger_key, json.dumps(ledger).encode(), ttl=KEEP_S)
                self.shared.set(OUTBOX_KEY, json.dumps(outbox).encode(), ttl=KEEP_S)
                keys = self._ledger_keys()
                if ledger_key not in keys:  # its active alerts are posted again every resend_s
                    self.shared.set(LEDGER_INDEX_KEY, json.dumps([*keys, ledger_key]).encode(), ttl=KEEP_S)
        if changed:
            self._wake.set()

    def _alert(self, spec: str, model: str, server: str, profile: str, tick: int, probability: float, why: str) -> dict[str, Any]:
        labels = {
            **dict(self.config.labels),
            "alertname": ALERT_NAME,
            "server": server,
            "profile": profile,
            "model": model,
            "source": spec,
        }
        link = dashboard_link(self.base_url, spec, model, tick, server)
        annotations = {"summary": f"{server} ({profile}): incident risk {probability:.0%} by {model}"}
        if why:  # the Why sentence, as the Live tab's Why card says it at that tick
            annotations["description"] = why
        alert: dict[str, Any] = {"labels": labels, "annotations": annotations}
        if link:
            annotations["dashboard"] = link
            alert["generatorURL"] = link
        return alert

    # -- posting (a thread of its own) ---------------------------------------------------
    def start(self) -> AlertExporter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fleet-alert-exporter", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._session.close()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                ok = self.flush()
            except Exception:  # never let the thread die
                log.exception("alerts: posting failed")
                ok = False
            if ok:
                self._failures = 0
                wait = min(1.0, self.config.resend_s)
            else:
                self._failures += 1
                base = BACKOFF_S[min(self._failures, len(BACKOFF_S)) - 1]
                wait = base * (0.8 + 0.4 * random.random())

    def flush(self) -> bool:
        """Post the outbox (and, when due, every active alert again); False when a post failed."""
        if not self.leader():
            return True
        try:
            outbox = _load(self.shared, OUTBOX_KEY)
            resend = self._resend_due()
        except CacheUnavailable as exc:
            self.last_error = f"the shared cache cannot be reached: {exc}"
            return False
        if not outbox and not resend:
            return True
        now = self.clock()
        batch = []
        for item in outbox.values():
            alert = dict(item["alert"])
            if item["kind"] == "firing":
                alert["endsAt"] = iso(now + 4 * self.config.resend_s)
            batch.append(alert)
        for alert in resend:
            alert = dict(alert)
            alert["endsAt"] = iso(now + 4 * self.config.resend_s)
            batch.append(alert)
        if not self._post(batch):
            for item in outbox.values():
                self._count(item["kind"], "failed")
            return False
        for item in outbox.values():
            self._count(item["kind"], "sent")
        for _ in resend:
            self._count("refresh", "sent")
        with self.shared.lock(LOCK_KEY, timeout=10, wait=10) as got:
            if got:
                current = _load(self.shared, OUTBOX_KEY)
                for key, item in outbox.items():
                    if current.get(key) == item:  # not replaced by a newer state meanwhile
                        current.pop(key)
                self.shared.set(OUTBOX_KEY, json.dumps(current).encode(), ttl=KEEP_S)
        if resend:
            self.shared.set(LAST_RESEND_KEY, str(now).encode(), ttl=KEEP_S)
        return True

    def _resend_due(self) -> list[dict[str, Any]]:
        raw = self.shared.get(LAST_RESEND_KEY)
        last = float(raw) if raw else 0.0
        if self.clock() - last < self.config.resend_s:
            return []
        active = []
        for key in self._ledger_keys():
            active.extend(entry["alert"] for entry in _load(self.shared, key).values())
        if not active:
            self.shared.set(LAST_RESEND_KEY, str(self.clock()).encode(), ttl=KEEP_S)
        return active

    def _ledger_keys(self) -> list[str]:
        raw = self.shared.get(LEDGER_INDEX_KEY)
        try:
            keys = json.loads(raw) if raw else []
        except ValueError:
            return []
        return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []

    def _post(self, alerts: list[dict[str, Any]]) -> bool:
        try:
            response = self._session.post(self.url, data=json.dumps(alerts), timeout=(2.0, self.config.timeout_s))
        except requests.RequestException as exc:
            self.last_error = f"Alertmanager cannot be reached ({type(exc).__name__})"
            log.warning("alerts: %s; retrying", self.last_error)
            return False
        if response.status_code >= 300:
            self.last_error = f"Alertmanager answered HTTP {response.status_code}: {response.text[:200]}"
            log.warning("alerts: %s; retrying", self.last_error)
            return False
        self.last_error = None
        return True

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.alerts_posted.labels(kind, outcome).inc()


def _digest(spec: str, model: str) -> str:
    return hashlib.sha256(json.dumps([spec, model]).encode()).hexdigest()[:24]


def _fingerprint(alert: dict[str, Any]) -> str:
    return json.dumps(sorted(alert["labels"].items()))


def _load(shared: SharedCache, key: str) -> dict[str, Any]:
    raw = shared.get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _trim(outbox: dict[str, Any]) -> None:
    while len(outbox) > MAX_OUTBOX:
        dropped = outbox.pop(next(iter(outbox)))
        log.warning("alerts: the outbox holds %d alerts; dropped the oldest (%s)", MAX_OUTBOX, dropped["kind"])


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


__all__ = ["ALERT_NAME", "AlertExporter", "dashboard_link", "iso"]
