"""Names of saved scenarios: one file name each, checked before anything is written.

A name becomes ``<name>.json`` in the user scenario folder and the ``name`` field of the
file, so it must be a plain, portable file name: lowercase letters, digits, ``-`` and ``_``,
starting with a letter or digit, at most 64 characters. Everything else is refused with the
reason, and where one exists a suggestion (``"Überlast"`` -> ``"uberlast"``).
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import DashboardError
from ..scenario import NAME_PATTERN

MAX_NAME_CHARS = 64
DRAFT_PREFIX = "draft-"  # names of scenarios played without saving (see library.Library.snapshot)
# Device names Windows refuses as file names, whatever the extension.
RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)
_NAME_RE = re.compile(NAME_PATTERN)


class ScenarioNameError(DashboardError, ValueError):
    """A name cannot be used for a saved scenario; the message says why (and suggests one)."""

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message + (f"; try {suggestion!r}" if suggestion else ""))
        self.suggestion = suggestion


def slug(text: str) -> str:
    """``text`` as a valid name when it can be: accents dropped, lowercase, other runs -> ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower()).strip("-_")
    out = out[:MAX_NAME_CHARS].rstrip("-_")
    if out.startswith(DRAFT_PREFIX) or out in RESERVED:
        out = f"my-{out}"[:MAX_NAME_CHARS]
    return out if _NAME_RE.match(out) else ""


def check_name(raw: object) -> str:
    """The name to save under, or :class:`ScenarioNameError` saying what is wrong with it.

    A trailing ``.json`` is dropped (the file gets it anyway); nothing else is changed behind
    the user's back.
    """
    if not isinstance(raw, str):
        raise ScenarioNameError(f"a scenario name must be text, got {type(raw).__name__}")
    name = raw.strip()
    if name.lower().endswith(".json"):
        name = name[:-5]
    if not name:
        raise ScenarioNameError("a scenario needs a name")
    shown = name if len(name) <= 40 else name[:37] + "..."
    hint = slug(name) or None
    if "/" in name or "\\" in name:
        raise ScenarioNameError(f"{shown!r}: a name is a file name, not a path: no slashes", hint)
    if name in {".", ".."} or name.startswith("."):
        raise ScenarioNameError(f"{shown!r}: a name cannot start with a dot (hidden files)", hint)
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise ScenarioNameError(f"{shown!r}: control or invisible characters are not allowed", hint)
    if not name.isascii():
        raise ScenarioNameError(
            f"{shown!r}: use plain letters a-z, digits, '-' and '_' (file names must work on every system)",
            hint,
        )
    if len(name) > MAX_NAME_CHARS:
        raise ScenarioNameError(f"{shown!r}: {len(name)} characters; at most {MAX_NAME_CHARS}", hint)
    if name != name.lower() and _NAME_RE.match(name.lower()):
        raise ScenarioNameError(f"{shown!r}: use lowercase letters", hint)
    if not _NAME_RE.match(name):
        raise ScenarioNameError(
            f"{shown!r}: use lowercase letters a-z, digits, '-' and '_', starting with a letter or digit",
            hint,
        )
    if name in RESERVED:
        raise ScenarioNameError(f"{shown!r}: a reserved device name on Windows", f"my-{name}")
    if name.startswith(DRAFT_PREFIX):
        raise ScenarioNameError(
            f"{shown!r}: names starting with {DRAFT_PREFIX!r} are kept for scenarios played without saving",
            f"my-{name}"[:MAX_NAME_CHARS],
        )
    return name
