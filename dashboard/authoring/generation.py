"""Generating a user's scenario as a dataset: the background job and where it writes.

The scenario builder submits :func:`generate_job` to the jobs backend
(:mod:`dashboard.jobs`, job kind ``"generate"``): it writes CSV, Parquet and metadata into
``FLEET_DATASET_DIR/<name>-<seed>/`` through :func:`~dashboard.generate.generate_demo_dataset`,
which commits the three files as one set under the folder's lock. Cancelled (at its next
progress report) or killed, it leaves the folder as it was: what it staged is removed then,
or by the next writer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import CancelledError, DashboardError
from ..generate import FILE_NAMES, generate_demo_dataset
from ..jobs import JobCancelled
from ..scenario import Scenario, parse_scenario

JOB_KIND = "generate"


def dataset_folder(settings: Any, scenario: Scenario) -> Path:
    """``FLEET_DATASET_DIR/<name>-<seed>``."""
    return Path(settings.dataset_dir) / f"{scenario.name}-{scenario.seed}"


def folder_label(folder: Path) -> str:
    """How messages name a dataset folder: ``datasets/incident-42`` (never an absolute path)."""
    return f"{folder.parent.name}/{folder.name}"


def dataset_spec(folder: Path) -> str:
    """The source spec that opens a generated dataset (its Parquet file)."""
    return str(folder / FILE_NAMES["parquet"])


def outside_roots(settings: Any, folder: Path) -> str | None:
    """Why the Live tab could not open a dataset written into ``folder`` (None: it could)."""
    from ..sources.paths import resolve_roots

    resolved = folder.resolve()
    if any(resolved == r or resolved.is_relative_to(r) for r in resolve_roots(settings.data_roots)):
        return None
    return (
        "the dataset folder (FLEET_DATASET_DIR) is outside the data roots (FLEET_DATA_ROOTS), so the "
        "Live tab could not open what is generated there; ask whoever runs this server to change one of them"
    )


def already_generated(folder: Path, scenario: Scenario) -> bool:
    """The folder holds this very scenario's dataset, whole."""
    try:
        recorded = json.loads((folder / FILE_NAMES["metadata"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or recorded.get("scenario") != scenario.to_dict():
        return False
    return all((folder / FILE_NAMES[k]).is_file() for k in ("csv", "parquet"))


def generate_job(ctx: Any, scenario: dict[str, Any], folder: str) -> dict[str, Any]:
    """The job: write ``scenario``'s dataset into ``folder``, reporting progress (0..1)."""
    parsed = parse_scenario(scenario, source="the scenario to generate")
    target = Path(folder)
    rows = parsed.n_ticks * parsed.fleet.size
    ctx.progress(0.0, f"generating {rows:,} rows")
    try:
        generate_demo_dataset(
            target,
            parsed,
            force=True,
            progress=lambda done, total: ctx.progress(done / max(total, 1), f"{done:,} of {total:,} ticks"),
            cancel=ctx.cancelled,
            wait=30.0,
        )
    except (CancelledError, JobCancelled):
        raise JobCancelled("cancelled; the folder holds what it held before") from None
    except DashboardError as exc:
        # The writer names the folder by its full path; the web shows it by its label.
        raise type(exc)(str(exc).replace(str(target), folder_label(target))) from None
    return {"spec": dataset_spec(target), "rows": rows, "folder": folder_label(target)}
