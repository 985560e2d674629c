"""The Live tab's view state: the playback view a browser tab keeps in its Store and URL.

Parses and validates what the browser sends (Store, URL, clicks) and moves the view
(:func:`advance`). Pure functions; nothing here imports Dash.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from ...models.explain import WINDOW_TICKS
from ..validate import (
    MAX_TICK,
    ViewError,
    clean_bool,
    clean_int,
    clean_model,
    clean_number,
    clean_spec,
    clean_text,
    clean_tick,
    short_repr,
)

SPEEDS = (1, 2, 5, 10)  # ticks per refresh
WINDOW = WINDOW_TICKS  # ticks shown by the trend, the strip and the rolling metrics (and read by the Why)
MAX_PATCH_GAP = 10  # a jump of more ticks than this repaints the figures in full
MAX_SELECTION = 4
MAX_QUERY_CHARS = 4096
MAX_PARAMS = 20
PARAM_PREFIX = "p."  # a model parameter in a link: ?p.sensitivity=2
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
CATCH_UP_REFRESHES = 3  # behind the wall clock by more refreshes than this: jump


def clean_speed(value: Any) -> int:
    speed = clean_int(value, "the speed", 1, max(SPEEDS))
    if speed not in SPEEDS:
        raise ViewError(
            f"the speed must be one of {', '.join(f'{s}x' for s in SPEEDS)}, got {speed}"
        )
    return speed


def clean_selection(value: Any) -> tuple[str, ...]:
    """Selected server names: None, one name, or a list of at most MAX_SELECTION names."""
    if value is None or value == "":
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ViewError(f"the selection must be a list of server names, got {type(value).__name__}")
    out: list[str] = []
    for item in items:
        name = clean_text(item, "a selected server name")
        if name not in out:
            out.append(name)
    if len(out) > MAX_SELECTION:
        raise ViewError(f"select at most {MAX_SELECTION} servers, got {len(out)}")
    return tuple(out)


# -- the view ------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """One browser tab's view; lives in a ``dcc.Store`` and (in part) the URL.

    ``shown_*`` describe what the graphs currently display, so the tick callback
    can send a partial update when they already show the previous tick of the
    same view. ``metrics_focus`` is the server the rolling metrics show while
    nothing is selected (the riskiest one when they were drawn): when the riskiest
    server changes, that card is redrawn in full. ``anchor_*`` pin playback to the
    wall clock so that a tab that was hidden jumps to where it should be when it
    is shown again.
    """

    source: str
    model: str
    tick: int = 0
    speed: int = 1
    playing: bool = True
    selection: tuple[str, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()  # the model's parameters that differ from its defaults
    ended: bool = False
    following: bool = False  # a live source's view at its newest tick, moving with it
    zoom: int = 0  # bumped by "reset": the graphs forget their zoom
    shown_key: str | None = None
    shown_tick: int | None = None
    strip_rows: tuple[int, ...] = ()
    strip_tick: int | None = None
    metrics_focus: str | None = None
    risk_since: int | None = None  # the tick since which the fleet has been at risk (None: it is not)
    anchor_tick: int = 0
    anchor_time: float = 0.0
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def key(self) -> str:
        """Identifies what the figures are built from: the same key means a patch can apply."""
        params = ",".join(f"{k}={v!r}" for k, v in self.params)
        text = "\x1f".join((self.source, self.model, params, *self.selection))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    def ui_key(self) -> str:
        """The graphs' ``uirevision``: zoom and legend state survive refreshes, steps, scrubs and
        selections, until a new source or model, or "reset"."""
        text = "\x1f".join((self.source, self.model, str(self.zoom)))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    def repainted(self) -> View:
        """The same view with nothing known about what the graphs show (forces a full paint)."""
        return replace(
            self,
            shown_key=None,
            shown_tick=None,
            strip_rows=(),
            strip_tick=None,
            metrics_focus=None,
            risk_since=None,
        )

    def to_store(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data["selection"] = list(self.selection)
        data["params"] = dict(self.params)
        data["strip_rows"] = list(self.strip_rows)
        data["query"] = to_query(self)
        return data


def view_from_store(data: Any, default: View) -> tuple[View, list[str]]:
    """The view held in the Store, or ``default`` where a field is missing or invalid.

    Returns the view and a list of problems found (empty for a sound Store).
    """
    if data is None:
        return default, []
    if not isinstance(data, dict):
        return default, [
            f"the saved view was not understood ({type(data).__name__}); starting afresh"
        ]
    problems: list[str] = []
    values: dict[str, Any] = {}

    def take(name: str, cleaner, *args) -> None:
        if name not in data or data[name] is None and name in _OPTIONAL:
            return
        try:
            values[name] = cleaner(data[name], *args) if args else cleaner(data[name])
        except ViewError as exc:
            problems.append(str(exc))

    take("source", clean_spec)
    take("model", clean_text, "the model")
    take("tick", clean_tick)
    take("speed", clean_speed)
    take("playing", clean_bool, "playing")
    take("ended", clean_bool, "ended")
    take("selection", clean_selection)
    take("params", clean_params)
    take("following", clean_bool, "following")
    take("zoom", clean_int, "the zoom generation", 0, 10**6)
    take("shown_key", clean_text, "the figure key", 64)
    take("shown_tick", clean_tick)
    take("strip_rows", _clean_rows)
    take("strip_tick", clean_tick)
    take("metrics_focus", clean_text, "the server the rolling metrics show")
    take("risk_since", clean_tick)
    take("anchor_tick", clean_tick)
    take("anchor_time", clean_number, "the anchor time")
    view = replace(default, **values)
    if problems:
        view = view.repainted()
    return view, problems


_OPTIONAL = {"shown_key", "shown_tick", "strip_tick", "metrics_focus", "risk_since"}


def clean_params(value: Any) -> tuple[tuple[str, Any], ...]:
    """Model parameters as sent: a small mapping of names to scalars (the model's own
    declaration checks their values; see :mod:`dashboard.app.fields`)."""
    if value is None:
        return ()
    if not isinstance(value, dict) or len(value) > MAX_PARAMS:
        raise ViewError(f"the model parameters must be a mapping of at most {MAX_PARAMS} names")
    out = []
    for name, item in value.items():
        key = clean_text(name, "a model parameter name", 64)
        if not _PARAM_NAME.fullmatch(key):
            raise ViewError(f"{short_repr(key)} is not a parameter name")
        if isinstance(item, str):
            item = clean_text(item, f"the value of {key}", 64)
        elif item is not None and not isinstance(item, (bool, int, float)):
            raise ViewError(f"the value of {key} must be a number, true/false or text")
        out.append((key, item))
    return tuple(sorted(out))


def _clean_rows(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > 1000:
        raise ViewError("the strip rows must be a short list of indices")
    return tuple(clean_int(v, "a strip row", 0, 10**7) for v in value)


# -- URL -----------------------------------------------------------------------
def to_query(view: View) -> str:
    """The part of the view a link carries: ``?source=...&model=...&tick=...``."""
    params: list[tuple[str, str]] = [
        ("source", view.source),
        ("model", view.model),
        ("tick", str(view.tick + 1)),  # the tick the page shows: the first is 1
        ("speed", str(view.speed)),
    ]
    params += [(PARAM_PREFIX + name, _param_text(value)) for name, value in view.params]
    if view.selection:
        params.append(("server", ",".join(view.selection)))
    if not view.playing:
        params.append(("paused", "1"))
    return "?" + urlencode(params)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def view_from_query(
    search: Any, default: View, models: tuple[str, ...] | list[str]
) -> tuple[View, list[str]]:
    """The view a URL's query string asks for; invalid parameters are reported and ignored.

    ``tick`` counts from 1, as the page does. A link that names no tick opens the source
    where a new view starts (``extra["fresh"]``: the tick callback picks the tick).
    """
    if search is None or search == "":
        return replace(default, extra={"fresh": True}), []
    if not isinstance(search, str) or len(search) > MAX_QUERY_CHARS:
        return replace(default, extra={"fresh": True}), [
            "the link's parameters were not understood; showing the default view"
        ]
    try:
        parsed = parse_qs(
            search.lstrip("?"), keep_blank_values=False, max_num_fields=20 + MAX_PARAMS
        )
    except ValueError:
        return replace(default, extra={"fresh": True}), [
            "the link has too many parameters; showing the default view"
        ]
    values: dict[str, Any] = {}
    problems: list[str] = []

    def first(name: str) -> str | None:
        items = parsed.get(name)
        return items[-1] if items else None

    for name, cleaner, target in (
        ("source", clean_spec, "source"),
        ("tick", _clean_link_tick, "tick"),
        ("speed", clean_speed, "speed"),
    ):
        raw = first(name)
        if raw is None:
            continue
        try:
            values[target] = cleaner(raw)
        except ViewError as exc:
            problems.append(f"link parameter {name}: {exc}")
    if (raw := first("model")) is not None:
        try:
            values["model"] = clean_model(raw, models)
        except ViewError as exc:
            problems.append(f"link parameter model: {exc}")
    if (raw := first("server")) is not None:
        try:
            values["selection"] = clean_selection([s for s in raw.split(",") if s.strip()])
        except ViewError as exc:
            problems.append(f"link parameter server: {exc}")
    if (raw := first("paused")) is not None:
        try:
            values["playing"] = not clean_bool(raw, "paused")
        except ViewError as exc:
            problems.append(f"link parameter paused: {exc}")
    given = {k[len(PARAM_PREFIX) :]: v[-1] for k, v in parsed.items() if k.startswith(PARAM_PREFIX)}
    if given:
        try:
            values["params"] = clean_params(given)
        except ViewError as exc:
            problems.append(f"link parameters of the model: {exc}")
    if "tick" not in values:
        values["extra"] = {"fresh": True}
    return replace(default, **values).repainted(), problems


def _clean_link_tick(value: Any) -> int:
    """A link's tick: counted from 1 like the page's, stored from 0."""
    return clean_int(value, "the tick", 1, MAX_TICK) - 1


# -- clicks on graphs ------------------------------------------------------------
@dataclass(frozen=True)
class Click:
    """What a click on a graph points at: a server, a time, or both."""

    server: str | None = None
    time: str | None = None


def parse_click(click: Any) -> Click:
    """The server (from ``customdata`` or a heat-map row label) and time of a graph click."""
    if click is None:
        return Click()
    if (
        not isinstance(click, dict)
        or not isinstance(click.get("points"), list)
        or not click["points"]
    ):
        raise ViewError("the click on the graph was not understood")
    point = click["points"][0]
    if not isinstance(point, dict):
        raise ViewError("the click on the graph was not understood")
    server = None
    custom = point.get("customdata")
    if isinstance(custom, list) and custom:
        custom = custom[0]
    if isinstance(custom, str) and custom:
        server = clean_text(custom, "the clicked server")
    elif isinstance(point.get("y"), str) and point["y"]:
        # a heat-map row label, drawn escaped (figures.style.plain): the name as written
        server = clean_text(html.unescape(point["y"]), "the clicked row")
    time = None
    x = point.get("x")
    if isinstance(x, str) and x:
        time = clean_text(x, "the clicked time", 40)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?", time):
            raise ViewError(f"the clicked time {short_repr(time)} is not a date and time")
    return Click(server=server, time=time)


# -- playback --------------------------------------------------------------------
ACTIONS = (
    "load",
    "tick",
    "play",
    "back",
    "forward",
    "reset",
    "speed",
    "scrub",
    "source",
    "model",
    "params",
    "select",
    "live",
)


def advance(
    view: View,
    action: str,
    *,
    n_ticks: int,
    live: bool,
    now: float,
    refresh_sec: float,
    start: int = 0,
) -> View:
    """The view after ``action`` on a source of ``n_ticks`` ticks (pure; ``now`` is the wall clock).

    A refresh moves ``speed`` ticks; when the tab fell behind the wall clock by more
    than a few refreshes (a hidden tab, a slow server), it jumps to where it should
    be. At the end of a finished source playback stops in the ``ended`` state.

    A view opened afresh (``view.extra["fresh"]``: a link without a tick, a new source)
    starts at ``start``, where the model has some history; reset and replay go back
    there. A live source opens at its newest tick and follows it (``following``) while
    playing there; stepping or scrubbing back leaves it, "live" returns to it, and
    playback that catches up with the head follows it again.
    """
    last = max(n_ticks - 1, 0)
    start = min(max(start, 0), last)
    tick = min(view.tick, last)
    playing, ended, following, zoom = view.playing, view.ended, view.following, view.zoom
    if view.extra.get("fresh"):
        tick, ended = (last, False) if live else (start, False)
        following = live and playing
    if action == "tick":
        if playing and following:
            tick = last
        elif playing:
            tick = tick + view.speed
            # The anchor is where the previous answer left this tab; a long silence since
            # then (a hidden tab's throttled timer, a slow server) means it fell behind.
            if refresh_sec > 0 and view.anchor_time > 0 and now > view.anchor_time:
                due = view.anchor_tick + int((now - view.anchor_time) / refresh_sec) * view.speed
                if due - tick > CATCH_UP_REFRESHES * view.speed:
                    tick = due
    elif action == "play":
        if ended or (not playing and tick >= last and not live):
            tick, ended = start, False
        playing = not playing
    elif action == "reset":
        tick, playing, ended, zoom = start, True, False, zoom + 1
    elif action in ("back", "forward"):
        tick = tick - 1 if action == "back" else tick + 1
        playing = False
    elif action == "live":
        tick, playing, ended = last, True, False
    if action in ("scrub", "back", "reset", "source") or action == "forward" and tick < last:
        ended = False
    if tick >= last:
        tick = last
        if live:
            ended = False
        elif playing:
            playing, ended = False, True
    tick = max(tick, 0)
    following = live and playing and tick >= last
    return replace(
        view,
        tick=tick,
        playing=playing,
        ended=ended,
        following=following,
        zoom=zoom,
        anchor_tick=tick,
        anchor_time=now,
    )


def patch_gap(view: View) -> int | None:
    """How many ticks the graphs must move forward by patching, or None when they need a full paint."""
    if view.shown_key != view.key() or view.shown_tick is None:
        return None
    gap = view.tick - view.shown_tick
    if 0 <= gap <= MAX_PATCH_GAP:
        return gap
    return None
