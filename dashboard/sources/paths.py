"""Path safety and spec parsing: a source reads only local files under the configured data roots.

Everything a user types (a spec string, a path, a glob) passes through here before
pandas or pyarrow sees it. URLs (``http://``, ``file://``, ``s3://``...) are refused,
as are paths that resolve outside every data root (``..`` escapes, symlinks leading
out of a root, absolute paths elsewhere).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from ..errors import PathSafetyError, SourceError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_KIND = re.compile(r"^([A-Za-z][A-Za-z0-9_\-]*):(?!//)(.*)$", re.DOTALL)
_GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class Spec:
    """A parsed source spec: ``kind:target?options`` or a bare path (``kind`` None)."""

    kind: str | None
    target: str
    options: dict[str, str] = field(default_factory=dict)


def parse_spec(spec: str | os.PathLike, known_kinds: Iterable[str], remote_kinds: Iterable[str] = ()) -> Spec:
    """Split ``spec`` into kind, target and query options.

    A prefix counts as a kind only when it is a registered source name, so that
    a file called ``notes:2024.csv`` still reads as a path. URLs are refused here, except
    as the target of a ``remote_kinds`` kind, whose own policy (only targets the operator
    configured, by name) answers them.
    """
    if isinstance(spec, os.PathLike):
        return Spec(None, os.fspath(spec))
    if not isinstance(spec, str):
        raise SourceError(f"a source spec must be a path or a string, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise SourceError(
            "empty source spec; give a file path or kind:target (e.g. scenario:default)"
        )
    refuse_url(text)
    match = _KIND.match(text)
    if match and match.group(1) in set(known_kinds):
        kind, rest = match.group(1), match.group(2)
        if kind not in set(remote_kinds):
            refuse_url(rest)
        target, _, query = rest.partition("?")
        options: dict[str, str] = {}
        if query:
            for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
                if key in options:
                    raise SourceError(f"option {key!r} is given twice in spec {spec!r}")
                options[key] = value
        return Spec(kind, target, options)
    return Spec(None, text)


def refuse_url(text: str) -> None:
    if _URL.match(text.strip()):
        scheme = text.split(":", 1)[0]
        raise PathSafetyError(
            f"{text!r} is a URL ({scheme}://); sources read only local files under the data roots"
        )


def resolve_roots(data_roots: Iterable[str | os.PathLike] | None) -> tuple[Path, ...]:
    """The data roots as absolute, symlink-free paths (None: the default settings' roots)."""
    if data_roots is None:
        from ..settings import Settings

        data_roots = Settings().data_roots
    if isinstance(data_roots, (str, os.PathLike)):
        data_roots = [data_roots]
    roots = tuple(Path(os.path.expanduser(os.fspath(r))).resolve() for r in data_roots)
    if not roots:
        raise PathSafetyError("no data roots are configured; set FLEET_DATA_ROOTS")
    return roots


def _check_text(path: str) -> None:
    if "\x00" in path:
        raise PathSafetyError(f"path {path!r} contains a NUL byte")
    refuse_url(path)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _outside(raw: str, resolved: Path, roots: tuple[Path, ...]) -> PathSafetyError:
    why = ""
    if ".." in Path(raw).parts:
        why = " (its '..' leads out of them)"
    elif Path(raw).expanduser().absolute() != resolved:
        why = " (it is, or passes through, a symlink that leads out of them)"
    listed = ", ".join(str(r) for r in roots)
    return PathSafetyError(
        f"{raw!r} resolves to {resolved}, outside the data roots{why}; "
        f"allowed roots: {listed} (set FLEET_DATA_ROOTS or pass data_roots= to add one)",
        public=f"{raw!r} is outside the data roots{why}",
    )


def safe_path(raw: str | os.PathLike, roots: tuple[Path, ...], *, must_exist: bool = True) -> Path:
    """``raw`` resolved (symlinks followed) and checked to lie under one of ``roots``."""
    text = os.fspath(raw)
    _check_text(text)
    resolved = Path(os.path.expanduser(text)).resolve()
    if not _inside(resolved, roots):
        raise _outside(text, resolved, roots)
    if must_exist and not resolved.exists():
        raise PathSafetyError(
            f"{text!r} does not exist (resolved to {resolved})", public=f"{text!r} does not exist"
        )
    return resolved


def is_glob(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def safe_glob(pattern: str, roots: tuple[Path, ...]) -> list[Path]:
    """The files matching ``pattern``, each checked against the roots; sorted by name."""
    _check_text(pattern)
    pattern = os.path.expanduser(pattern)
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts:
        if is_glob(part):
            break
        fixed.append(part)
    base = Path(*fixed) if fixed else Path(".")
    safe_path(base, roots)  # the non-wildcard prefix must itself be inside a root
    matches = sorted(glob.glob(pattern, recursive=True))
    return [safe_path(m, roots) for m in matches if Path(m).is_file()]
