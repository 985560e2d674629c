"""A live Prometheus (``prometheus:NAME``): the fleet's metrics read from a configured target.

``NAME`` is a target the operator configured (:mod:`dashboard.prometheus.config`); a
link can name a target, never an address. The source's tick is the target's step: tick
``i`` is the time ``anchor + i * step`` (times on the step's grid), and each metric is one
PromQL expression evaluated there (``query_range``), one series per server.

- **Opening** reads the last ``history`` ticks with one range query per metric (in
  parallel); afterwards each check of the source reads only the steps that came due
  (``delay`` after their time), at most once per step.
- **Servers** are named by ``server_label``; their profile is the first of
  ``profile_labels`` a series carries. A server that appears joins the end of the server
  axis; one that disappears or goes stale shows gaps (the PromQL windows ``$__lookback``
  and ``$__rate_interval`` bound how old a sample may be).
- **Outages**: while Prometheus cannot be reached no tick is added and :meth:`problem`
  says so (retried with backoff); once it answers, the steps missed are read, so every
  step is one tick, never two and never none; those Prometheus has no samples for are
  gaps (NaN).
- **Memory** stays bounded: the newest ``keep`` of ticks (and at most ``KEEP_CELLS``
  server-ticks) are held; older ticks are read again from Prometheus when asked for.
- **Identity**: the target's canonical spec, its configuration's digest (URL, queries,
  labels), the tick grid's anchor and a digest of the server axis; the anchor is shared
  through the settings' cache, so every worker numbers ticks the same, and processes whose
  axes differ (one opened before some servers appeared) never share scores.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import numpy as np

from .. import schema
from ..errors import DashboardError, DataError, SourceError, quote
from ..parameters import INTEGER, TEXT, Parameter, ParameterError, parse_value
from ..prometheus.client import MAX_POINTS, PrometheusClient, PrometheusError, Series
from ..prometheus.config import NAME_PATTERN, ConfigError, Target, format_duration, parse_duration
from ..settings import Settings
from .base import Window, check_tick
from .cleaning import Cube
from .memory import CubeSource, text_array

log = logging.getLogger(__name__)

NS = 1_000_000_000
DEFAULT_KEEP = "6h"
MAX_HISTORY = 10_000
MAX_READ_BACK_CELLS = 5_000_000  # server-ticks read again from Prometheus for one window
ANCHOR_TTL_S = 30 * 86400.0
PERMANENT = ("not-prometheus", "auth", "query")  # wrong configuration: opening fails at once
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
MAX_PARALLEL_QUERIES = 8
_FILLS = {"present": False, "state": -1}


HISTORY = Parameter(
    "history", None, "ticks read when opening (default: the target's, usually 120)", low=1, high=MAX_HISTORY, kind=INTEGER
)


def _clock_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%H:%M:%S UTC")


class PrometheusSource(CubeSource):
    name = "prometheus"
    description = (
        "a Prometheus target the operator configured (FLEET_PROMETHEUS_TARGETS): its history by query_range, "
        "then each new step (live)"
    )
    parameters = (
        Parameter(
            "step", None, "one tick: a duration like 30s, a multiple of the target's step (default: the target's)", kind=TEXT
        ),
        HISTORY,
        Parameter(
            "keep",
            DEFAULT_KEEP,
            "how much of the newest data stays in memory, e.g. 6h; older ticks are read again from Prometheus when asked for",
            kind=TEXT,
        ),
    )
    live = True
    remote = True  # a target the operator configured, by name; never an address
    version = "1"
    KEEP_CELLS = 2_000_000  # server-ticks held in memory at most, whatever ``keep``

    @classmethod
    def open(
        cls,
        target: str,
        *,
        data_roots: Any = (),
        settings: Settings | None = None,
        step: Any = None,
        history: Any = None,
        keep: Any = None,
    ) -> PrometheusSource:
        settings = settings or Settings()
        name = (target or "").strip()
        if not name:
            raise SourceError("prometheus: name a configured target, e.g. prometheus:prod")
        if not re.fullmatch(NAME_PATTERN, name):
            raise SourceError(
                f"prometheus: {quote(name[:60])} is not a target name; a spec names a target the operator "
                "configured (e.g. prometheus:prod), never an address"
            )
        found = settings.prometheus_target(name)
        step_s = _step(step, found)
        count = _history(history, found)
        keep_s = _keep(keep)
        step_ns = round(step_s * NS)
        proposed = _due_ns(time.time(), found.delay_s, step_ns) - (count - 1) * step_ns
        anchor = shared_anchor(settings, f"prometheus-anchor|{found.digest()}|{step_ns}", proposed, step_ns, keep_s)
        return cls(found, step_s=step_s, history=count, keep_s=keep_s, anchor_ns=anchor)

    def __init__(
        self,
        target: Target,
        *,
        step_s: float | None = None,
        history: int | None = None,
        keep_s: float | None = None,
        anchor_ns: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.target = target
        self.step_s = float(step_s or target.step_s)
        self._step_ns = round(self.step_s * NS)
        self.history = int(history or target.history)
        self._keep_ticks = max(1, int((keep_s or parse_duration(DEFAULT_KEEP)) // self.step_s))
        self._clock = clock
        self._delay_s = float(target.delay_s)
        due = _due_ns(clock(), self._delay_s, self._step_ns)
        self._t0 = int(anchor_ns) if anchor_ns is not None else due - (self.history - 1) * self._step_ns
        if (due - self._t0) % self._step_ns:
            raise SourceError("prometheus: the tick grid's anchor is not on the step's grid")
        self.expressions = target.expressions(self.step_s)
        self.client = PrometheusClient(target)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.RLock()  # the published state
        self._fetching = threading.Lock()  # one read from Prometheus at a time
        self._revision = 0
        self._notes: dict[str, None] = {}
        self._problem: str | None = None
        self._down_since: float | None = None
        self._failures = 0
        self._next_check = 0.0
        self._read_back: tuple[tuple[int, int, int], CubeSource] | None = None
        self._times: np.ndarray = np.zeros(0, dtype="datetime64[ns]")
        # the grid: local row r is global tick base + r; columns are servers
        self._base = 0
        self._t = 0
        self._n = 0
        self._last = -1  # the newest tick read (global index), -1: none yet
        self._server_names: list[str] = []
        self._profile_names: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, np.ndarray] = {
            "present": np.zeros((0, 0), dtype=bool),
            "state": np.zeros((0, 0), dtype=np.int8),
        }
        self._axis_key: tuple[int, int] | None = None
        self._axis_digest = ""  # of the server axis: part of the identity
        for metric in self.expressions:
            self._cells[metric] = np.zeros((0, 0), dtype=np.float32)
        query = {"step": format_duration(self.step_s)} if self.step_s != target.step_s else {}
        if self.history != target.history:
            query["history"] = str(self.history)
        self.canonical_spec = f"prometheus:{target.name}" + (f"?{urlencode(query)}" if query else "")
        self.label = f"prometheus · {target.name}"
        super().__init__(Cube.empty(), tick_seconds=self.step_s)
        self._publish()
        self._poll(opening=True)

    # -- reading from Prometheus -----------------------------------------------------
    def _poll(self, opening: bool = False) -> None:
        now = self._clock()
        if now < self._next_check:
            return
        if not self._fetching.acquire(blocking=False):
            return  # another thread is reading; this one answers with what is there
        try:
            due = (_due_ns(now, self._delay_s, self._step_ns) - self._t0) // self._step_ns
            if due <= self._last:
                self._next_check = (self._t0 + (self._last + 1) * self._step_ns) / NS + self._delay_s
                return
            first = max(self._last + 1, due - self.history + 1 if self._last < 0 else 0, due - self._keep_ticks + 1, 0)
            try:
                self._read(first, due)
            except PrometheusError as exc:
                if opening and exc.reason in PERMANENT:
                    raise
                self._failed(exc, now)
                return
            self._problem, self._down_since, self._failures = None, None, 0
            self._next_check = (self._t0 + (due + 1) * self._step_ns) / NS + self._delay_s
        finally:
            self._fetching.release()

    def _failed(self, exc: PrometheusError, now: float) -> None:
        self._failures += 1
        wait = BACKOFF_S[min(self._failures, len(BACKOFF_S)) - 1]
        self._next_check = now + wait
        if self._down_since is None:
            self._down_since = now
        since = _clock_text(self._down_since)
        behind = "no data yet" if self._last < 0 else f"the newest tick read is {_clock_text(self._tick_time(self._last))}"
        self._problem = (
            f"{exc} (since {since}; retrying every {wait:g} s; {behind}; "
            "the ticks Prometheus has no samples for will show as gaps)"
        )
        log.warning("prometheus:%s: %s", self.target.name, exc)

    def _tick_time(self, tick: int) -> float:
        return (self._t0 + tick * self._step_ns) / NS

    def _query_all(self, first: int, last: int) -> dict[str, list[Series]]:
        """Every metric's series at ticks ``first..last`` (chunks of Prometheus's 11,000 points)."""
        spans = []
        for start in range(first, last + 1, MAX_POINTS):
            spans.append((start, min(last, start + MAX_POINTS - 1)))
        jobs = [(metric, a, b) for metric in self.expressions for a, b in spans]
        if self._pool is None:
            # every metric's query in flight at once: Prometheus evaluates them side by side
            workers = min(MAX_PARALLEL_QUERIES, max(1, len(jobs)))
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"prometheus-{self.target.name}")

        def run(job: tuple[str, int, int]) -> list[Series]:
            metric, a, b = job
            return self.client.query_range(
                self.expressions[metric], self._tick_time(a), self._tick_time(b), self.step_s, what=metric
            )

        results = list(self._pool.map(run, jobs))
        out: dict[str, list[Series]] = {metric: [] for metric in self.expressions}
        for (metric, _, _), series in zip(jobs, results, strict=True):
            out[metric].extend(series)
        return out

    def _read(self, first: int, last: int) -> None:
        """Read ticks ``first..last`` (new ones, after the newest read) and publish them."""
        found = self._query_all(first, last)
        with self._lock:
            if first > self._last + 1 or self._last < 0:
                self._restart_at(first)
            rows = last - first + 1
            self._reserve(self._t + rows, self._n)
            self._place(found, first, last, self._t)
            self._t += rows
            self._last = last
            self._evict()
            self._publish()

    def _restart_at(self, first: int) -> None:
        """The grid starts over at tick ``first`` (the opening read, or after ticks were skipped)."""
        for key, arr in self._cells.items():
            self._cells[key] = np.zeros((0, arr.shape[1]), dtype=arr.dtype)
        self._base, self._t = first, 0

    def _servers_of(self, found: dict[str, list[Series]]) -> dict[int, int]:
        """Each series' server column (by ``id``), servers new to the axis added to its end."""
        columns: dict[int, int] = {}
        server_label, profile_labels = self.target.server_label, self.target.profile_labels
        unnamed = 0
        joined = 0
        for metric, series in found.items():
            for s in series:
                name = s.labels.get(server_label)
                if not name:
                    unnamed += 1
                    continue
                col = self._index.get(name)
                if col is None:
                    profile = next((s.labels[p] for p in profile_labels if s.labels.get(p)), schema.DEFAULT_PROFILE)
                    col = self._index[name] = len(self._server_names)
                    self._server_names.append(name)
                    self._profile_names.append(profile)
                    joined += 1
                columns[id(s)] = col
            if unnamed:
                self._note(f"{metric}: {unnamed} series without a {server_label!r} label were left out; its query should keep it (by ($__labels))")
                unnamed = 0
        if joined and self._last >= 0:
            self._revision += 1  # the server axis grew: scores of the old axis are not these
        return columns

    def _place(self, found: dict[str, list[Series]], first: int, last: int, row0: int) -> None:
        columns = self._servers_of(found)
        n = len(self._server_names)
        if n > self._n:
            self._reserve(self._t + (last - first + 1), n)
            self._n = n
        present = self._cells["present"]
        present[row0 : row0 + last - first + 1, :n] = False
        for metric, series in found.items():
            arr = self._cells[metric]
            arr[row0 : row0 + last - first + 1, :n] = np.nan
            rows, cols, values = _coordinates(series, columns, self._t0, self._step_ns, first, last)
            if rows.size == 0:
                continue
            key = rows * n + cols
            if np.bincount(key, minlength=(last - first + 1) * n).max(initial=0) > 1:
                self._note(f"{metric}: several series for one server at one time; the last was kept (aggregate the query by ($__labels))")
            low, high = _range_of(metric)
            if low is not None:
                outside = (values < low) | (values > high)
                if outside.any():
                    values = np.clip(values, low, high)
            arr[row0 + rows, cols] = values
            present[row0 + rows, cols] |= np.isfinite(values)
        new = slice(row0, row0 + last - first + 1)
        self._cells["state"][new, :n] = np.where(present[new, :n], np.int8(0), np.int8(-1))

    # -- the grid ------------------------------------------------------------------------
    def _reserve(self, t: int, n: int) -> None:
        present = self._cells["present"]
        cap_t, cap_n = present.shape
        if t <= cap_t and n <= cap_n:
            return
        new_t = cap_t if t <= cap_t else max(t + t // 2, 16)
        new_n = cap_n if n <= cap_n else max(n + n // 4, 8)
        for key, old in self._cells.items():
            arr = np.full((new_t, new_n), _FILLS.get(key, np.nan), dtype=old.dtype)
            arr[: self._t, : self._n] = old[: self._t, : self._n]
            self._cells[key] = arr  # windows handed out keep the old arrays

    def _evict(self) -> None:
        """Keep the newest ``keep`` ticks and at most KEEP_CELLS cells (a quarter at a time);
        servers absent from every tick kept leave the axis."""
        t = self._t
        limit = min(self._keep_ticks, max(1, self.KEEP_CELLS // max(self._n, 1)))
        if t <= limit:
            return
        k = max(t - limit, t // 4)
        present = self._cells["present"]
        keep_cols = np.flatnonzero(present[k:t, : self._n].any(axis=0))
        cols = keep_cols if keep_cols.size < self._n else slice(0, self._n)
        for key, old in self._cells.items():
            arr = np.full(old.shape, _FILLS.get(key, np.nan), dtype=old.dtype)
            kept = old[k:t, cols]
            arr[: t - k, : kept.shape[1]] = kept
            self._cells[key] = arr
        self._base += k
        self._t = t - k
        if keep_cols.size < self._n:
            gone = self._n - keep_cols.size
            self._server_names = [self._server_names[i] for i in keep_cols]
            self._profile_names = [self._profile_names[i] for i in keep_cols]
            self._index = {name: i for i, name in enumerate(self._server_names)}
            self._n = keep_cols.size
            self._revision += 1
            self._note(f"{gone} server(s) without data in the ticks held left the server axis")

    def _publish(self) -> None:
        t, n = self._t, self._n
        cube = Cube(
            ticks=self._t0 + (self._base + np.arange(t, dtype=np.int64)) * self._step_ns,
            servers=np.array(self._server_names, dtype=object),
            profiles=np.array(self._profile_names, dtype=object),
            present=self._cells["present"][:t, :n],
            metrics={m: self._cells[m][:t, :n] for m in self.expressions},
            state=self._cells["state"][:t, :n],
        )
        if self._axis_key != (self._revision, n):
            self._axis = (text_array(cube.servers), text_array(cube.profiles))
            self._axis_key = (self._revision, n)
            axis = "\x1f".join(self._server_names) + "\x1e" + "\x1f".join(self._profile_names)
            self._axis_digest = hashlib.sha256(axis.encode()).hexdigest()[:16]
        self._set_cube(cube, None, self._axis)
        count = self._last + 1
        if self._times.shape[0] != count:
            times = (self._t0 + np.arange(count, dtype=np.int64) * self._step_ns).view("datetime64[ns]")
            times.flags.writeable = False
            self._times = times

    def _note(self, text: str) -> None:
        self._notes[text] = None
        while len(self._notes) > 20:
            self._notes.pop(next(iter(self._notes)))

    # -- the Source interface ------------------------------------------------------------
    def n_ticks(self) -> int:
        self._poll()
        return self._last + 1

    def timestamps(self) -> np.ndarray:
        self._poll()
        return self._times

    def servers(self):
        self._poll()
        with self._lock:
            return super().servers()

    def problem(self) -> str | None:
        """Why the newest ticks are not coming in (Prometheus unreachable, too slow...), or None."""
        self._poll()
        return self._problem

    def batch(self, i: int):
        self._poll()
        with self._lock:
            j = check_tick(i, self._last + 1)
            if j >= self._base:
                return super().batch(j - self._base)
        return self._from_prometheus(j, j).batch(0)

    def window(self, end: int, length: int) -> Window:
        self._poll()
        with self._lock:
            j = check_tick(end, self._last + 1)
            if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
                raise DataError(f"window length must be a positive integer, got {length!r}")
            start = max(0, j - int(length) + 1)
            if start >= self._base:
                return replace(super().window(j - self._base, length), end=j)
        source = self._from_prometheus(start, j)
        return replace(source.window(j - start, j - start + 1), end=j)

    def _from_prometheus(self, first: int, last: int) -> CubeSource:
        """Ticks ``first..last`` (older than those held) read again from Prometheus, on the current axis."""
        key = (self._revision, first, last)
        if self._read_back is not None and self._read_back[0] == key:
            return self._read_back[1]
        cells = (last - first + 1) * max(self._n, 1)
        if cells > MAX_READ_BACK_CELLS:
            raise DataError(
                f"{self.label}: {last - first + 1:,} ticks before the ones held in memory were asked for at once; "
                f"at most {MAX_READ_BACK_CELLS // max(self._n, 1):,} are read again from Prometheus"
            )
        found = self._query_all(first, last)
        with self._lock:
            n = self._n
            rows = last - first + 1
            columns = {id(s): self._index[s.labels.get(self.target.server_label, "")]
                       for series in found.values() for s in series
                       if s.labels.get(self.target.server_label, "") in self._index}
            present = np.zeros((rows, n), dtype=bool)
            metrics = {}
            for metric, series in found.items():
                arr = np.full((rows, n), np.nan, dtype=np.float32)
                r, c, v = _coordinates(series, columns, self._t0, self._step_ns, first, last)
                arr[r, c] = v
                present[r, c] |= np.isfinite(v)
                metrics[metric] = arr
            cube = Cube(
                ticks=self._t0 + np.arange(first, last + 1, dtype=np.int64) * self._step_ns,
                servers=np.array(self._server_names, dtype=object),
                profiles=np.array(self._profile_names, dtype=object),
                present=present,
                metrics=metrics,
                state=np.where(present, np.int8(0), np.int8(-1)),
            )
            source = CubeSource(cube, tick_seconds=self.step_s, axis=self.axis)
            self._read_back = (key, source)
        return source

    def metadata(self) -> dict[str, Any] | None:
        return None

    def tick_seconds(self) -> float:
        return self.step_s

    def metric_units(self) -> dict[str, str]:
        return {m: schema.METRIC_BY_NAME[m].unit if schema.is_core_metric(m) else "" for m in self.expressions}

    def report(self) -> list[str]:
        with self._lock:
            notes = [
                f"{self.label}: one tick every {format_duration(self.step_s)}, {len(self.expressions)} metrics by PromQL, "
                f"{self._n:,} servers"
            ]
            if self._base:
                notes.append(
                    f"{self.label}: the newest {self._t:,} ticks are in memory; older ones are read again from Prometheus"
                )
            return [*notes, *self._notes]

    def identity(self) -> str:
        self._poll()
        # the server axis itself, not this process's count of its changes: processes that
        # opened at other times may hold other axes, and must never share scores of another
        return f"{self.canonical_spec}@{self.version}#{self.target.digest()}:{self._t0}:{self._axis_digest}"

    def refresh(self) -> int:
        """Check for new steps now (ignoring the wait until the next one is due); the tick count."""
        self._next_check = 0.0
        return self.n_ticks()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.client.close()


def _coordinates(
    series: list[Series], columns: dict[int, int], t0: int, step_ns: int, first: int, last: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (relative to ``first``), columns and values of every sample of ``series``."""
    kept = [s for s in series if id(s) in columns and s.times.size]
    if not kept:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    times = np.concatenate([s.times for s in kept])
    values = np.concatenate([s.values for s in kept])
    cols = np.repeat(np.fromiter((columns[id(s)] for s in kept), np.int64, len(kept)), [s.times.size for s in kept])
    ticks = np.rint((times * NS - t0) / step_ns).astype(np.int64)
    inside = (ticks >= first) & (ticks <= last)
    values = np.where(np.isfinite(values), values, np.nan)
    return ticks[inside] - first, cols[inside], values[inside].astype(np.float32)


def _range_of(metric: str) -> tuple[float | None, float | None]:
    found = schema.METRIC_BY_NAME.get(metric)
    if found is None:
        return None, None
    return found.low, found.high


def _due_ns(now: float, delay_s: float, step_ns: int) -> int:
    """The newest tick time (ns, on the step's grid) at least ``delay_s`` old at ``now``."""
    return (int((now - delay_s) * NS) // step_ns) * step_ns



def _step(value: Any, target: Target) -> float:
    if value in (None, ""):
        return target.step_s
    try:
        step = parse_duration(value, "step")
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    ratio = step / target.step_s
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise SourceError(f"step: must be a multiple of the target's step ({format_duration(target.step_s)}), got {quote(value)}")
    return step


def _history(value: Any, target: Target) -> int:
    """The declared ``history`` parameter, typed by open_source; the target's when not given."""
    try:
        count = parse_value(HISTORY, value)
    except ParameterError as exc:
        raise SourceError(str(exc)) from None
    return target.history if count is None else int(count)


def _keep(value: Any) -> float:
    try:
        return parse_duration(value if value not in (None, "") else DEFAULT_KEEP, "keep")
    except ConfigError as exc:
        raise SourceError(str(exc)) from None


def shared_anchor(settings: Settings, key: str, proposed: int, step_ns: int, keep_s: float) -> int:
    """The tick grid's anchor every process of the deployment uses (through the settings'
    shared cache): the first opener's, while it is recent enough; else ``proposed``."""
    if settings.cache_url.startswith("memory:"):
        return proposed
    from ..cache import open_cache

    try:
        cache = open_cache(settings.cache_url)
        try:
            with cache.lock(key, timeout=5, wait=5):
                raw = cache.get(key)
                if raw:
                    found = int(raw)
                    oldest = proposed - int(2 * keep_s * NS)
                    if oldest <= found <= proposed and (proposed - found) % step_ns == 0:
                        return found
                cache.set(key, str(proposed).encode(), ttl=ANCHOR_TTL_S)
        finally:
            cache.close()
    except (DashboardError, ValueError) as exc:
        log.info("prometheus: no shared tick anchor (%s); this process numbers its own ticks", exc)
    return proposed


__all__ = ["PrometheusSource", "shared_anchor"]
