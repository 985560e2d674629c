"""The page: the app shell around the Live tab (and the validation layout Dash checks ids against)."""

from __future__ import annotations

from dash import html

from . import live
from .services import Services


def page(services: Services) -> html.Div:
    """The whole page, built afresh per page load so pickers list today's datasets."""
    return html.Div(live.layout(services), className="app-root")
