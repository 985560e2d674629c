"""One background scorer per deployment: keeps watched sources scored at their head.

Every worker of a team server (on every host sharing the cache) runs a
:class:`BackgroundScorer` thread, but only the one holding the ``background-scorer``
lease in the shared cache works; the others retry the lease each interval and take
over within ``lease_ttl`` seconds when the holder dies. The holder scores the newest
tick of every watched (source, model) through the same cache and per-key locks as the
dashboard, so nobody computes a tick twice, and records each head.

What it watches: the sources named in the settings (``FLEET_DATA``,
``FLEET_SCORER_SOURCES``) with the default model, plus every live source a browser
opened in the last ``WATCH_TTL_S`` seconds, with the model it was viewed with.

The API other features build on (``/metrics``, alert export, forecasting):

- :func:`heads` (any process): ``{(spec, model): Head}``, the newest scored tick of each;
  read the scores themselves with ``Scorer(...).at(head.tick)`` (a cache hit);
- :meth:`BackgroundScorer.subscribe` (the elected process): a callback for each newly
  scored head, ``fn(spec, model, scores: TickScores)``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..cache import CacheUnavailable, SharedCache
from ..errors import DashboardError

log = logging.getLogger(__name__)

LEASE_NAME = "background-scorer"
WATCHED_KEY = "scorer:watched"
HEADS_KEY = "scorer:heads"
WATCH_TTL_S = 3600.0
DEFAULT_INTERVAL_S = 1.0

Listener = Callable[[str, str, Any], None]


@dataclass(frozen=True)
class Head:
    """The newest tick the background scorer scored for a (source, model)."""

    spec: str
    model: str
    tick: int
    n_ticks: int
    scored_at: float  # time.time()
    max_probability: float
    firing: int


def _pair(spec: str, model: str) -> str:
    return json.dumps([spec, model])


def watch(shared: SharedCache, spec: str, model: str) -> None:
    """Ask the background scorer to keep ``spec`` scored with ``model`` (for an hour)."""
    with shared.lock(WATCHED_KEY, timeout=5, wait=5) as got:
        if not got:
            return
        raw = shared.get(WATCHED_KEY)
        watched = json.loads(raw) if raw else {}
        now = time.time()
        watched = {k: t for k, t in watched.items() if now - t < WATCH_TTL_S}
        watched[_pair(spec, model)] = now
        shared.set(WATCHED_KEY, json.dumps(watched).encode())


def watched(shared: SharedCache) -> list[tuple[str, str]]:
    raw = shared.get(WATCHED_KEY)
    if not raw:
        return []
    now = time.time()
    return [tuple(json.loads(k)) for k, t in json.loads(raw).items() if now - t < WATCH_TTL_S]


def heads(shared: SharedCache) -> dict[tuple[str, str], Head]:
    """The newest scored tick of each watched (source, model), from any process."""
    raw = shared.get(HEADS_KEY)
    if not raw:
        return {}
    return {(h["spec"], h["model"]): Head(**h) for h in json.loads(raw)}


class BackgroundScorer:
    """Scores watched sources at their head while this process holds the lease.

    ``make_scorer(spec, model)`` returns a :class:`~dashboard.models.scoring.Scorer`
    on the shared cache (opening the source as the app would).
    """

    def __init__(
        self,
        shared: SharedCache,
        make_scorer: Callable[[str, str], Any],
        *,
        configured: Iterable[tuple[str, str]] = (),
        interval_s: float = DEFAULT_INTERVAL_S,
        lease_ttl: float | None = None,
        owner: str | None = None,
    ):
        self.shared = shared
        self.make_scorer = make_scorer
        self.configured = list(dict.fromkeys(configured))
        self.interval_s = max(0.05, float(interval_s))
        self.lease_ttl = lease_ttl or max(5.0, 5 * self.interval_s)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        self._listeners: list[Listener] = []
        self._heads: dict[tuple[str, str], Head] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[tuple[str, str], str] = {}

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(spec, model, scores)`` for each newly scored head (in this process)."""
        self._listeners.append(listener)

    def step(self) -> list[Head]:
        """Take or renew the lease; if held, score every watched head once. Returns new heads."""
        try:
            self.is_leader = self.shared.lease(LEASE_NAME, self.owner, self.lease_ttl)
            if not self.is_leader:
                return []
            pairs = list(dict.fromkeys([*self.configured, *watched(self.shared)]))
        except CacheUnavailable as exc:
            log.debug("background scorer: %s", exc)
            self.is_leader = False
            return []
        fresh = []
        for spec, model in pairs:
            head = self._score_head(spec, model)
            if head is not None:
                fresh.append(head)
        if fresh:
            known = heads(self.shared)
            known.update({(h.spec, h.model): h for h in fresh})
            self.shared.set(HEADS_KEY, json.dumps([h.__dict__ for h in known.values()]).encode())
        return fresh

    def _score_head(self, spec: str, model: str) -> Head | None:
        try:
            scorer = self.make_scorer(spec, model)
            n = int(scorer.source.n_ticks())
            if n == 0:
                return None
            previous = self._heads.get((spec, model))
            if previous is not None and previous.n_ticks == n:
                return None  # no new tick since the last pass
            scores = scorer.at(n - 1)
        except DashboardError as exc:
            if self._failures.get((spec, model)) != str(exc):
                log.warning("background scorer: cannot score %s with %s: %s", spec, model, exc)
                self._failures[(spec, model)] = str(exc)
            return None
        except Exception:  # a broken plug-in must not stop the thread
            log.exception("background scorer: scoring %s with %s failed", spec, model)
            return None
        self._failures.pop((spec, model), None)
        from .alerts import FIRING

        head = Head(
            spec=spec,
            model=model,
            tick=n - 1,
            n_ticks=n,
            scored_at=time.time(),
            max_probability=float(scores.probability.max()) if scores.probability.size else 0.0,
            firing=int((scores.alert == FIRING).sum()),
        )
        self._heads[(spec, model)] = head
        for listener in self._listeners:
            try:
                listener(spec, model, scores)
            except Exception:
                log.exception("a background-scorer listener failed")
        return head

    def start(self) -> BackgroundScorer:
        """Run :meth:`step` every ``interval_s`` in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fleet-background-scorer", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.step()
            except Exception:
                log.exception("background scorer step failed")
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


__all__ = ["BackgroundScorer", "Head", "heads", "watch", "watched"]
