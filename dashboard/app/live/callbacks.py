"""The Live tab's callbacks: one multi-output tick callback, the URL sync and the refresh pacing.

One callback answers every refresh and every control: it reads the tab's view from
its ``dcc.Store``, moves it (``state.advance``), and sends ``Patch`` deltas when the
graphs already show the previous ticks of the same view, full figures otherwise. The
interval is re-armed by each answer (``max_intervals``), so at most one refresh is in
flight per tab however slow the server is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update

from ...errors import DashboardError
from ..fields import changed, clean_values
from ..messages import DEGRADED_CACHE, GENERIC_ERROR, public_message
from ..services import Services
from ..shell import ids as shell_ids
from ..validate import ViewError, clean_spec, clean_text, clean_tick, short_repr
from . import ids
from .render import Answer, render
from .state import (
    View,
    advance,
    clean_params,
    clean_selection,
    clean_speed,
    parse_click,
    view_from_query,
    view_from_store,
)
from .view import START_TICK, tick_at

log = logging.getLogger(__name__)

# Outputs of the tick callback, in order.
TICK_OUTPUTS = (
    (ids.VIEW, "data"),
    *(
        (ids.kpi(t, part), prop)
        for t in ids.KPI_TILES
        for part, prop in (("tile", "className"), ("value", "children"), ("extra", "children"))
    ),
    (ids.TOP5, "figure"),
    (ids.TREND, "figure"),
    (ids.STRIP, "figure"),
    (ids.METRICS, "figure"),
    (ids.METRICS_SUB, "children"),
    (ids.WHY_SERVER, "children"),
    (ids.WHY_STATE, "children"),
    (ids.WHY_STATE, "color"),
    (ids.WHY_SUB, "children"),
    (ids.WHY_TEXT, "children"),
    (ids.WHY_GRAPH, "figure"),
    (ids.SLIDER, "value"),
    (ids.SLIDER, "max"),
    (ids.SLIDER, "marks"),
    (ids.INTERVAL, "disabled"),
    (ids.INTERVAL, "max_intervals"),
    (ids.PLAY, "children"),
    (ids.PLAY, "title"),
    (ids.LIVE, "children"),
    (ids.LIVE, "disabled"),
    (ids.LIVE, "className"),
    (ids.CLOCK, "children"),
    (ids.PROGRESS, "children"),
    (shell_ids.MESSAGE, "children"),
    (shell_ids.MESSAGE, "is_open"),
    (shell_ids.SOURCE, "value"),
    (shell_ids.SOURCE, "options"),
    (shell_ids.MODEL, "value"),
    (shell_ids.PARAMS, "data"),
    (ids.SERVERS, "value"),
    (ids.SERVERS, "options"),
    (ids.SPEED, "value"),
)
TICK_INPUTS = (
    (shell_ids.URL, "search"),
    (ids.INTERVAL, "n_intervals"),
    (ids.PLAY, "n_clicks"),
    (ids.BACK, "n_clicks"),
    (ids.FORWARD, "n_clicks"),
    (ids.RESET, "n_clicks"),
    (ids.LIVE, "n_clicks"),
    (ids.SPEED, "value"),
    (ids.SLIDER, "value"),
    (shell_ids.SOURCE, "value"),
    (shell_ids.MODEL, "value"),
    (shell_ids.PARAMS, "data"),
    (ids.SERVERS, "value"),
    (ids.TOP5, "clickData"),
    (ids.STRIP, "clickData"),
    (ids.TREND, "clickData"),
)
ACTION_BY_TRIGGER = {
    shell_ids.URL: "load",
    ids.INTERVAL: "tick",
    ids.PLAY: "play",
    ids.BACK: "back",
    ids.FORWARD: "forward",
    ids.RESET: "reset",
    ids.LIVE: "live",
    ids.SPEED: "speed",
    ids.SLIDER: "scrub",
    shell_ids.SOURCE: "source",
    shell_ids.MODEL: "model",
    shell_ids.PARAMS: "params",
    ids.SERVERS: "select",
    ids.TOP5: "select",
    ids.STRIP: "select",
    ids.TREND: "select",
}


def tick_request(
    values: dict[tuple[str, str], Any] | None = None,
    store: Any = None,
    changed: list[str] | None = None,
) -> dict:
    """The body the Dash renderer POSTs for the tick callback (for benchmarks and load tests).

    ``values`` maps ``(component id, property)`` to an input's value; ``store`` is the view
    Store's data; ``changed`` lists the ``"id.property"`` that triggered the request.
    """
    values = values or {}
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in TICK_OUTPUTS) + "..",
        "outputs": [{"id": i, "property": p} for i, p in TICK_OUTPUTS],
        "inputs": [
            {"id": i, "property": p, "value": values.get((i, p))} for i, p in TICK_INPUTS
        ],
        "state": [{"id": ids.VIEW, "property": "data", "value": store}],
        "changedPropIds": changed or [],
    }


# URL sync runs in the browser: replaceState keeps one history entry per tab, not one per tick.
# It also records when the last answer arrived, for the watchdog below.
URL_SYNC_JS = """
function(view) {
    if (view && typeof view.query === "string" && view.query.charAt(0) === "?"
            && window.location.search !== view.query) {
        window.history.replaceState(window.history.state, "", window.location.pathname + view.query);
    }
    return Date.now();
}
"""

# The interval stops after each refresh until the answer re-arms it; an answer lost on the
# way (a worker killed mid-request, a dropped connection) would stop playback for good.
# After a stall (layout.WATCHDOG_STALL_MS) without an answer while playing, re-arm it once more.
WATCHDOG_JS = """
function(_n, lastAnswer, view, nIntervals, maxIntervals, stallMs) {
    const noUpdate = [window.dash_clientside.no_update, window.dash_clientside.no_update];
    if (!view || view.playing !== true || typeof lastAnswer !== "number") return noUpdate;
    if (Date.now() - lastAnswer < stallMs || (nIntervals || 0) < maxIntervals) return noUpdate;
    return [(nIntervals || 0) + 1, false];
}
"""
HOLD_JS = "function() { return true; }"


def as_outputs(answer: Answer) -> tuple:
    """The tick callback's outputs in order; what ``answer`` leaves out is ``no_update``."""
    return tuple(answer.get(key, no_update) for key in TICK_OUTPUTS)


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire the Live tab: the tick callback, the URL sync and the refresh pacing."""
    refresh_sec = float(services.settings.refresh_sec)

    @app.callback(
        [Output(i, p) for i, p in TICK_OUTPUTS],
        [Input(i, p) for i, p in TICK_INPUTS],
        State(ids.VIEW, "data"),
    )
    def on_tick(*args: Any) -> tuple:
        """Advance this tab's view by what triggered the call and redraw (patch or full)."""
        trigger = pick_trigger(list(ctx.triggered_prop_ids.values()))
        try:
            return as_outputs(
                tick_answer(services, trigger, args, now=time.time(), refresh_sec=refresh_sec)
            )
        except Exception:  # the user gets a message, the log the traceback
            log.exception("the Live tab's tick callback failed")
            return as_outputs(
                {
                    (shell_ids.MESSAGE, "children"): GENERIC_ERROR,
                    (shell_ids.MESSAGE, "is_open"): True,
                    (ids.INTERVAL, "disabled"): True,
                }
            )

    app.clientside_callback(URL_SYNC_JS, Output(ids.URL_SYNC, "data"), Input(ids.VIEW, "data"))
    # allow_duplicate: the tick callback owns max_intervals; the watchdog only re-arms it.
    app.clientside_callback(
        WATCHDOG_JS,
        Output(ids.INTERVAL, "max_intervals", allow_duplicate=True),
        Output(ids.INTERVAL, "disabled", allow_duplicate=True),
        Input(ids.WATCHDOG, "n_intervals"),
        State(ids.URL_SYNC, "data"),
        State(ids.VIEW, "data"),
        State(ids.INTERVAL, "n_intervals"),
        State(ids.INTERVAL, "max_intervals"),
        State(ids.WATCHDOG_STALL, "data"),
        prevent_initial_call=True,
    )
    # A user action stops the clock in the browser until its answer re-arms it: otherwise a
    # refresh fired while the action is in flight would supersede it and the click be lost.
    # A new page query counts (another tab, e.g. the builder's "Play now", switching source).
    # allow_duplicate: the tick callback owns this output; this only holds it meanwhile.
    app.clientside_callback(
        HOLD_JS,
        Output(ids.INTERVAL, "disabled", allow_duplicate=True),
        # Only inputs the tick callback never sets: its own outputs would trigger this too.
        [Input(i, p) for i, p in TICK_INPUTS if p in ("n_clicks", "clickData") or i == shell_ids.URL],
        prevent_initial_call=True,
    )


def pick_trigger(triggered: list[Any]) -> str | None:
    """The input a request answers when several fired together: anything the user did (a new
    URL, a click, a picker) before the refresh timer, which would otherwise hide it."""
    names = [t for t in triggered if isinstance(t, str)]
    for name in names:
        if name != ids.INTERVAL:
            return name
    return names[0] if names else None


def picked_meanwhile(values: dict, store: Any, models: list[str]) -> tuple[str, str] | None:
    """A pick (source or model) that a refresh carries: the browser sends every input with each
    request, and a refresh sent while the pick's own request was in flight supersedes it (Dash
    keeps the newest answer). The tick callback echoes its view into both pickers, so a picker
    that differs from the stored view was set by someone else: the user, or "Open data"."""
    if not isinstance(store, dict):
        return None
    try:
        source = values.get((shell_ids.SOURCE, "value"))
        if isinstance(source, str) and source and clean_spec(source) != _store_source(store):
            return shell_ids.SOURCE, "source"
    except ViewError:
        return None
    model = values.get((shell_ids.MODEL, "value"))
    if isinstance(model, str) and model in models and model != store.get("model"):
        return shell_ids.MODEL, "model"
    return None


def tick_answer(
    services: Services, trigger: str | None, args: tuple, *, now: float, refresh_sec: float
) -> Answer:
    """The tick callback's logic, callable without Dash's request context (tests, benchmarks)."""
    values = dict(zip(TICK_INPUTS, args[: len(TICK_INPUTS)], strict=False))
    store = args[len(TICK_INPUTS)] if len(args) > len(TICK_INPUTS) else None
    messages: list[str] = []
    answer: Answer = {}
    roots = services.settings.data_roots
    models = services.model_names()
    default = View(
        source=services.default_source(), model=services.default_model(), anchor_time=now
    )
    action = ACTION_BY_TRIGGER.get(trigger, "load") if trigger else "load"
    if store is None:
        action = "load"
    if action == "tick":
        trigger, action = picked_meanwhile(values, store, models) or (trigger, action)
    if action == "load":
        view, problems = view_from_query(values[(shell_ids.URL, "search")], default, models)
    else:
        view, problems = view_from_store(store, default)
    before = None if action == "load" or problems else view  # what the page shows now
    messages += problems

    try:
        n_intervals = clean_tick(values[(ids.INTERVAL, "n_intervals")] or 0)
    except ViewError:
        n_intervals = 0
    try:
        view, action = apply_input(view, action, trigger, values)
    except ViewError as exc:
        messages.append(str(exc))
        action = "none"

    # Open the source; fall back to the previous one (or the default) with a message.
    previous_source = view.source
    fleet = None
    for candidate in dict.fromkeys((view.source, _store_source(store), default.source)):
        if candidate is None:
            continue
        try:
            fleet = services.fleet(candidate)
            if fleet.n_ticks == 0:
                why = services.problem(candidate) if fleet.live else None
                raise DashboardError(why or f"the data source {candidate!r} has no ticks yet")
            if candidate != view.source:
                view = replace(
                    view, source=candidate, selection=(), extra={"fresh": True}
                ).repainted()
            break
        except DashboardError as exc:
            messages.append(f"cannot open {short_repr(candidate)}: {public_message(exc, roots)}")
            fleet = None
        except Exception as exc:  # a broken plug-in: log it, tell the user briefly
            log.exception("opening source %r failed", candidate)
            messages.append(f"cannot open {short_repr(candidate)}: {type(exc).__name__}")
            fleet = None
    if fleet is None:
        text = " · ".join(dict.fromkeys(messages))
        answer[(shell_ids.MESSAGE, "children")] = public_message(text, roots) or GENERIC_ERROR
        answer[(shell_ids.MESSAGE, "is_open")] = True
        answer[(ids.INTERVAL, "disabled")] = True
        answer[(ids.VIEW, "data")] = view.repainted().to_store()
        return answer

    if view.model not in models:
        messages.append(f"unknown model {short_repr(view.model)}; using {default.model}")
        view = replace(view, model=default.model, params=())
    view = checked_params(services, view, messages)
    if "scrub_to" in view.extra:  # a click on the trend: the tick at (or after) that time
        tick = tick_at(fleet, view.extra["scrub_to"])
        view = replace(view, tick=view.tick if tick is None else tick)
    clicked = view.extra.get("click_server")
    if clicked in fleet.index:
        view = replace(view, selection=(clicked,))
    unknown = [s for s in view.selection if s not in fleet.index]
    if unknown:
        messages.append(f"no server named {', '.join(map(short_repr, unknown))} in this data")
        view = replace(view, selection=tuple(s for s in view.selection if s in fleet.index))

    fell_back = view.source != previous_source
    view = advance(
        view,
        action,
        n_ticks=fleet.n_ticks,
        live=fleet.live,
        now=now,
        refresh_sec=refresh_sec,
        start=START_TICK,
    )
    render(services, view, fleet, "source" if fell_back else action, answer, before)
    answer[(ids.INTERVAL, "disabled")] = not answer[(ids.VIEW, "data")]["playing"]
    answer[(ids.INTERVAL, "max_intervals")] = n_intervals + 1
    if fleet.live and (problem := services.problem(view.source)):
        messages.append(problem)  # e.g. its Prometheus cannot be reached: the head stands still
    if services.degraded():
        messages.append(DEGRADED_CACHE)
    if messages:
        answer[(shell_ids.MESSAGE, "children")] = public_message(
            " · ".join(dict.fromkeys(messages)), roots
        )
        answer[(shell_ids.MESSAGE, "is_open")] = True
    return answer


def checked_params(services: Services, view: View, messages: list[str]) -> View:
    """The view with its model parameters checked against the model's declaration (typed,
    defaults left out); bad ones are reported and the model's defaults used instead."""
    if not view.params:
        return view
    fields = services.model_fields(view.model)
    try:
        values = clean_values(fields, dict(view.params))
    except ViewError as exc:
        messages.append(f"parameters of {view.model}: {exc}; using its defaults")
        return replace(view, params=())
    return replace(view, params=tuple(sorted(changed(fields, values).items())))


def _store_source(store: Any) -> str | None:
    if isinstance(store, dict):
        try:
            return clean_spec(store.get("source"))
        except ViewError:
            return None
    return None


def apply_input(view: View, action: str, trigger: str | None, values: dict) -> tuple[View, str]:
    """The view with the triggering input applied (validated); returns it and the playback action."""
    if action == "speed":
        return replace(view, speed=clean_speed(values[(ids.SPEED, "value")])), action
    if action == "scrub":
        return replace(view, tick=clean_tick(values[(ids.SLIDER, "value")])), action
    if action == "source":
        spec = clean_spec(values[(shell_ids.SOURCE, "value")])
        if spec == view.source:
            return view, "none"
        fresh = {"fresh": True}
        return replace(view, source=spec, selection=(), extra=fresh).repainted(), action
    if action == "model":
        model = clean_text(values[(shell_ids.MODEL, "value")], "the model")
        if model == view.model:
            return view, "none"
        return replace(view, model=model, params=()), action
    if action == "params":
        applied = values[(shell_ids.PARAMS, "data")]
        if not isinstance(applied, dict) or applied.get("model") != view.model:
            return view, "none"  # parameters of another model (the picker just changed)
        return replace(view, params=clean_params(applied.get("params"))), action
    if action == "select":
        if trigger == ids.SERVERS:
            return replace(view, selection=clean_selection(values[(ids.SERVERS, "value")])), action
        # One click, one action: a click on a server (a bar, a strip row) selects it; a click
        # on the trend (a time) scrubs there.
        click = parse_click(values[(trigger, "clickData")])
        if trigger == ids.TREND:
            if not click.time:
                return view, "none"
            return replace(view, extra={"scrub_to": click.time}), "scrub"
        if not click.server:
            return view, "none"
        # Kept only if it names a server of this source (a folded strip row names none).
        return replace(view, extra={"click_server": click.server}), action
    return view, action
