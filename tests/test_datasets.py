"""Dataset folders: one writer at a time, whole-set commits, leftovers removed, checks on read."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from dashboard import datasets
from dashboard.datasets import (
    JOURNAL_FILE,
    LOCK_FILE,
    STAGING_DIR,
    DatasetWriter,
    acquire_folder,
    file_record,
    recover,
    settle,
    verify_file,
)
from dashboard.errors import (
    CancelledError,
    DashboardError,
    FolderBusyError,
    IntegrityError,
    OutputExistsError,
    WriteError,
)

NAMES = ["d.csv", "d.parquet", "d_metadata.json"]


def wait_until(predicate, timeout: float = 30.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        pause.wait(0.02)


def visible(folder) -> dict[str, bytes]:
    """The folder's files as a user lists them (hidden bookkeeping files left out)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def write_set(folder, tag: bytes, names=NAMES, **kwargs) -> list:
    with DatasetWriter(folder, names, **kwargs) as w:
        for name in names:
            w.write_bytes(name, tag + name.encode())
        return w.commit(last=names[-1])


def test_commit_moves_the_whole_set_in_and_leaves_only_the_lock(tmp_path):
    paths = write_set(tmp_path, b"one:")
    assert [p.name for p in paths] == NAMES
    assert visible(tmp_path) == {n: b"one:" + n.encode() for n in NAMES}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*NAMES, LOCK_FILE])


def test_existing_set_needs_force_and_force_replaces_it(tmp_path):
    write_set(tmp_path, b"one:")
    with pytest.raises(OutputExistsError, match="already exists; use --force"):
        write_set(tmp_path, b"two:")
    assert visible(tmp_path) == {n: b"one:" + n.encode() for n in NAMES}
    write_set(tmp_path, b"two:", force=True)
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}


def test_files_not_written_this_time_are_removed_on_commit(tmp_path):
    write_set(tmp_path, b"one:")
    with DatasetWriter(tmp_path, NAMES, force=True) as w:
        w.write_bytes("d.parquet", b"p")
        w.write_bytes("d_metadata.json", b"m")
        w.commit(last="d_metadata.json")
    assert visible(tmp_path) == {"d.parquet": b"p", "d_metadata.json": b"m"}


def test_a_second_writer_is_refused_naming_the_folder_and_the_holder(tmp_path):
    with DatasetWriter(tmp_path, NAMES) as first:
        first.write_bytes("d.csv", b"staged")
        with pytest.raises(FolderBusyError) as info:
            write_set(tmp_path, b"two:")
        message = str(info.value)
        assert message.startswith(f"{tmp_path}: another dataset is being written into this folder")
        assert f"by process {os.getpid()}" in message and "--wait" in message
        assert first.path("d.csv").read_bytes() == b"staged"  # the running writer's file is kept
        first.write_bytes("d.parquet", b"p")
        first.write_bytes("d_metadata.json", b"m")
        first.commit(last="d_metadata.json")
    assert visible(tmp_path) == {"d.csv": b"staged", "d.parquet": b"p", "d_metadata.json": b"m"}


def test_a_writer_in_another_thread_is_refused_too(tmp_path):
    outcome = []

    def second():
        try:
            write_set(tmp_path, b"two:")
            outcome.append("wrote")
        except FolderBusyError:
            outcome.append("refused")

    with DatasetWriter(tmp_path, NAMES):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(30)
    assert outcome == ["refused"]


def test_wait_waits_for_the_writer_in_progress(tmp_path):
    release = threading.Event()
    holding = threading.Event()
    messages = []

    def first():
        with DatasetWriter(tmp_path, NAMES) as w:
            holding.set()
            release.wait(30)
            for name in NAMES:
                w.write_bytes(name, b"one:" + name.encode())
            w.commit(last=NAMES[-1])

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(30)
    result = []
    waiter = threading.Thread(
        target=lambda: result.append(
            write_set(tmp_path, b"two:", force=True, wait=True, on_wait=messages.append)
        )
    )
    waiter.start()
    wait_until(lambda: messages)
    assert "waiting for it" in messages[0] and str(tmp_path) in messages[0]
    assert not result
    release.set()
    thread.join(30)
    waiter.join(30)
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}


def test_a_bounded_wait_gives_up_with_a_message(tmp_path):
    with DatasetWriter(tmp_path, NAMES), pytest.raises(FolderBusyError, match="waiting 0.2 s"):
        write_set(tmp_path, b"two:", wait=0.2)


def test_cancel_stops_a_wait_and_a_write_and_changes_nothing(tmp_path):
    write_set(tmp_path, b"one:")
    stop = threading.Event()
    with DatasetWriter(tmp_path, NAMES, force=True):
        stop.set()
        with pytest.raises(CancelledError, match="cancelled; nothing was changed"):
            write_set(tmp_path, b"two:", force=True, wait=True, cancel=stop)
    with pytest.raises(CancelledError), DatasetWriter(tmp_path, NAMES, force=True, cancel=lambda: True) as w:
        w.write_bytes("d.csv", b"x")
        w.commit()
    assert visible(tmp_path) == {n: b"one:" + n.encode() for n in NAMES}
    assert not (tmp_path / STAGING_DIR).exists()


def test_an_error_while_writing_changes_nothing_and_says_why(tmp_path, monkeypatch):
    write_set(tmp_path, b"one:")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datasets, "fsync_file", lambda path: full(0))
    with pytest.raises(WriteError) as info:
        write_set(tmp_path, b"two:", force=True)
    assert str(info.value) == (
        f"{tmp_path}: cannot write the dataset: no space left on device; nothing was changed"
    )
    assert isinstance(info.value, DashboardError) and isinstance(info.value, OSError)
    assert visible(tmp_path) == {n: b"one:" + n.encode() for n in NAMES}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*NAMES, LOCK_FILE])


def test_a_file_in_place_of_the_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WriteError, match="it is a file, not a folder"):
        write_set(blocker, b"one:")
    with pytest.raises(WriteError, match="not a directory"):
        write_set(blocker / "sub", b"one:")


# -- interrupted writers --------------------------------------------------------------------------


KILL_AFTER_FIRST_MOVE = """
import os, signal, sys
from dashboard import datasets
folder, names = sys.argv[1], sys.argv[2].split(",")
real = os.replace

def killed_after_first_move(src, dst):
    real(src, dst)
    if str(dst).endswith(names[0]):
        os.kill(os.getpid(), signal.SIGKILL)

datasets.os.replace = killed_after_first_move
with datasets.DatasetWriter(folder, names, force=True) as w:
    for name in names:
        w.write_bytes(name, b"two:" + name.encode())
    w.commit(last=names[-1])
"""


def interrupted_commit(folder) -> None:
    """A writer process killed (SIGKILL) right after the first of its three moves."""
    write_set(folder, b"one:")
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_FIRST_MOVE, str(folder), ",".join(NAMES)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (folder / JOURNAL_FILE).exists()
    # a mix: the new CSV beside the old Parquet and metadata
    assert (folder / "d.csv").read_bytes() == b"two:d.csv"
    assert (folder / "d.parquet").read_bytes() == b"one:d.parquet"


def test_a_reader_finishes_a_commit_its_killed_writer_left(tmp_path):
    interrupted_commit(tmp_path)
    settle(tmp_path)
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_the_next_writer_finishes_a_killed_commit_first(tmp_path):
    interrupted_commit(tmp_path)
    with pytest.raises(OutputExistsError):
        write_set(tmp_path, b"three:")
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}
    assert not (tmp_path / STAGING_DIR).exists()


def test_an_exception_between_moves_still_commits_the_whole_set(tmp_path, monkeypatch):
    write_set(tmp_path, b"one:")
    real = os.replace
    interrupted = []

    def interrupt_after_first_move(src, dst):
        real(src, dst)
        if str(dst).endswith("d.csv") and not interrupted:
            interrupted.append(dst)
            raise KeyboardInterrupt

    monkeypatch.setattr(datasets.os, "replace", interrupt_after_first_move)
    with pytest.raises(KeyboardInterrupt):
        write_set(tmp_path, b"two:", force=True)
    assert interrupted
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_a_reader_waits_for_a_commit_in_progress(tmp_path):
    (tmp_path / JOURNAL_FILE).write_text(json.dumps({"remove": [], "move": []}))
    lock = acquire_folder(tmp_path)
    done = threading.Event()
    reader = threading.Thread(target=lambda: (settle(tmp_path, timeout=30), done.set()))
    reader.start()
    assert not done.wait(0.3)  # the writer still holds the folder
    (tmp_path / JOURNAL_FILE).unlink()
    lock.release()
    reader.join(30)
    assert done.is_set()


def test_recover_without_a_journal_does_nothing(tmp_path):
    assert recover(tmp_path) is False


def test_leftovers_of_killed_writers_are_removed_by_the_next_writer(tmp_path):
    write_set(tmp_path, b"one:")
    staged = tmp_path / STAGING_DIR / "0123456789ab"
    staged.mkdir(parents=True)
    (staged / "d.parquet").write_bytes(b"x" * 1000)
    legacy = tmp_path / ".d.parquet.0123456789ab.tmp"  # what earlier versions left
    legacy.write_bytes(b"y" * 1000)
    other = tmp_path / ".notes.txt.0123456789ab.tmp"  # not a dataset file: not ours to remove
    other.write_bytes(b"z")
    journal_temp = tmp_path / f".{JOURNAL_FILE}.0123456789ab.tmp"
    journal_temp.write_bytes(b"{")
    write_set(tmp_path, b"two:", force=True)
    assert not staged.exists() and not legacy.exists() and not journal_temp.exists()
    assert other.exists()
    assert visible(tmp_path) == {n: b"two:" + n.encode() for n in NAMES}


# -- checks on read -------------------------------------------------------------------------------


def test_verify_accepts_the_file_its_record_describes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    record = file_record(path)
    assert record["bytes"] == 3000 and len(record["sha256"]) == 64
    assert verify_file(path, record) == "sha256 checked"
    assert verify_file(path, record, "off") == "not checked (verify=off)"


def test_verify_refuses_a_changed_size_and_a_changed_byte(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    record = file_record(path)
    path.write_bytes(b"abc" * 999)
    with pytest.raises(IntegrityError, match="2,997 bytes, but its metadata records 3,000"):
        verify_file(path, record)
    path.write_bytes(b"abd" + b"abc" * 999)
    with pytest.raises(IntegrityError, match="its sha256 is .*, but its metadata records"):
        verify_file(path, record)


def test_verify_remembers_a_checked_file_until_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    record = file_record(path)
    verify_file(path, record)
    calls = []
    monkeypatch.setattr(datasets, "file_record", lambda p: calls.append(p) or record)
    verify_file(path, record)
    assert calls == []  # cached: same path, size, times and inode
    st = path.stat()
    path.write_bytes(b"abd" + b"abc" * 999)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime, new content
    monkeypatch.setattr(datasets, "file_record", file_record)
    with pytest.raises(IntegrityError):
        verify_file(path, record)


def test_big_files_get_the_size_check_unless_full_is_asked(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    record = file_record(path)
    path.write_bytes(b"abd" + b"abc" * 999)
    monkeypatch.setattr(datasets, "FULL_CHECK_BYTES", 100)
    assert verify_file(path, record).startswith("size checked")
    with pytest.raises(IntegrityError):
        verify_file(path, record, "full")


def test_unknown_verify_mode_is_refused(tmp_path):
    with pytest.raises(IntegrityError, match="verify: expected one of auto, full, size, off"):
        verify_file(tmp_path, {"sha256": "0", "bytes": 0}, "sometimes")


KILLED_WHILE_WRITING = """
import os, signal, sys
from dashboard import datasets
folder, names = sys.argv[1], sys.argv[2].split(",")
with datasets.DatasetWriter(folder, names, force=True) as w:
    w.write_bytes(names[0], b"half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_tidy_removes_what_a_killed_writer_staged_and_keeps_the_set(tmp_path):
    write_set(tmp_path, b"one:")
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(tmp_path), ",".join(NAMES)],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert any((tmp_path / STAGING_DIR).rglob("*"))
    removed = datasets.tidy(tmp_path, NAMES)
    assert [p.name for p in removed] == [NAMES[0]]
    assert not (tmp_path / STAGING_DIR).exists()
    assert visible(tmp_path) == {n: b"one:" + n.encode() for n in NAMES}


def test_tidy_leaves_a_folder_someone_is_writing_alone(tmp_path):
    with datasets.DatasetWriter(tmp_path, NAMES) as w:
        w.write_bytes(NAMES[0], b"in progress")
        assert datasets.tidy(tmp_path, NAMES, wait=0.1) == []
        assert w.path(NAMES[0]).exists()
    assert datasets.tidy(tmp_path / "missing", NAMES) == []
