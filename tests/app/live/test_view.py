"""The Live tab's view-model (Dash-free): KPI tiles, time since at risk, axis extents, marks."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.app.fleet import Extent, Fleet, Phase, iso_times
from dashboard.app.live import state
from dashboard.app.live.state import View
from dashboard.app.live.view import (
    duration_text,
    kpi_tiles,
    risk_since,
    slider_marks,
    window_extent,
)

SUMMARY = {"health": "critical", "at_risk": 4, "firing": 3, "pending": 1, "max": 0.95, "mean": 0.2, "fleet_size": 20}


def _fleet(n_ticks: int = 60, phases=()) -> Fleet:
    times = iso_times(np.datetime64("2025-01-01T00:00:00") + np.arange(n_ticks) * np.timedelta64(5, "s"))
    return Fleet("s", np.array(["a"]), np.array(["web"]), {"a": 0}, times, tuple(phases), None, False)


def test_every_kpi_tile_says_something_the_page_does_not_say_elsewhere():
    tiles = kpi_tiles(
        SUMMARY, riskiest_name="cache-000", since="1 min 40 s", since_clock="00:01:45", truth_phase="peak"
    )
    assert list(tiles) == ["health", "risk", "max", "since", "truth"]
    assert tiles["health"].extra == "3 firing · 1 pending"  # the firing count lives here only
    assert tiles["risk"].extra == "of 20 servers"  # the fleet's size, as it grows or shrinks
    assert tiles["max"].extra == "cache-000 · mean 20%"
    assert tiles["since"].value == "1 min 40 s" and tiles["since"].extra == "since 00:01:45"
    assert tiles["truth"].value == "peak" and "answer key" in tiles["truth"].extra
    texts = [t.value for t in tiles.values()] + [t.extra for t in tiles.values()]
    assert not any("tick" in t or "reset" in t for t in texts)  # the transport says those
    bigger = kpi_tiles({**SUMMARY, "fleet_size": 25}, riskiest_name=None, since=None, since_clock=None, truth_phase=None)
    assert bigger["risk"].extra == "of 25 servers"
    assert bigger["since"].value == "—" and bigger["truth"].level == "kpi-hidden"  # no answer key


@pytest.mark.parametrize(
    ("peak", "previous", "expected"),
    [
        ([0.1, 0.6, 0.7], None, 11),  # at risk since the second tick of the frame (first=10)
        ([0.6, 0.7, 0.8], None, 10),  # the whole frame: since its start
        ([0.6, 0.7], 3, 3),  # a patch continuing a run keeps its start
        ([0.6, 0.2], 3, None),  # quiet now
        ([np.nan, 0.6], None, 11),
    ],
)
def test_risk_since(peak, previous, expected):
    assert risk_since(np.array(peak), 10, 0.5, previous) == expected


def test_durations_read_naturally():
    assert [duration_text(s) for s in (4, 60, 100, 3725)] == ["4 s", "1 min", "1 min 40 s", "1 h 02 min"]


def test_a_first_frame_has_a_real_time_axis():
    fleet = _fleet(80)
    assert window_extent(fleet, 0) == Extent("2025-01-01T00:00:00", "2025-01-01T00:04:55", True)
    assert window_extent(fleet, 0, pad=True).start == "2024-12-31T23:59:57.500"
    full = window_extent(fleet, 70)  # a full window ends at its data: nothing to reach past
    assert full == Extent("2025-01-01T00:00:55", "2025-01-01T00:05:50", False)
    assert not window_extent(fleet, 70, pad=True).filling
    one = window_extent(_fleet(1), 0)
    assert one.start < one.end  # never a zero-width axis (plotly would invent one around the point)


def test_phase_marks_never_crowd():
    phases = [Phase("a", "stable", 0, 10), Phase("b", "peak", 10, 12), Phase("c", "recovery", 12, 60)]
    marks = slider_marks(_fleet(60, phases))
    assert list(marks) == ["10"]  # "c" would touch "b": left out
    labels = [m["label"] for m in slider_marks(_fleet(60, [*phases[:2], Phase("c", "recovery", 40, 60)])).values()]
    assert labels == ["b", "c"]


def test_links_count_ticks_from_one_like_the_page():
    view = View(source="s", model="heuristic", tick=40, params=(("sensitivity", 2.0),))
    query = state.to_query(view)
    assert "tick=41" in query and "p.sensitivity=2" in query
    back, problems = state.view_from_query(query, View(source="s", model="heuristic"), ["heuristic"])
    assert problems == [] and back.tick == 40 and back.params == (("sensitivity", "2"),)
    _, problems = state.view_from_query("?tick=0", View(source="s", model="m"), ["m"])
    assert problems and "between 1" in problems[0]
    fresh, _ = state.view_from_query("?speed=2", View(source="s", model="m"), ["m"])
    assert fresh.extra.get("fresh")  # no tick named: the callback picks the start
