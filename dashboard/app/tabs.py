"""The app's tabs: what a tab gives the shell, and the tabs the app has by default.

A tab is a package under ``dashboard/app/`` (``layout.py``, a pure ``view.py``,
``callbacks.py`` and ``ids.py`` with its own id prefix). It hands the shell a
:class:`Tab`: a name (its id namespace), a label for the tab bar, a function that
builds its layout and one that registers its callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dash import Dash

    from .services import Services


@dataclass(frozen=True)
class Tab:
    """One tab of the app, as the shell sees it."""

    name: str  # its key and id namespace ("live": ids start with "live-")
    label: str  # shown on the tab bar
    layout: Callable[[Services], Any]  # builds the tab's content (read afresh per page load)
    register_callbacks: Callable[[Dash, Services], None]


def default_tabs() -> tuple[Tab, ...]:
    """The tabs ``create_app`` registers unless told otherwise."""
    from .builder import callbacks as builder_callbacks
    from .builder import layout as builder_layout
    from .live import callbacks, layout

    return (
        Tab("live", "Live", layout.layout, callbacks.register_callbacks),
        Tab("builder", "Scenario builder", builder_layout.layout, builder_callbacks.register_callbacks),
    )
