"""What identifies a file dataset and where its metadata JSON is found: shared by the file
sources (CSV, Parquet, directories, followed files) and the lazy Parquet reader."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..errors import DataError
from .paths import safe_path


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
    if isinstance(explicit, dict):
        return explicit
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
        return meta
    return None
