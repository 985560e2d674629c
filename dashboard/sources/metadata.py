"""What identifies a file dataset, where its metadata JSON is found, and the checks of a data
file against it: shared by the file sources (CSV, Parquet, directories, followed files) and
the lazy Parquet reader.

The metadata a generator writes records each file's sha256 and size. :func:`check_data_file`
holds a file to that record when it is opened (``verify=auto``: size always, sha256 up to
1 GB, cached per process while the file is unchanged; ``full``: sha256 at any size; ``off``),
after waiting for a commit in progress in its folder (:func:`dashboard.datasets.settle`).
A mismatch is an :class:`~dashboard.errors.IntegrityError`, never a silent load.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import datasets
from ..datasets import check_verify_mode, settle, verify_file
from ..errors import DataError, IntegrityError, listed, shorten
from .paths import safe_path

VERIFY_HELP = (
    "auto (default): check the file against the sha256 and size its dataset's metadata "
    "records (sha256 up to 1 GB); full: sha256 at any size; size: size only; off: no check"
)


def file_identity(kind: str, paths: list[Path], options: dict[str, Any]) -> str:
    """A key that changes whenever a file (path, size, mtime) or an option changes."""
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    h.update(json.dumps(options, sort_keys=True, default=str).encode())
    label = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files"
    return f"{kind}:{label}:{h.hexdigest()[:16]}"


def load_metadata(data_path: Path, explicit: Any, data_roots) -> dict[str, Any] | None:
    """The dataset's metadata JSON: ``explicit`` when given, else one found beside the data.

    Beside a file: ``<stem>_metadata.json`` (``demo_dataset.parquet`` ->
    ``demo_dataset_metadata.json``) or ``<stem without _metrics>_metadata.json``; in a
    directory: ``metadata.json`` or ``demo_dataset_metadata.json``.
    """
    return find_metadata(data_path, explicit, data_roots)[0]


def find_metadata(
    data_path: Path, explicit: Any, data_roots
) -> tuple[dict[str, Any] | None, Path | None]:
    """:func:`load_metadata` and the file it came from (None for a dict or no metadata)."""
    if isinstance(explicit, dict):
        return explicit, None
    folder = data_path if data_path.is_dir() else data_path.parent
    if explicit not in (None, ""):
        candidates = [Path(os.fspath(explicit))]
    elif data_path.is_dir():
        candidates = [folder / "metadata.json", folder / "demo_dataset_metadata.json"]
    else:
        stem = data_path.stem
        names = [f"{stem}_metadata.json", f"{stem.removesuffix('_metrics')}_metadata.json"]
        candidates = [folder / n for n in dict.fromkeys(names)]
    for cand in candidates:
        if explicit in (None, "") and not cand.is_file():
            continue
        path = safe_path(cand, data_roots) if data_roots is not None else cand
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: cannot read the dataset metadata ({exc})") from None
        if not isinstance(meta, dict):
            raise DataError(f"{path}: dataset metadata must be a JSON object")
        return meta, path
    return None, None


# -- checks of a data file against its metadata ----------------------------------------------


class DatasetChanged(IntegrityError):
    """The file, or its metadata, changed while it was being opened: open it again."""


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns)


def _stat(path: Path | None) -> os.stat_result | None:
    try:
        return path.stat() if path is not None else None
    except OSError:
        return None


@dataclass
class Checked:
    """A data file held to its dataset's metadata: what to attach, what to report.

    The sha256 may still be running in the background (``background=True``): :meth:`confirm`
    waits for it, raises what it found, and checks that the file is still the one checked.
    """

    path: Path
    metadata: dict[str, Any] | None
    notes: list[str]
    stat: os.stat_result
    metadata_path: Path | None = None
    metadata_stat: os.stat_result | None = None
    held: bool = False  # checked against a record: it must still be the file that was checked
    _thread: threading.Thread | None = None
    _errors: list[BaseException] = field(default_factory=list)

    def confirm(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._errors:
            error = self._errors[0]
            if self._metadata_moved():
                raise DatasetChanged(f"{self.path}: its dataset was replaced while it was opened") from error
            raise error
        if not self.held:
            return  # a plain file read as it is, even one that grows meanwhile
        now = _stat(self.path)
        if now is None or not _same_file(now, self.stat):
            raise DatasetChanged(f"{self.path}: the file changed while it was being opened")

    def _metadata_moved(self) -> bool:
        if self.metadata_path is None or self.metadata_stat is None:
            return False
        now = _stat(self.metadata_path)
        return now is None or not _same_file(now, self.metadata_stat)


def check_data_file(
    path: Path, explicit: Any, data_roots, verify: Any = "auto", *, background: bool = False
) -> Checked:
    """Find ``path``'s dataset metadata and check the file against the record it keeps of it.

    Returns the metadata to attach (None when the metadata found beside the file describes
    other files) and report notes saying what was checked. Raises
    :class:`~dashboard.errors.IntegrityError` on a mismatch (:class:`DatasetChanged` when the
    dataset was replaced meanwhile: open again). With ``background`` the sha256 runs in a
    thread while the caller reads the file; :meth:`Checked.confirm` collects it.
    """
    mode = check_verify_mode(verify)
    path = Path(path)
    settle(path.parent)
    for attempt in (1, 2):
        meta, meta_path = find_metadata(path, explicit, data_roots)
        meta_stat = _stat(meta_path)
        st = path.stat()
        meta, record, notes = _record_for(path, meta, meta_path, explicit)
        checked = Checked(path, meta, notes, st, meta_path, meta_stat)
        if record is None:
            return checked
        label = f"its metadata ({meta_path.name})" if meta_path is not None else "its metadata"
        try:
            if mode == "off":
                notes.append(f"{path}: not checked against {label} (verify=off)")
                return checked
            sha_later = background and (
                mode == "full" or (mode == "auto" and st.st_size <= datasets.FULL_CHECK_BYTES)
            )
            what = verify_file(path, record, "size" if sha_later else mode, described_by=label)
        except IntegrityError:
            moved = checked._metadata_moved()
            if attempt == 1 and moved:
                settle(path.parent)
                continue
            if moved:
                raise DatasetChanged(f"{path}: its dataset was replaced while it was opened") from None
            raise
        checked.held = True
        if sha_later:
            checked._thread = threading.Thread(
                target=_verify_into,
                args=(checked._errors, path, record, "full", label),
                name=f"verify {path.name}",
                daemon=True,
            )
            checked._thread.start()
            what = "sha256 checked"
        notes.append(_check_note(path, what, label, record))
        return checked
    raise DatasetChanged(f"{path}: its dataset was replaced twice while it was opened")


def _verify_into(errors: list, path: Path, record: dict, mode: str, label: str) -> None:
    try:
        verify_file(path, record, mode, described_by=label)
    except (IntegrityError, OSError) as exc:
        errors.append(exc)


def _check_note(path: Path, what: str, label: str, record: dict[str, Any]) -> str:
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if what.startswith("size"):
        why = what[what.index("(") :] if "(" in what else ""
        text = f"{path}: size checked against {label} {why}".rstrip()
        if parquet and record.get("page_checksums"):
            text += "; page checksums are checked as pages are read"
        elif parquet:
            text += "; the file carries no page checksums (written by an earlier version)"
        return text
    text = f"{path}: sha256 and size match {label}"
    if parquet and not record.get("page_checksums"):
        text += "; the file carries no page checksums (written by an earlier version)"
    return text


def _record_for(
    path: Path, meta: dict[str, Any] | None, meta_path: Path | None, explicit: Any
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """The metadata to attach, the file's record in it (None: nothing to check), notes."""
    where = meta_path.name if meta_path is not None else "the metadata given"
    if meta is None:
        return None, None, []  # a plain data file: nothing records what it should hold
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        return meta, None, [f"{path}: {where} records no checksums: contents not verified"]
    record = files.get(path.name)
    if isinstance(record, dict):
        return meta, record, []
    if explicit in (None, ""):
        # Metadata found beside the file but about other files: it is not this file's ground truth.
        return None, None, [
            f"{path}: {where} describes {listed(files)}, not {path.name}: not used; "
            "pass metadata= to use it anyway"
        ]
    return meta, None, [f"{path}: {where} does not list {path.name}: contents not verified"]


def check_folder_files(
    files: list[Path], folder: Path, explicit: Any, data_roots, verify: Any = "auto"
) -> tuple[dict[str, Any] | None, list[str]]:
    """:func:`check_data_file` for the files of a directory dataset and its one metadata file."""
    mode = check_verify_mode(verify)
    settle(folder)
    meta, meta_path = find_metadata(folder, explicit, data_roots)
    where = meta_path.name if meta_path is not None else "the metadata given"
    records = (meta or {}).get("files")
    if meta is None:
        return None, []
    if not isinstance(records, dict) or not records:
        return meta, [f"{folder}: {where} records no checksums: contents not verified"]
    notes = []
    unlisted = [f.name for f in files if f.name not in records]
    if unlisted:
        notes.append(f"{folder}: {where} does not list {listed(unlisted)}: not verified")
    checked = 0
    for f in files:
        record = records.get(f.name)
        if isinstance(record, dict) and mode != "off":
            verify_file(f, record, mode, described_by=f"its metadata ({where})")
            checked += 1
    if mode == "off":
        notes.append(f"{folder}: not checked against {where} (verify=off)")
    elif checked:
        notes.append(f"{folder}: {checked} file(s) checked against {where}")
    return meta, notes


def parquet_read_error(path: Path, what: str, exc: Exception) -> DataError:
    """A Parquet read failure as a message; a page that fails its checksum says so."""
    if "checksum" in str(exc).lower():
        return IntegrityError(
            f"{path}: a data page fails its checksum ({what}): the file was damaged after it "
            "was written; restore it or generate it again"
        )
    return DataError(f"{path}: corrupt Parquet file ({what}): {shorten(str(exc))}")
