"""Server-wide concerns of the app's Flask server, apart from any page or tab.

``configure_server`` is called once by ``create_app``, after every callback is
registered (the CSP lists the hashes of Dash's inline scripts, clientside callbacks
included):

- request limits and 400 answers to malformed callback requests;
- security headers through Flask-Talisman: a CSP under which the page runs with no
  console errors (``'unsafe-eval'`` for plotly.js, inline scripts by hash),
  ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, ``nosniff``, a referrer
  policy; HTTPS is left to the proxy in front (the README says how);
- the optional login (:mod:`dashboard.auth`): HTTP Basic, 401 for anything that is not
  valid credentials, malformed headers included; ``/health`` stays public;
- ``/metrics``: risk and alert state of the configured live sources' servers, in
  Prometheus's text format (:mod:`dashboard.prometheus.metrics`), behind the login;
- ``/health``: JSON describing the dependencies (scenario folder, data roots, shared
  cache); ``"status": "degraded"`` when one fails;
- any other unknown path answers 404 instead of the page.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from flask import Response, g, jsonify, request

from ..settings import Settings

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024  # callback bodies are small; refuse anything bigger (413)


def configure_server(app: dash.Dash, settings: Settings, services, *, embeddable: bool = False) -> None:
    """Limits, error answers, headers, the optional login, ``/health`` and 404s of ``app``'s server.

    ``embeddable``: another page may frame this one (a Jupyter notebook's output cell, for
    ``LiveDashboard.show()``); a served app refuses to be framed.
    """
    from flask_talisman import Talisman

    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    server.register_error_handler(Exception, answer_malformed_requests)
    _install_not_found(server)
    _install_login(server, settings)
    server.add_url_rule("/health", "fleet_health", lambda: _health(services), methods=["GET"])
    server.add_url_rule("/metrics", "fleet_metrics", lambda: _metrics(services), methods=["GET"])
    Talisman(
        server,
        force_https=False,  # TLS ends at the proxy in front of a team server
        strict_transport_security=True,  # sent only on HTTPS requests
        frame_options=None if embeddable else "DENY",
        content_security_policy=content_security_policy(app, embeddable=embeddable),
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=False,
        x_content_type_options=True,
    )


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


PUBLIC_PATHS = frozenset({"/health"})
OWN_PATHS = frozenset({"/metrics"})  # behind the login, when there is one
# Paths the Dash renderer uses; the page itself is served at "/" only.
# "/_alive_": Dash's Jupyter mode checks that the server it started answers.
_DASH_PREFIXES = ("/_dash-", "/assets/", "/_favicon.ico", "/_reload-hash", "/_alive_")


def content_security_policy(app, *, embeddable: bool = False) -> dict[str, Any]:
    """The CSP: everything from this server; Dash's inline scripts by hash; eval for plotly.js."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", "'unsafe-eval'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],  # plotly.js and React set inline styles
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "*" if embeddable else "'none'",
    }


def _install_not_found(server) -> None:
    @server.before_request
    def refuse_unknown_paths():
        path = request.path
        if path == "/" or path in PUBLIC_PATHS or path in OWN_PATHS or path.startswith(_DASH_PREFIXES):
            return None
        return Response("not found\n", status=404, mimetype="text/plain")


def _install_login(server, settings) -> None:
    from ..auth import PasswordChecker, load_login

    login = load_login(settings)
    server.config["FLEET_LOGIN"] = login
    if login is None:
        return
    checker = PasswordChecker(login)

    @server.before_request
    def require_login():
        g.fleet_user = None
        if request.path in PUBLIC_PATHS:
            return None
        credentials = request.authorization  # Werkzeug's parser: None when malformed
        if (
            credentials is not None
            and credentials.type == "basic"
            and credentials.username
            and credentials.password is not None
            and checker.check(credentials.username, credentials.password)
        ):
            g.fleet_user = credentials.username
            return None
        return Response(
            "Login required\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Basic realm="Fleet incident risk", charset="UTF-8"'},
        )


def current_user() -> str | None:
    """The logged-in user of this request (None without a login)."""
    return getattr(g, "fleet_user", None)


def may_edit(server=None) -> bool:
    """Whether this request's user may save scenarios (always without a login)."""
    from flask import current_app

    login = (server or current_app).config.get("FLEET_LOGIN")
    return True if login is None else login.may_edit(current_user())


def _metrics(services) -> Response:
    from ..prometheus.metrics import CONTENT_TYPE

    return Response(services.metrics_text(), status=200, headers={"Content-Type": CONTENT_TYPE})


def _health(services) -> Response:
    checks = services.health()
    degraded = [name for name, check in checks.items() if not check.get("ok")]
    body = {"status": "degraded" if degraded else "ok", "degraded": degraded, "checks": checks}
    return jsonify(body)


__all__ = ["answer_malformed_requests", "configure_server", "content_security_policy", "current_user", "may_edit"]
