"""What the web app tells its users: one helper turns any error into a message fit for a page.

A web message never shows a server path outside the data roots nor lists the roots (paths
under a root are shown relative to it), and never echoes an unbounded value: long numbers
and long messages are cut. Every page of the app, and any server-level answer, goes through
:func:`public_message`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import shorten

GENERIC_ERROR = (
    "Something went wrong while updating the dashboard; the details are in the server log."
)
DEGRADED_CACHE = (
    "The shared cache cannot be reached: scores are computed by this server process alone "
    "until it is back (slower, nothing is lost)."
)
MAX_MESSAGE_CHARS = 400
MAX_NUMBER_DIGITS = 15

# An absolute POSIX path inside a message (not the "//" of a URL, not part of a word).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.…/~-])/(?=[^/\s])[^\s'\"`,;:()<>\[\]]*")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")
# Clauses some messages carry for the operator at a terminal, never for a web page.
_ROOTS_CLAUSE = re.compile(r";?\s*allowed roots:[^;]*(;|$)")
_RESOLVES_OUTSIDE = re.compile(r"\bresolves to [^,;]*, outside")
_RESOLVED_CLAUSE = re.compile(r"\s*\(?\bresolve[sd] to [^,;)]*\)?(,)?")


def _roots(data_roots: Iterable[str | os.PathLike]) -> list[str]:
    roots = []
    for root in data_roots:
        path = Path(os.path.expanduser(os.fspath(root)))
        roots += [str(path.absolute()), str(path.resolve())]
    return sorted(set(roots), key=len, reverse=True)


def relative_paths(text: str, data_roots: Iterable[str | os.PathLike]) -> str:
    """``text`` with absolute paths shown relative to their data root (``.`` for a root
    itself); a path outside every root keeps only its last part (``…/name``)."""
    roots = _roots(data_roots)

    def shown(match: re.Match) -> str:
        token = match.group()
        for root in roots:
            if token == root:
                return "."
            if token.startswith(root.rstrip("/") + "/"):
                return token[len(root.rstrip("/")) + 1 :]
        name = Path(token).name
        return f"…/{name}" if name else "…"

    return _ABSOLUTE_PATH.sub(shown, text)


def cap_numbers(text: str) -> str:
    """Numbers of more than 15 digits cut to their first digits and a count."""
    return _LONG_NUMBER.sub(lambda m: f"{m.group()[:6]}… ({len(m.group())} digits)", text)


def public_message(error: BaseException | str, data_roots: Iterable[str | os.PathLike] = ()) -> str:
    """The message of ``error`` (an exception or a text) as a web page may show it."""
    text = getattr(error, "public", None) or str(error)
    text = _RESOLVES_OUTSIDE.sub("is outside", _ROOTS_CLAUSE.sub(r"\1", text))
    text = _RESOLVED_CLAUSE.sub(lambda m: m.group(1) or "", text)
    text = cap_numbers(relative_paths(text, data_roots)).strip().rstrip(";").strip()
    return shorten(text, MAX_MESSAGE_CHARS)
