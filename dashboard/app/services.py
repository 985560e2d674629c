"""What the app's callbacks share within one process: opened sources, scorers, fleet facts.

These are caches of immutable facts keyed by source spec and model name (any worker
rebuilds the same entry from the same key), never per-user state; a browser tab's
position lives in its own ``dcc.Store`` and URL. One :class:`Services` is made per app
by ``create_app`` and captured by its callbacks; nothing is created at import.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DashboardError
from ..settings import Settings
from .fleet import Fleet, fleet_of

log = logging.getLogger(__name__)

MAX_OPEN_SOURCES = 8
WATCH_EVERY_S = 60.0
DEMO_BASENAME = "demo_dataset"


class _Lru:
    """A small thread-safe LRU of values built on demand."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: opening a source can take a while
        with self._lock:
            value = self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Services:
    """Per-process caches the Live tab's callbacks read through."""

    def __init__(self, settings: Settings, pinned: dict[str, Any] | None = None):
        self.settings = settings
        self._pinned = dict(pinned or {})  # sources handed over already open, by spec
        self._sources = _Lru(MAX_OPEN_SOURCES)
        self._scorers = _Lru(MAX_OPEN_SOURCES * 2)
        self._fleets = _Lru(MAX_OPEN_SOURCES * 2)
        self._score_cache = None
        self._shared = None
        self._watched: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    # -- sources ---------------------------------------------------------
    def default_source(self) -> str:
        """The configured source, else the demo dataset when generated, else the in-memory demo."""
        if self.settings.default_source:
            return str(self.settings.default_source)
        demo = Path(self.settings.demo_dir) / f"{DEMO_BASENAME}.parquet"
        if demo.is_file():
            return str(demo)
        return "scenario:default"

    def source(self, spec: str):
        """The opened source for ``spec`` (path-safety and format checks are the registry's)."""
        if spec in self._pinned:
            return self._pinned[spec]
        from ..sources import open_source

        return self._sources.get(spec, lambda: open_source(spec, settings=self.settings))

    def fleet(self, spec: str) -> Fleet:
        source = self.source(spec)
        n = int(source.n_ticks())
        return self._fleets.get((spec, n), lambda: fleet_of(spec, source, n))

    def source_options(self, current: str | None = None) -> list[dict[str, Any]]:
        """Picker entries: generated datasets, bundled scenarios, and ``current`` when it is neither."""
        options: list[dict[str, Any]] = []
        demo_dir = Path(self.settings.demo_dir)
        files: list[Path] = []
        if demo_dir.is_dir():
            try:  # the demo folder and one level below it (run.py's per-option datasets)
                files = sorted(p for p in demo_dir.glob("*.parquet") if p.is_file())
                files += sorted(p for p in demo_dir.glob("*/*.parquet") if p.is_file())
            except OSError as exc:
                log.warning("cannot list %s: %s", demo_dir, exc)
        for path in files[:50]:
            name = path.name if path.parent == demo_dir else f"{path.parent.name}/{path.name}"
            options.append({"label": f"dataset · {name}", "value": str(path)})
        try:
            from ..scenario import list_scenarios

            for info in list_scenarios(self.settings.scenario_dir):
                if getattr(info, "error", None):
                    continue
                options.append(
                    {"label": f"scenario · {info.name}", "value": f"scenario:{info.name}"}
                )
        except (DashboardError, OSError) as exc:
            log.warning("cannot list scenarios: %s", exc)
        values = {o["value"] for o in options}
        for spec in (*self._pinned, self.default_source(), current):
            if spec and spec not in values:
                options.insert(0, {"label": spec_label(spec), "value": spec, "title": spec})
                values.add(spec)
        return options

    def source_kinds(self) -> list[dict[str, Any]]:
        from ..sources import list_sources

        try:
            return [
                dict(item) if isinstance(item, dict) else {"name": str(item)}
                for item in list_sources()
            ]
        except DashboardError as exc:
            log.warning("cannot list source kinds: %s", exc)
            return []

    # -- models ----------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        from ..models import list_models

        return [m for m in list_models() if isinstance(m, dict) and m.get("name")]

    def model_names(self) -> tuple[str, ...]:
        return tuple(str(m["name"]) for m in self.models())

    def default_model(self) -> str:
        names = self.model_names()
        wanted = self.settings.default_model
        if wanted in names:
            return wanted
        from ..models import DEFAULT_MODEL

        return DEFAULT_MODEL if DEFAULT_MODEL in names or not names else names[0]

    def model_options(self) -> list[dict[str, Any]]:
        options = []
        for m in self.models():
            label = str(m["name"])
            if m.get("reads_ground_truth"):
                label += " (reads ground truth)"
            options.append({"label": label, "value": str(m["name"])})
        return options

    def scorer(self, spec: str, model: str):
        """The :class:`Scorer` of ``model`` on ``spec``; scores go to the process's shared cache."""
        from ..models import get_model
        from ..models.scoring import Scorer

        def build():
            return Scorer(self.source(spec), get_model(model), cache=self.score_cache())

        scorer = self._scorers.get((spec, model), build)
        if getattr(scorer.source, "live", False):
            self._watch(spec, model)
        return scorer

    def _watch(self, spec: str, model: str) -> None:
        """Tell the background scorer a browser follows this live source (once a minute)."""
        import time

        from ..cache import CacheUnavailable
        from ..models.background import watch

        now = time.monotonic()
        if now - self._watched.get((spec, model), -1e9) < WATCH_EVERY_S:
            return
        self._watched[(spec, model)] = now
        with contextlib.suppress(CacheUnavailable):  # the scorer then keeps what it knew
            watch(self.shared(), spec, model)

    def background_scorer(self):
        """The background scorer of this process (started by the team server's entry point)."""
        from ..models.background import BackgroundScorer

        configured = [
            (spec, self.default_model())
            for spec in (self.settings.default_source, *self.settings.scorer_sources)
            if spec
        ]
        return BackgroundScorer(
            self.shared(), self.scorer, configured=configured, interval_s=self.settings.refresh_sec
        )

    def score_cache(self):
        shared = self.shared()
        with self._lock:
            if self._score_cache is None:
                from ..models.scoring import make_score_cache

                self._score_cache = make_score_cache(shared)
            return self._score_cache

    def shared(self):
        """The cache every worker shares (``FLEET_CACHE_URL``), opened on first use."""
        with self._lock:
            if self._shared is None:
                from ..cache import open_cache

                self._shared = open_cache(self.settings.cache_url)
            return self._shared

    def health(self) -> dict[str, dict[str, Any]]:
        """What /health reports: each dependency's state, without paths or addresses."""
        import os

        checks: dict[str, dict[str, Any]] = {}
        folder = Path(self.settings.scenario_dir)
        readable = folder.is_dir() and os.access(folder, os.R_OK | os.X_OK)
        checks["scenario_dir"] = {"ok": readable} if readable else {"ok": False, "error": "the scenario folder cannot be read"}
        roots = self.settings.data_roots
        bad = sum(1 for r in roots if not (Path(r).is_dir() and os.access(r, os.R_OK | os.X_OK)))
        checks["data_roots"] = {"ok": bad == 0, "count": len(roots)}
        if bad:
            checks["data_roots"]["error"] = f"{bad} of {len(roots)} data roots cannot be read"
        kind = self.settings.cache_url.partition(":")[0]
        try:
            status = self.shared().status()
            checks["cache"] = {"ok": bool(status.get("ok")), "kind": kind}
            if not status.get("ok"):
                checks["cache"]["error"] = f"the shared {kind} cache cannot be reached; scores are kept per worker meanwhile"
        except DashboardError:
            checks["cache"] = {"ok": False, "kind": kind, "error": f"the shared {kind} cache cannot be used"}
        return checks

    def clear(self) -> None:
        self._sources.clear()
        self._scorers.clear()
        self._fleets.clear()


def spec_label(spec: str) -> str:
    """A short picker label for a source spec: ``kind · file name``, noting mapped columns.

    The full spec stays the option's value (and its tooltip); the label only has to
    tell the user which data this is without stretching the header.
    """
    text = str(spec)
    head, _, query = text.partition("?")
    kind, sep, target = head.partition(":")
    if not sep or "/" in kind or "\\" in kind or len(kind) <= 1:
        kind, target = "", head  # a plain path (or a Windows drive letter)
    name = Path(target).name or target
    label = f"{kind} · {name}" if kind else name
    if query:
        keys = [part.partition("=")[0] for part in query.split("&") if part]
        label += f" ({', '.join(keys)})"
    return label if len(label) <= 60 else label[:57] + "…"
