"""Atomic writes: the target holds the old bytes or the new ones, never a partial file."""

from __future__ import annotations

import errno
import os

import pytest

from dashboard import atomic
from dashboard.atomic import (
    atomic_path,
    atomic_paths,
    commit,
    temp_path_for,
    write_bytes_atomic,
    write_text_atomic,
)
from dashboard.errors import DashboardError, OutputExistsError, WriteError


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_bytes_creates_and_replaces(tmp_path):
    target = tmp_path / "a.bin"
    assert write_bytes_atomic(target, b"one") == target
    assert target.read_bytes() == b"one"
    write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert _leftovers(tmp_path) == []


def test_write_text_encodes_utf8(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()


def test_no_overwrite_refuses_existing_and_keeps_it(tmp_path):
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="already exists") as info:
        write_bytes_atomic(target, b"new", overwrite=False)
    assert isinstance(info.value, DashboardError)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_no_overwrite_creates_missing_target(tmp_path):
    target = tmp_path / "new.json"
    write_bytes_atomic(target, b"x", overwrite=False)
    assert target.read_bytes() == b"x"


def test_commit_no_overwrite_race_is_refused(tmp_path):
    # The target appears after the up-front check: the link-based commit still refuses it.
    target = tmp_path / "t"
    temp = temp_path_for(target)
    temp.write_bytes(b"mine")
    target.write_bytes(b"theirs")
    with pytest.raises(OutputExistsError):
        commit(temp, target, overwrite=False)
    assert target.read_bytes() == b"theirs"
    assert not temp.exists()


def test_failure_inside_block_leaves_target_and_no_temp(tmp_path):
    target = tmp_path / "data.csv"
    target.write_bytes(b"original")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_bytes(b"half-writ")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"original"
    assert _leftovers(tmp_path) == []


def test_temp_lives_beside_target_and_is_hidden(tmp_path):
    target = tmp_path / "sub" / "x.parquet"
    temp = temp_path_for(target)
    assert temp.parent == target.parent
    assert temp.name.startswith(".x.parquet.") and temp.name.endswith(".tmp")
    assert temp_path_for(target) != temp


def test_atomic_paths_commits_all_in_order(tmp_path):
    targets = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    with atomic_paths(targets) as temps:
        assert all(not t.exists() for t in targets)
        for i, temp in enumerate(temps):
            temp.write_bytes(str(i).encode())
    assert [t.read_bytes() for t in targets] == [b"0", b"1", b"2"]
    assert _leftovers(tmp_path) == []


def test_atomic_paths_failure_commits_nothing(tmp_path):
    targets = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(ValueError), atomic_paths(targets) as temps:
        temps[0].write_bytes(b"a")
        raise ValueError("boom")
    assert not any(t.exists() for t in targets)
    assert _leftovers(tmp_path) == []


def test_atomic_paths_refuses_missing_temp(tmp_path):
    targets = [tmp_path / "a", tmp_path / "b"]
    with (
        pytest.raises(WriteError, match="nothing was written"),
        atomic_paths(targets) as temps,
    ):
        temps[0].write_bytes(b"a")
    assert not any(t.exists() for t in targets)


def test_atomic_paths_no_overwrite_checks_before_writing(tmp_path):
    (tmp_path / "b").write_bytes(b"keep")
    entered = False
    with (
        pytest.raises(OutputExistsError, match="b: already exists"),
        atomic_paths([tmp_path / "a", tmp_path / "b"], overwrite=False),
    ):
        entered = True
    assert not entered
    assert not (tmp_path / "a").exists()


def test_replaced_file_is_a_new_inode(tmp_path):
    # Readers holding the old file keep reading the old bytes.
    target = tmp_path / "f"
    target.write_bytes(b"old")
    with open(target, "rb") as reader:
        write_bytes_atomic(target, b"new")
        assert reader.read() == b"old"
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_size == 3


def test_missing_folder_names_the_target_not_the_temporary_file(tmp_path):
    target = tmp_path / "missing" / "card.json"
    with pytest.raises(WriteError) as info:
        write_text_atomic(target, "{}")
    message = str(info.value)
    assert message.startswith(f"{target}: cannot write it: the folder {target.parent} does not exist")
    assert ".tmp" not in message
    assert isinstance(info.value, OSError)  # callers catching OSError keep working


def test_full_disk_names_the_target_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(WriteError) as info:
        write_bytes_atomic(target, b"new")
    assert str(info.value) == (
        f"{target}: cannot write it: no space left on device; the previous file is unchanged"
    )
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []
