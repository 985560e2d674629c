"""The background scorer: one elected per shared cache, scores watched sources at their head."""

from __future__ import annotations

import time

import numpy as np

from dashboard.cache import DiskCache, MemoryCache
from dashboard.models.background import BackgroundScorer, heads, watch, watched
from dashboard.models.scoring import ScoreCache, Scorer
from tests.processes import wait_until

from .fleets import ArraySource


class GrowingSource(ArraySource):
    """An array source whose visible length grows, like a followed file."""

    live = True

    def __init__(self, total: int = 40, servers: int = 5):
        rng = np.random.default_rng(0)
        super().__init__({"cpu_pct": rng.uniform(10, 90, (total, servers))}, ["web"] * servers, ident="growing")
        self.visible = 10

    def n_ticks(self):
        return self.visible


def _scorers(shared, source):
    made = {}

    def make(spec, model):
        return made.setdefault((spec, model), Scorer(source, model, cache=ScoreCache(shared)))

    return make, made


def test_one_of_two_processes_is_elected_and_scores_the_head(tmp_path):
    shared_a, shared_b = DiskCache(tmp_path / "c"), DiskCache(tmp_path / "c")  # two workers' handles
    source = GrowingSource()
    make_a, made_a = _scorers(shared_a, source)
    make_b, made_b = _scorers(shared_b, source)
    a = BackgroundScorer(shared_a, make_a, configured=[("growing", "heuristic")], lease_ttl=0.5)
    b = BackgroundScorer(shared_b, make_b, configured=[("growing", "heuristic")], lease_ttl=0.5)
    got = []
    a.subscribe(lambda spec, model, scores: got.append((spec, scores.tick)))
    assert [h.tick for h in a.step()] == [9]
    assert b.step() == [] and a.is_leader and not b.is_leader
    assert got == [("growing", 9)]
    assert heads(shared_b)[("growing", "heuristic")].tick == 9  # readable from the other worker
    assert a.step() == []  # nothing new
    source.visible = 12
    assert [h.tick for h in a.step()] == [11]
    # the leader stops: the other takes over once the lease expires, computing nothing twice
    time.sleep(0.6)
    assert [h.tick for h in b.step()] == [11] and b.is_leader
    assert made_b[("growing", "heuristic")].computed == 0  # tick 11 came from the shared cache
    assert not a.step() and not a.is_leader


def test_browsers_register_what_they_watch():
    shared = MemoryCache()
    watch(shared, "follow:now.csv", "heuristic")
    watch(shared, "follow:now.csv", "heuristic")
    assert watched(shared) == [("follow:now.csv", "heuristic")]


def test_a_broken_source_does_not_stop_the_others():
    shared = MemoryCache()
    source = GrowingSource()

    def make(spec, model):
        if spec == "broken":
            from dashboard.errors import DataError

            raise DataError("broken: cannot read")
        return Scorer(source, model, cache=ScoreCache(shared))

    scorer = BackgroundScorer(shared, make, configured=[("broken", "heuristic"), ("ok", "heuristic")])
    assert [h.spec for h in scorer.step()] == ["ok"]


def test_the_thread_starts_and_stops():
    shared = MemoryCache()
    source = GrowingSource()
    scorer = BackgroundScorer(shared, lambda s, m: Scorer(source, m, cache=ScoreCache(shared)),
                              configured=[("g", "heuristic")], interval_s=0.05).start()
    try:
        wait_until(lambda: heads(shared), 10, "a head")
    finally:
        scorer.stop()
