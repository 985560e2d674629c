"""Risk flowing back out: the background scorer's heads of configured live sources feed
``/metrics`` snapshots and, when an Alertmanager is configured, alert transitions.

:func:`attach_exports` subscribes both to a :class:`~dashboard.models.background.BackgroundScorer`;
its listeners run only in the elected process, once per new head.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import DashboardError
from ..models.explain import WINDOW_TICKS, explain
from ..sources.base import Window
from .alertmanager import AlertExporter
from .metrics import Snapshot, head_time, record

log = logging.getLogger(__name__)


def why_sentence(window: Window, scores: Any, server: int) -> str:
    """The Why of ``server`` at the scored tick, the sentence the Live tab's Why card shows:
    read from the model's contributions and ``window`` (the ticks up to the scored one)."""
    risk = float(scores.probability[server])
    return explain(window, server, risk, scores.contributions[server], scores.factors).sentence


def _why_of(source: Any, scores: Any) -> Callable[[int], str]:
    """``server -> sentence`` at ``scores``' tick; the window is read once, at the first alert."""
    read: list[Window | None] = []

    def why(server: int) -> str:
        if not read:
            try:
                read.append(source.window(int(scores.tick), WINDOW_TICKS))
            except DashboardError as exc:
                log.info("alerts: the window of tick %s cannot be read (%s); alerts go without the Why", scores.tick, exc)
                read.append(None)
        window = read[0]
        return why_sentence(window, scores, server) if window is not None else ""

    return why


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
            "why": _why_of(source, scores),
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
