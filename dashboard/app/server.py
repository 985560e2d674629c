"""Server-wide concerns of the app's Flask server, apart from any page or tab.

``configure_server`` is called once by ``create_app``: request limits and answers to
malformed requests live here, and so does anything else that guards the whole server
(security headers, health checks, authentication).
"""

from __future__ import annotations

import logging

import dash

from ..settings import Settings

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # callback bodies are small; refuse anything bigger (413)


def configure_server(app: dash.Dash, settings: Settings) -> None:
    """Set the server-wide limits and error answers of ``app``'s Flask server."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.register_error_handler(Exception, answer_malformed_requests)


def answer_malformed_requests(error: Exception):
    """A callback request Dash cannot dispatch (an unknown output, inputs that do not match
    the callback, a forged body) is the client's mistake: answer 400 with a short message
    instead of a 500 and a traceback in the log. The app's own callbacks turn their
    failures into messages themselves, so nothing else should reach here from dispatch.
    """
    from flask import request
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if request.path.endswith("/_dash-update-component"):
        log.warning("refused a malformed callback request: %s: %s", type(error).__name__, error)
        return {"message": "this request does not match any callback of the dashboard"}, 400
    log.error("unhandled error on %s", request.path, exc_info=error)
    return {"message": "internal error; the server log has the details"}, 500
