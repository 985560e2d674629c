"""Atomic file writes: readers see the old file or the whole new one, never a half-written one.

Every write goes to a temporary file in the target's directory (same file system, so the
final ``os.replace`` is atomic), is flushed and fsync'ed, then renamed over the target.
On any failure the temporary file is removed and the target is left untouched, and the
error names the target (never the hidden temporary file) and why, e.g. a full disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import DashboardError, OutputExistsError, WriteError

TEMP_SUFFIX = ".tmp"


def temp_path_for(target: str | os.PathLike[str]) -> Path:
    """A fresh, hidden temporary path beside ``target`` (same directory, same file system)."""
    target = Path(target)
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Flush a directory entry (the rename) to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def os_reason(exc: OSError) -> str:
    """Why an OS call failed, in words (``no space left on device``), without file names."""
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno == errno.EFBIG:
        return "file too large for this file system (or the process's file size limit)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


def check_folder(target: str | os.PathLike[str]) -> None:
    """Refuse, naming ``target``, when the folder it would be written into does not exist."""
    folder = Path(target).parent
    if not folder.is_dir():
        why = "is not a folder" if folder.exists() else "does not exist"
        raise WriteError(f"{target}: cannot write it: the folder {folder} {why}")


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def commit(
    temp: str | os.PathLike[str], target: str | os.PathLike[str], *, overwrite: bool = True
) -> Path:
    """Move a finished temporary file onto ``target`` atomically.

    With ``overwrite=False`` an existing target is never replaced: the move uses a hard link,
    which fails atomically when the target exists, and raises :class:`OutputExistsError`.
    """
    temp, target = Path(temp), Path(target)
    fsync_file(temp)
    if overwrite:
        os.replace(temp, target)
    else:
        try:
            os.link(temp, target)
        except FileExistsError:
            _remove_quietly(temp)
            raise OutputExistsError(f"{target}: already exists; refusing to overwrite it") from None
        except OSError:
            # File systems without hard links: a check-then-rename is the best available.
            if target.exists():
                _remove_quietly(temp)
                raise OutputExistsError(
                    f"{target}: already exists; refusing to overwrite it"
                ) from None
            os.replace(temp, target)
        else:
            _remove_quietly(temp)
    fsync_dir(target.parent)
    return target


@contextlib.contextmanager
def atomic_paths(
    targets: Sequence[str | os.PathLike[str]], *, overwrite: bool = True
) -> Iterator[list[Path]]:
    """Yield one temporary path per target; on success move them all into place, in order.

    Write each file completely to its temporary path inside the ``with`` block. If the block
    raises, every temporary file is removed and no target changes. With ``overwrite=False``
    existing targets are refused before anything is written.
    """
    targets = [Path(t) for t in targets]
    for target in targets:
        check_folder(target)
    if not overwrite:
        existing = [str(t) for t in targets if t.exists()]
        if existing:
            raise OutputExistsError(
                f"{', '.join(existing)}: already exists; refusing to overwrite it"
            )
    temps = [temp_path_for(t) for t in targets]
    done = 0
    try:
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            if not temp.exists():
                raise WriteError(f"{target}: nothing was written for it")
        for temp, target in zip(temps, targets, strict=True):
            commit(temp, target, overwrite=overwrite)
            done += 1
    except DashboardError:
        raise
    except OSError as exc:
        failed = targets[min(done, len(targets) - 1)]
        kept = (
            "the previous file is unchanged"
            if done == 0
            else f"{', '.join(map(str, targets[:done]))} already replaced"
        )
        raise WriteError(f"{failed}: cannot write it: {os_reason(exc)}; {kept}") from exc
    finally:
        for temp in temps:
            _remove_quietly(temp)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path for ``target``; on success move it into place atomically.

    >>> with atomic_path("out.parquet") as tmp:   # doctest: +SKIP
    ...     table.to_parquet(tmp)
    """
    with atomic_paths([target], overwrite=overwrite) as (temp,):
        yield temp


def write_bytes_atomic(
    target: str | os.PathLike[str], data: bytes, *, overwrite: bool = True
) -> Path:
    """Write ``data`` to ``target`` atomically and return the target path."""
    with atomic_path(target, overwrite=overwrite) as temp, open(temp, "wb") as fh:
        fh.write(data)
    return Path(target)


def write_text_atomic(
    target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", overwrite: bool = True
) -> Path:
    """Write ``text`` to ``target`` atomically (newlines kept as given) and return the target path."""
    return write_bytes_atomic(target, text.encode(encoding), overwrite=overwrite)
