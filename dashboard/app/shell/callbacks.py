"""The shell's callbacks: the model's parameter form, opening data by path or spec, and the
About drawer's (the shell's pickers drive it).

The functions named after what they answer (``params_form``, ``apply_params``,
``open_data``...) hold the logic and take plain values, so tests call them without Dash.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from ...errors import DashboardError
from ...parameters import as_text
from ..about import callbacks as about
from ..fields import Field, changed, clean_values
from ..messages import GENERIC_ERROR, public_message
from ..services import Services
from ..validate import ViewError, clean_spec, clean_text
from . import ids
from .forms import field_id, render_form, values_of
from .layout import PATH_KIND

log = logging.getLogger(__name__)

MODEL_FORM = "model"
SOURCE_FORM = "source"
MAX_RECENT = 8


def _clicked(n_clicks: Any) -> bool:
    return isinstance(n_clicks, int) and not isinstance(n_clicks, bool) and n_clicks > 0


def _applied_params(applied: Any, model: Any) -> dict[str, Any]:
    """The applied parameters when they are ``model``'s (the Store may hold another model's)."""
    if isinstance(applied, dict) and applied.get("model") == model:
        params = applied.get("params")
        return dict(params) if isinstance(params, dict) else {}
    return {}


# -- model parameters ---------------------------------------------------------------------
def params_form(services: Services, model: Any, applied: Any) -> list:
    """The picked model's parameter form, holding the applied values (else the defaults)."""
    if not isinstance(model, str) or model not in services.model_names():
        return [html.P("Pick a model to set its parameters.", className="text-muted small")]
    fields = services.model_fields(model)
    return render_form(MODEL_FORM, fields, _applied_params(applied, model))


def params_label(services: Services, model: Any, applied: Any) -> tuple[str, bool]:
    """The parameters button: how many differ from the defaults; disabled for a model without any."""
    fields = services.model_fields(model) if isinstance(model, str) else ()
    if not fields:
        return "parameters", True
    count = len(_applied_params(applied, model))
    return (f"parameters ({count} set)" if count else "parameters"), False


def apply_params(
    services: Services, model: Any, field_ids: Any, values: Any, *, defaults: bool = False
) -> dict[str, Any]:
    """The Store's new value for the form's values (or the defaults); ViewError naming every
    bad field. Only values that differ from the defaults are kept (they travel in the link)."""
    name = clean_text(model, "the model")
    if name not in services.model_names():
        raise ViewError(f"unknown model {name!r}")
    if defaults:
        return {"model": name, "params": {}}
    fields = services.model_fields(name)
    typed = clean_values(fields, values_of(field_ids, values))
    try:  # the model's own check too: a plug-in may refuse a combination
        from ...models import get_model

        get_model(name, **typed)
    except DashboardError as exc:
        raise ViewError(str(exc)) from None
    return {"model": name, "params": changed(fields, typed)}


# -- opening data ----------------------------------------------------------------------------
def compose_spec(kind: Any, target: Any, options: dict[str, Any], fields: Sequence[Field] = ()) -> str:
    """The spec the open-data form describes: the target as typed for "a path or a full spec",
    else ``kind:target?options`` with the options set to other than their defaults, each
    typed by the kind's declared ``fields`` first (a ViewError names every bad one)."""
    text = clean_spec(target)
    if kind in (None, "", PATH_KIND):
        return text
    kind = clean_text(kind, "the kind", 64)
    typed = clean_values(fields, {k: v for k, v in options.items() if v not in (None, "")})
    filled = {k: as_text(v) for k, v in changed(fields, typed).items() if v is not None}
    query = urlencode(filled)
    return clean_spec(f"{kind}:{text}" + (f"?{query}" if query else ""))


def open_data(services: Services, spec: str) -> str:
    """``spec`` once it opened under the data roots (as a link's would); ViewError otherwise,
    with a message fit for the page."""
    try:
        fleet = services.fleet(spec)
    except DashboardError as exc:
        raise ViewError(f"cannot open it: {public_message(exc, services.settings.data_roots)}") from None
    if fleet.n_ticks == 0 and not fleet.live:
        raise ViewError("it opened, but holds no ticks")
    return spec


def remember(recent: Any, spec: str) -> list[str]:
    """This browser's recent specs with ``spec`` first (the Store is client data: checked)."""
    kept = [spec]
    for item in recent if isinstance(recent, list) else []:
        try:
            text = clean_spec(item)
        except ViewError:
            continue
        if text not in kept:
            kept.append(text)
    return kept[:MAX_RECENT]


def recent_items(recent: Any) -> list:
    """The recent specs as buttons that open them again."""
    specs = remember(recent, "")[1:] if isinstance(recent, list) else []
    if not specs:
        return [html.P("Nothing yet: what you open here is listed for next time.", className="text-muted small")]
    return [
        html.Button(
            spec,
            id={"type": ids.RECENT_ITEM, "index": i},
            n_clicks=0,
            className="btn btn-link btn-sm shell-recent-item",
            title=f"open {spec}",
        )
        for i, spec in enumerate(specs)
    ]


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the shell: the parameter form, the open-data form, the About drawer."""
    about.register_callbacks(app, services)
    model_field = field_id(MODEL_FORM, ALL)
    source_field = field_id(SOURCE_FORM, ALL)

    @app.callback(
        Output(ids.PARAMS_FORM, "children"),
        Output(ids.PARAMS_OPEN, "children"),
        Output(ids.PARAMS_OPEN, "disabled"),
        Input(ids.MODEL, "value"),
        Input(ids.PARAMS, "data"),
    )
    def render_params(model: Any, applied: Any) -> tuple:
        """The form of the picked model's parameters, and the button's count of those set."""
        try:
            return (params_form(services, model, applied), *params_label(services, model, applied))
        except Exception:
            log.exception("the parameter form failed")
            return html.P(GENERIC_ERROR), "parameters", True

    @app.callback(
        Output(ids.PARAMS_PANEL, "is_open"),
        Output(ids.PARAMS_ERROR, "children"),
        Output(ids.PARAMS_ERROR, "is_open"),
        # allow_duplicate: the Live tab's tick callback also sets the Store (from a link).
        Output(ids.PARAMS, "data", allow_duplicate=True),
        Input(ids.PARAMS_OPEN, "n_clicks"),
        Input(ids.PARAMS_APPLY, "n_clicks"),
        Input(ids.PARAMS_RESET, "n_clicks"),
        State(ids.MODEL, "value"),
        State(model_field, "id"),
        State(model_field, "value"),
        prevent_initial_call=True,
    )
    def set_params(_open: Any, apply: Any, reset: Any, model: Any, field_ids: Any, values: Any) -> tuple:
        """Open the form; apply it (or the defaults) once valid, else say what is wrong."""
        trigger = ctx.triggered_id
        if trigger == ids.PARAMS_OPEN:
            return True, "", False, no_update
        clicks = apply if trigger == ids.PARAMS_APPLY else reset
        if not _clicked(clicks):
            raise PreventUpdate
        try:
            stored = apply_params(
                services, model, field_ids, values, defaults=trigger == ids.PARAMS_RESET
            )
        except ViewError as exc:
            return True, public_message(exc), True, no_update
        return False, "", False, stored

    @app.callback(
        Output(ids.OPEN_OPTIONS, "children"),
        Input(ids.OPEN_KIND, "value"),
    )
    def render_open_options(kind: Any) -> list:
        """The picked source kind's options, as a form (none for a path or a whole spec)."""
        if kind == PATH_KIND:
            return []
        fields = services.source_fields(kind)
        form = render_form(SOURCE_FORM, fields, {}) if fields else []
        targets = services.source_targets(kind)
        if targets is None:
            return form
        named = ", ".join(targets) if targets else "none (the operator names them in FLEET_PROMETHEUS_TARGETS)"
        return [html.P(f"Targets configured here: {named}", className="small text-muted mb-2"), *form]

    @app.callback(Output(ids.RECENT_LIST, "children"), Input(ids.RECENT, "data"))
    def render_recent(recent: Any) -> list:
        """What this browser opened before."""
        return recent_items(recent)

    @app.callback(
        Output(ids.OPEN_MODAL, "is_open"),
        Output(ids.OPEN_ERROR, "children"),
        Output(ids.OPEN_ERROR, "is_open"),
        Output(ids.RECENT, "data"),
        # allow_duplicate: the tick callback owns the picker; opening data sets it once.
        Output(ids.SOURCE, "value", allow_duplicate=True),
        Output(ids.SOURCE, "options", allow_duplicate=True),
        Input(ids.OPEN, "n_clicks"),
        Input(ids.OPEN_CANCEL, "n_clicks"),
        Input(ids.OPEN_GO, "n_clicks"),
        Input({"type": ids.RECENT_ITEM, "index": ALL}, "n_clicks"),
        State(ids.OPEN_KIND, "value"),
        State(ids.OPEN_TARGET, "value"),
        State(source_field, "id"),
        State(source_field, "value"),
        State(ids.RECENT, "data"),
        prevent_initial_call=True,
    )
    def open_from_form(
        _open: Any, _cancel: Any, go: Any, recent_clicks: Any,
        kind: Any, target: Any, field_ids: Any, values: Any, recent: Any,
    ) -> tuple:
        """Open what the form (or a recent entry) names, remember it, and show it."""
        nothing = (no_update, no_update, no_update)
        trigger = ctx.triggered_id
        if trigger == ids.OPEN:
            return True, "", False, *nothing
        if trigger == ids.OPEN_CANCEL:
            return False, "", False, *nothing
        try:
            if isinstance(trigger, dict) and trigger.get("type") == ids.RECENT_ITEM:
                index = trigger.get("index")
                clicks = ctx.triggered[0].get("value") if ctx.triggered else None
                specs = remember(recent, "")[1:]
                if not _clicked(clicks) or not isinstance(index, int) or not 0 <= index < len(specs):
                    raise PreventUpdate
                spec = specs[index]
            elif trigger == ids.OPEN_GO and _clicked(go):
                spec = compose_spec(kind, target, values_of(field_ids, values), services.source_fields(kind))
            else:
                raise PreventUpdate
            open_data(services, spec)
        except ViewError as exc:
            return True, public_message(exc, services.settings.data_roots), True, *nothing
        except PreventUpdate:
            raise
        except Exception:
            log.exception("opening data from the form failed")
            return True, GENERIC_ERROR, True, *nothing
        return False, "", False, remember(recent, spec), spec, services.source_options(spec)
