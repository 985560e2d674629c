"""The Prometheus targets and the Alertmanager an operator configured, checked once at start.

A link can only name a target (``prometheus:prod``), never a URL: the URLs, credentials
and PromQL live here, read from ``FLEET_PROMETHEUS_TARGETS`` (``name=url`` pairs,
comma-separated) and the TOML file named by ``FLEET_PROMETHEUS_CONFIG``::

    [targets.prod]                      # url may also come from FLEET_PROMETHEUS_TARGETS
    url = "https://prometheus.internal:9090"
    step = "15s"                        # one dashboard tick; the target's resolution
    scrape_interval = "15s"             # how often Prometheus scrapes (default: the step)
    server_label = "instance"           # the label that names a server
    profile_labels = ["role", "job"]    # the first of these a series has is its profile
    bearer_token_file = "/etc/fleet/prometheus-token"
    [targets.prod.queries]              # PromQL per schema metric (wins over the mapping)
    latency_ms = '1000 * histogram_quantile(0.95, sum by ($__labels, le) (rate(http_request_duration_seconds_bucket[$__rate_interval])))'
    [targets.prod.extra]                # extra metrics by query, under their own names
    queue_depth = 'max by ($__labels) (last_over_time(app_queue_depth[$__lookback]))'

    [alertmanager]                      # url may also come from FLEET_ALERTMANAGER_URL
    url = "http://alertmanager.internal:9093"
    labels = { team = "sre" }

PromQL may use ``$__labels`` (the server and profile labels, for ``by (...)``),
``$__interval`` (the step), ``$__rate_interval`` (a window for ``rate``: four scrapes, at
least a step and a scrape) and ``$__lookback`` (how old a sample may be and still count
for a tick: two scrapes, at least a step). A tick without a sample that recent is a gap.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import schema
from ..errors import DashboardError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_NAME = re.compile(NAME_PATTERN)
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
MAX_CONFIG_BYTES = 1_000_000
MAX_TARGETS = 64
MAX_QUERY_CHARS = 4096
MIN_STEP_S = 0.5
MAX_STEP_S = 86400.0
MAX_HISTORY = 10_000

LABELS, INTERVAL, RATE_INTERVAL, LOOKBACK = "$__labels", "$__interval", "$__rate_interval", "$__lookback"
PLACEHOLDERS = (LABELS, RATE_INTERVAL, INTERVAL, LOOKBACK)  # longest first where one prefixes another

# The usual PromQL for node_exporter's series, and for an application's HTTP histogram,
# request counter and GC pause summary (Micrometer's names). Each keeps the server and
# profile labels, so one series comes back per server.
NODE_EXPORTER_MAPPING: dict[str, str] = {
    "cpu_pct": (
        '100 * (1 - avg by ($__labels) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval])))'
    ),
    "mem_pct": (
        "100 * (1 - sum by ($__labels) (last_over_time(node_memory_MemAvailable_bytes[$__lookback]))"
        " / sum by ($__labels) (last_over_time(node_memory_MemTotal_bytes[$__lookback])))"
    ),
    "disk_io_mb_s": (
        "sum by ($__labels) (rate(node_disk_read_bytes_total[$__rate_interval])"
        " + rate(node_disk_written_bytes_total[$__rate_interval])) / 1e6"
    ),
    "net_in_mb_s": (
        'sum by ($__labels) (rate(node_network_receive_bytes_total{device!="lo"}[$__rate_interval])) / 1e6'
    ),
    "net_out_mb_s": (
        'sum by ($__labels) (rate(node_network_transmit_bytes_total{device!="lo"}[$__rate_interval])) / 1e6'
    ),
    "latency_ms": (
        "1000 * sum by ($__labels) (rate(http_request_duration_seconds_sum[$__rate_interval]))"
        " / sum by ($__labels) (rate(http_request_duration_seconds_count[$__rate_interval]))"
    ),
    "error_rate": (
        '(sum by ($__labels) (rate(http_requests_total{code=~"5.."}[$__rate_interval]))'
        " or 0 * sum by ($__labels) (rate(http_requests_total[$__rate_interval])))"
        " / sum by ($__labels) (rate(http_requests_total[$__rate_interval]))"
    ),
    "gc_pause_ms": (
        "1000 * sum by ($__labels) (rate(jvm_gc_pause_seconds_sum[$__rate_interval]))"
        " / sum by ($__labels) (rate(jvm_gc_pause_seconds_count[$__rate_interval]))"
    ),
}
MAPPINGS = {"node_exporter": NODE_EXPORTER_MAPPING, "none": {}}


class ConfigError(DashboardError, ValueError):
    """The Prometheus or Alertmanager configuration cannot be used; names the field."""


# -- durations ---------------------------------------------------------------------------
def parse_duration(value: Any, what: str = "duration") -> float:
    """Seconds from a Prometheus duration (``15s``, ``1m30s``, ``500ms``) or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a duration such as 15s or 1m, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ConfigError(f"{what}: expected a duration such as 15s, 1m30s or 500ms, got {text[:40]!r}") from None
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ConfigError(f"{what}: expected a duration such as 15s or 1m, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{what}: must be a positive duration, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """``seconds`` in PromQL's duration syntax (whole milliseconds): ``4s``, ``1500ms``, ``2m``."""
    ms = max(1, round(seconds * 1000))
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


# -- targets -----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Auth:
    """How to authenticate to an HTTP API: basic auth or a bearer token, headers, TLS."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    ca_file: str | None = None
    tls_verify: bool = True


@dataclass(frozen=True)
class Target(Auth):
    """One Prometheus the dashboard may read, by the name links use."""

    name: str
    url: str
    step_s: float = 15.0
    scrape_interval_s: float | None = None  # None: the step
    delay_s: float = 1.0  # a tick is read once this long has passed after it
    timeout_s: float = 10.0
    history: int = 120  # ticks read when the source opens
    server_label: str = "instance"
    profile_labels: tuple[str, ...] = ("role", "job")
    mapping: str = "node_exporter"
    queries: tuple[tuple[str, str], ...] = ()  # schema metric -> PromQL
    extra: tuple[tuple[str, str], ...] = ()  # extra metric -> PromQL

    @property
    def scrape_s(self) -> float:
        return self.scrape_interval_s or self.step_s

    def windows(self, step_s: float) -> dict[str, str]:
        """The placeholders' values at ``step_s`` (Grafana's ``$__rate_interval`` rule)."""
        scrape = self.scrape_s
        return {
            LABELS: ", ".join(dict.fromkeys((self.server_label, *self.profile_labels))),
            INTERVAL: format_duration(step_s),
            RATE_INTERVAL: format_duration(max(4 * scrape, step_s + scrape)),
            LOOKBACK: format_duration(max(2 * scrape, step_s)),
        }

    def expressions(self, step_s: float | None = None) -> dict[str, str]:
        """PromQL per metric (the schema's first, then extras), placeholders filled in."""
        values = self.windows(step_s or self.step_s)
        wanted = {**MAPPINGS[self.mapping], **dict(self.queries)}
        ordered = {m: wanted[m] for m in schema.METRIC_NAMES if m in wanted}
        ordered.update(dict(self.extra))
        return {name: fill(expr, values) for name, expr in ordered.items()}

    def digest(self) -> str:
        """What the data read from this target depends on (not its credentials)."""
        what = json.dumps(
            [self.url, self.step_s, self.scrape_s, self.server_label, self.profile_labels, self.expressions()],
            sort_keys=True,
        )
        return hashlib.sha256(what.encode()).hexdigest()[:16]


def fill(expr: str, values: Mapping[str, str]) -> str:
    for name in PLACEHOLDERS:
        expr = expr.replace(name, values[name])
    return expr


@dataclass(frozen=True)
class Alertmanager(Auth):
    """Where alert transitions go (``/api/v2/alerts`` of an Alertmanager-compatible server)."""

    url: str
    timeout_s: float = 5.0
    resend_s: float = 60.0  # active alerts are posted again this often (Prometheus: 1m)
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrometheusConfig:
    """What ``FLEET_PROMETHEUS_CONFIG`` holds: target options by name, the Alertmanager's."""

    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    alertmanager: dict[str, Any] | None = None


def check_name(name: str, what: str = "target name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{what} {str(name)[:40]!r}: use 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return name


def check_url(url: Any, what: str) -> str:
    """An ``http(s)://host[:port][/path]`` URL (no query or fragment), without a trailing slash."""
    text = str(url).strip() if isinstance(url, str) else ""
    where = f"{what}: " if what else ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{where}not a valid URL: {text[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}expected an http:// or https:// URL with a host, got {text[:80]!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}the URL must not carry a query or fragment: {text[:80]!r}")
    return text.rstrip("/")


def parse_target_pairs(raw: str) -> tuple[tuple[str, str], ...]:
    """``prod=http://a:9090,staging=http://b:9090`` as (name, url) pairs."""
    pairs: dict[str, str] = {}
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep:
            raise ConfigError(f"{item[:60]!r} is not name=url (e.g. prod=http://127.0.0.1:9090)")
        name = check_name(name.strip())
        if name in pairs:
            raise ConfigError(f"target {name!r} is named twice")
        pairs[name] = check_url(url, f"target {name!r}")
    if not pairs:
        raise ConfigError("names no target; give name=url pairs separated by commas")
    if len(pairs) > MAX_TARGETS:
        raise ConfigError(f"names {len(pairs)} targets; at most {MAX_TARGETS} are allowed")
    return tuple(pairs.items())


def load_config(path: str | Path) -> PrometheusConfig:
    """Read and check the TOML file; every problem is reported as ``file: field: rule``."""
    path = Path(path).expanduser()
    label = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{label}: {len(raw):,} bytes; a configuration has at most {MAX_CONFIG_BYTES:,}")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    try:
        checked = _FileModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_loc(e.get('loc', ()))}: {_message(e)}" for e in exc.errors(include_url=False))
        raise ConfigError(f"{label}: {problems}") from None
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    base = path.parent
    targets = {}
    for name, options in (checked.targets or {}).items():
        try:
            targets[check_name(name)] = _target_options(options, base, f"targets.{name}")
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    alertmanager = None
    if checked.alertmanager is not None:
        try:
            alertmanager = _alertmanager_options(checked.alertmanager, base)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    return PrometheusConfig(targets, alertmanager)


def build_targets(pairs: tuple[tuple[str, str], ...], config: PrometheusConfig | None) -> tuple[Target, ...]:
    """The targets of ``FLEET_PROMETHEUS_TARGETS`` and of the file, merged by name."""
    options = dict(config.targets) if config else {}
    urls = dict(pairs)
    out = []
    for name in dict.fromkeys([*urls, *options]):
        found = dict(options.get(name, {}))
        if name in urls and "url" in found:
            raise ConfigError(
                f"target {name!r} has a URL both in FLEET_PROMETHEUS_TARGETS and in the configuration file; keep one"
            )
        url = urls.get(name) or found.pop("url", None)
        if url is None:
            raise ConfigError(f"target {name!r} has no URL: add url = \"...\" to its table, or name it in FLEET_PROMETHEUS_TARGETS")
        out.append(Target(name=name, url=url, **found))
    if len(out) > MAX_TARGETS:
        raise ConfigError(f"{len(out)} targets are configured; at most {MAX_TARGETS} are allowed")
    return tuple(out)


def build_alertmanager(url: str | None, config: PrometheusConfig | None) -> Alertmanager | None:
    found = dict(config.alertmanager or {}) if config else {}
    if url and "url" in found:
        raise ConfigError("the Alertmanager URL is given both in FLEET_ALERTMANAGER_URL and in the configuration file; keep one")
    url = url or found.pop("url", None)
    if url is None:
        if found:
            raise ConfigError("[alertmanager] has no url (or set FLEET_ALERTMANAGER_URL)")
        return None
    return Alertmanager(url=url, **found)


# -- the file's shape (pydantic), then the dataclasses' values ---------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _AuthModel(_Strict):
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    headers: dict[str, str] | None = None
    ca_file: str | None = None
    tls_verify: bool = True


class _TargetModel(_AuthModel):
    url: str | None = None
    step: str | int | float | None = None
    scrape_interval: str | int | float | None = None
    delay: str | int | float | None = None
    timeout: str | int | float | None = None
    history: int | None = None
    server_label: str | None = None
    profile_labels: list[str] | str | None = None
    mapping: str | None = None
    queries: dict[str, str] | None = None
    extra: dict[str, str] | None = None


class _AlertmanagerModel(_AuthModel):
    url: str | None = None
    timeout: str | int | float | None = None
    resend: str | int | float | None = None
    labels: dict[str, str] | None = None


class _FileModel(_Strict):
    targets: dict[str, _TargetModel] | None = None
    alertmanager: _AlertmanagerModel | None = None


def _loc(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field (check its spelling)"
    text = str(err.get("msg", "invalid"))
    if "input" in err and kind != "missing":
        shown = repr(err["input"])
        text += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return text


def _secret(options: Any, name: str, base: Path, where: str) -> str | None:
    given, from_file = getattr(options, name), getattr(options, f"{name}_file")
    if given is not None and from_file is not None:
        raise ConfigError(f"{where}: give {name} or {name}_file, not both")
    if from_file is None:
        return given
    path = Path(from_file).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}.{name}_file: {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    if not text:
        raise ConfigError(f"{where}.{name}_file: {path} is empty")
    return text


def _auth(options: Any, base: Path, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "username": options.username,
        "password": _secret(options, "password", base, where),
        "bearer_token": _secret(options, "bearer_token", base, where),
        "tls_verify": options.tls_verify,
    }
    if out["password"] is not None and out["username"] is None:
        raise ConfigError(f"{where}: a password needs a username")
    if out["bearer_token"] is not None and out["username"] is not None:
        raise ConfigError(f"{where}: give a username and password or a bearer token, not both")
    if options.headers:
        for key, value in options.headers.items():
            if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", key) or any(ord(c) < 32 for c in value):
                raise ConfigError(f"{where}.headers: {key[:40]!r} is not a valid HTTP header")
        out["headers"] = tuple(sorted(options.headers.items()))
    if options.ca_file is not None:
        ca = Path(options.ca_file).expanduser()
        ca = ca if ca.is_absolute() else base / ca
        if not ca.is_file():
            raise ConfigError(f"{where}.ca_file: {ca} is not a file")
        out["ca_file"] = str(ca)
    return {k: v for k, v in out.items() if v is not None}


def _target_options(options: Any, base: Path, where: str) -> dict[str, Any]:
    out = _auth(options, base, where)
    if options.url is not None:
        out["url"] = check_url(options.url, f"{where}.url")
    for key, attr in (("step", "step_s"), ("scrape_interval", "scrape_interval_s"), ("delay", "delay_s"), ("timeout", "timeout_s")):
        value = getattr(options, key)
        if value is not None:
            out[attr] = parse_duration(value, f"{where}.{key}")
    step = out.get("step_s", Target.step_s)
    if not MIN_STEP_S <= step <= MAX_STEP_S:
        raise ConfigError(f"{where}.step: must be from {MIN_STEP_S:g} s to {MAX_STEP_S:g} s, got {step:g} s")
    if options.history is not None:
        if not 1 <= options.history <= MAX_HISTORY:
            raise ConfigError(f"{where}.history: must be 1 to {MAX_HISTORY:,} ticks, got {options.history}")
        out["history"] = options.history
    if options.server_label is not None:
        out["server_label"] = _label(options.server_label, f"{where}.server_label")
    if options.profile_labels is not None:
        labels = [options.profile_labels] if isinstance(options.profile_labels, str) else options.profile_labels
        out["profile_labels"] = tuple(_label(x, f"{where}.profile_labels") for x in labels)
    if options.mapping is not None:
        if options.mapping not in MAPPINGS:
            raise ConfigError(f"{where}.mapping: must be one of {', '.join(MAPPINGS)}, got {options.mapping[:40]!r}")
        out["mapping"] = options.mapping
    if options.queries:
        for metric, expr in options.queries.items():
            if not schema.is_core_metric(metric):
                raise ConfigError(
                    f"{where}.queries.{metric[:40]}: not a schema metric ({', '.join(schema.METRIC_NAMES)}); "
                    "put other metrics under extra"
                )
            _check_query(expr, f"{where}.queries.{metric}")
        out["queries"] = tuple(options.queries.items())
    if options.extra:
        for metric, expr in options.extra.items():
            if not _METRIC_NAME.fullmatch(metric) or schema.is_core_metric(metric) or metric in schema.ALL_COLUMNS:
                raise ConfigError(
                    f"{where}.extra.{metric[:40]}: an extra metric needs a name of letters, digits and '_' "
                    "that is not a schema column"
                )
            _check_query(expr, f"{where}.extra.{metric}")
        out["extra"] = tuple(options.extra.items())
    return out


def _alertmanager_options(options: Any, base: Path) -> dict[str, Any]:
    where = "alertmanager"
    out = _auth(options, base, where)
    if options.url is not None:
        out["url"] = check_url(options.url, f"{where}.url")
    if options.timeout is not None:
        out["timeout_s"] = parse_duration(options.timeout, f"{where}.timeout")
    if options.resend is not None:
        out["resend_s"] = parse_duration(options.resend, f"{where}.resend")
    if options.labels:
        for key in options.labels:
            _label(key, f"{where}.labels")
        out["labels"] = tuple(sorted(options.labels.items()))
    return out


def _label(name: Any, where: str) -> str:
    if not isinstance(name, str) or not _LABEL.fullmatch(name):
        raise ConfigError(f"{where}: {str(name)[:40]!r} is not a Prometheus label name")
    return name


def _check_query(expr: str, where: str) -> None:
    if not expr.strip():
        raise ConfigError(f"{where}: the query is empty")
    if len(expr) > MAX_QUERY_CHARS:
        raise ConfigError(f"{where}: the query has {len(expr):,} characters; at most {MAX_QUERY_CHARS:,}")


__all__ = [
    "Alertmanager",
    "ConfigError",
    "MAPPINGS",
    "NODE_EXPORTER_MAPPING",
    "PrometheusConfig",
    "Target",
    "build_alertmanager",
    "build_targets",
    "check_name",
    "check_url",
    "fill",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_target_pairs",
]
