"""Earlier scenario formats: each ``schema_version``'s migration to the next, applied on load.

When the scenario format changes, ``SCHEMA_VERSION`` (in :mod:`dashboard.scenario`) goes up by
one and :data:`MIGRATIONS` gains the function that turns a file of the previous version into
the new one, so every file written before still loads. ``tests/data/scenario_versions/`` keeps
one file of every version, and a test loads each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ScenarioError

Migration = Callable[[dict[str, Any]], dict[str, Any]]

# version -> the function that turns a document of that version into one of version + 1.
MIGRATIONS: dict[int, Migration] = {}


def file_version(data: Mapping[str, Any]) -> int | None:
    """The document's ``schema_version`` when it is a whole number, else None."""
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return version


def upgrade(
    data: Mapping[str, Any],
    current: int,
    *,
    source: str = "<scenario>",
    migrations: Mapping[int, Migration] | None = None,
) -> dict[str, Any]:
    """``data`` migrated from its ``schema_version`` up to ``current``.

    A document that is already current, newer, or without a usable version is returned as it
    is: the validator then says what is wrong with it. A missing step raises
    :class:`ScenarioError` at ``schema_version``.
    """
    steps = MIGRATIONS if migrations is None else migrations
    version = file_version(data)
    out = dict(data)
    if version is None or not 1 <= version < current:
        return out
    for step in range(version, current):
        migrate = steps.get(step)
        if migrate is None:
            message = f"no migration from schema_version {step} to {step + 1}; this version cannot read the file"
            raise ScenarioError(f"{source}: schema_version: {message}", [("schema_version", message)])
        out = dict(migrate(out))
        out["schema_version"] = step + 1
    return out
