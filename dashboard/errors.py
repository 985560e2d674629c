"""The project's exception types: the only errors its loaders, validators and CLIs let escape."""

from __future__ import annotations


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


class DataError(DashboardError, ValueError):
    """A data file cannot be used: wrong format, missing columns, bad values."""


class PathSafetyError(DataError):
    """A path or URL points outside the configured data roots."""


class SourceError(DashboardError, LookupError):
    """A data-source spec or plug-in is unknown or broken."""


class ModelError(DashboardError, LookupError):
    """A risk model is unknown, broken, or was given invalid parameters."""


class RegistryError(DashboardError, LookupError):
    """A registry name clashes, is unknown, or its plug-in does not implement the interface."""
