"""The About drawer's callbacks: open it, describe the picked data and model, evaluate the model."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate

from ...errors import DashboardError
from ..messages import GENERIC_ERROR, public_message
from ..services import Services
from ..shell import ids as shell_ids
from . import ids
from .compare import compare
from .layout import render
from .scorecard import comparison_view, scorecard_view
from .view import NotScorable, describe, evaluate_label, roots, scorable

log = logging.getLogger(__name__)


def about_answer(services: Services, source: Any, model: Any) -> list:
    """The drawer's body for the picked ``source`` and ``model``."""
    return render(describe(services, source, model))


def evaluation_intro(services: Services, source: Any, model: Any) -> tuple[str, bool, Any]:
    """The evaluate button's label, whether it is disabled, and the card's initial content."""
    label = evaluate_label(services, model)
    try:
        scorable(services, source, model)
    except NotScorable as exc:
        return label, True, html.P(str(exc), className="about-eval-note text-muted")
    note = (
        "Scores every registered model on every tick of this data against its ground truth, "
        "side by side: incidents caught, lead times, false alarms, precision and recall, "
        "AUROC and NAB."
    )
    return label, False, html.P(note, className="about-eval-note text-muted")


def evaluation_answer(services: Services, n_clicks: Any, source: Any, model: Any) -> Any:
    """The scorecard of ``model`` on ``source``; a message when it cannot be scored.

    Raises ``PreventUpdate`` unless the request is a real click: requests can be forged.
    """
    if isinstance(n_clicks, bool) or not isinstance(n_clicks, int) or n_clicks <= 0:
        raise PreventUpdate
    try:
        spec, model_name, _ = scorable(services, source, model)
    except NotScorable as exc:
        return dbc.Alert(str(exc), color="warning", className="about-eval-note")
    from ...evaluate import evaluate

    cards: dict[str, Any] = {}
    for name in services.model_names():  # every registered model, on the same data and cache
        try:
            cards[name] = evaluate(services.source(spec), name, cache=services.score_cache()).to_dict()
        except DashboardError as exc:
            cards[name] = public_message(exc, roots(services))
    picked = cards.get(model_name)
    parts = [comparison_view(compare(cards, model_name))]
    if isinstance(picked, dict):
        parts += [html.H6(f"{model_name} in detail", className="mt-2"), scorecard_view(picked)]
    return html.Div(parts)



def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the drawer to the shell's button and pickers."""

    @app.callback(
        Output(ids.DRAWER, "is_open"),
        Input(shell_ids.ABOUT_OPEN, "n_clicks"),
        State(ids.DRAWER, "is_open"),
        prevent_initial_call=True,
    )
    def toggle_about(n_clicks: Any, is_open: Any) -> bool:
        """Open or close the drawer."""
        return not bool(is_open) if isinstance(n_clicks, int) and n_clicks > 0 else bool(is_open)

    @app.callback(
        Output(ids.BODY, "children"),
        Input(shell_ids.SOURCE, "value"),
        Input(shell_ids.MODEL, "value"),
    )
    def render_about(source: Any, model: Any) -> Any:
        """The drawer: the scenario, its phases and affected servers, the model."""
        try:
            return about_answer(services, source, model)
        except Exception:
            log.exception("the about drawer failed")
            return dbc.Alert(GENERIC_ERROR, color="warning")

    @app.callback(
        Output(ids.EVALUATE, "children"),
        Output(ids.EVALUATE, "disabled"),
        Output(ids.SCORECARD, "children"),
        Input(shell_ids.SOURCE, "value"),
        Input(shell_ids.MODEL, "value"),
    )
    def prepare_evaluation(source: Any, model: Any) -> tuple:
        """The evaluate button for this source and model, or why the data cannot be scored."""
        try:
            return evaluation_intro(services, source, model)
        except Exception:
            log.exception("the about drawer's evaluation section failed")
            return "Evaluate", True, dbc.Alert(GENERIC_ERROR, color="warning")

    @app.callback(
        # allow_duplicate: prepare_evaluation owns the card (a new source or model clears
        # it); this callback fills it when the button is clicked.
        Output(ids.SCORECARD, "children", allow_duplicate=True),
        Input(ids.EVALUATE, "n_clicks"),
        State(shell_ids.SOURCE, "value"),
        State(shell_ids.MODEL, "value"),
        prevent_initial_call=True,
    )
    def run_evaluation(n_clicks: Any, source: Any, model: Any) -> Any:
        """Evaluate the model on the source and show the scorecard (user-triggered)."""
        try:
            return evaluation_answer(services, n_clicks, source, model)
        except PreventUpdate:
            raise
        except Exception:
            log.exception("evaluating %r on %r failed", model, source)
            return dbc.Alert(GENERIC_ERROR, color="warning")
