"""The scenario library: bundled scenarios (read-only) and the user's own, saved safely.

- Bundled scenarios live in ``Settings.scenario_dir`` and are never written. User scenarios
  live in ``Settings.user_scenario_dir``; a user scenario cannot take a bundled one's name.
  :meth:`Library.entries` lists bundled then user scenarios, broken files with their error.
- :meth:`Library.save` writes ``<name>.json`` atomically while holding a file lock that every
  process and host sharing the folder sees (:mod:`filelock`), after a version check: a file
  someone else saved after you opened it is never overwritten silently
  (:class:`ConflictError`), nor is one you did not open (:class:`NameTakenError`); an
  explicit ``overwrite`` is needed for both.
- :meth:`Library.snapshot` keeps a scenario that was not saved under a name derived from its
  content (``draft-<hash>``), so that any worker can open it as ``scenario:draft-<hash>``.

The folder must be on a file system with working ``flock`` (a local disk, or NFS with
locking); messages name files by their folder and name, never by absolute path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..atomic import os_reason, write_bytes_atomic
from ..auth import audit_save
from ..errors import DashboardError, ScenarioError, WriteError
from ..scenario import MAX_FILE_BYTES, NAME_PATTERN, Scenario, parse_scenario
from .names import DRAFT_PREFIX, ScenarioNameError, check_name, slug

log = logging.getLogger(__name__)

BUNDLED, USER = "bundled", "user"
LOCK_FILE = ".library.lock"
DRAFTS_DIR = ".drafts"
LOCK_TIMEOUT_S = 10.0
DRAFTS_KEPT = 200  # drafts beyond this many (oldest first) are removed when one is added
DRAFT_MAX_AGE_S = 7 * 24 * 3600.0
_CACHED_ENTRIES = 512


def _write(path: Path, payload: bytes, what: str, after: str = "") -> None:
    """Write atomically; a failure says ``what`` failed and why, never the temporary's name."""
    try:
        write_bytes_atomic(path, payload)
    except (WriteError, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        reason = os_reason(cause) if isinstance(cause, OSError) else str(exc)
        raise WriteError(f"{what}: {reason}{after}") from None


def version_of(data: bytes) -> str:
    """A file's version: the first 16 hex digits of its sha256 (changes with any byte)."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """One scenario file of the library, or the error that keeps it from loading."""

    name: str
    kind: str  # BUNDLED or USER
    path: Path
    label: str  # "<folder>/<file>": how messages name the file
    version: str | None = None
    title: str = ""
    description: str = ""
    error: str | None = None

    @property
    def read_only(self) -> bool:
        return self.kind == BUNDLED


@dataclass(frozen=True)
class Saved:
    """What :meth:`Library.save` did: the new file and version, and the version it replaced."""

    entry: Entry
    version: str
    replaced: str | None  # the previous version, None when the file is new


class NameTakenError(DashboardError):
    """A user scenario of that name exists and was not opened here: overwrite or save as."""

    def __init__(self, message: str, name: str, version: str):
        super().__init__(message)
        self.name = name
        self.version = version


class ConflictError(DashboardError):
    """Someone saved the scenario after it was opened here; ``theirs`` is what they saved."""

    def __init__(self, message: str, name: str, theirs: bytes, version: str):
        super().__init__(message)
        self.name = name
        self.theirs = theirs
        self.version = version


class Library:
    """The bundled folder (read-only) and the user folder, as one list of scenarios."""

    def __init__(self, bundled_dir: str | os.PathLike[str], user_dir: str | os.PathLike[str]):
        self.bundled_dir = Path(bundled_dir)
        self.user_dir = Path(user_dir)
        self._parsed: OrderedDict[tuple, Entry] = OrderedDict()  # by (path, size, mtime)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> Library:
        return cls(settings.scenario_dir, settings.user_scenario_dir)

    # -- reading ------------------------------------------------------------------
    def folder(self, kind: str) -> Path:
        return self.bundled_dir if kind == BUNDLED else self.user_dir

    def label(self, kind: str, name: str) -> str:
        return f"{self.folder(kind).name or kind}/{name}"

    def entries(self) -> list[Entry]:
        """Bundled scenarios, then the user's, each sorted by name; broken files included."""
        found = []
        for kind in (BUNDLED, USER):
            folder = self.folder(kind)
            try:
                paths = sorted(
                    p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")
                )
            except OSError as exc:
                if folder.exists():
                    log.warning("cannot list %s: %s", folder, os_reason(exc))
                continue
            found.extend(self._entry(kind, p) for p in paths if not p.is_dir())
        return found

    def find(self, name: str) -> Entry | None:
        """The entry called ``name`` (bundled first), or None."""
        for kind in (BUNDLED, USER):
            path = self.folder(kind) / f"{name}.json"
            if path.is_file():
                return self._entry(kind, path)
        return None

    def read(self, name: str) -> tuple[Scenario, Entry]:
        """The scenario called ``name`` (bundled first, then the user's, then drafts) and its entry.

        Raises :class:`ScenarioError` when there is none or it is broken.
        """
        if name.startswith(DRAFT_PREFIX):
            return self._read_draft(name)
        entry = self.find(name) if re.fullmatch(NAME_PATTERN, name) else None
        if entry is None:
            names = ", ".join(e.name for e in self.entries() if e.error is None) or "none"
            raise ScenarioError(
                f"no scenario named {name[:64]!r}; available scenarios: {names}", [("(name)", "not found")]
            )
        if entry.error:
            raise ScenarioError(entry.error, [("(file)", "broken")])
        data = self._read_bytes(entry.path, entry.label)
        return parse_scenario(data, source=entry.label), entry

    def read_bytes(self, name: str) -> tuple[bytes, Entry]:
        """The file of the user or bundled scenario ``name`` as it is on disk."""
        entry = self.find(name)
        if entry is None:
            raise ScenarioError(f"no scenario named {name[:64]!r}", [("(name)", "not found")])
        return self._read_bytes(entry.path, entry.label), entry

    def _read_bytes(self, path: Path, label: str) -> bytes:
        try:
            with open(path, "rb") as fh:
                return fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ScenarioError(
                f"{label}: cannot be read: {os_reason(exc)}", [("(file)", "unreadable")]
            ) from None

    def _entry(self, kind: str, path: Path) -> Entry:
        name, label = path.stem, self.label(kind, path.name)
        try:
            stat = path.stat()
        except OSError as exc:
            return Entry(name, kind, path, label, error=f"{label}: cannot be read: {os_reason(exc)}")
        key = (kind, str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        entry = self._parse_entry(kind, path, label)
        with self._lock:
            self._parsed[key] = entry
            while len(self._parsed) > _CACHED_ENTRIES:
                self._parsed.popitem(last=False)
        return entry

    def _parse_entry(self, kind: str, path: Path, label: str) -> Entry:
        name = path.stem
        try:
            data = self._read_bytes(path, label)
        except ScenarioError as exc:
            return Entry(name, kind, path, label, error=str(exc))
        version = version_of(data)
        problem = None
        if kind == USER:
            try:
                check_name(name)
            except ScenarioNameError as exc:
                problem = f"{label}: the file name is not a scenario name: {exc}"
            if problem is None and (self.bundled_dir / path.name).is_file():
                problem = (
                    f"{label}: a bundled scenario has this name and is the one opened by it; "
                    "rename this file"
                )
        try:
            scenario = parse_scenario(data, source=label)
        except ScenarioError as exc:
            return Entry(name, kind, path, label, version, error=str(exc))
        title = scenario.title or scenario.name
        return Entry(name, kind, path, label, version, title, scenario.description, problem)

    # -- saving -------------------------------------------------------------------
    def save(
        self,
        scenario: Scenario,
        name: str,
        *,
        expected: str | None,
        overwrite: bool = False,
        user: str | None = None,
    ) -> Saved:
        """Write ``scenario`` as the user scenario ``name`` and return what was done.

        ``expected`` is the version of ``name`` the user opened (None: they did not open it).
        Raises :class:`ScenarioNameError` (a bad or bundled name), :class:`NameTakenError`
        (it exists and was not opened here), :class:`ConflictError` (it changed since it was
        opened) unless ``overwrite``, and :class:`WriteError` (the folder cannot be written,
        another save holds the lock too long); the file on disk is then unchanged.
        """
        name = check_name(name)
        if (self.bundled_dir / f"{name}.json").is_file():
            raise ScenarioNameError(
                f"{name!r} is a bundled scenario, which stays read-only; save yours under another name",
                self.free_name(f"my-{name}"),
            )
        payload = parse_scenario({**scenario.to_dict(), "name": name}).to_json().encode("utf-8")
        label = self.label(USER, f"{name}.json")
        path = self.user_dir / f"{name}.json"
        with self._held(label):
            current = version_of(self._read_bytes(path, label)) if path.is_file() else None
            if current is not None and current != expected and not overwrite:
                if expected is None:
                    raise NameTakenError(
                        f"{label} already exists: overwrite it, or save under another name",
                        name,
                        current,
                    )
                theirs = self._read_bytes(path, label)
                raise ConflictError(
                    f"{label} was changed by someone else after you opened it", name, theirs, current
                )
            _write(path, payload, f"{label}: cannot save", "; the previous file is unchanged")
        version = version_of(payload)
        audit_save(user, f"{label} (version {version})", overwrite=current is not None)
        entry = Entry(name, USER, path, label, version, scenario.title or name, scenario.description)
        return Saved(entry, version, current)

    def free_name(self, base: str) -> str:
        """A name like ``base`` that no scenario has yet (``base``, ``base-2``, ...)."""
        base = slug(base)[:58] or "my-scenario"
        for i in range(1, 1000):
            candidate = base if i == 1 else f"{base}-{i}"
            if self.find(candidate) is None:
                return candidate
        return f"{base}-{int(time.time())}"

    @contextlib.contextmanager
    def _held(self, label: str):
        """The library's lock, held; the folder is created first; stale temporaries removed."""
        try:
            self.user_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"{label}: cannot save: the folder cannot be created: {os_reason(exc)}") from None
        lock = FileLock(str(self.user_dir / LOCK_FILE), timeout=LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except Timeout:
            raise WriteError(
                f"{label}: cannot save: another save has held the scenario folder for "
                f"{LOCK_TIMEOUT_S:g} s; try again"
            ) from None
        except NotImplementedError:
            raise WriteError(
                f"{label}: cannot save: the scenario folder's file system cannot lock files; "
                "put FLEET_USER_SCENARIO_DIR on a local disk"
            ) from None
        except OSError as exc:
            raise WriteError(f"{label}: cannot save: {os_reason(exc)}") from None
        try:
            self._remove_stale_temporaries()
            yield
        finally:
            lock.release()

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of saves that were killed (``.<name>.json.<hex>.tmp``). Every save
        holds the lock, so none of them belongs to a save still running."""
        for temp in self.user_dir.glob(".*.json.*.tmp"):
            with contextlib.suppress(OSError):
                temp.unlink()
                log.info("removed %s, left by an interrupted save", temp.name)

    # -- drafts -------------------------------------------------------------------
    def snapshot(self, scenario: Scenario) -> str:
        """Keep ``scenario`` (not saved) where every worker finds it; returns its name.

        The name is derived from the content (``draft-<version>``), so the same scenario
        always gets the same name and nothing is ever overwritten with something else.
        """
        payload = scenario.to_json().encode("utf-8")
        version = version_of(payload)
        folder = self.user_dir / DRAFTS_DIR
        path = folder / f"{version}.json"
        label = self.label(USER, f"{DRAFTS_DIR}/{version}.json")
        what = f"{label}: cannot keep the scenario to play it"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"{what}: {os_reason(exc)}") from None
        if path.is_file():
            with contextlib.suppress(OSError):
                os.utime(path)  # recently played: kept longest
        else:
            _write(path, payload, what)
        self._prune_drafts(folder)
        return f"{DRAFT_PREFIX}{version}"

    def _read_draft(self, name: str) -> tuple[Scenario, Entry]:
        version = name[len(DRAFT_PREFIX) :]
        if len(version) != 16 or any(c not in "0123456789abcdef" for c in version):
            raise ScenarioError(f"{name[:64]!r} is not a draft name", [("(name)", "not a draft")])
        path = self.user_dir / DRAFTS_DIR / f"{version}.json"
        label = self.label(USER, f"{DRAFTS_DIR}/{version}.json")
        if not path.is_file():
            raise ScenarioError(
                f"the unsaved scenario {name} is gone (drafts are kept for "
                f"{DRAFT_MAX_AGE_S / 86400:g} days); play it again from the scenario builder",
                [("(name)", "not found")],
            )
        data = self._read_bytes(path, label)
        entry = Entry(name, USER, path, label, version_of(data))
        return parse_scenario(data, source=label), entry

    def _prune_drafts(self, folder: Path) -> None:
        try:
            drafts = sorted(
                ((p.stat().st_mtime, p) for p in folder.glob("*.json")), reverse=True
            )
        except OSError:
            return
        now = time.time()
        for k, (mtime, path) in enumerate(drafts):
            if k >= DRAFTS_KEPT or now - mtime > DRAFT_MAX_AGE_S:
                with contextlib.suppress(OSError):
                    path.unlink()
