"""What the web app tells its users when something goes wrong."""

from __future__ import annotations

GENERIC_ERROR = (
    "Something went wrong while updating the dashboard; the details are in the server log."
)
