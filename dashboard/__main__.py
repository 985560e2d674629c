"""``python -m dashboard PATH_OR_SPEC``: serve the dashboard on an existing dataset."""

from __future__ import annotations

import sys

from .cli import serve_main


def main(argv: list[str] | None = None) -> int:
    return serve_main(argv)


if __name__ == "__main__":
    sys.exit(main())
