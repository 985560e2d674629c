"""Settings in one place: defaults, overridable by environment variables and CLI flags.

Every environment variable is validated when it is read; a bad value raises
:class:`SettingsError` naming the variable, what it expects and what it got.

| setting | env var | default |
|---|---|---|
| data_roots | FLEET_DATA_ROOTS (os.pathsep-separated) | the current directory and the bundled scenarios/ (the team server requires it) |
| scenario_dir | FLEET_SCENARIO_DIR | scenarios/ beside the package (bundled, read-only) |
| user_scenario_dir | FLEET_USER_SCENARIO_DIR | ./user_scenarios (what the scenario builder saves) |
| dataset_dir | FLEET_DATASET_DIR | ./datasets (what the scenario builder generates; keep it inside the data roots) |
| demo_dir | FLEET_DEMO_DIR | ./demo_data |
| cache_url | FLEET_CACHE_URL (FLEET_CACHE_DIR: alias of diskcache:///DIR) | memory:// (team server: diskcache in .fleet-state beside the data) |
| jobs_url | FLEET_JOBS_URL | diskcache in .fleet-state beside the data (single-user: a private temporary folder) |
| refresh_sec | FLEET_REFRESH_SEC | 1.0 |
| default_source | FLEET_DATA | the demo dataset |
| default_model | FLEET_MODEL | adaptive |
| debug | FLEET_DEBUG | off |
| host, port | FLEET_HOST, FLEET_PORT | 127.0.0.1, 8050: where the commands and run_dashboard() serve |
| web_budget | FLEET_WEB_MAX_ROWS, FLEET_WEB_MAX_SERVER_TICKS, FLEET_WEB_MAX_MEMORY_MB, FLEET_WEB_INLINE_SERVER_TICKS, FLEET_WEB_MAX_OPEN_SOURCES | see :class:`Budget` |
| auth_file, auth_users, auth_editors | FLEET_AUTH_FILE, FLEET_AUTH_USERS, FLEET_AUTH_EDITORS | no login |
| background_scorer | FLEET_BACKGROUND_SCORER | on for the team server |
| scorer_sources | FLEET_SCORER_SOURCES (``;``-separated specs) | none beyond the default source |
| scorer_models | FLEET_SCORER_MODELS (``;``-separated model names) | the default model |
| prometheus_targets | FLEET_PROMETHEUS_TARGETS (``name=url`` pairs), FLEET_PROMETHEUS_CONFIG (TOML) | none |
| alertmanager | FLEET_ALERTMANAGER_URL (and ``[alertmanager]`` in FLEET_PROMETHEUS_CONFIG) | none: alerts stay in the dashboard |
| public_url | FLEET_PUBLIC_URL | none: alerts carry no link to the dashboard |
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import DashboardError

if TYPE_CHECKING:
    from .prometheus.config import Alertmanager, Target

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def bundled_dir(name: str) -> Path:
    """A folder the package ships: inside the package in an installed wheel (package data),
    at the top of the repository in a checkout (and an editable install)."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_DIR / name


BUNDLED_SCENARIOS = bundled_dir("scenarios")
ASSETS_DIR = bundled_dir("assets")

DEFAULT_SEED = 42
DEFAULT_TICK_SECONDS = 5.0
MAX_REFRESH_SEC = 3600.0
STATE_DIRNAME = ".fleet-state"  # the team server's cache and jobs, beside its data
CACHE_SCHEMES = ("memory", "diskcache", "redis", "rediss")
JOBS_SCHEMES = ("diskcache", "redis", "rediss")


class SettingsError(DashboardError, ValueError):
    """A setting (usually an environment variable) has a value the app cannot use.

    ``problems`` lists one ``(variable, message)`` pair per bad setting.
    """

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.problems))


@dataclass(frozen=True)
class Budget:
    """What one source opened from a browser request may cost (``None``: no limit).

    Rows and server-ticks are checked from an estimate before anything is read; a
    source above ``inline_server_ticks`` (but within the budget) is prepared by a
    background job instead of inside the request. ``max_open_sources`` bounds the
    sources one worker keeps open.
    """

    max_rows: int | None = None
    max_server_ticks: int | None = None
    max_memory_bytes: int | None = None
    inline_server_ticks: int | None = None
    max_open_sources: int = 8

    @property
    def unlimited(self) -> bool:
        return self.max_rows is None and self.max_server_ticks is None and self.max_memory_bytes is None


# What a browser may open: far below what the command line may (no limit there).
WEB_BUDGET = Budget(
    max_rows=5_000_000,
    max_server_ticks=5_000_000,
    max_memory_bytes=1024 * 1024 * 1024,
    inline_server_ticks=500_000,
    max_open_sources=6,
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the app and its data access."""

    data_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd(), BUNDLED_SCENARIOS))
    scenario_dir: Path = BUNDLED_SCENARIOS
    user_scenario_dir: Path = Path("user_scenarios")
    dataset_dir: Path = Path("datasets")
    demo_dir: Path = Path("demo_data")
    cache_url: str = "memory://"
    jobs_url: str | None = None
    refresh_sec: float = 1.0
    default_source: str | None = None
    default_model: str = "adaptive"
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8050
    web_budget: Budget = WEB_BUDGET
    auth_file: Path | None = None
    auth_users: str | None = None
    auth_editors: tuple[str, ...] | None = None  # None: every user who can log in may save
    background_scorer: bool = False
    scorer_sources: tuple[str, ...] = ()
    scorer_models: tuple[str, ...] = ()  # empty: the default model
    prometheus_targets: tuple[Target, ...] = ()
    alertmanager: Alertmanager | None = None
    public_url: str | None = None  # the dashboard's address as users reach it (links in alerts)
    team_server: bool = False

    def prometheus_target(self, name: str) -> Target:
        """The configured Prometheus target called ``name`` (links name targets, never URLs)."""
        from .errors import SourceError

        for target in self.prometheus_targets:
            if target.name == name:
                return target
        known = ", ".join(t.name for t in self.prometheus_targets)
        if not known:
            raise SourceError(
                "no Prometheus target is configured; the operator names them in FLEET_PROMETHEUS_TARGETS "
                "(e.g. prod=http://127.0.0.1:9090)"
            )
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise SourceError(f"no Prometheus target named {shown!r} is configured; configured: {known}")

    @property
    def cache_dir(self) -> Path | None:
        """The folder of a ``diskcache://`` cache URL (None for other kinds)."""
        return diskcache_path(self.cache_url) if self.cache_url.startswith("diskcache:") else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults overridden by the environment, then by ``overrides`` (None ones are ignored).

        Every variable is checked; all bad ones are reported together.
        """
        env = os.environ if environ is None else environ
        values, problems = _read_environment(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if problems:
            raise SettingsError(problems)
        return replace(cls(), **values)

    @classmethod
    def for_team_server(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The team server's settings: the data roots must be named; state is shared on disk.

        Without ``FLEET_DATA_ROOTS`` the server would serve whatever folder it was started
        from (the whole disk when that is ``/``), so it refuses to start.
        """
        env = os.environ if environ is None else environ
        problems: list[tuple[str, str]] = []
        if not env.get("FLEET_DATA_ROOTS", "").strip():
            problems.append(
                (
                    "FLEET_DATA_ROOTS",
                    "the team server serves only folders named explicitly; set it to the folder(s) "
                    f"holding your data, separated by {os.pathsep!r} (e.g. FLEET_DATA_ROOTS=/srv/fleet-data)",
                )
            )
        try:
            settings = cls.from_env(env, **overrides)
        except SettingsError as exc:
            raise SettingsError(problems + exc.problems) from None
        if problems:
            raise SettingsError(problems)
        for root in settings.data_roots:
            if not root.is_dir():
                problems.append(("FLEET_DATA_ROOTS", f"{root} is not a folder"))
        state = settings.data_roots[0] / STATE_DIRNAME if settings.data_roots else None
        extra: dict[str, Any] = {"team_server": True}
        if "FLEET_CACHE_URL" not in env and "FLEET_CACHE_DIR" not in env and state is not None:
            extra["cache_url"] = f"diskcache://{state / 'cache'}"
        if "FLEET_JOBS_URL" not in env and state is not None:
            extra["jobs_url"] = f"diskcache://{state / 'jobs'}"
        if "FLEET_BACKGROUND_SCORER" not in env:
            extra["background_scorer"] = True
        if problems:
            raise SettingsError(problems)
        return replace(settings, **extra)

    def with_data(self, data: str | os.PathLike | None) -> Settings:
        """These settings serving ``data`` (a path or source spec) by default.

        A path the operator names on the command line is trusted: its folder becomes a
        data root. (Paths that arrive through the web UI never widen the roots.)
        """
        if data is None:
            return self
        spec = os.fspath(data)
        path = Path(spec).expanduser()
        roots = self.data_roots
        if path.exists():
            folder = path.resolve().parent if path.is_file() else path.resolve()
            if folder not in roots:
                roots = (*roots, folder)
        return replace(self, default_source=spec, data_roots=roots)


# -- reading and checking the environment ------------------------------------------
class _Bad(ValueError):
    """One value's problem, raised by a parser and reported with its variable's name."""


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise _Bad("must not be empty")
    if len(value) > 4096:
        raise _Bad(f"is {len(value)} characters long; at most 4096 are allowed")
    if any(ord(ch) < 32 for ch in value):
        raise _Bad("contains control characters")
    return value


def _path(raw: str) -> Path:
    return Path(_text(raw)).expanduser()


def _paths(raw: str) -> tuple[Path, ...]:
    parts = [p for p in raw.split(os.pathsep) if p.strip()]
    if not parts:
        raise _Bad(f"names no folder; give one or more paths separated by {os.pathsep!r}")
    return tuple(_path(p) for p in parts)


def _number(raw: str, *, low: float, high: float, what: str) -> float:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        raise _Bad(f"expected {what}, got {text[:40]!r}") from None
    if not math.isfinite(value) or not low < value <= high:
        raise _Bad(f"expected {what}, got {text[:40]!r}")
    return value


def _seconds(raw: str) -> float:
    return _number(raw, low=0.0, high=MAX_REFRESH_SEC, what=f"a number of seconds above 0 and at most {MAX_REFRESH_SEC:g}")


def _count(raw: str) -> int:
    text = raw.strip().replace("_", "")
    if not (text.isascii() and text.isdigit()) or len(text) > 15 or int(text) < 1:
        raise _Bad(f"expected a whole number of at least 1, got {raw.strip()[:40]!r}")
    return int(text)


def _port(raw: str) -> int:
    text = raw.strip()
    if not (len(text) <= 5 and text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise _Bad(f"expected a port number 1-65535, got {text[:40]!r}")
    return int(text)


def _megabytes(raw: str) -> int:
    return int(_number(raw, low=0.0, high=1e9, what="a positive number of megabytes") * 1024 * 1024)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Bad(f"expected one of 1/0, true/false, yes/no, on/off, got {raw.strip()[:40]!r}")


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = _text(raw)
        scheme = value.partition(":")[0].lower()
        if "://" not in value or scheme not in schemes:
            examples = {
                "memory": "memory://",
                "diskcache": "diskcache:///var/cache/fleet",
                "redis": "redis://127.0.0.1:6379/0",
            }
            shown = ", ".join(examples[s] for s in schemes if s in examples)
            raise _Bad(f"expected a URL such as {shown}; got {value[:80]!r}")
        if scheme == "diskcache":
            diskcache_path(value)
        elif scheme.startswith("redis"):
            parts = urlsplit(value)
            try:
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                raise _Bad(f"has an invalid port: {value[:80]!r}") from None
            if not parts.hostname:
                raise _Bad(f"names no host: {value[:80]!r}")
        return value

    return parse


def diskcache_path(url: str) -> Path:
    """The folder of ``diskcache:///abs/path`` (or ``diskcache://relative/path``)."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    if not rest.strip("/"):
        raise _Bad(f"names no folder: {url[:80]!r}; e.g. diskcache:///var/cache/fleet")
    return Path(rest).expanduser()


def _specs(raw: str) -> tuple[str, ...]:
    return tuple(_text(p) for p in raw.split(";") if p.strip())


def _names(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_text(p) for p in raw.split(";") if p.strip()))


def _prometheus(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A parser from :mod:`dashboard.prometheus.config` whose ConfigError becomes this variable's problem."""

    def parse_checked(raw: str) -> Any:
        from .prometheus.config import ConfigError

        try:
            return parse(raw)
        except ConfigError as exc:
            raise _Bad(str(exc)) from None

    return parse_checked


def _target_pairs(raw: str) -> Any:
    from .prometheus.config import parse_target_pairs

    return _prometheus(parse_target_pairs)(raw)


def _prometheus_config(raw: str) -> Any:
    from .prometheus.config import load_config

    return _prometheus(load_config)(_text(raw))


def _web_url(raw: str) -> str:
    from .prometheus.config import check_url

    return _prometheus(lambda text: check_url(text, ""))(_text(raw))


def _users(raw: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        raise _Bad("names no user; give user names separated by commas, or '*' for everyone")
    return names


def _user_hashes(raw: str) -> str:
    from .auth import parse_users

    try:
        parse_users(raw, "FLEET_AUTH_USERS")
    except DashboardError as exc:
        raise _Bad(str(exc).partition(": ")[2] or str(exc)) from None
    return raw


# variable -> (field, parser); Budget fields are "web_budget.<name>".
_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "FLEET_DATA_ROOTS": ("data_roots", _paths),
    "FLEET_SCENARIO_DIR": ("scenario_dir", _path),
    "FLEET_USER_SCENARIO_DIR": ("user_scenario_dir", _path),
    "FLEET_DATASET_DIR": ("dataset_dir", _path),
    "FLEET_DEMO_DIR": ("demo_dir", _path),
    "FLEET_CACHE_URL": ("cache_url", _url(CACHE_SCHEMES)),
    "FLEET_JOBS_URL": ("jobs_url", _url(JOBS_SCHEMES)),
    "FLEET_REFRESH_SEC": ("refresh_sec", _seconds),
    "FLEET_DATA": ("default_source", _text),
    "FLEET_MODEL": ("default_model", _text),
    "FLEET_DEBUG": ("debug", _flag),
    "FLEET_HOST": ("host", _text),
    "FLEET_PORT": ("port", _port),
    "FLEET_WEB_MAX_ROWS": ("web_budget.max_rows", _count),
    "FLEET_WEB_MAX_SERVER_TICKS": ("web_budget.max_server_ticks", _count),
    "FLEET_WEB_MAX_MEMORY_MB": ("web_budget.max_memory_bytes", _megabytes),
    "FLEET_WEB_INLINE_SERVER_TICKS": ("web_budget.inline_server_ticks", _count),
    "FLEET_WEB_MAX_OPEN_SOURCES": ("web_budget.max_open_sources", _count),
    "FLEET_AUTH_FILE": ("auth_file", _path),
    "FLEET_AUTH_USERS": ("auth_users", _user_hashes),
    "FLEET_AUTH_EDITORS": ("auth_editors", _users),
    "FLEET_BACKGROUND_SCORER": ("background_scorer", _flag),
    "FLEET_SCORER_SOURCES": ("scorer_sources", _specs),
    "FLEET_SCORER_MODELS": ("scorer_models", _names),
    "FLEET_PROMETHEUS_TARGETS": ("prometheus_pairs", _target_pairs),
    "FLEET_PROMETHEUS_CONFIG": ("prometheus_config", _prometheus_config),
    "FLEET_ALERTMANAGER_URL": ("alertmanager_url", _web_url),
    "FLEET_PUBLIC_URL": ("public_url", _web_url),
}
ENVIRONMENT_VARIABLES = (*_VARIABLES, "FLEET_CACHE_DIR")


def _read_environment(env: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    budget: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, (attr, parse) in _VARIABLES.items():
        raw = env.get(name)
        if raw is None or (not raw.strip() and name != "FLEET_DEBUG"):
            continue
        try:
            value = parse(raw)
        except _Bad as exc:
            problems.append((name, str(exc)))
            continue
        if attr.startswith("web_budget."):
            budget[attr.partition(".")[2]] = value
        else:
            values[attr] = value
    cache_dir = env.get("FLEET_CACHE_DIR", "").strip()
    if cache_dir:
        if "cache_url" in values:
            problems.append(("FLEET_CACHE_DIR", "is an alias of FLEET_CACHE_URL; set one of them, not both"))
        else:
            try:
                values["cache_url"] = f"diskcache://{_path(cache_dir).absolute()}"
            except _Bad as exc:
                problems.append(("FLEET_CACHE_DIR", str(exc)))
    if budget:
        values["web_budget"] = replace(WEB_BUDGET, **budget)
    _combine_prometheus(values, problems)
    if "auth_editors" in values and "auth_file" not in values and "auth_users" not in values:
        problems.append(("FLEET_AUTH_EDITORS", "names editors but no login is configured (FLEET_AUTH_FILE or FLEET_AUTH_USERS)"))
    return values, problems


def _combine_prometheus(values: dict[str, Any], problems: list[tuple[str, str]]) -> None:
    """The targets of FLEET_PROMETHEUS_TARGETS and FLEET_PROMETHEUS_CONFIG merged by name, and
    the Alertmanager of FLEET_ALERTMANAGER_URL and the file."""
    pairs = values.pop("prometheus_pairs", ())
    config = values.pop("prometheus_config", None)
    alertmanager_url = values.pop("alertmanager_url", None)
    if not pairs and config is None and alertmanager_url is None:
        return
    from .prometheus.config import ConfigError, build_alertmanager, build_targets

    variable = "FLEET_PROMETHEUS_CONFIG" if config is not None else "FLEET_PROMETHEUS_TARGETS"
    try:
        values["prometheus_targets"] = build_targets(pairs, config)
    except ConfigError as exc:
        problems.append((variable, str(exc)))
    try:
        values["alertmanager"] = build_alertmanager(alertmanager_url, config)
    except ConfigError as exc:
        problems.append(("FLEET_ALERTMANAGER_URL" if alertmanager_url else "FLEET_PROMETHEUS_CONFIG", str(exc)))


__all__ = [
    "ASSETS_DIR",
    "BUNDLED_SCENARIOS",
    "Budget",
    "ENVIRONMENT_VARIABLES",
    "Settings",
    "SettingsError",
    "WEB_BUDGET",
    "diskcache_path",
]
