"""The follow source: a growing CSV whose appended ticks appear at the next refresh."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from dashboard import schema
from dashboard.errors import DataError
from dashboard.sources import open_source

HEADER = "timestamp,server_name,cpu_pct\n"


def _tick(t: int, servers=("a", "b"), cpu: float | None = None) -> str:
    ts = f"2024-01-01T00:{t // 12:02d}:{(t % 12) * 5:02d}Z"
    return "".join(f"{ts},{s},{cpu if cpu is not None else t}\n" for s in servers)


def _append(path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_appended_tick_appears_at_the_next_refresh(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0) + _tick(1))
    src = open_source("follow:live.csv")
    assert src.live is True and src.kind == "follow"
    assert src.n_ticks() == 2
    assert src.get_current_progress() is None
    ident = src.identity()
    _append(path, _tick(2))
    assert src.n_ticks() == 3  # one call, no waiting
    assert src.batch(-1)["cpu_pct"].tolist() == [2.0, 2.0]
    assert src.identity() == ident  # ticks already read are unchanged
    assert src.window(2, 3).metrics["cpu_pct"].shape == (3, 2)


def test_seed_api_on_a_live_source(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    assert src.get_next_batch() is not None
    assert src.get_next_batch() is None  # nothing new yet
    _append(path, _tick(1))
    assert src.get_next_batch()["cpu_pct"].tolist() == [1.0, 1.0]
    assert src.get_current_progress() is None


def test_a_line_being_written_waits_for_its_newline(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    _append(path, "2024-01-01T00:00:05Z,a,")
    assert src.n_ticks() == 1
    _append(path, "7\n")
    assert src.n_ticks() == 2
    assert src.batch(1)["cpu_pct"].tolist() == [7.0]


def test_rows_completing_the_last_tick_join_it(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0) + _tick(1, servers=("a",)))
    src = open_source("follow:live.csv")
    ident = src.identity()
    _append(path, _tick(1, servers=("b",)))
    assert src.n_ticks() == 2
    assert src.batch(1)[schema.SERVER].tolist() == ["a", "b"]
    assert src.identity() != ident  # a tick already seen changed


def test_file_that_does_not_exist_yet(data_dir):
    src = open_source("follow:later.csv")
    assert src.n_ticks() == 0
    assert len(src.servers()) == 0
    assert src.get_next_batch() is None
    with pytest.raises(DataError, match="no ticks"):
        src.batch(0)
    (data_dir / "later.csv").write_text(HEADER)
    assert src.n_ticks() == 0
    _append(data_dir / "later.csv", _tick(0))
    assert src.n_ticks() == 1


def test_new_servers_join_the_end_of_the_axis(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    ident = src.identity()
    _append(path, _tick(1, servers=("a", "b", "c")))
    assert src.servers()[schema.SERVER].tolist() == ["a", "b", "c"]
    assert src.identity() != ident  # the server axis grew
    assert np.isnan(src.window(1, 2).metrics["cpu_pct"][0, 2])


def test_bad_appended_rows_are_skipped_and_reported(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    _append(path, _tick(1, cpu=500))
    assert src.n_ticks() == 1
    assert "line 4" in src.source.last_error and "out of range" in src.source.last_error
    assert any("skipped" in line for line in src.report())
    _append(path, _tick(2))
    assert src.n_ticks() == 2


def test_bad_rows_at_open_are_refused(data_dir):
    (data_dir / "live.csv").write_text(HEADER + _tick(0, cpu=500))
    with pytest.raises(DataError, match="line 2: out of range"):
        open_source("follow:live.csv")


def test_truncation_or_rotation_reads_from_the_start(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0) + _tick(1) + _tick(2))
    src = open_source("follow:live.csv")
    assert src.n_ticks() == 3
    rotated = data_dir / "new.csv"
    rotated.write_text(HEADER + _tick(5))
    ident = src.identity()
    os.replace(rotated, path)
    assert src.n_ticks() == 1
    assert src.identity() != ident
    assert any("truncated or replaced" in line for line in src.report())


def test_follow_refuses_a_directory(data_dir):
    (data_dir / "d").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        open_source("follow:d")


# -- incremental reading -----------------------------------------------------------------


def _count_parsed_rows(monkeypatch) -> list[int]:
    """Row counts of every frame the follow source parses from now on."""
    import dashboard.sources.follow as follow

    counts: list[int] = []
    real = follow.normalize

    def counting(frame, origin, opts):
        counts.append(len(frame))
        return real(frame, origin, opts)

    monkeypatch.setattr(follow, "normalize", counting)
    return counts


def test_an_appended_tick_parses_only_its_own_rows(data_dir, monkeypatch):
    path = data_dir / "live.csv"
    path.write_text(HEADER + "".join(_tick(t) for t in range(50)))
    src = open_source("follow:live.csv")
    assert src.n_ticks() == 50
    before = src.window(49, 50).metrics["cpu_pct"]
    counts = _count_parsed_rows(monkeypatch)
    _append(path, _tick(50))
    assert src.n_ticks() == 51
    assert counts == [2]  # the two rows of the new tick, not the file
    after = src.window(50, 51).metrics["cpu_pct"]
    assert np.shares_memory(before, after)  # written beside the rows read before, no rebuild
    assert after[-1].tolist() == [50.0, 50.0]
    assert before[-1].tolist() == [49.0, 49.0]  # a window handed out earlier is unchanged
    for t in range(51, 60):  # capacity grows by half: most appends write in place
        _append(path, _tick(t))
        assert src.n_ticks() == t + 1
    assert counts == [2] * 10
    assert src.window(-1, 60).metrics["cpu_pct"][:, 0].tolist() == list(map(float, range(60)))


def test_a_partial_line_is_not_parsed_until_its_newline(data_dir, monkeypatch):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    counts = _count_parsed_rows(monkeypatch)
    _append(path, "2024-01-01T00:00:05Z,a,1\n2024-01-01T00:00:05Z,b,9")  # b's value unfinished
    assert src.n_ticks() == 2
    assert counts == [1]
    assert src.batch(1)[schema.SERVER].tolist() == ["a"]
    _append(path, "5\n")
    assert src.n_ticks() == 2
    assert counts == [1, 1]
    assert src.batch(1)["cpu_pct"].tolist() == [1.0, 95.0]  # not 9: read whole, once


def test_a_server_appearing_later_has_an_absent_history(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + "".join(_tick(t) for t in range(3)))
    src = open_source("follow:live.csv")
    ident = src.identity()
    for t in range(3, 40):  # one more server than the capacity of the server axis
        _append(path, _tick(t, servers=("a", "b", "c")))
    assert src.n_ticks() == 40
    assert src.servers()[schema.SERVER].tolist() == ["a", "b", "c"]
    assert src.identity() != ident
    w = src.window(39, 40)
    assert np.isnan(w.metrics["cpu_pct"][:3, 2]).all()
    assert not w.extra["present"][:3, 2].any() and w.extra["present"][3:].all()
    assert w.metrics["cpu_pct"][3:, 2].tolist() == list(map(float, range(3, 40)))
    assert src.batch(1)[schema.SERVER].tolist() == ["a", "b"]
    assert src.batch(39)[schema.SERVER].tolist() == ["a", "b", "c"]
    assert any("appear after the first tick" in line and "c" in line for line in src.report())


def test_rows_for_earlier_ticks_are_placed_and_change_the_identity(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0) + _tick(2) + _tick(3))
    src = open_source("follow:live.csv")
    old = src.window(2, 3).metrics["cpu_pct"]
    ident = src.identity()
    _append(path, _tick(1) + _tick(4) + _tick(2, servers=("a",), cpu=7))  # late, new, replaced
    assert src.n_ticks() == 5
    assert src.identity() != ident
    cpu = src.window(4, 5).metrics["cpu_pct"]
    assert cpu.tolist() == [[0, 0], [1, 1], [7, 2], [3, 3], [4, 4]]
    assert old.tolist() == [[0, 0], [2, 2], [3, 3]]  # a window handed out earlier is unchanged
    report = src.report()
    assert any("not in time order; sorted" in line for line in report)
    assert any("1 duplicate (timestamp, server) rows" in line for line in report)
    ident = src.identity()
    _append(path, _tick(5))
    assert src.n_ticks() == 6 and src.identity() == ident  # back to plain appends


def test_the_follow_source_agrees_with_reading_the_whole_file(data_dir, fleet_frame):
    frame = fleet_frame(n_servers=7, n_ticks=30, truth=True)
    frame = frame[(frame.index % 11) != 3]  # holes
    text = frame.to_csv(index=False)
    path = data_dir / "live.csv"
    path.write_text(text[:200])
    src = open_source("follow:live.csv")
    rng = np.random.default_rng(4)
    cuts = sorted(rng.integers(200, len(text), 12).tolist()) + [len(text)]
    done = 200
    for cut in cuts:  # arbitrary byte boundaries: mid-line, mid-tick
        _append(path, text[done:cut])
        done = cut
        src.n_ticks()
    whole = open_source("csv:live.csv")
    assert src.servers().equals(whole.servers())
    assert np.array_equal(src.timestamps(), whole.timestamps())
    a, b = src.window(-1, 30), whole.window(-1, 30)
    for name in schema.METRIC_NAMES:
        assert np.array_equal(a.metrics[name], b.metrics[name], equal_nan=True)
    assert np.array_equal(a.phase, b.phase) and np.array_equal(a.problem_child, b.problem_child)
    assert np.array_equal(a.extra["present"], b.extra["present"])
    assert src.batch(5).equals(whole.batch(5))
    assert src.report() == whole.report()


def test_a_file_truncated_and_written_past_the_offset_is_read_again(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0) + _tick(1))
    src = open_source("follow:live.csv")
    assert src.n_ticks() == 2
    ident = src.identity()
    with open(path, "r+", encoding="utf-8") as fh:  # copy-and-truncate rotation, same inode
        fh.truncate(0)
        fh.write(HEADER + _tick(7, cpu=3) + _tick(8, cpu=4) + _tick(9, cpu=5))
    assert src.n_ticks() == 3
    assert src.window(2, 3).metrics["cpu_pct"][:, 0].tolist() == [3.0, 4.0, 5.0]
    assert src.identity() != ident
    assert any("truncated or replaced" in line for line in src.report())


def test_a_bad_append_is_skipped_without_disturbing_the_arrays(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    ident = src.identity()
    _append(path, _tick(1) + "2024-01-01T00:00:10Z,a,abc\n")
    assert src.n_ticks() == 1
    assert "line 6" in src.source.last_error and "not a number" in src.source.last_error
    assert any("lines 4..6 skipped" in line for line in src.report())
    _append(path, _tick(2))
    assert src.n_ticks() == 2
    assert src.batch(1)["cpu_pct"].tolist() == [2.0, 2.0]
    assert src.identity() == ident


def test_windows_stay_consistent_while_another_thread_appends(data_dir):
    import threading

    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    done = threading.Event()
    problems: list[str] = []

    def read() -> None:
        while not done.is_set():
            w = src.source.window(src.source.n_ticks() - 1, 8)
            if w.metrics["cpu_pct"].shape != (w.n_ticks, w.n_servers):
                problems.append(f"{w.metrics['cpu_pct'].shape} vs {(w.n_ticks, w.n_servers)}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for t in range(1, 60):
            _append(path, _tick(t, servers=("a", "b", f"s{t // 10}")))
            src.source.refresh()
    finally:
        done.set()
        reader.join()
    assert not problems
    assert src.n_ticks() == 60 and len(src.servers()) == 8


def test_a_short_appended_row_is_skipped_and_named_by_its_line(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _tick(0))
    src = open_source("follow:live.csv")
    _append(path, "2024-01-01T00:00:05Z,a\n")
    assert src.n_ticks() == 1
    assert "line 4 has 2 of the header's 3 fields" in src.source.last_error
    _append(path, _tick(2))
    assert src.n_ticks() == 2


def test_a_file_with_lone_cr_line_endings_is_followed(data_dir):
    path = data_dir / "live.csv"
    path.write_bytes((HEADER + _tick(0)).replace("\n", "\r").encode())
    src = open_source("follow:live.csv")
    assert src.n_ticks() == 1 and src.servers()[schema.SERVER].tolist() == ["a", "b"]
    with open(path, "ab") as fh:
        fh.write(_tick(1).replace("\n", "\r").encode())
    assert src.n_ticks() == 2
    assert src.batch(1)["cpu_pct"].tolist() == [1.0, 1.0]


# -- bounded memory: the newest ticks in memory, older ones read back from the file ----------


def _ticks(first: int, last: int, servers=("a", "b")) -> str:
    return "".join(_tick(t, servers, cpu=t % 90) for t in range(first, last))


def _same(follow, reference, end: int, length: int) -> None:
    a, b = follow.window(end, length), reference.window(end, length)
    assert a.end == b.end == end
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.metrics["cpu_pct"], b.metrics["cpu_pct"])
    np.testing.assert_array_equal(a.extra["present"], b.extra["present"])


def test_memory_holds_the_newest_ticks_and_older_ones_are_read_back(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _ticks(0, 200))
    src = open_source("follow:live.csv?keep=1min")  # 12 ticks of 5 s
    grid = src.source._grid
    assert src.n_ticks() == 200 and grid.t <= 12 + 64
    reference = open_source("live.csv")
    assert src.timestamps().tolist() == reference.timestamps().tolist()
    for end, length in ((199, 60), (150, 10), (20, 5), (0, 1), (130, 100)):
        _same(src, reference, end, length)
    pd.testing.assert_frame_equal(src.batch(3), reference.batch(3))
    assert any("are read back from the file" in line for line in src.report())
    ident = src.identity()
    _append(path, _ticks(200, 400))
    assert src.n_ticks() == 400 and src.source._grid.t <= 12 + 100
    assert src.identity() == ident  # evicting ticks changes no data
    reference = open_source("live.csv")
    for end, length in ((399, 60), (250, 30), (10, 10)):
        _same(src, reference, end, length)


def test_the_cell_budget_bounds_memory_whatever_keep_says(data_dir, monkeypatch):
    from dashboard.sources.follow import FollowSource

    monkeypatch.setattr(FollowSource, "KEEP_CELLS", 40)  # 20 ticks of 2 servers
    path = data_dir / "live.csv"
    path.write_text(HEADER + _ticks(0, 300))
    src = open_source("follow:live.csv")
    assert src.n_ticks() == 300
    capacity = src.source._grid.present.shape[0]
    for k in range(300, 600, 10):  # appending for a while: the arrays stop growing
        _append(path, _ticks(k, k + 10))
        assert src.n_ticks() == k + 10
        assert src.source._grid.t <= 20 + 64
    assert src.source._grid.present.shape[0] == capacity
    _same(src, open_source("live.csv"), 5, 5)


def test_rows_for_times_no_longer_in_memory_are_skipped_and_counted(data_dir):
    path = data_dir / "live.csv"
    path.write_text(HEADER + _ticks(0, 200))
    src = open_source("follow:live.csv?keep=1min")
    _append(path, _tick(3, ("c",), cpu=1.0) + _tick(200, cpu=1.0))
    assert src.n_ticks() == 201
    assert "c" not in src.servers()[schema.SERVER].tolist()
    assert any("1 rows arrived for times before the ticks in memory" in n for n in src.report())


def test_a_large_file_is_read_in_blocks_with_the_same_result(data_dir, monkeypatch):
    from dashboard.sources import follow

    monkeypatch.setattr(follow, "PIECE_BYTES", 300)
    path = data_dir / "live.csv"
    path.write_text(HEADER + _ticks(0, 100, servers=("a", "b", "c")))
    src = open_source("follow:live.csv")
    assert len(src.source._chunks._rows) > 10
    reference = open_source("live.csv")
    assert src.n_ticks() == reference.n_ticks() == 100
    _same(src, reference, 99, 100)


def test_a_named_single_server_keeps_repeated_times_and_reads_them_back(data_dir):
    path = data_dir / "one.csv"
    rows = "".join(
        f"2024-01-01T00:{t // 12:02d}:{(t % 12) * 5:02d}Z,{t % 90}\n" for t in range(150) for _ in (0, 1)
    )
    path.write_text("timestamp,cpu_pct\n" + rows)
    src = open_source("follow:one.csv?keep=1min&server=db")
    assert src.n_ticks() == 300  # every row a tick, repeats included
    reference = open_source("one.csv", server="db")
    assert reference.n_ticks() == 300
    for end, length in ((299, 30), (40, 20)):
        _same(src, reference, end, length)
    _append(path, "2024-01-01T00:00:00Z,1\n")  # before the newest: skipped
    assert src.n_ticks() == 300
    assert any("1 rows arrived for times before" in n for n in src.report())


def test_keep_must_be_a_positive_duration(data_dir):
    (data_dir / "live.csv").write_text(HEADER + _tick(0))
    with pytest.raises(DataError, match="keep: 'soon' is not a duration"):
        open_source("follow:live.csv?keep=soon")
    with pytest.raises(DataError, match="keep: the duration must be positive"):
        open_source("follow:live.csv?keep=-5min")
