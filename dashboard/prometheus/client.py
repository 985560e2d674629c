"""Prometheus's HTTP API (``/api/v1/query_range``) through requests, with errors in words.

One maintained client: requests (already installed with Dash), speaking Prometheus's stable
v1 API directly; answers are parsed with orjson straight into numpy arrays, so 8,000 series
of 60 steps cost tens of milliseconds. Every failure becomes a :class:`PrometheusError` whose
message names the *target* (never its address, which may be internal) and what went wrong:
unreachable, too slow, not a Prometheus, credentials refused, or a query Prometheus rejected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import requests

from ..errors import DataError, shorten
from .config import Auth, Target, format_duration

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
# Prometheus refuses a range query of more than 11,000 points per series.
MAX_POINTS = 11_000


class PrometheusError(DataError):
    """Prometheus could not answer; ``reason`` is one of unreachable, timeout, not-prometheus,
    auth, query, server."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels, sample times (seconds) and values."""

    labels: dict[str, str]
    times: np.ndarray  # float64 (k,), Unix seconds
    values: np.ndarray  # float64 (k,)


def http_session(auth: Auth) -> requests.Session:
    """A session sending ``auth``'s credentials, headers and TLS settings (no proxy from the
    environment: the operator's URL is called as configured)."""
    session = requests.Session()
    session.headers.update({"Accept": "application/json", **dict(auth.headers)})
    session.headers["User-Agent"] = "fleet-risk-dashboard"
    if auth.username is not None:
        session.auth = (auth.username, auth.password or "")
    elif auth.bearer_token is not None:
        session.headers["Authorization"] = f"Bearer {auth.bearer_token}"
    session.verify = auth.ca_file or auth.tls_verify
    session.trust_env = False
    return session


class PrometheusClient:
    """Queries one configured :class:`~dashboard.prometheus.config.Target`."""

    def __init__(self, target: Target, *, timeout_s: float | None = None):
        self.target = target
        self.timeout_s = float(timeout_s or target.timeout_s)
        self.session = http_session(target)

    @property
    def label(self) -> str:
        return f"Prometheus target {self.target.name!r}"

    def close(self) -> None:
        self.session.close()

    def query_range(self, expr: str, start: float, end: float, step: float, *, what: str = "") -> list[Series]:
        """``expr`` evaluated at ``start, start + step, ... <= end`` (Unix seconds)."""
        body = {
            "query": expr,
            "start": _stamp(start),
            "end": _stamp(end),
            "step": _stamp(step),
            "timeout": format_duration(self.timeout_s),
        }
        data = self._post("/api/v1/query_range", body, what)
        if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
            raise PrometheusError(f"{self.label} answered a range query{_for(what)} without a matrix", "not-prometheus")
        return parse_matrix(data["result"])

    def check(self) -> dict[str, Any]:
        """Prometheus's build information (version...): a cheap "is this Prometheus?"."""
        data = self._get("/api/v1/status/buildinfo")
        if not isinstance(data, dict) or "version" not in data:
            raise PrometheusError(f"{self.label} answered, but not as a Prometheus server", "not-prometheus")
        return data

    # -- HTTP ---------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, str], what: str) -> Any:
        return self._call("POST", path, what, data=body)

    def _get(self, path: str) -> Any:
        return self._call("GET", path, "")

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        url = self.target.url + path
        try:
            response = self.session.request(
                method, url, timeout=(min(CONNECT_TIMEOUT_S, self.timeout_s), self.timeout_s + 1.0), **kwargs
            )
        except requests.exceptions.ConnectTimeout:
            raise PrometheusError(f"{self.label} cannot be reached: no connection within {CONNECT_TIMEOUT_S:g} s", "unreachable") from None
        except requests.exceptions.SSLError as exc:
            log.warning("%s (%s): TLS failed: %s", self.label, url, exc)
            raise PrometheusError(f"{self.label}: the TLS handshake failed (check ca_file / tls_verify)", "unreachable") from None
        except requests.exceptions.ConnectionError as exc:
            if isinstance(exc, requests.exceptions.ReadTimeout) or "Read timed out" in str(exc):
                raise _too_slow(self.label, what, self.timeout_s) from None
            log.info("%s (%s) unreachable: %s", self.label, url, exc)
            raise PrometheusError(f"{self.label} cannot be reached ({_why(exc)})", "unreachable") from None
        except requests.exceptions.Timeout:
            raise _too_slow(self.label, what, self.timeout_s) from None
        except requests.exceptions.RequestException as exc:
            log.warning("%s (%s): %s", self.label, url, exc)
            raise PrometheusError(f"{self.label}: the request failed ({type(exc).__name__})", "unreachable") from None
        return self._answer(response, what)

    def _answer(self, response: requests.Response, what: str) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise PrometheusError(
                f"{self.label} refused the dashboard's credentials (HTTP {status}); check its auth in FLEET_PROMETHEUS_CONFIG",
                "auth",
            )
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or payload.get("status") not in ("success", "error"):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise PrometheusError(
                f"{self.label} answered HTTP {status} ({kind}), not as the Prometheus API; check that its URL "
                "is a Prometheus server (the address before /api/v1)",
                "not-prometheus",
            )
        if payload["status"] == "error":
            kind = str(payload.get("errorType", ""))
            error = shorten(str(payload.get("error", "")), 300)
            if kind == "timeout" or status == 503 and "timed out" in error:
                raise _too_slow(self.label, what, self.timeout_s, inside=True)
            if kind in ("bad_data", "execution") or status in (400, 422):
                raise PrometheusError(f"{self.label} refused the query{_for(what)}: {error}", "query")
            raise PrometheusError(f"{self.label} failed{_for(what)} (HTTP {status}, {kind or 'error'}): {error}", "server")
        if status >= 400:
            raise PrometheusError(f"{self.label} answered HTTP {status}{_for(what)}", "server")
        return payload.get("data")


def parse_matrix(result: list[Any]) -> list[Series]:
    """A matrix result as :class:`Series` (values converted in one numpy call for all series)."""
    counts = [len(s.get("values") or ()) if isinstance(s, dict) else 0 for s in result]
    total = sum(counts)
    flat = [p for s, k in zip(result, counts, strict=True) if k for p in s["values"]]
    try:
        times = np.fromiter((p[0] for p in flat), dtype=np.float64, count=total)
        values = np.array([p[1] for p in flat], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        raise PrometheusError("Prometheus answered samples that are not [time, value] pairs", "not-prometheus") from None
    out = []
    at = 0
    for s, k in zip(result, counts, strict=True):
        labels = s.get("metric") if isinstance(s, dict) else None
        out.append(Series(labels if isinstance(labels, dict) else {}, times[at : at + k], values[at : at + k]))
        at += k
    return out


def _stamp(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _for(what: str) -> str:
    return f" for {what}" if what else ""


def _too_slow(label: str, what: str, timeout_s: float, inside: bool = False) -> PrometheusError:
    where = "Prometheus stopped the query" if inside else "no answer"
    return PrometheusError(
        f"{label} is too slow: {where}{_for(what)} within {timeout_s:g} s (raise timeout in FLEET_PROMETHEUS_CONFIG, "
        "or make the query cheaper)",
        "timeout",
    )


def _why(exc: Exception) -> str:
    text = str(exc)
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("No route to host", "no route to host"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "the connection closed without an answer"),
    ):
        if needle in text:
            return words
    return "connection failed"


__all__ = ["MAX_POINTS", "PrometheusClient", "PrometheusError", "Series", "http_session", "parse_matrix"]
