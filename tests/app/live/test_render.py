"""The Live tab's figures for fleets with nothing to draw: a message everywhere, never an error."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dashboard.app.arrays import fleet_bands
from dashboard.app.captions import METRIC_PANELS, NO_SCORES
from dashboard.app.fleet import Fleet, iso_times
from dashboard.app.live import ids
from dashboard.app.live.render import axes_for, full_figures, metrics_card, why_values
from dashboard.app.live.state import View
from dashboard.app.live.view import Frame, can_patch, why_card

TICKS = 5


def _frame(n_servers: int, probability: float) -> Frame:
    times = iso_times(
        np.datetime64("2025-01-01T00:00:00") + np.arange(TICKS).astype("timedelta64[s]")
    )
    names = np.array([f"web-{i:03d}" for i in range(n_servers)], dtype=str)
    fleet = Fleet(
        spec="test",
        names=names,
        profiles=np.array(["web"] * n_servers, dtype=str),
        index={name: i for i, name in enumerate(names)},
        times=times,
        phases=(),
        metadata=None,
        live=False,
    )
    scores = SimpleNamespace(
        probability=np.full(n_servers, probability),
        alert=np.zeros(n_servers, dtype=np.int8),
        contributions=np.zeros((n_servers, 2)),
        factors=("cpu", "latency"),
    )
    metrics = {
        name: np.full((TICKS, n_servers), 40.0, np.float32) for name, _l, _f in METRIC_PANELS
    }
    return Frame(
        fleet=fleet,
        first=0,
        tick=TICKS - 1,
        times=times,
        probability=np.full((TICKS, n_servers), probability, np.float32),
        metrics=metrics,
        scores=scores,
        threshold=0.5,
        clear_threshold=0.3,
    )


def _notes(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"].get("annotations", [])]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "n_servers,probability,note",
    [(0, 0.0, "no servers in this source"), (3, np.nan, NO_SCORES)],
)
def test_nothing_to_draw_gives_messages_and_no_patch(n_servers, probability, note):
    frame = _frame(n_servers, probability)
    view = View("test", "heuristic", tick=TICKS - 1)
    axes = axes_for(frame.fleet, frame.tick)
    top5, trend, strip, _own = full_figures(frame, view, axes)
    _metrics, focus, _subtitle = metrics_card(frame, view, axes)
    assert len(_notes(top5)) == 1 and _notes(trend) == [note] and _notes(strip) == [note]
    assert focus is None  # no riskiest server to stand in for a selection
    why = why_values(why_card(frame, view, None), view, True)
    assert why[(ids.WHY_SERVER, "children")] == "—"
    assert not can_patch(frame)  # full figures until there is something to draw


def test_no_servers_means_no_fleet_band_either():
    median, p95 = fleet_bands(np.zeros((TICKS, 0), np.float32))
    assert np.isnan(median).all() and np.isnan(p95).all()
    frame = _frame(0, 0.0)
    view = View("test", "heuristic", tick=TICKS - 1)
    metrics, _focus, _subtitle = metrics_card(frame, view, axes_for(frame.fleet, frame.tick))
    assert "no CPU data" in _notes(metrics)
