"""Component ids of the Live tab; every one starts with ``live-``."""

from __future__ import annotations

# Playback state and pacing
VIEW = "live-view"  # dcc.Store: this browser tab's playback state (see state.View)
URL_SYNC = "live-url-sync"  # dummy output of the clientside callback that writes the URL
INTERVAL = "live-interval"
WATCHDOG = "live-watchdog"  # re-arms INTERVAL when an answer was lost
WATCHDOG_STALL = "live-watchdog-stall"  # dcc.Store: how long without an answer counts as lost (ms)

# Playback controls
PLAY = "live-play"
BACK = "live-back"
FORWARD = "live-forward"
RESET = "live-reset"
SPEED = "live-speed"
SLIDER = "live-slider"
LIVE = "live-live"  # a live source: "● live" at its head, "jump to live" behind it
CLOCK = "live-clock"  # current time
PROGRESS = "live-progress"  # "tick 12 / 60" and the end state
HINT = "live-hint"  # how clicks and keys work

# The five graphs and their companions
KPI = "live-kpi"
TOP5 = "live-top5"
TREND = "live-trend"
STRIP = "live-strip"
METRICS = "live-metrics"
METRICS_SUB = "live-metrics-sub"  # the rolling metrics card's subtitle: whose lines it shows
SERVERS = "live-servers"  # server selection dropdown
WHY = "live-why"  # the selected server's contributions
WHY_SERVER = "live-why-server"
WHY_STATE = "live-why-state"
WHY_SUB = "live-why-sub"
WHY_TEXT = "live-why-text"  # the plain sentence
WHY_GRAPH = "live-why-graph"

# KPI tiles: each has a value, a detail line and a tile (whose class shows the level)
KPI_TILES = ("health", "risk", "max", "since", "truth")


def kpi(tile: str, part: str) -> str:
    """The id of a KPI tile's ``part`` (``tile``, ``value`` or ``extra``)."""
    return f"live-kpi-{tile}-{part}"
