"""Dataset folders: a set of files written as one unit under a folder lock, and checked on read.

A dataset is a few files in one folder (CSV, Parquet, and a metadata JSON that records the
sha256 and size of each). :class:`DatasetWriter` writes them so that nobody sees a mix:

1. It holds the folder's lock (``.dataset.lock``, :mod:`filelock`) from start to end; a
   second writer is refused with a message naming the folder, or waits when asked.
2. Files are written into a staging folder inside the dataset folder (``.dataset-staging/``:
   same file system, so moving them in is a rename).
3. Commit: the staged files are flushed to disk, then a journal (``.dataset-commit.json``)
   lists the moves, then the files are moved into place, the metadata last, and the journal
   is removed. A writer killed half-way leaves the journal: the next writer, or a reader
   that finds the folder unlocked, finishes the moves, so the folder again holds one whole set.

Readers call :func:`settle` before reading a folder: it returns at once unless a commit is
in progress (it then waits for it) or was interrupted (it then finishes it). Whatever the
folder then holds is checked against the metadata by :func:`verify_file`: a file changed,
replaced or half-written after its metadata was written is refused, never read silently.

Anything in ``.dataset-staging/`` while no writer holds the lock is left over from a writer
that was killed; the next writer removes it (a writer still running holds the lock, so its
files are never touched). ``.dataset.lock`` may stay: it is empty and reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .atomic import fsync_dir, fsync_file, os_reason, write_bytes_atomic
from .errors import (
    CancelledError,
    DashboardError,
    FolderBusyError,
    IntegrityError,
    OutputExistsError,
    WriteError,
)

log = logging.getLogger(__name__)

LOCK_FILE = ".dataset.lock"
STAGING_DIR = ".dataset-staging"
JOURNAL_FILE = ".dataset-commit.json"
OWNER_FILE = ".dataset-writer.json"
# Files up to this size are checked in full (sha256) when opened; larger ones by size and,
# for Parquet, by the page checksums as pages are read (``verify="full"`` checks them in full).
FULL_CHECK_BYTES = 1_000_000_000
VERIFY_MODES = ("auto", "full", "size", "off")
_POLL_S = 0.05

Cancel = Callable[[], bool] | threading.Event | None
Progress = Callable[[int, int], None]


def is_cancelled(cancel: Cancel) -> bool:
    """Whether the cancellation hook (an :class:`threading.Event` or a callable) says stop."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def _check_cancel(cancel: Cancel, folder: Path) -> None:
    if is_cancelled(cancel):
        raise CancelledError(f"{folder}: cancelled; nothing was changed")


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"sha256": hex digest, "bytes": size}`` of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "bytes": size}


# -- the folder lock --------------------------------------------------------------------------


def _owner_text(folder: Path) -> str:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        return f" by process {int(owner['pid'])} since {owner['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _lock(folder: Path) -> FileLock:
    return FileLock(str(folder / LOCK_FILE))


def acquire_folder(
    folder: Path, wait: bool | float = False, cancel: Cancel = None, on_wait: Callable[[str], None] | None = None
) -> FileLock:
    """The folder's writer lock, held. ``wait``: False refuses at once, True waits as long as
    it takes, a number waits at most that many seconds; ``cancel`` stops the wait."""
    lock = _lock(folder)
    limit = math.inf if wait is True else float(wait or 0.0)
    deadline = time.monotonic() + limit
    told = False
    while True:
        _check_cancel(cancel, folder)
        try:
            lock.acquire(timeout=0 if limit <= 0 else min(0.2, max(0.0, deadline - time.monotonic())))
            return lock
        except Timeout:
            pass
        except OSError as exc:
            raise WriteError(f"{folder}: cannot lock the folder for writing: {os_reason(exc)}") from exc
        holder = _owner_text(folder)
        if time.monotonic() >= deadline:
            hint = (
                "wait for it (--wait), or write into another folder"
                if limit <= 0
                else f"gave up after waiting {limit:g} s"
            )
            raise FolderBusyError(
                f"{folder}: another dataset is being written into this folder{holder}; {hint}"
            )
        if not told and on_wait is not None:
            on_wait(f"{folder}: another dataset is being written into this folder{holder}; waiting for it")
            told = True


# -- commit journal ---------------------------------------------------------------------------


def _journal(folder: Path) -> Path:
    return folder / JOURNAL_FILE


def recover(folder: str | os.PathLike[str]) -> bool:
    """Finish a commit that a killed writer left half-done; the caller holds the folder lock.

    Returns True when there was one. Every staged file named in the journal was complete
    and on disk before the journal was written, so moving the rest into place is safe.
    """
    folder = Path(folder)
    if not _apply_journal(folder):
        return False
    log.warning("%s: finished a dataset commit that was interrupted", folder)
    return True


def _apply_journal(folder: Path) -> bool:
    """Do what the commit journal says (removals, then moves, metadata last); drop the journal."""
    journal = _journal(folder)
    try:
        plan = json.loads(journal.read_text(encoding="utf-8"))
        removes = [str(n) for n in plan["remove"]]
        moves = [(str(a), str(b)) for a, b in plan["move"]]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # The journal is written atomically, so this is not a torn write: leave it for a person.
        raise WriteError(
            f"{journal}: unreadable commit journal ({exc}); the folder may hold a mix of two "
            "datasets: generate it again with --force"
        ) from None
    for name in removes:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    for staged, name in moves:
        source = folder / staged
        if source.exists():
            os.replace(source, folder / name)
    fsync_dir(folder)
    journal.unlink()
    fsync_dir(folder)
    return True


def settle(folder: str | os.PathLike[str], timeout: float = 5.0) -> None:
    """Before reading a dataset folder: wait for a commit in progress, finish an interrupted one.

    Returns at once (one ``stat``) when no commit journal is there. Where the lock cannot be
    taken (a read-only folder) or the wait runs out, it returns anyway: the checks against
    the metadata then report what does not match.
    """
    folder = Path(folder)
    if not _journal(folder).exists():
        return
    deadline = time.monotonic() + timeout
    lock = _lock(folder)
    while _journal(folder).exists() and time.monotonic() < deadline:
        try:
            lock.acquire(timeout=_POLL_S)
        except Timeout:
            continue
        except OSError:
            return
        try:
            recover(folder)
        except (OSError, DashboardError) as exc:
            log.warning("%s: could not finish an interrupted dataset commit: %s", folder, exc)
            return
        finally:
            lock.release()


def tidy(folder: str | os.PathLike[str], names: Sequence[str], *, wait: float = 5.0) -> list[Path]:
    """Once no writer holds ``folder`` (waiting at most ``wait`` seconds), finish a commit a
    killed writer left half-done and remove what it staged (e.g. after a generation job was
    cancelled by killing it). Returns the files removed; nothing when the folder is busy."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    try:
        lock = acquire_folder(folder, wait)
    except (FolderBusyError, WriteError, CancelledError):
        return []
    try:
        recover(folder)
        return DatasetWriter(folder, names).clean_leftovers()
    finally:
        lock.release()


# -- the writer -------------------------------------------------------------------------------


class DatasetWriter:
    """Write a dataset's files into ``folder`` as one unit, holding the folder's lock.

    >>> with DatasetWriter("out", names=["a.parquet", "a_metadata.json"]) as w:  # doctest: +SKIP
    ...     table.to_parquet(w.path("a.parquet"))
    ...     w.write_bytes("a_metadata.json", json_bytes(w.record("a.parquet")))
    ...     w.commit()

    ``names`` are every file a dataset of this kind may hold: without ``force`` an existing
    one is refused; on commit, those not written this time are removed (they would describe
    an older dataset). Leaving the block without :meth:`commit` (an error, a cancellation)
    removes what was staged and changes nothing. ``wait`` and ``cancel`` as for
    :func:`acquire_folder`; :meth:`check_cancel` raises :class:`CancelledError` when asked.
    Errors of the file system become :class:`WriteError` naming the folder and the reason
    ("no space left on device"), after the staged files are removed.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        names: Sequence[str],
        *,
        force: bool = False,
        wait: bool | float = False,
        cancel: Cancel = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        self.folder = Path(folder)
        self.names = list(dict.fromkeys(names))
        self.force = force
        self.wait = wait
        self.cancel = cancel
        self.on_wait = on_wait
        self._lock: FileLock | None = None
        self._staging: Path | None = None
        self._written: dict[str, Path] = {}
        self._decided = False  # the commit journal is written: the set goes in whatever happens
        self.committed = False

    # -- entering: lock, recover, clean, refuse ---------------------------------------------
    def __enter__(self) -> DatasetWriter:
        if self.folder.exists() and not self.folder.is_dir():
            raise WriteError(f"{self.folder}: cannot write a dataset here: it is a file, not a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"{self.folder}: cannot create the folder: {os_reason(exc)}") from exc
        self._lock = acquire_folder(self.folder, self.wait, self.cancel, self.on_wait)
        try:
            self._prepare()
        except BaseException:
            self._release()
            raise
        return self

    def _prepare(self) -> None:
        try:
            write_bytes_atomic(
                self.folder / OWNER_FILE,
                json.dumps(
                    {"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
                ).encode(),
            )
            recover(self.folder)
            self.clean_leftovers()
        except OSError as exc:
            if isinstance(exc, DashboardError):
                raise
            raise WriteError(f"{self.folder}: cannot prepare the folder: {os_reason(exc)}") from exc
        if not self.force:
            existing = [n for n in self.names if (self.folder / n).exists()]
            if existing:
                raise OutputExistsError(
                    f"{', '.join(str(self.folder / n) for n in existing)}: already exists; "
                    "use --force (force=True) to replace the dataset"
                )
        staging = self.folder / STAGING_DIR / secrets.token_hex(6)
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise WriteError(f"{self.folder}: cannot write into the folder: {os_reason(exc)}") from exc
        self._staging = staging

    def clean_leftovers(self) -> list[Path]:
        """Remove what killed writers left here: staged files, and the hidden temporaries
        (``.<name>.<random>.tmp``) of this dataset's files that earlier versions wrote.
        Only called while holding the lock, so no running writer's files are touched."""
        staging = self.folder / STAGING_DIR
        removed = [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []
        for name in [*self.names, JOURNAL_FILE, OWNER_FILE]:  # also this module's own files
            removed.extend(self.folder.glob(f".{_glob_escape(name)}.*.tmp"))
        freed = sum(_size(p) for p in removed)
        shutil.rmtree(staging, ignore_errors=True)
        for temp in removed:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        if removed:
            log.info(
                "%s: removed %d file(s), %.1f MB, left by an interrupted writer",
                self.folder,
                len(removed),
                freed / 1e6,
            )
        return removed

    # -- writing ------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (a staged path; moved into place on commit)."""
        if self._staging is None:
            raise RuntimeError("DatasetWriter.path() outside its with block")
        if name not in self.names:
            raise ValueError(f"{name!r} is not one of this dataset's files: {self.names}")
        self._written[name] = self._staging / name
        return self._written[name]

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.path(name)
        with self.guard(), open(path, "wb") as fh:
            fh.write(data)
        return path

    def record(self, name: str) -> dict[str, Any]:
        """sha256 and size of the staged file ``name`` (for the metadata)."""
        with self.guard():
            return file_record(self._written[name])

    def check_cancel(self) -> None:
        _check_cancel(self.cancel, self.folder)

    @contextlib.contextmanager
    def guard(self):
        """Turn file-system errors inside the block into a :class:`WriteError` for the folder."""
        try:
            yield
        except DashboardError:
            raise
        except OSError as exc:
            raise WriteError(
                f"{self.folder}: cannot write the dataset: {os_reason(exc)}; nothing was changed"
            ) from exc

    def commit(self, last: str | None = None) -> list[Path]:
        """Move the staged files into place as one unit (``last``, the metadata, moved last);
        remove this dataset's other files. Returns the final paths, in the order written."""
        self.check_cancel()
        if not self._written:
            raise WriteError(f"{self.folder}: nothing was written")
        order = [n for n in self._written if n != last] + ([last] if last in self._written else [])
        removes = [n for n in self.names if n not in self._written and (self.folder / n).exists()]
        with self.guard():
            for name in order:
                if not self._written[name].is_file():
                    raise WriteError(f"{self.folder / name}: nothing was written for it")
                fsync_file(self._written[name])
            fsync_dir(self._staging)
            moves = [[str(self._written[n].relative_to(self.folder)), n] for n in order]
            write_bytes_atomic(
                _journal(self.folder),
                json.dumps({"remove": removes, "move": moves}, indent=1).encode(),
            )
        # From here the commit is decided: a failure leaves the journal for the next reader
        # or writer to finish.
        self._decided = True
        try:
            _apply_journal(self.folder)
        except OSError as exc:
            if isinstance(exc, DashboardError):
                raise
            raise WriteError(
                f"{self.folder}: the dataset commit stopped half-way ({os_reason(exc)}); "
                f"it is finished by the next reader or writer (see {JOURNAL_FILE})"
            ) from exc
        self.committed = True
        return [self.folder / n for n in order]

    # -- leaving ------------------------------------------------------------------------------
    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._decided and not self.committed:
                try:  # interrupted between moves (Ctrl+C): finish, else leave it to the next one
                    _apply_journal(self.folder)
                except (OSError, DashboardError):
                    return
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
                with contextlib.suppress(OSError):
                    self._staging.parent.rmdir()  # empty unless another writer crashed in it
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.folder / OWNER_FILE).unlink()
            self._lock.release()
            self._lock = None


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# -- checks on read ---------------------------------------------------------------------------


class _VerifiedFiles:
    """Files whose sha256 matched, per process, by path, size, mtime, ctime and inode.

    A file rewritten in place changes its ctime even when size and mtime are put back.
    """

    def __init__(self, size: int = 256):
        self._items: OrderedDict[tuple, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True
            return False

    def add(self, key: tuple) -> None:
        with self._lock:
            self._items[key] = None
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


VERIFIED = _VerifiedFiles()


def clear_verified() -> None:
    """Forget which files were verified (tests; a process that wants every check done again)."""
    VERIFIED.clear()


def check_verify_mode(mode: Any) -> str:
    text = "auto" if mode in (None, "") else str(mode).strip().lower()
    if text in ("1", "true", "yes"):
        text = "full"
    if text not in VERIFY_MODES:
        raise IntegrityError(f"verify: expected one of {', '.join(VERIFY_MODES)}, got {mode!r}")
    return text


def verify_file(
    path: str | os.PathLike[str], record: dict[str, Any], mode: str = "auto", *, described_by: str = "its metadata"
) -> str:
    """Check ``path`` against its metadata ``record`` (``sha256``, ``bytes``); return what was checked.

    ``auto``: size always; sha256 for files up to :data:`FULL_CHECK_BYTES` (cached per process
    while the file is unchanged); ``full``: sha256 whatever the size; ``size``: the size only;
    ``off``: nothing. Raises :class:`IntegrityError` on a mismatch.
    """
    path = Path(path)
    mode = check_verify_mode(mode)
    if mode == "off":
        return "not checked (verify=off)"
    try:
        expected_size = int(record["bytes"])
        expected_sha = str(record["sha256"]).lower()
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(
            f"{path}: {described_by} has no usable sha256 and size for it"
        ) from None
    st = path.stat()
    if st.st_size != expected_size:
        raise IntegrityError(
            f"{path}: {st.st_size:,} bytes, but {described_by} records {expected_size:,}: the "
            "file was changed, replaced or cut short after the dataset was written; "
            "generate the dataset again (or open the file without that metadata)"
        )
    if mode == "size":
        return "size checked (verify=size)"
    if mode == "auto" and st.st_size > FULL_CHECK_BYTES:
        return "size checked (sha256 skipped above 1 GB: verify=full checks it)"
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, expected_sha)
    if key in VERIFIED:
        return "sha256 checked"
    actual = file_record(path)["sha256"]
    if actual != expected_sha:
        raise IntegrityError(
            f"{path}: its sha256 is {actual[:16]}..., but {described_by} records "
            f"{expected_sha[:16]}...: the file was changed after the dataset was written "
            "(or belongs to another dataset); generate the dataset again (or open the file "
            "without that metadata)"
        )
    VERIFIED.add(key)
    return "sha256 checked"

