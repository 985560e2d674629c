"""The shell's callbacks: the About drawer's (the shell's pickers drive it)."""

from __future__ import annotations

from dash import Dash

from ..about import callbacks as about
from ..services import Services


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the shell: the About drawer."""
    about.register_callbacks(app, services)
