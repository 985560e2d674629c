"""argparse value types shared by the command-line tools.

Each converter refuses bad text with a message naming the rule it breaks; argparse
prefixes it with the flag (``argument --fleet-size: must be a positive whole number,
got '0'``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

_NAMES = {int: "whole number", float: "number"}


def number(kind: type = float, *, minimum: float | None = None, positive: bool = False) -> Callable[[str], float]:
    """A converter to ``kind`` (int or float) that refuses NaN, infinities and values out of range."""
    name = _NAMES.get(kind, kind.__name__)

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {name}, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite {name}, got {text!r}")
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive {name}, got {text!r}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum:g} or more, got {text!r}")
        return value

    convert.__name__ = f"{'positive ' if positive else ''}{name}"  # argparse names it in errors
    return convert


positive_float = number(float, positive=True)
positive_int = number(int, positive=True)
non_negative_float = number(float, minimum=0)
non_negative_int = number(int, minimum=0)


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {text!r}")
    return value


def verify_arg(parser: argparse.ArgumentParser) -> None:
    """``--verify``: hold a data file to its dataset's metadata in full, whatever its size."""
    parser.add_argument(
        "--verify",
        action="store_const",
        const="full",
        default=None,
        help="check the whole file against the sha256 its dataset's metadata records, "
        "whatever its size (by default files over 1 GB get the size check and Parquet "
        "page checksums)",
    )


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2, without the usage block."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def add_mapping_args(parser: argparse.ArgumentParser) -> None:
    """``--columns`` and ``--units``: how a foreign file's columns map onto the schema."""
    parser.add_argument(
        "--columns",
        metavar="MAPPING",
        default=None,
        help="map the file's columns onto the schema instead of rewriting it: "
        "host=server_name,cpu=cpu_pct, a JSON object, or a JSON file",
    )
    parser.add_argument(
        "--units",
        metavar="UNITS",
        default=None,
        help="units of the file's values, converted to the schema's: "
        "net_in_mb_s=bytes/s,latency_ms=s",
    )


def mapping_options(args: argparse.Namespace) -> dict[str, str]:
    """The ``--columns``/``--units`` given, as source options."""
    return {k: v for k in ("columns", "units") if (v := getattr(args, k, None)) is not None}
