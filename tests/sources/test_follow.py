"""The follow source: a growing CSV whose appended ticks appear at the next refresh."""

from __future__ import annotations

import os

import numpy as np
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
