"""Settings in one place: defaults, overridable by environment variables and CLI flags.

| setting | env var | default |
|---|---|---|
| data_roots | FLEET_DATA_ROOTS (os.pathsep-separated) | the current directory and the bundled scenarios/ |
| scenario_dir | FLEET_SCENARIO_DIR | scenarios/ beside the package |
| demo_dir | FLEET_DEMO_DIR | ./demo_data |
| cache_dir | FLEET_CACHE_DIR | none: scores cached in process memory; set it to share scores across workers |
| refresh_sec | FLEET_REFRESH_SEC | 1.0 |
| default_source | FLEET_DATA | the demo dataset |
| default_model | FLEET_MODEL | heuristic |
| debug | FLEET_DEBUG | off |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

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


def _env_paths(name: str) -> tuple[Path, ...] | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the app and its data access."""

    data_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd(), BUNDLED_SCENARIOS))
    scenario_dir: Path = BUNDLED_SCENARIOS
    demo_dir: Path = Path("demo_data")
    cache_dir: Path | None = None
    refresh_sec: float = 1.0
    default_source: str | None = None
    default_model: str = "heuristic"
    debug: bool = False

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        base = cls()
        env: dict = {}
        if (roots := _env_paths("FLEET_DATA_ROOTS")) is not None:
            env["data_roots"] = roots
        if v := os.environ.get("FLEET_SCENARIO_DIR"):
            env["scenario_dir"] = Path(v).expanduser()
        if v := os.environ.get("FLEET_DEMO_DIR"):
            env["demo_dir"] = Path(v).expanduser()
        if v := os.environ.get("FLEET_CACHE_DIR"):
            env["cache_dir"] = Path(v).expanduser()
        if v := os.environ.get("FLEET_REFRESH_SEC"):
            env["refresh_sec"] = float(v)
        if v := os.environ.get("FLEET_DATA"):
            env["default_source"] = v
        if v := os.environ.get("FLEET_MODEL"):
            env["default_model"] = v
        if os.environ.get("FLEET_DEBUG"):
            env["debug"] = _env_bool("FLEET_DEBUG")
        env.update({k: v for k, v in overrides.items() if v is not None})
        return replace(base, **env)

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
