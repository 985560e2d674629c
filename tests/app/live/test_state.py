"""View-state validation and playback: pure functions, every input treated as hostile."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.app.live import state
from dashboard.app.live.state import View
from dashboard.app.validate import ViewError

DEFAULT = View(source="scenario:default", model="heuristic")
MODELS = ("heuristic", "phase-aware")


@pytest.mark.parametrize("value", [None, 3, ["a"], {"$where": 1}, "", "   ", "a\x00b", "x" * 600])
def test_clean_spec_rejects_non_text_and_control_chars(value):
    with pytest.raises(ViewError):
        state.clean_spec(value)


def test_clean_spec_keeps_text_hostile_or_not():
    assert (
        state.clean_spec(" ../../etc/passwd ") == "../../etc/passwd"
    )  # the source registry refuses it


@pytest.mark.parametrize("value,expected", [(0, 0), (5.0, 5), ("12", 12), (" 7 ", 7)])
def test_clean_tick_accepts_whole_numbers(value, expected):
    assert state.clean_tick(value) == expected


@pytest.mark.parametrize(
    "value", [True, -1, 1.5, float("nan"), float("inf"), "1e3", "abc", [1], None, 10**12]
)
def test_clean_tick_rejects(value):
    with pytest.raises(ViewError):
        state.clean_tick(value)


@pytest.mark.parametrize("value", [1, 2, 5, 10, "5"])
def test_clean_speed_accepts_the_offered_speeds(value):
    assert state.clean_speed(value) in state.SPEEDS


@pytest.mark.parametrize("value", [0, 3, 11, -1, "fast", None, True])
def test_clean_speed_rejects_others(value):
    with pytest.raises(ViewError):
        state.clean_speed(value)


def test_clean_model_only_known_names():
    assert state.clean_model("heuristic", MODELS) == "heuristic"
    with pytest.raises(ViewError, match="unknown model"):
        state.clean_model("<script>", MODELS)


def test_clean_selection_shapes():
    assert state.clean_selection(None) == ()
    assert state.clean_selection("web-000") == ("web-000",)
    assert state.clean_selection(["a", "a", "b"]) == ("a", "b")
    with pytest.raises(ViewError):
        state.clean_selection(["a", "b", "c", "d", "e"])
    with pytest.raises(ViewError):
        state.clean_selection({"a": 1})
    with pytest.raises(ViewError):
        state.clean_selection([1, 2])


def test_store_round_trip():
    view = View(
        source="s",
        model="heuristic",
        tick=7,
        speed=5,
        playing=False,
        selection=("web-000",),
        shown_key="k",
        shown_tick=7,
    )
    back, problems = state.view_from_store(view.to_store(), DEFAULT)
    assert problems == []
    assert (
        back.tick == 7 and back.speed == 5 and back.selection == ("web-000",) and not back.playing
    )
    assert back.shown_tick == 7


def test_store_garbage_gives_default_and_forces_full_paint():
    view, problems = state.view_from_store(
        {"tick": "x", "speed": 3, "shown_key": "k", "shown_tick": 4}, DEFAULT
    )
    assert problems and view.shown_key is None and view.shown_tick is None
    view, problems = state.view_from_store([1, 2], DEFAULT)
    assert view == DEFAULT and problems


def test_query_round_trip():
    view = View(
        source="parquet:demo data.parquet",
        model="phase-aware",
        tick=12,
        speed=2,
        selection=("web-000", "cache-000"),
        playing=False,
    )
    back, problems = state.view_from_query(state.to_query(view), DEFAULT, MODELS)
    assert problems == []
    assert (back.source, back.model, back.tick, back.speed, back.selection, back.playing) == (
        view.source,
        view.model,
        12,
        2,
        view.selection,
        False,
    )


def test_query_reports_bad_parameters_and_keeps_the_rest():
    view, problems = state.view_from_query(
        "?tick=abc&speed=3&model=nope&server=%3Cimg%20src%3Dx%3E&source=scenario:x", DEFAULT, MODELS
    )
    assert len(problems) == 3
    assert view.source == "scenario:x" and view.tick == 0 and view.selection == ("<img src=x>",)


@given(
    st.one_of(
        st.none(), st.text(max_size=300), st.integers(), st.lists(st.text(max_size=5), max_size=3)
    )
)
def test_query_parser_never_raises(search):
    view, problems = state.view_from_query(search, DEFAULT, MODELS)
    assert isinstance(view, View) and isinstance(problems, list)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "source",
                "model",
                "tick",
                "speed",
                "playing",
                "selection",
                "shown_key",
                "shown_tick",
                "strip_rows",
                "anchor_time",
                "ended",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=20),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
def test_store_parser_never_raises(data):
    view, problems = state.view_from_store(data, DEFAULT)
    assert isinstance(view, View) and isinstance(problems, list)


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
    )
)
def test_click_parser_raises_only_view_errors(click):
    with contextlib.suppress(ViewError):
        state.parse_click(click)


def test_parse_click_reads_server_and_time():
    click = {
        "points": [
            {"x": "2025-01-01 00:02:30", "y": "web-000", "customdata": "web-000", "curveNumber": 0}
        ]
    }
    assert state.parse_click(click) == state.Click(server="web-000", time="2025-01-01 00:02:30")
    with pytest.raises(ViewError):
        state.parse_click({"points": [{"x": "<script>"}]})


def _play(view, n, action="tick", **kw):
    return state.advance(
        view,
        action,
        n_ticks=n,
        live=kw.get("live", False),
        now=kw.get("now", 1000.0),
        refresh_sec=1.0,
    )


def test_playback_runs_to_an_end_state_and_reset_starts_over():
    view = View(source="s", model="m", tick=57, anchor_time=999.5, anchor_tick=57)
    view = _play(view, 60)
    assert view.tick == 58 and view.playing
    view = _play(view, 60)
    assert view.tick == 59 and view.ended and not view.playing
    view = _play(view, 60)  # a late refresh changes nothing
    assert view.tick == 59 and view.ended
    view = _play(view, 60, "reset")
    assert view.tick == 0 and view.playing and not view.ended


def test_play_at_the_end_replays():
    view = View(source="s", model="m", tick=59, ended=True, playing=False)
    view = _play(view, 60, "play")
    assert view.tick == 0 and view.playing and not view.ended


def test_steps_pause_and_stay_in_range():
    view = View(source="s", model="m", tick=0)
    view = _play(view, 60, "back")
    assert view.tick == 0 and not view.playing
    view = _play(view, 60, "forward")
    assert view.tick == 1 and not view.playing
    view = _play(view, 60, "tick")  # paused: a stray refresh does not move it
    assert view.tick == 1


def test_speed_moves_that_many_ticks():
    view = View(source="s", model="m", tick=10, speed=5, anchor_time=999.0, anchor_tick=10)
    assert _play(view, 60).tick == 15


def test_hidden_tab_catches_up_with_the_clock():
    view = View(source="s", model="m", tick=10, anchor_tick=10, anchor_time=1000.0)
    assert _play(view, 600, now=1001.1).tick == 11  # an ordinary refresh
    assert _play(view, 600, now=1030.2).tick == 40  # 30 s hidden: jump to where it should be


def test_a_live_source_opens_at_its_head_and_follows_it():
    view = replace(View(source="s", model="m"), extra={"fresh": True})
    view = state.advance(view, "load", n_ticks=10, live=True, now=1000.0, refresh_sec=1.0, start=3)
    assert view.tick == 9 and view.following and view.playing and not view.ended
    view = _play(view, 15, live=True)  # five ticks arrived since: the view is at the newest
    assert view.tick == 14 and view.following


def test_behind_a_live_head_the_view_is_not_live_until_it_returns():
    view = View(source="s", model="m", tick=14, following=True)
    view = state.advance(view, "back", n_ticks=15, live=True, now=1000.0, refresh_sec=1.0)
    assert view.tick == 13 and not view.following and not view.playing
    view = state.advance(view, "play", n_ticks=16, live=True, now=1001.0, refresh_sec=1.0)
    view = _play(view, 17, live=True)  # replays at its speed, one tick a refresh
    assert view.tick == 14 and not view.following
    view = state.advance(view, "live", n_ticks=20, live=True, now=1002.0, refresh_sec=1.0)
    assert view.tick == 19 and view.following and view.playing


def test_playback_that_catches_up_with_a_live_head_follows_it():
    view = View(source="s", model="m", tick=7, speed=5)
    view = _play(view, 10, live=True)
    assert view.tick == 9 and view.following


def test_a_replay_opened_afresh_starts_where_the_model_has_history():
    view = replace(View(source="s", model="m"), extra={"fresh": True})
    view = state.advance(view, "load", n_ticks=60, live=False, now=1000.0, refresh_sec=1.0, start=12)
    assert view.tick == 12 and not view.following
    short = state.advance(view, "load", n_ticks=5, live=False, now=1000.0, refresh_sec=1.0, start=12)
    assert short.tick == 4


def test_reset_starts_over_and_forgets_the_zoom():
    view = View(source="s", model="m", tick=40)
    reset = state.advance(view, "reset", n_ticks=60, live=False, now=1.0, refresh_sec=1.0, start=12)
    assert reset.tick == 12 and reset.zoom == view.zoom + 1
    assert reset.ui_key() != view.ui_key()
    for action in ("tick", "back", "forward", "scrub", "select", "speed"):
        moved = state.advance(view, action, n_ticks=60, live=False, now=1.0, refresh_sec=1.0)
        assert moved.ui_key() == view.ui_key(), action  # the zoom survives


def test_patch_gap():
    view = View(source="s", model="m", tick=5)
    assert state.patch_gap(view) is None
    shown = View(source="s", model="m", tick=6, shown_tick=5, shown_key=view.key())
    assert state.patch_gap(shown) == 1
    assert (
        state.patch_gap(View(source="s", model="m", tick=50, shown_tick=5, shown_key=view.key()))
        is None
    )
    other = View(
        source="s", model="m", tick=6, shown_tick=5, shown_key=view.key(), selection=("a",)
    )
    assert state.patch_gap(other) is None


def test_the_metrics_focus_survives_the_store_and_a_repaint_forgets_it():
    view = replace(DEFAULT, shown_key="k", shown_tick=3, metrics_focus="web-000")
    back, problems = state.view_from_store(view.to_store(), DEFAULT)
    assert problems == [] and back.metrics_focus == "web-000"
    assert view.repainted().metrics_focus is None
    none, problems = state.view_from_store(DEFAULT.to_store(), DEFAULT)
    assert problems == [] and none.metrics_focus is None


@pytest.mark.parametrize("forged", [3, ["web-000"], "", "a\x00b", "x" * 500])
def test_a_forged_metrics_focus_is_dropped_and_forces_a_full_paint(forged):
    data = {**replace(DEFAULT, shown_key="k", shown_tick=3).to_store(), "metrics_focus": forged}
    view, problems = state.view_from_store(data, DEFAULT)
    assert problems and view.metrics_focus is None and view.shown_key is None
