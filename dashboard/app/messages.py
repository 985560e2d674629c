"""What the web app tells its users when something goes wrong."""

from __future__ import annotations

GENERIC_ERROR = (
    "Something went wrong while updating the dashboard; the details are in the server log."
)
DEGRADED_CACHE = (
    "The shared cache cannot be reached: scores are computed by this server process alone "
    "until it is back (slower, nothing is lost)."
)
