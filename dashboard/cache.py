"""The cache every worker (and host) shares, chosen by URL: ``memory://``, ``diskcache:///dir``, ``redis://``.

Values are bytes; arrays travel through an explicit codec (:func:`encode_arrays`),
never pickle, so a cache shared between hosts or versions cannot run code. Besides
``get``/``set`` a cache offers what sharing needs:

- ``get_many``: one round trip for many keys (a first paint reads a whole window);
- ``lock(key)``: one computation per key across workers; the others wait, then read;
- ``lease(name, owner, ttl)``: an expiring ownership, to elect one background scorer.

A Redis cache is wrapped in :class:`FallbackCache`: when Redis cannot be reached the
app keeps answering from a small in-process cache, reports itself degraded, and tries
Redis again every few seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .errors import DashboardError

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
DEFAULT_DISK_BYTES = 2 * 1024 * 1024 * 1024
LOCK_TIMEOUT_S = 60.0  # a computation holding a key's lock longer than this loses it
LOCK_WAIT_S = 30.0  # how long a worker waits for another's result before computing itself
RETRY_S = 5.0  # a degraded cache retries its primary this often


class CacheUnavailable(DashboardError, ConnectionError):
    """The shared cache (a Redis server, a cache folder) cannot be used right now."""


class CodecError(DashboardError, ValueError):
    """Bytes in the cache are not an entry this version can read."""


# -- the array codec --------------------------------------------------------------
_MAGIC = b"FRA1"
_DTYPES = {"float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}


def encode_arrays(arrays: Sequence[np.ndarray], meta: Mapping[str, Any] | None = None) -> bytes:
    """``arrays`` and a JSON-able ``meta`` as bytes: magic, header length, JSON header, raw data."""
    specs = []
    chunks = []
    for array in arrays:
        a = np.ascontiguousarray(array)
        if a.dtype.name not in _DTYPES:
            raise CodecError(f"cannot encode arrays of dtype {a.dtype.name}")
        specs.append({"dtype": a.dtype.name, "shape": list(a.shape)})
        chunks.append(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    header = json.dumps({"arrays": specs, "meta": dict(meta or {})}, separators=(",", ":")).encode()
    return b"".join([_MAGIC, len(header).to_bytes(4, "little"), header, *chunks])


def decode_arrays(data: bytes) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The arrays and meta of :func:`encode_arrays` (read-only views of ``data``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or bytes(data[:4]) != _MAGIC:
        raise CodecError("not an encoded array entry")
    try:
        size = int.from_bytes(data[4:8], "little")
        header = json.loads(bytes(data[8 : 8 + size]))
        offset = 8 + size
        arrays = []
        for spec in header["arrays"]:
            dtype = np.dtype(spec["dtype"]).newbyteorder("<")
            if dtype.name not in _DTYPES:
                raise CodecError(f"unknown dtype {spec['dtype']!r}")
            shape = tuple(int(n) for n in spec["shape"])
            count = int(np.prod(shape, dtype=np.int64))
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
            arrays.append(array)
            offset += count * dtype.itemsize
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"a corrupt array entry: {exc}") from None
    if offset != len(data):
        raise CodecError("a corrupt array entry: its length does not match its header")
    return arrays, header.get("meta") or {}


# -- the interface ------------------------------------------------------------------
class SharedCache(ABC):
    """Bytes by string key, shared as widely as the backend allows."""

    url: str = ""
    shared_between_processes: bool = False

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    @abstractmethod
    def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def incr(self, key: str, amount: int = 1) -> int: ...

    @abstractmethod
    def lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or extend ``name`` for ``owner`` for ``ttl`` seconds; False if another holds it."""

    @abstractmethod
    def lock(self, key: str, *, timeout: float = LOCK_TIMEOUT_S, wait: float = LOCK_WAIT_S) -> contextlib.AbstractContextManager[bool]:
        """Hold ``key``'s lock (yields True), or give up after ``wait`` seconds (yields False)."""

    def get(self, key: str) -> bytes | None:
        return self.get_many([key])[0]

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self.set_many({key: value}, ttl)

    def ping(self) -> None:  # noqa: B027 - optional hook: in-process caches are always usable
        """Raise :class:`CacheUnavailable` when the cache cannot be used."""

    def status(self) -> dict[str, Any]:
        return {"url": redact(self.url), "ok": True}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    def clear(self) -> None:  # noqa: B027 - optional hook (tests)
        """Drop every entry."""


def redact(url: str) -> str:
    """``url`` without its password (for logs, /health and messages)."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# -- in process ---------------------------------------------------------------------
class _KeyLocks:
    """Per-key thread locks, dropped when nobody holds or waits for them."""

    def __init__(self):
        self._locks: dict[str, list] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def hold(self, key: str, wait: float) -> Iterator[bool]:
        with self._guard:
            slot = self._locks.setdefault(key, [threading.Lock(), 0])
            slot[1] += 1
        got = slot[0].acquire(timeout=wait)
        try:
            yield got
        finally:
            if got:
                slot[0].release()
            with self._guard:
                slot[1] -= 1
                if slot[1] == 0:
                    self._locks.pop(key, None)


class MemoryCache(SharedCache):
    """A thread-safe LRU in this process, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int = DEFAULT_MEMORY_BYTES, url: str = "memory://"):
        if max_bytes <= 0:
            raise DashboardError(f"cache size must be positive, got {max_bytes!r} bytes")
        self.url = url
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._keys = _KeyLocks()
        self._leases: dict[str, tuple[str, float]] = {}

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        out: list[bytes | None] = []
        with self._lock:
            for key in keys:
                item = self._items.get(key)
                if item is None or (item[1] is not None and item[1] < now):
                    out.append(None)
                    continue
                self._items.move_to_end(key)
                out.append(item[0])
        return out

    def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        expires = time.monotonic() + ttl if ttl else None
        with self._lock:
            for key, value in items.items():
                old = self._items.pop(key, None)
                if old is not None:
                    self._bytes -= len(old[0]) + 64
                self._items[key] = (bytes(value), expires)
                self._bytes += len(value) + 64
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (dropped, _) = self._items.popitem(last=False)
                self._bytes -= len(dropped) + 64

    def delete(self, key: str) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0]) + 64

    def incr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            item = self._items.get(key)
            value = int(item[0]) + amount if item else amount
            self._items[key] = (str(value).encode(), None)
            return value

    def lease(self, name: str, owner: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            held = self._leases.get(name)
            if held and held[0] != owner and held[1] > now:
                return False
            self._leases[name] = (owner, now + ttl)
            return True

    def lock(self, key: str, *, timeout: float = LOCK_TIMEOUT_S, wait: float = LOCK_WAIT_S):
        return self._keys.hold(key, wait)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


# -- on disk ---------------------------------------------------------------------------
class DiskCache(SharedCache):
    """A ``diskcache.Cache`` folder: shared by every process on one host, no service to run."""

    shared_between_processes = True

    def __init__(self, directory: str | Path, size_limit: int = DEFAULT_DISK_BYTES):
        import diskcache

        self.directory = Path(directory)
        self.url = f"diskcache://{self.directory}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(self.directory), size_limit=int(size_limit), eviction_policy="least-recently-used"
            )
        except OSError as exc:
            raise CacheUnavailable(f"cannot use the cache folder {self.directory}: {exc.strerror or exc}") from None
        self._keys = _KeyLocks()  # threads of this process queue here before the shared lock

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._cache.get(key, default=None, retry=True) for key in keys]

    def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        with self._cache.transact(retry=True):
            for key, value in items.items():
                self._cache.set(key, bytes(value), expire=ttl, retry=True)

    def delete(self, key: str) -> None:
        self._cache.delete(key, retry=True)

    def incr(self, key: str, amount: int = 1) -> int:
        return int(self._cache.incr(key, amount, default=0, retry=True))

    def lease(self, name: str, owner: str, ttl: float) -> bool:
        key = f"lease:{name}"
        with self._cache.transact(retry=True):
            held = self._cache.get(key, default=None, retry=True)
            if held is not None and held != owner:
                return False
            self._cache.set(key, owner, expire=ttl, retry=True)
            return True

    @contextlib.contextmanager
    def lock(self, key: str, *, timeout: float = LOCK_TIMEOUT_S, wait: float = LOCK_WAIT_S) -> Iterator[bool]:
        with self._keys.hold(key, wait) as local:
            if not local:
                yield False
                return
            name = f"lock:{key}"
            deadline = time.monotonic() + wait
            delay = 0.001
            while not self._cache.add(name, 1, expire=timeout, retry=True):
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            try:
                yield True
            finally:
                self._cache.delete(name, retry=True)

    def ping(self) -> None:
        try:
            self._cache.set("ping", time.time(), retry=True)
        except Exception as exc:  # sqlite3 errors, OSError: the folder went away or is full
            raise CacheUnavailable(f"the cache folder {self.directory} cannot be written: {exc}") from None

    def clear(self) -> None:
        self._cache.clear(retry=True)

    def close(self) -> None:
        self._cache.close()

    def __len__(self) -> int:
        return len(self._cache)


# -- Redis ---------------------------------------------------------------------------
_EXTEND_LEASE = """
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisCache(SharedCache):
    """A Redis server: shared by every worker on every host that reaches it."""

    shared_between_processes = True

    def __init__(self, url: str, *, prefix: str = "fleet:", socket_timeout: float = 1.0):
        import redis

        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout, health_check_interval=30
        )
        self._errors = (redis.RedisError, OSError)
        self._extend = self._redis.register_script(_EXTEND_LEASE)
        self._keys = _KeyLocks()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._errors as exc:
            log.debug("Redis at %s: %s", redact(self.url), exc)
            raise CacheUnavailable(f"the shared Redis cache cannot be reached ({type(exc).__name__})") from None

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return list(self._call(self._redis.mget, [self.prefix + k for k in keys]))

    def set_many(self, items: Mapping[str, bytes], ttl: float | None = None) -> None:
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(self.prefix + key, value, px=int(ttl * 1000) if ttl else None)
        self._call(pipe.execute)

    def delete(self, key: str) -> None:
        self._call(self._redis.delete, self.prefix + key)

    def incr(self, key: str, amount: int = 1) -> int:
        return int(self._call(self._redis.incrby, self.prefix + key, amount))

    def lease(self, name: str, owner: str, ttl: float) -> bool:
        return bool(self._call(self._extend, keys=[f"{self.prefix}lease:{name}"], args=[owner, int(ttl * 1000)]))

    @contextlib.contextmanager
    def lock(self, key: str, *, timeout: float = LOCK_TIMEOUT_S, wait: float = LOCK_WAIT_S) -> Iterator[bool]:
        with self._keys.hold(key, wait) as local:
            if not local:
                yield False
                return
            lock = self._redis.lock(f"{self.prefix}lock:{key}", timeout=timeout, blocking_timeout=wait, sleep=0.005)
            got = bool(self._call(lock.acquire))
            try:
                yield got
            finally:
                if got:
                    with contextlib.suppress(*self._errors):
                        lock.release()

    def ping(self) -> None:
        self._call(self._redis.ping)

    def clear(self) -> None:
        for key in self._call(self._redis.scan_iter, f"{self.prefix}*"):
            self._call(self._redis.delete, key)

    def close(self) -> None:
        self._redis.close()


class FallbackCache(SharedCache):
    """A shared cache that survives its server: on failure, a local cache answers for a while.

    While the primary is down every call goes to ``fallback`` (this process only) and
    :meth:`status` says so; the primary is retried every ``retry_s`` seconds.
    """

    def __init__(self, primary: SharedCache, fallback: SharedCache | None = None, retry_s: float = RETRY_S):
        self.primary = primary
        self.fallback = fallback or MemoryCache(64 * 1024 * 1024)
        self.url = primary.url
        self.shared_between_processes = primary.shared_between_processes
        self.retry_s = retry_s
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._error: str | None = None
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def _use_primary(self) -> bool:
        if self._down_since is None:
            return True
        return time.monotonic() >= self._retry_at

    def _failed(self, exc: CacheUnavailable) -> None:
        with self._lock:
            if self._down_since is None:
                log.warning("%s at %s; answering from this process until it is back", exc, redact(self.url))
                self._down_since = time.time()
            self._error = str(exc)
            self._retry_at = time.monotonic() + self.retry_s

    def _recovered(self) -> None:
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    log.warning("the shared cache at %s is back", redact(self.url))
                    self._down_since, self._error = None, None
                    self.fallback.clear()

    def _route(self, name: str, *args, **kwargs):
        if self._use_primary():
            try:
                result = getattr(self.primary, name)(*args, **kwargs)
            except CacheUnavailable as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return getattr(self.fallback, name)(*args, **kwargs)

    def get_many(self, keys):
        return self._route("get_many", keys)

    def set_many(self, items, ttl=None):
        return self._route("set_many", items, ttl)

    def delete(self, key):
        return self._route("delete", key)

    def incr(self, key, amount=1):
        return self._route("incr", key, amount)

    def lease(self, name, owner, ttl):
        return self._route("lease", name, owner, ttl)

    @contextlib.contextmanager
    def lock(self, key, *, timeout=LOCK_TIMEOUT_S, wait=LOCK_WAIT_S):
        if self._use_primary():
            try:
                with self.primary.lock(key, timeout=timeout, wait=wait) as got:
                    self._recovered()
                    yield got
                return
            except CacheUnavailable as exc:
                self._failed(exc)
        with self.fallback.lock(key, timeout=timeout, wait=wait) as got:
            yield got

    def ping(self) -> None:
        try:
            self.primary.ping()
        except CacheUnavailable as exc:
            self._failed(exc)
            raise
        self._recovered()

    def status(self) -> dict[str, Any]:
        if self._use_primary():
            with contextlib.suppress(CacheUnavailable):
                self.ping()
        out: dict[str, Any] = {"url": redact(self.url), "ok": not self.degraded}
        if self.degraded:
            out["error"] = self._error
            out["down_since"] = self._down_since
        return out

    def clear(self) -> None:
        self.fallback.clear()
        with contextlib.suppress(CacheUnavailable):
            self.primary.clear()

    def close(self) -> None:
        self.primary.close()


def open_cache(url: str | None = None, *, max_bytes: int | None = None) -> SharedCache:
    """The cache a URL names: ``memory://``, ``diskcache:///dir`` (or a bare folder), ``redis://...``."""
    from .settings import diskcache_path

    if url is None or url == "" or url.startswith("memory:"):
        return MemoryCache(max_bytes or DEFAULT_MEMORY_BYTES, url=url or "memory://")
    if isinstance(url, Path) or "://" not in str(url):
        return DiskCache(url, size_limit=max_bytes or DEFAULT_DISK_BYTES)
    scheme = url.partition(":")[0].lower()
    if scheme == "diskcache":
        return DiskCache(diskcache_path(url), size_limit=max_bytes or DEFAULT_DISK_BYTES)
    if scheme in ("redis", "rediss"):
        return FallbackCache(RedisCache(url))
    raise DashboardError(f"unknown cache URL {redact(url)!r}; use memory://, diskcache:///DIR or redis://HOST:PORT/DB")


__all__ = [
    "CacheUnavailable",
    "CodecError",
    "DiskCache",
    "FallbackCache",
    "MemoryCache",
    "RedisCache",
    "SharedCache",
    "decode_arrays",
    "encode_arrays",
    "open_cache",
    "redact",
]
