""""Generate dataset" from the builder: a background job with progress and cancel.

The job (:func:`dashboard.authoring.generation.generate_job`) runs on the jobs backend of
``FLEET_JOBS_URL`` (:mod:`dashboard.jobs`), never inside a web request, so no worker timeout
cuts it. The page keeps the job's id in a Store and polls its status while it runs; any
worker can answer, since the status lives in the backend.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from ...authoring import draft
from ...authoring.generation import (
    JOB_KIND,
    already_generated,
    dataset_folder,
    dataset_spec,
    folder_label,
    outside_roots,
)
from ...authoring.library import version_of
from ...errors import DashboardError
from ...jobs import CANCELLED, DONE, FAILED
from ..messages import public_message
from ..services import Services
from ..shell import ids as shell_ids
from ..validate import ViewError
from . import ids
from .actions import live_query
from .view import draft_from_store

log = logging.getLogger(__name__)

RUNNING_STYLE = {"display": "block"}
IDLE_STYLE = {"display": "none"}
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
OUTPUTS = (
    (ids.GEN_JOB, "data"),
    (ids.GEN_POLL, "disabled"),
    (ids.GEN_STATUS, "children"),
    (ids.GEN_RESULT, "data"),
    (ids.OPEN_DATASET, "disabled"),
    (ids.GENERATE, "disabled"),
    (ids.CANCEL, "disabled"),
    (ids.PROGRESS_WRAP, "style"),
    (ids.PROGRESS, "value"),
    (ids.PROGRESS, "label"),
)


def _answer(**values: Any) -> tuple:
    return tuple(values.get(f"{c}|{p}", no_update) for c, p in OUTPUTS)


def shown(answer: tuple, data_roots: Any) -> tuple:
    """``answer`` with its status line as a web page may show it."""
    at = OUTPUTS.index((ids.GEN_STATUS, "children"))
    message = answer[at]
    if not isinstance(message, str) or not message:
        return answer
    return (*answer[:at], public_message(message, data_roots), *answer[at + 1 :])


def _idle(message: str, **more: Any) -> tuple:
    """The job is over (or never started): buttons back, progress hidden."""
    return _answer(
        **{
            f"{ids.GEN_POLL}|disabled": True,
            f"{ids.GEN_STATUS}|children": message,
            f"{ids.GENERATE}|disabled": False,
            f"{ids.CANCEL}|disabled": True,
            f"{ids.PROGRESS_WRAP}|style": IDLE_STYLE,
            **more,
        }
    )


def start(services: Services, data: Any) -> tuple:
    """A click on "Generate dataset": check, then submit the job (or say it is done already)."""
    try:
        state = draft_from_store(data)
    except ViewError as exc:
        return _idle(str(exc))
    scenario, problems = draft.check(state.doc)
    if scenario is None:
        return _idle(f"fix the {len(problems)} problem(s) listed above before generating")
    folder = dataset_folder(services.settings, scenario)
    problem = outside_roots(services.settings, folder)
    if problem:
        return _idle(problem)
    label = folder_label(folder)
    if already_generated(folder, scenario):
        return _idle(
            f"{label} already holds this scenario's dataset",
            **{f"{ids.GEN_RESULT}|data": dataset_spec(folder), f"{ids.OPEN_DATASET}|disabled": False},
        )
    key = f"{JOB_KIND}:{folder.resolve()}:{version_of(scenario.to_json().encode())}"
    job_id = services.jobs().submit(JOB_KIND, {"scenario": scenario.to_dict(), "folder": str(folder)}, key=key)
    rows = scenario.n_ticks * scenario.fleet.size
    return _answer(
        **{
            f"{ids.GEN_JOB}|data": {"id": job_id},
            f"{ids.GEN_POLL}|disabled": False,
            f"{ids.GEN_STATUS}|children": f"generating {rows:,} rows into {label}…",
            f"{ids.OPEN_DATASET}|disabled": True,
            f"{ids.GENERATE}|disabled": True,
            f"{ids.CANCEL}|disabled": False,
            f"{ids.PROGRESS_WRAP}|style": RUNNING_STYLE,
            f"{ids.PROGRESS}|value": 0,
            f"{ids.PROGRESS}|label": "",
        }
    )


def job_id_of(job: Any) -> str | None:
    """The job id the page holds (client input: checked)."""
    job_id = job.get("id") if isinstance(job, dict) else None
    return job_id if isinstance(job_id, str) and _JOB_ID.match(job_id) else None


def poll(services: Services, job: Any) -> tuple:
    """Where the job is: its progress while it runs, what it did once it is over."""
    job_id = job_id_of(job)
    if job_id is None:
        return _idle("")
    status = services.jobs().status(job_id)
    if status is None:
        return _idle("the generation is no longer known (it finished more than a day ago)")
    if status.state == DONE:
        result = status.result or {}
        return _idle(
            f"wrote {result.get('rows', 0):,} rows into {result.get('folder', 'the dataset folder')} (CSV, Parquet, metadata)",
            **{
                f"{ids.GEN_RESULT}|data": result.get("spec"),
                f"{ids.OPEN_DATASET}|disabled": not result.get("spec"),
                f"{ids.PROGRESS}|value": 100,
            },
        )
    if status.state == CANCELLED:
        return _idle("cancelled: the dataset folder holds what it held before")
    if status.state == FAILED:
        return _idle(f"the generation failed: {status.error or 'no reason given'}")
    percent = int(round(100 * status.progress))
    return _answer(**{f"{ids.PROGRESS}|value": percent, f"{ids.PROGRESS}|label": f"{percent}%"})


def cancel(services: Services, job: Any) -> tuple:
    job_id = job_id_of(job)
    if job_id is None:
        raise PreventUpdate
    services.jobs().cancel(job_id)
    return _answer(**{f"{ids.GEN_STATUS}|children": "cancelling…", f"{ids.CANCEL}|disabled": True})


def pick_action(triggered: list[dict[str, Any]]) -> str | None:
    """What one request of the generation callback answers when several inputs fired together:
    a click (Cancel first, then Generate) before the poll timer, which would otherwise hide it.
    None when nothing fired (a button drawn anew, a timer not started)."""
    fired = {
        str(t.get("prop_id", "")).rsplit(".", 1)[0]
        for t in triggered
        if isinstance(t, dict) and t.get("value")
    }
    for component in (ids.CANCEL, ids.GENERATE, ids.GEN_POLL):
        if component in fired:
            return component
    return None


def register_callbacks(app: Dash, services: Services) -> None:
    """Wire "Generate dataset", its progress and cancel, and "Open in Live"."""

    @app.callback(
        *[Output(c, p) for c, p in OUTPUTS],
        Input(ids.GENERATE, "n_clicks"),
        Input(ids.GEN_POLL, "n_intervals"),
        Input(ids.CANCEL, "n_clicks"),
        State(ids.DRAFT, "data"),
        State(ids.GEN_JOB, "data"),
        prevent_initial_call=True,
    )
    def follow_generation(_generate, _poll, _cancel, data, job) -> tuple:
        """Start a generation, follow its progress, or cancel it."""
        trigger = pick_action(ctx.triggered)
        if trigger is None:
            raise PreventUpdate  # a button not clicked, a timer not started
        try:
            if trigger == ids.GENERATE:
                answer = start(services, data)
            elif trigger == ids.CANCEL:
                answer = cancel(services, job)
            else:
                answer = poll(services, job)
        except DashboardError as exc:
            answer = _idle(f"the generation cannot run: {exc}")
        except Exception:
            log.exception("generating a dataset from the builder failed")
            answer = _idle("the generation failed; the details are in the server log")
        return shown(answer, services.settings.data_roots)

    # allow_duplicate: "Play now" switches to the Live tab the same way.
    @app.callback(
        Output(shell_ids.URL, "search", allow_duplicate=True),
        Output(shell_ids.TABS, "active_tab", allow_duplicate=True),
        Input(ids.OPEN_DATASET, "n_clicks"),
        State(ids.GEN_RESULT, "data"),
        prevent_initial_call=True,
    )
    def open_dataset(n_clicks, spec) -> tuple:
        """Open the generated dataset in the Live tab."""
        if not n_clicks or not isinstance(spec, str) or not spec.endswith(".parquet"):
            raise PreventUpdate
        return live_query(spec), "live"
