"""``/metrics``: each server's risk and alert state, in Prometheus's text format.

The deployment's background scorer (one process, elected) records a :class:`Snapshot` of
every configured live source's head in the shared cache, per model; ``/metrics`` in any
worker on any host renders the snapshots, so whichever worker a scrape reaches answers the
same series:

- ``fleet_risk_probability{source, model, server, profile}``: the incident probability;
- ``fleet_risk_alert_state{...}``: 0 normal, 1 pending, 2 firing, 3 recovering;
- ``fleet_risk_alert_active{...}``: 1 while firing or recovering (what a pager shows);
- ``fleet_risk_head_timestamp_seconds{source, model}``: the time of the tick scored;
- ``fleet_risk_servers_active{source, model}``.

Counters of what this process did (alerts posted, their failures, heads scored) use
prometheus_client's multiprocess mode under gunicorn (``PROMETHEUS_MULTIPROC_DIR``, set by
``gunicorn.conf.py``), summed over the host's workers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ..cache import CacheUnavailable, CodecError, SharedCache, decode_arrays, encode_arrays
from ..models.alerts import ACTIVE_STATES

log = logging.getLogger(__name__)

SNAPSHOT_PREFIX = "metrics:snapshot:"
SNAPSHOT_TTL_S = 3600.0  # a source nobody scores any more leaves /metrics within the hour
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format every Prometheus 2.x reads


@dataclass(frozen=True)
class Snapshot:
    """One scored head: the servers' probability and alert state at a tick."""

    spec: str
    model: str
    tick: int
    time: float  # the tick's time, Unix seconds
    servers: tuple[str, ...]
    profiles: tuple[str, ...]
    probability: np.ndarray  # float32 (N,)
    alert: np.ndarray  # int8 (N,)

    def encode(self) -> bytes:
        meta = {
            "spec": self.spec,
            "model": self.model,
            "tick": self.tick,
            "time": self.time,
            "servers": list(self.servers),
            "profiles": list(self.profiles),
        }
        return encode_arrays(
            [np.asarray(self.probability, dtype=np.float32), np.asarray(self.alert, dtype=np.int8)], meta
        )

    @classmethod
    def decode(cls, raw: bytes) -> Snapshot:
        (probability, alert), meta = decode_arrays(raw)
        return cls(
            spec=str(meta["spec"]),
            model=str(meta["model"]),
            tick=int(meta["tick"]),
            time=float(meta["time"]),
            servers=tuple(meta["servers"]),
            profiles=tuple(meta["profiles"]),
            probability=probability,
            alert=alert,
        )


def snapshot_key(spec: str, model: str) -> str:
    return SNAPSHOT_PREFIX + hashlib.sha256(json.dumps([spec, model]).encode()).hexdigest()[:32]


def record(shared: SharedCache, snapshot: Snapshot) -> None:
    shared.set(snapshot_key(snapshot.spec, snapshot.model), snapshot.encode(), ttl=SNAPSHOT_TTL_S)


def snapshots(shared: SharedCache, pairs: Iterable[tuple[str, str]]) -> list[Snapshot]:
    """The recorded snapshots of ``pairs`` (source spec, model); missing ones are left out."""
    pairs = list(pairs)
    if not pairs:
        return []
    out = []
    for raw in shared.get_many([snapshot_key(s, m) for s, m in pairs]):
        if raw is None:
            continue
        try:
            out.append(Snapshot.decode(raw))
        except (CodecError, KeyError, TypeError, ValueError):
            log.warning("a /metrics snapshot in the cache could not be read; it is skipped")
    return out


class RiskCollector:
    """A prometheus_client collector of the snapshots of ``pairs()`` (read at each scrape)."""

    def __init__(self, shared: Any, pairs: Any):
        self._shared = shared  # a SharedCache, or a callable returning one
        self._pairs = pairs  # callable: the (spec, model) pairs to export

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["source", "model", "server", "profile"]
        probability = GaugeMetricFamily(
            "fleet_risk_probability", "Incident probability of a server, as the dashboard's model scores it.", labels=labels
        )
        state = GaugeMetricFamily(
            "fleet_risk_alert_state", "Alert state of a server: 0 normal, 1 pending, 2 firing, 3 recovering.", labels=labels
        )
        active = GaugeMetricFamily(
            "fleet_risk_alert_active", "1 while a server's alert is firing or recovering, else 0.", labels=labels
        )
        head = GaugeMetricFamily(
            "fleet_risk_head_timestamp_seconds", "Time of the newest tick scored.", labels=["source", "model"]
        )
        count = GaugeMetricFamily(
            "fleet_risk_servers_active", "Servers whose alert is firing or recovering.", labels=["source", "model"]
        )
        shared = self._shared() if callable(self._shared) else self._shared
        try:
            found = snapshots(shared, self._pairs())
        except CacheUnavailable:
            found = []
        for snap in found:
            is_active = np.isin(snap.alert, ACTIVE_STATES)
            p = np.nan_to_num(np.asarray(snap.probability, dtype=np.float64))
            for i, (server, profile) in enumerate(zip(snap.servers, snap.profiles, strict=True)):
                values = [snap.spec, snap.model, server, profile]
                probability.add_metric(values, float(p[i]))
                state.add_metric(values, float(snap.alert[i]))
                active.add_metric(values, float(is_active[i]))
            head.add_metric([snap.spec, snap.model], snap.time)
            count.add_metric([snap.spec, snap.model], float(is_active.sum()))
        yield from (probability, state, active, head, count)


class ProcessMetrics:
    """Counters of this process's work, summed over a host's gunicorn workers (multiprocess mode)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.alerts_posted = Counter(
            "fleet_alertmanager_alerts_posted",
            "Alerts posted to Alertmanager, by kind (firing, resolved, refresh) and outcome (sent, failed).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.heads_scored = Counter(
            "fleet_scorer_heads", "Heads of live sources the background scorer scored.", registry=self.registry
        )

    def render(self, extra: Iterable[Any] = ()) -> bytes:
        """The exposition: this host's counters (every worker's, in multiprocess mode) and ``extra``."""
        registry = CollectorRegistry(auto_describe=False)
        folder = os.environ.get(MULTIPROC_VARIABLE)
        if folder and os.path.isdir(folder):
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry, path=folder)
        else:
            registry.register(_Forward(self.registry))
        for collector in extra:
            registry.register(collector)
        return generate_latest(registry)


class _Forward:
    """A registry's metrics, collected through another registry."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()


def head_time(source: Any, tick: int) -> float:
    stamps = np.asarray(source.timestamps())
    return float(stamps[tick].astype("datetime64[ms]").astype(np.int64)) / 1000.0 if tick < stamps.shape[0] else time.time()


__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_VARIABLE",
    "ProcessMetrics",
    "RiskCollector",
    "Snapshot",
    "head_time",
    "record",
    "snapshot_key",
    "snapshots",
]
