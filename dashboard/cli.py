"""Command-line front ends: ``python -m dashboard``, ``run.py``, ``python -m dashboard.generate``
and ``python -m dashboard.evaluate``.

The entry points read the environment here, once (:meth:`Settings.from_env`), and hand
one :class:`~dashboard.settings.Settings` down; nothing below them reads it again.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from .argtypes import (
    add_mapping_args,
    non_negative_int,
    port,
    positive_float,
    positive_int,
    verify_arg,
)
from .errors import DashboardError
from .settings import DEFAULT_SEED, Settings


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh",
        type=positive_float,
        default=None,
        help="seconds between refreshes (default: FLEET_REFRESH_SEC, else 1)",
    )
    parser.add_argument(
        "--model", default=None, help="risk model name (default: FLEET_MODEL, else heuristic)"
    )
    parser.add_argument(
        "--host", default=None, help="interface to listen on (default: FLEET_HOST, else 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=port, default=None, help="port (default: FLEET_PORT, else 8050)"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=None,
        help="Dash debug mode (default: FLEET_DEBUG; never on a shared server)",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser tab (one opens only where a graphical display exists)",
    )


def _mapping_args(parser: argparse.ArgumentParser) -> None:
    add_mapping_args(parser)
    verify_arg(parser)


def open_checked(
    spec: str,
    settings: Settings,
    columns: str | None = None,
    units: str | None = None,
    verify: str | None = None,
) -> tuple[str, Any]:
    """Open ``spec`` once, so that a bad path or spec fails here with a clear message.

    Returns the spec to serve and the opened source, which the app then serves as it is
    (nothing is read twice). With ``columns``/``units`` given the spec is the source's
    canonical one, which carries them (so they also reach the URL of the view).
    """
    from .sources import open_source

    options = {k: v for k, v in (("columns", columns), ("units", units)) if v is not None}
    source = open_source(spec, settings=settings, **options, **({"verify": verify} if verify else {}))
    if source.n_ticks() == 0 and not source.live:
        raise DashboardError(f"{spec}: the data has no ticks")
    return (source.spec if options else spec), source


def _check_model(name: str | None) -> None:
    if name is None:
        return
    from .models import get_model

    get_model(name)


def serve_main(argv: list[str] | None = None) -> int:
    """``python -m dashboard PATH_OR_SPEC``: serve an existing dataset or source spec."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Serve the fleet incident-risk dashboard on a dataset.",
    )
    parser.add_argument(
        "data",
        help="a CSV/Parquet file or a source spec such as scenario:default or follow:metrics.csv",
    )
    _mapping_args(parser)
    _serve_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env().with_data(args.data)
        spec, source = open_checked(args.data, settings, args.columns, args.units, args.verify)
        _check_model(args.model)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _serve(spec, source, args, settings)


def _serve(spec: str, source: Any, args: argparse.Namespace, settings: Settings) -> int:
    from .app.factory import create_app
    from .app.serving import serve, served_settings

    settings = served_settings(
        settings, refresh_sec=args.refresh, model=args.model, debug=args.debug
    )
    app = create_app(settings.with_data(spec), sources={spec: source})
    host, port = args.host or settings.host, args.port or settings.port
    print(f"Serving {spec} on http://{host}:{port}/  (Ctrl+C to stop)")
    serve(app, host, port, app.services.settings.debug, not args.no_browser)
    return 0


def demo_main(argv: list[str] | None = None) -> int:
    """``python run.py``: generate the demo data when missing, then serve it."""
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Generate the demo dataset if needed and serve the dashboard on it.",
    )
    parser.add_argument(
        "--duration", type=positive_float, default=None, help="demo length in minutes (default 5)"
    )
    parser.add_argument(
        "--fleet-size", type=positive_int, default=None, help="number of servers (default 20)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=None, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--data", default=None, help="serve this file or source spec instead of the demo data"
    )
    _mapping_args(parser)
    _serve_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.data:
            spec = args.data
        elif args.columns or args.units:
            raise DashboardError("--columns and --units apply to --data, not to the generated demo data")
        else:
            spec = str(ensure_demo_data(settings, args.duration, args.fleet_size, args.seed))
        settings = settings.with_data(spec)
        spec, source = open_checked(spec, settings, args.columns, args.units, args.verify)
        _check_model(args.model)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _serve(spec, source, args, settings)


def ensure_demo_data(
    settings: Settings, duration: float | None, fleet_size: int | None, seed: int | None
) -> Path:
    """The demo Parquet file for these options, generated when missing.

    The default demo lives in ``settings.demo_dir``; other options get a folder of
    their own beside it, so one never overwrites another. When another process is
    generating the same demo, this one waits for it and serves what it wrote.
    """
    from .errors import OutputExistsError
    from .generate import generate_demo_dataset

    folder = Path(settings.demo_dir)
    if duration is not None or fleet_size is not None or seed is not None:
        parts = [
            f"d{duration:g}" if duration is not None else "",
            f"n{fleet_size}" if fleet_size else "",
            f"s{seed}" if seed is not None else "",
        ]
        folder = folder / ("demo-" + "-".join(p for p in parts if p))
    target = folder / "demo_dataset.parquet"
    if not target.is_file():
        print(f"Generating the demo data in {folder} ...")
        try:
            generate_demo_dataset(
                folder,
                seed=seed,
                duration=duration,
                fleet_size=fleet_size,
                progress=False,
                wait=True,
                on_wait=print,
            )
        except OutputExistsError:
            if not target.is_file():
                raise
            # another process generated the same demo while this one waited: serve it
    return target


def generate_main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.generate``: the generator CLI with the environment's settings."""
    from .generate import main

    return main(argv, settings=environment_settings())


def evaluate_main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.evaluate``: the evaluation CLI with the environment's settings."""
    from .evaluate import main

    return main(argv, settings=environment_settings())


def exporter_main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.prometheus.exporter``: replay a dataset as live Prometheus metrics."""
    from .prometheus.exporter import main

    return main(argv, settings=environment_settings())


def environment_settings() -> Settings:
    """The environment's settings; a bad variable ends the command with its message (exit 2)."""
    try:
        return Settings.from_env()
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def check_main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.check``: scenario expectations against a model, with the environment's settings."""
    from .check import main

    return main(argv, settings=Settings.from_env())


__all__ = [
    "check_main",
    "demo_main",
    "ensure_demo_data",
    "evaluate_main",
    "exporter_main",
    "generate_main",
    "open_checked",
    "serve_main",
]
