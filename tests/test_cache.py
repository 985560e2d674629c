"""The shared cache by URL: codec, batch reads, one computation per key, leases, Redis outages."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dashboard.cache import (
    CodecError,
    DiskCache,
    FallbackCache,
    MemoryCache,
    RedisCache,
    decode_arrays,
    encode_arrays,
    open_cache,
    redact,
)
from dashboard.models.scoring import ScoreCache, Scorer, score_key

from .models.fleets import synthetic_fleet
from .processes import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(params=["memory", "disk", "redis"])
def cache(request, tmp_path):
    if request.param == "memory":
        made = MemoryCache()
    elif request.param == "disk":
        made = DiskCache(tmp_path / "c")
    else:
        made = open_cache(request.getfixturevalue("redis_url"))
        made.clear()
    yield made
    made.close()


def test_codec_round_trips_arrays_and_meta_without_pickle():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, -1], np.int8), np.zeros(0, np.int32)]
    data = encode_arrays(arrays, {"factors": ["cpu", "latency"]})
    assert b"pickle" not in data and data[:4] == b"FRA1"
    back, meta = decode_arrays(data)
    for a, b in zip(arrays, back, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert meta == {"factors": ["cpu", "latency"]}


@pytest.mark.parametrize("bad", [b"", b"junk", encode_arrays([np.ones(4, np.float32)])[:-1], b"FRA1\xff\xff\xff\x7f{"])
def test_codec_refuses_corrupt_bytes(bad):
    with pytest.raises(CodecError):
        decode_arrays(bad)


def test_codec_refuses_object_arrays():
    with pytest.raises(CodecError):
        encode_arrays([np.array(["a"], dtype=object)])


def test_get_many_set_many_ttl_incr(cache):
    cache.set_many({"a": b"1", "b": b"2"})
    assert cache.get_many(["a", "x", "b"]) == [b"1", None, b"2"]
    cache.set("t", b"v", ttl=0.2)
    assert cache.get("t") == b"v"
    time.sleep(0.3)
    assert cache.get("t") is None
    assert cache.incr("n") == 1 and cache.incr("n", 2) == 3
    cache.delete("a")
    assert cache.get("a") is None


def test_a_lease_has_one_owner_until_it_expires(cache):
    assert cache.lease("scorer", "w1", ttl=0.3)
    assert cache.lease("scorer", "w1", ttl=0.3)  # the owner extends it
    assert not cache.lease("scorer", "w2", ttl=0.3)
    time.sleep(0.4)
    assert cache.lease("scorer", "w2", ttl=5)
    assert not cache.lease("scorer", "w1", ttl=5)


def test_a_lock_admits_one_thread_at_a_time(cache):
    inside, most = [0], [0]
    guard = threading.Lock()

    def work():
        with cache.lock("k", wait=10) as got:
            assert got
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            with guard:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert most[0] == 1


def test_a_lock_gives_up_after_its_wait(cache):
    with cache.lock("busy") as first:
        assert first
        result = []
        t = threading.Thread(target=lambda: result.append(cache.lock("busy", wait=0.1).__enter__()))
        t.start()
        t.join(10)
        assert result == [False]


def _score_in_process(url: str, calls_dir: str, barrier) -> None:
    """One worker process: score ticks 0..9 of the synthetic fleet through the shared cache."""
    from dashboard.models.heuristic import HeuristicModel
    from tests.models.fleets import synthetic_fleet as fleet

    class Counting(HeuristicModel):
        def score(self, window):
            with open(Path(calls_dir) / "calls", "a") as f:  # O_APPEND: whole lines
                f.write(f"{window.n_ticks}\n")
            time.sleep(0.02)  # long enough for the others to arrive and wait
            return super().score(window)

    scorer = Scorer(fleet(), Counting(), cache=open_cache(url))
    barrier.wait(30)
    scorer.probabilities(0, 9)


@pytest.mark.parametrize("kind", ["disk", "redis"])
def test_four_processes_compute_each_tick_once(kind, tmp_path, request):
    url = f"diskcache://{tmp_path / 'c'}" if kind == "disk" else request.getfixturevalue("redis_url")
    if kind == "redis":
        open_cache(url).clear()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_score_in_process, args=(url, str(tmp_path), barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert len((tmp_path / "calls").read_text().splitlines()) == 10


def test_keys_carry_schema_package_model_version_and_artifact():
    from dashboard.models.heuristic import HeuristicModel
    from dashboard.models.scoring import model_identity

    class Retrained(HeuristicModel):
        def artifact_hash(self):
            return "abc123"

    class Upgraded(HeuristicModel):
        version = "2"

    base = model_identity(HeuristicModel())
    assert base.endswith("@1#-")
    assert model_identity(Retrained()) != base and "abc123" in model_identity(Retrained())
    assert model_identity(Upgraded()) != base
    assert score_key("src", base, 3) != score_key("src", model_identity(Upgraded()), 3)
    assert score_key("src", base, 3).endswith("|3")


def test_an_upgraded_model_does_not_read_old_scores():
    from dashboard.models.heuristic import HeuristicModel

    cache = ScoreCache(MemoryCache())
    src = synthetic_fleet()
    first = Scorer(src, HeuristicModel(), cache=cache)
    first.probabilities(0, 4)

    class Upgraded(HeuristicModel):
        version = "2"

    again = Scorer(src, Upgraded(), cache=cache)
    again.probabilities(0, 4)
    assert first.computed == 5 and again.computed == 5


def test_redis_outage_falls_back_then_recovers(tmp_path):
    with redis_server(tmp_path / "r") as server:
        cache = FallbackCache(RedisCache(server.url, socket_timeout=0.3), retry_s=0.2)
        cache.set("k", b"v")
        assert cache.get("k") == b"v" and cache.status()["ok"]
        server.stop()
        assert cache.get("k") is None  # answered from this process, no exception
        cache.set("k2", b"local")
        assert cache.get("k2") == b"local"
        status = cache.status()
        assert status["ok"] is False and "cannot be reached" in status["error"]
        server.start()
        time.sleep(0.25)
        assert cache.status()["ok"]
        assert cache.get("k2") is None  # back on Redis (which restarted empty)


def test_redact_hides_passwords():
    assert redact("redis://user:secret@h:6379/0") == "redis://user:***@h:6379/0"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"
