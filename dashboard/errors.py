"""The project's exception types: the only errors its loaders, validators and CLIs let escape."""

from __future__ import annotations

# Longest quote of file content or user input inside a message: a 100 MB header line
# must give a one-line error, not a 100 MB one.
QUOTE_LIMIT = 200


class DashboardError(Exception):
    """Base class of every error this package raises on purpose.

    The message is meant for the user: it names what is wrong and where
    (file, field, column, row, value) and, where possible, what to do about it.
    """


class ScenarioError(DashboardError, ValueError):
    """A scenario file or scenario value is invalid.

    ``problems`` lists one ``(location, message)`` pair per failed rule, where
    location is a dotted path such as ``phases.2.end``.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class OutputExistsError(DashboardError, FileExistsError):
    """An output file exists and overwriting it was not asked for (``--force``)."""


class WriteError(DashboardError, OSError):
    """A file or dataset could not be written (missing folder, full disk, no permission).

    Raised only after the write was undone: the previous files, if any, are unchanged.
    """


class FolderBusyError(DashboardError):
    """Another writer holds the lock on a dataset folder, and waiting was not asked for."""


class CancelledError(DashboardError):
    """A long write was cancelled through its cancellation hook; nothing was changed."""


class DataError(DashboardError, ValueError):
    """A data file cannot be used: wrong format, missing columns, bad values."""


class IntegrityError(DataError):
    """A data file does not match what its dataset's metadata records (size, sha256, checksums)."""


class PathSafetyError(DataError):
    """A path or URL points outside the configured data roots.

    The message may name the resolved path and the roots (for the operator at a
    terminal); ``public`` says what is wrong without them (for web pages).
    """

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public or message


class SourceError(DashboardError, LookupError):
    """A data-source spec or plug-in is unknown or broken."""


class ModelError(DashboardError, LookupError):
    """A risk model is unknown, broken, or was given invalid parameters."""


class RegistryError(DashboardError, LookupError):
    """A registry name clashes, is unknown, or its plug-in does not implement the interface."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how much was left out.

    Strings and bytes are cut before ``repr`` runs, so a huge value never builds a huge text.
    """
    if isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
        kept = value[:limit]
        text = repr(bytes(kept) if isinstance(kept, bytearray) else kept)
        return f"{text[:limit]}... ({len(value) - limit:,} more {'characters' if isinstance(value, str) else 'bytes'})"
    text = repr(value)
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    return text


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` itself (no quotes added) cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def listed(items, limit: int = QUOTE_LIMIT, sep: str = ", ") -> str:
    """Items joined with ``sep``, stopping before the text passes ``limit`` characters.

    Works on any iterable and never joins more than it shows (a 200,000-column header
    costs the first few names, not all of them).
    """
    out: list[str] = []
    size = 0
    total = len(items) if hasattr(items, "__len__") else None
    for k, item in enumerate(items):
        text = shorten(str(item), min(limit, 60))
        if out and size + len(sep) + len(text) > limit:
            rest = f"{total - k:,} more" if total is not None else "more"
            return sep.join(out) + f"{sep}... ({rest})"
        out.append(text)
        size += len(text) + (len(sep) if len(out) > 1 else 0)
    return sep.join(out)
