"""Risk flowing back out: the background scorer's heads of configured live sources feed
``/metrics`` snapshots and, when an Alertmanager is configured, alert transitions.

:func:`attach_exports` subscribes both to a :class:`~dashboard.models.background.BackgroundScorer`;
its listeners run only in the elected process, once per new head.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import DashboardError
from .alertmanager import AlertExporter
from .metrics import Snapshot, head_time, record

log = logging.getLogger(__name__)


def why_sentence(source: Any, model: Any, scores: Any, server: int) -> str:
    """The Why of ``server`` at the scored tick, in words, from the model's contributions."""
    parts = [f"{factor} +{value:.0%}" for factor, value in scores.top_factors(server, 3)]
    return ("Drivers: " + ", ".join(parts) + ".") if parts else "Nothing stands out."


def attach_exports(services: Any, scorer: Any) -> AlertExporter | None:
    """Subscribe the snapshot writer (and the alert exporter) to ``scorer``; returns the exporter."""
    configured = set(services.configured_pairs())
    settings = services.settings

    def live_source(spec: str) -> Any | None:
        try:
            source = services.source(spec)
        except DashboardError:
            return None
        return source if getattr(source, "live", False) else None

    def snapshot(spec: str, model: str, scores: Any) -> None:
        if (spec, model) not in configured:
            return
        source = live_source(spec)
        if source is None:
            return
        services.process_metrics().heads_scored.inc()
        servers = source.servers()
        record(
            services.shared(),
            Snapshot(
                spec=spec,
                model=model,
                tick=int(scores.tick),
                time=head_time(source, int(scores.tick)),
                servers=tuple(servers["server_name"].astype(str)),
                profiles=tuple(servers["profile"].astype(str)),
                probability=np.asarray(scores.probability, dtype=np.float32),
                alert=np.asarray(scores.alert, dtype=np.int8),
            ),
        )

    scorer.subscribe(snapshot)
    if settings.alertmanager is None:
        return None

    def describe(spec: str, model: str, scores: Any) -> dict[str, Any] | None:
        if (spec, model) not in configured:
            return None
        source = live_source(spec)
        if source is None:
            return None
        servers = source.servers()
        tick = int(scores.tick)
        return {
            "servers": servers["server_name"].astype(str).to_numpy(),
            "profiles": servers["profile"].astype(str).to_numpy(),
            "time": head_time(source, tick),
            "why": lambda i: why_sentence(source, model, scores, int(i)),
        }

    exporter = AlertExporter(
        services.shared(),
        settings.alertmanager,
        describe=describe,
        base_url=settings.public_url,
        leader=lambda: bool(scorer.is_leader),
        metrics=services.process_metrics(),
    )
    scorer.subscribe(exporter.on_head)
    return exporter


__all__ = ["attach_exports", "why_sentence"]
