"""Scores of a (source, model, tick), computed once and shared by every viewer and refresh.

:class:`Scorer` pairs a data source with a risk model. It asks the model for one
vectorised score per tick, keeps the result in a :class:`ScoreCache` keyed by
``(source identity, model key, tick)``, and derives alert states from a bounded
look-back of cached probabilities, so every worker process answers the same for the
same tick whatever order requests arrive in. With a cache directory the cache lives
on disk (diskcache), shared by all gunicorn workers on a host.

The alert states of a tick are cached too, per (source, model, policy, look-back,
tick), so a live refresh advances the previous tick's states by one step instead of
re-running the look-back; the answer stays exactly that of the bounded look-back.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..cache import (
    DEFAULT_DISK_BYTES,
    DEFAULT_MEMORY_BYTES,
    CodecError,
    DiskCache,
    MemoryCache,
    SharedCache,
    decode_arrays,
    encode_arrays,
    open_cache,
)
from ..errors import ModelError
from ..sources.base import check_tick
from .alerts import NORMAL, AlertPolicy, alert_states_at, step_states
from .base import RiskModel

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_TICKS = 120
EXPLAINED_TOP = 5  # the riskiest servers whose contributions every tick's answer carries
BASELINES_KEPT = 4  # checkpoints' baselines a scorer keeps (ticks mostly move forward)


@dataclass(frozen=True)
class TickScores:
    """Everything the app shows about one tick: probability, its "why", and alert states.

    ``contributions`` rows are filled for the riskiest servers and those the caller asked
    :meth:`Scorer.at` to explain; the other rows are NaN (not computed).
    """

    tick: int
    probability: np.ndarray  # float32 (N,)
    contributions: np.ndarray  # float32 (N, F), NaN rows: not explained
    factors: tuple[str, ...]
    alert: np.ndarray  # int8 (N,), codes of dashboard.models.alerts

    def top_factors(self, server: int, k: int = 3) -> list[tuple[str, float]]:
        row = self.contributions[server]
        order = np.argsort(-row, kind="stable")[:k]
        return [(self.factors[j], float(row[j])) for j in order if row[j] > 0]


# A cached entry: probability (N,), contributions (N, F), factors.
Entry = tuple[np.ndarray, np.ndarray, tuple[str, ...]]
# A cached alert entry: state codes int8 (N,) and ticks held in the current pending or
# recovering stretch int32 (N,) (meaningless in the other states).
AlertEntry = tuple[np.ndarray, np.ndarray]

# Bumped whenever what the cache holds changes shape or meaning: old entries are then
# never read (they age out of the cache).
CACHE_SCHEMA_VERSION = 2
SCORE_TTL_S = 7 * 24 * 3600.0  # scores of a source nobody opens age out
LOCAL_BYTES = 64 * 1024 * 1024  # decoded scores each process keeps in front of the shared cache


class _Decoded:
    """A small thread-safe LRU of decoded values by key, bounded by their bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: str, value: Any, size: int) -> None:
        if self.max_bytes <= 0:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class ScoreCache:
    """Scores in a :class:`~dashboard.cache.SharedCache`, through the array codec.

    A tick's probabilities and its contributions are stored under separate keys so that a
    window of probabilities (the trend, the strip) is one batch read of small values.
    Probabilities never change once written (their key says everything they depend on);
    contributions only gain the rows of servers someone asked to explain (a process that
    holds an older copy computes the missing rows itself). Each process also keeps the
    entries it read or computed, decoded, in a small LRU
    (``local_bytes``): a refresh reads the shared cache only for ticks new to this process.
    """

    def __init__(self, shared: SharedCache | None = None, *, local_bytes: int = LOCAL_BYTES):
        self.shared = shared if shared is not None else MemoryCache()
        self._local = _Decoded(local_bytes)

    def get_probabilities(self, keys: list[str]) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = [self._local.get(f"p|{k}") for k in keys]
        missing = [i for i, value in enumerate(out) if value is None]
        if missing:
            for i, raw in zip(missing, self.shared.get_many([f"p|{keys[i]}" for i in missing]), strict=True):
                if raw is not None:
                    probability = _decode(raw)[0][0]
                    self._local.put(f"p|{keys[i]}", probability, probability.nbytes)
                    out[i] = probability
        return out

    def get(self, key: str) -> Entry | None:
        entry = self._local.get(f"e|{key}")
        if entry is not None:
            return entry
        p_raw, c_raw = self.shared.get_many([f"p|{key}", f"c|{key}"])
        if p_raw is None or c_raw is None:
            return None
        (probability,), _ = _decode(p_raw)
        (contributions,), meta = _decode(c_raw)
        entry = (probability, contributions, tuple(meta.get("factors", ())))
        self._remember(key, entry)
        return entry

    def set(self, key: str, value: Entry) -> None:
        probability, contributions, factors = value
        self.shared.set_many(
            {
                f"p|{key}": encode_arrays([probability]),
                f"c|{key}": encode_arrays([contributions], {"factors": list(factors)}),
            },
            SCORE_TTL_S,
        )
        self._remember(key, value)

    def _remember(self, key: str, entry: Entry) -> None:
        self._local.put(f"p|{key}", entry[0], entry[0].nbytes)
        self._local.put(f"e|{key}", entry, entry[0].nbytes + entry[1].nbytes)

    def get_alerts(self, key: str) -> AlertEntry | None:
        entry = self._local.get(f"a|{key}")
        if entry is None:
            raw = self.shared.get(f"a|{key}")
            if raw is None:
                return None
            entry = tuple(_decode(raw)[0])
            self._local.put(f"a|{key}", entry, entry[0].nbytes + entry[1].nbytes)
        state, held = entry
        return state.copy(), held.copy()  # callers step them forward in place

    def set_alerts(self, key: str, value: AlertEntry) -> None:
        state, held = (np.array(v, copy=True) for v in value)
        self.shared.set(f"a|{key}", encode_arrays([state, held]), SCORE_TTL_S)
        self._local.put(f"a|{key}", (state, held), state.nbytes + held.nbytes)

    def lock(self, key: str):
        return self.shared.lock(f"score|{key}")

    def clear(self) -> None:
        self._local.clear()
        self.shared.clear()

    def close(self) -> None:
        self.shared.close()

    def __len__(self) -> int:
        return len(self.shared)  # type: ignore[arg-type]


def _decode(raw: bytes) -> tuple[list[np.ndarray], dict]:
    try:
        return decode_arrays(raw)
    except CodecError as exc:
        raise ModelError(f"the score cache holds an entry this version cannot read: {exc}") from None


class MemoryScoreCache(ScoreCache):
    """Scores in this process only (the single-user app)."""

    def __init__(self, max_bytes: int = DEFAULT_MEMORY_BYTES):
        if max_bytes <= 0:
            raise ModelError(f"score cache size must be positive, got {max_bytes!r} bytes")
        super().__init__(MemoryCache(max_bytes), local_bytes=0)  # already in this process: one bound


class DiskScoreCache(ScoreCache):
    """Scores in a ``diskcache`` folder, shared by every process on the host."""

    def __init__(self, directory: str | Path, size_limit: int = DEFAULT_DISK_BYTES):
        super().__init__(DiskCache(directory, size_limit=size_limit))
        self.directory = Path(directory)


def make_score_cache(url: str | Path | SharedCache | None = None, *, max_bytes: int | None = None) -> ScoreCache:
    """The score cache a URL (or cache folder) names; process memory without one."""
    if isinstance(url, SharedCache):
        return ScoreCache(url)
    if url is None or str(url).startswith("memory:"):
        return MemoryScoreCache(max_bytes or DEFAULT_MEMORY_BYTES)
    if isinstance(url, Path) or "://" not in str(url):
        return DiskScoreCache(url, size_limit=max_bytes or DEFAULT_DISK_BYTES)
    return ScoreCache(open_cache(str(url), max_bytes=max_bytes))


def score_key(source_identity: str, model_identity: str, tick: int) -> str:
    """The cache key of one tick: schema and package version, source, model, tick.

    The source and model part is hashed (identities can be long paths and parameter
    lists); the tick stays readable.
    """
    import hashlib

    what = f"{CACHE_SCHEMA_VERSION}|{__version__}|{source_identity}|{model_identity}"
    return f"{hashlib.sha256(what.encode()).hexdigest()[:32]}|{tick}"


def model_identity(model: RiskModel) -> str:
    """What a model's scores depend on: name, parameters, version and trained artifact."""
    artifact = model.artifact_hash() if hasattr(model, "artifact_hash") else ""
    version = getattr(model, "version", "") or "0"
    return f"{model.key()}@{version}#{artifact or '-'}"


class Scorer:
    """One model scoring one source, tick by tick, through a shared cache.

    ``source`` is anything with ``window``, ``n_ticks``, ``identity`` and
    ``tick_seconds`` (a :class:`~dashboard.sources.DataSource` or a plug-in source);
    ``model`` a :class:`RiskModel` instance or a registered name.
    """

    def __init__(
        self,
        source: Any,
        model: RiskModel | str,
        *,
        policy: AlertPolicy | None = None,
        cache: ScoreCache | SharedCache | None = None,
        lookback_ticks: int = DEFAULT_LOOKBACK_TICKS,
    ):
        if isinstance(model, str):
            from . import get_model

            model = get_model(model)
        self.source = source
        self.model = model
        if isinstance(cache, SharedCache):
            cache = ScoreCache(cache)
        self.cache: ScoreCache = cache if cache is not None else MemoryScoreCache()
        tick_seconds = float(source.tick_seconds() or 0.0)
        self.tick_seconds = tick_seconds if tick_seconds > 0 else 1.0
        # by default the alert durations are ticks, whatever the tick size (5 s: 10 s and 30 s)
        self.policy = policy or AlertPolicy.for_tick_seconds(self.tick_seconds)
        if isinstance(lookback_ticks, bool) or not isinstance(lookback_ticks, (int, np.integer)):
            raise ModelError(f"lookback_ticks must be a whole number, got {lookback_ticks!r}")
        need = self.policy.memory_ticks(self.tick_seconds)
        if lookback_ticks < need:
            raise ModelError(
                f"lookback_ticks={lookback_ticks} is too short for the alert policy: it needs at least {need} "
                f"ticks to hold for_s + keep_firing_for_s at {self.tick_seconds:g} s per tick"
            )
        self.lookback_ticks = int(lookback_ticks)
        self._model_key = model.key()
        self._model_identity = model_identity(model)
        self.computed = 0  # model evaluations this scorer ran (the rest came from the cache)
        self._history = max(1, int(getattr(model, "history", 1)))
        self._honest = not bool(getattr(model, "reads_ground_truth", False))
        self._subsets = bool(getattr(model, "explains_subsets", False)) and _takes_explain(model)
        self._baseline_policy = getattr(model, "baseline_policy", None)
        self._baselines: OrderedDict[int, Any] = OrderedDict()
        self._baseline_lock = threading.Lock()
        policy = self.policy
        self._alert_tag = (
            f"alerts({policy.threshold!r},{policy.clear_threshold!r},{policy.for_s!r},"
            f"{policy.keep_firing_for_s!r},{self.tick_seconds!r},{self.lookback_ticks})"
        )

    # -- public API ----------------------------------------------------
    def at(self, tick: int, explain: Any = ()) -> TickScores:
        """Probability and alert state of every server at ``tick``, and the contributions of
        the riskiest servers and of those in ``explain`` (server indices)."""
        t = self._tick(tick)
        probability, contributions, factors = self._explained(t, explain)
        alert = self._alert_entry(t)[0].copy()
        return TickScores(t, probability, contributions, factors, alert)

    def probabilities(self, start: int, end: int) -> np.ndarray:
        """Probabilities for ticks ``start..end`` inclusive, float32 ``(T, N)``."""
        lo, hi = self._range(start, end)
        ticks = list(range(lo, hi + 1))
        found = self.cache.get_probabilities([self._key(t) for t in ticks])
        rows = [p if p is not None else self._entry(t)[0] for t, p in zip(ticks, found, strict=True)]
        return np.stack(rows).astype(np.float32, copy=False)

    def contributions(self, start: int, end: int) -> np.ndarray:
        """Contributions for ticks ``start..end`` inclusive, float32 ``(T, N, F)``; rows of
        servers nobody asked to explain are NaN for models that explain subsets (see :meth:`at`)."""
        lo, hi = self._range(start, end)
        return np.stack([self._entry(t)[1] for t in range(lo, hi + 1)])

    def alerts(self, start: int, end: int) -> np.ndarray:
        """Alert states for ticks ``start..end`` inclusive, int8 ``(T, N)``.

        Each tick's state comes from the state machine run from NORMAL over the
        ``lookback_ticks`` before it, never from whatever this process saw earlier.
        """
        lo, hi = self._range(start, end)
        first = max(0, lo - self.lookback_ticks)
        probs = self.probabilities(first, hi)
        ticks = np.arange(lo, hi + 1)
        return alert_states_at(probs, ticks, self.lookback_ticks, self.policy, self.tick_seconds, offset=first)

    @property
    def factors(self) -> tuple[str, ...]:
        factors = getattr(self.model, "factors", None)
        if factors is not None:
            return tuple(factors)
        return self._entry(0)[2]

    # -- internals -----------------------------------------------------
    def _tick(self, tick: int) -> int:
        return check_tick(tick, int(self.source.n_ticks()))

    def _range(self, start: int, end: int) -> tuple[int, int]:
        lo, hi = self._tick(start), self._tick(end)
        if lo > hi:
            raise ModelError(f"tick range {start}..{end} is empty")
        return lo, hi

    def _key(self, tick: int) -> str:
        return score_key(self.source.identity(), self._model_identity, tick)

    def _entry(self, tick: int) -> Entry:
        """The tick's scores from the cache, else computed by exactly one worker.

        On a miss the key's lock is taken; whoever gets it first computes and stores, the
        others wait and then find the result. A worker that waited too long computes
        without the lock rather than fail the request.
        """
        key = self._key(tick)
        entry = self.cache.get(key)
        if entry is not None:
            return entry
        with self.cache.lock(key):
            entry = self.cache.get(key)
            if entry is None:
                entry = self._compute(tick, 0)  # contributions only where someone looks (_explained)
                self.computed += 1
                self.cache.set(key, entry)
        return entry

    def _explained(self, tick: int, explain: Any) -> Entry:
        """The tick's entry with the contributions of the top servers and ``explain`` filled in."""
        entry = self._entry(tick)
        probability, contributions, factors = entry
        n = probability.shape[0]
        wanted = np.asarray(explain, dtype=np.intp).reshape(-1)
        wanted = wanted[(wanted >= 0) & (wanted < n)]
        top = np.argsort(-np.nan_to_num(probability, nan=-1.0), kind="stable")[:EXPLAINED_TOP]
        rows = np.union1d(top, wanted).astype(np.intp)
        if contributions.shape[0] != n or not np.isnan(contributions[rows]).any():
            return entry
        fresh = self._compute(tick, rows)
        merged = np.where(np.isnan(contributions), fresh[1], contributions) if fresh[1].shape == contributions.shape else fresh[1]
        entry = (probability, merged.astype(np.float32, copy=False), fresh[2])
        self.cache.set(self._key(tick), entry)
        return entry

    # -- baselines, once per checkpoint ----------------------------------
    def baseline(self, tick: int) -> Any:
        """The model's baseline for ``tick``: estimated once per checkpoint from the history
        before it (``BaselinePolicy``), kept while ticks stay near it; None before the first."""
        policy = self._baseline_policy
        if policy is None:
            return None
        checkpoint = policy.checkpoint(tick)
        if checkpoint <= 0:
            return None
        with self._baseline_lock:
            if checkpoint in self._baselines:
                self._baselines.move_to_end(checkpoint)
                return self._baselines[checkpoint]
        probe = self.source.window(checkpoint - 1, 1)
        length = policy.history_ticks(probe.n_servers, len(probe.metrics))
        history = self.source.window(checkpoint - 1, min(length, checkpoint))
        if self._honest:
            history = history.without_truth()
        fitted = self.model.fit_baseline(history, checkpoint)
        with self._baseline_lock:
            self._baselines[checkpoint] = fitted
            while len(self._baselines) > BASELINES_KEPT:
                self._baselines.popitem(last=False)
        return fitted

    # -- alert states, one step per refresh ----------------------------
    def _alert_entry(self, tick: int) -> AlertEntry:
        """Alert states at ``tick``, exactly as :meth:`alerts` defines them, via the cache.

        The run for ``tick`` starts at ``tick - lookback``; the cached run for
        ``tick - 1`` started one tick earlier. Both enter tick ``tick - lookback`` in
        the same state unless the earlier run left NORMAL on its first tick, and
        NORMAL carries no history (the held count restarts on leaving it), so for
        every other server one step from the cached states gives the same answer.
        The few servers that were at or above the threshold on that dropped tick are
        re-run over the whole look-back.
        """
        key = self._alert_key(tick)
        entry = self.cache.get_alerts(key)
        if entry is not None:
            return entry
        previous = self.cache.get_alerts(self._alert_key(tick - 1)) if tick > 0 else None
        if previous is None:
            entry = self._run_alerts(tick)
        else:
            state, held = previous
            p = self._entry(tick)[0]
            with np.errstate(invalid="ignore"):
                above, holding = p >= self.policy.threshold, p >= self.policy.clear_threshold
            state, held = step_states(state, held, above, holding, *self._alert_ticks())
            dropped = tick - 1 - self.lookback_ticks
            if dropped >= 0:
                with np.errstate(invalid="ignore"):
                    redo = np.flatnonzero(self._entry(dropped)[0] >= self.policy.threshold)
                if redo.size:
                    state[redo], held[redo] = self._run_alerts(tick, redo)
            entry = (state, held)
        self.cache.set_alerts(key, entry)
        return entry

    def _run_alerts(self, tick: int, servers: np.ndarray | None = None) -> AlertEntry:
        """The state machine from NORMAL over ``tick - lookback .. tick`` (ticks >= 0)."""
        first = max(0, tick - self.lookback_ticks)
        probs = self.probabilities(first, tick)
        if servers is not None:
            probs = probs[:, servers]
        n = probs.shape[1]
        state = np.full(n, NORMAL, dtype=np.int8)
        held = np.zeros(n, dtype=np.int32)
        with np.errstate(invalid="ignore"):
            candidates = np.flatnonzero((probs >= self.policy.threshold).any(axis=0))
        if candidates.size:  # the others never leave NORMAL
            sub = probs[:, candidates]
            with np.errstate(invalid="ignore"):
                above, holding = sub >= self.policy.threshold, sub >= self.policy.clear_threshold
            s, h = state[candidates], held[candidates]
            for j in range(sub.shape[0]):
                s, h = step_states(s, h, above[j], holding[j], *self._alert_ticks())
            state[candidates], held[candidates] = s, h
        return state, held

    def _alert_ticks(self) -> tuple[int, int]:
        return self.policy.for_ticks(self.tick_seconds), self.policy.keep_ticks(self.tick_seconds)

    def _alert_key(self, tick: int) -> str:
        return score_key(self.source.identity(), f"{self._model_identity}|{self._alert_tag}", tick)

    def _compute(self, tick: int, explain: Any = None) -> Entry:
        window = self.source.window(tick, self._history)
        if self._honest:
            window = window.without_truth()
        if self._baseline_policy is not None:
            window = replace(window, baseline=self.baseline(tick))
        scores = self.model.score(window, explain=explain) if self._subsets else self.model.score(window)
        n = window.n_servers
        probability = np.asarray(scores.probability, dtype=np.float32).reshape(-1)
        contributions = np.asarray(scores.contributions, dtype=np.float32)
        if probability.shape != (n,) or contributions.ndim != 2 or contributions.shape[0] != n:
            raise ModelError(
                f"model {self._model_key} returned probability {probability.shape} and contributions "
                f"{contributions.shape} for {n} servers; expected ({n},) and ({n}, F)"
            )
        if contributions.shape[1] != len(scores.factors):
            raise ModelError(f"model {self._model_key} named {len(scores.factors)} factors for {contributions.shape[1]} columns")
        probability = np.clip(np.nan_to_num(probability, nan=0.0), 0.0, 1.0)
        return probability, contributions, tuple(scores.factors)


def _takes_explain(model: Any) -> bool:
    try:
        return "explain" in inspect.signature(model.score).parameters
    except (TypeError, ValueError):
        return False


__all__ = [
    "DEFAULT_LOOKBACK_TICKS",
    "DiskScoreCache",
    "MemoryScoreCache",
    "ScoreCache",
    "Scorer",
    "TickScores",
    "make_score_cache",
    "model_identity",
    "score_key",
]
