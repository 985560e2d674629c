"""Background jobs by URL: work too long for a request (a heavy source, a generated dataset).

``FLEET_JOBS_URL`` chooses where jobs run and where their state lives:

- ``diskcache:///folder``: state in a DiskCache folder; each job runs in a process of
  its own started by the worker that submitted it (``python -m dashboard.jobs``), at
  most ``LOCAL_SLOTS`` at once per host; nothing to install or start;
- ``redis://host:port/db``: state in Redis; jobs run in Celery workers
  (``celery -A dashboard.celery_worker worker``) on any host.

The API (the same for both):

>>> jobs = open_jobs(settings)
>>> job_id = jobs.submit("generate", {"scenario": "default"}, key="generate:default")
>>> jobs.status(job_id)          # JobStatus: state, progress 0..1, message, result, error
>>> jobs.cancel(job_id)

A job is a function ``fn(ctx: JobContext, **params) -> dict`` registered by name with
:func:`register_job` (or in ``BUILTIN_JOBS``). It reports progress with
``ctx.progress(fraction, message)``, which also raises :class:`JobCancelled` once the
job was cancelled. It must write its outputs atomically (temporary file, then
``os.replace``) and names its temporary files with ``ctx.scratch_file(path)``: a job whose
process dies (killed, out of memory) is reported failed within ``STALE_S`` seconds and
its scratch files are removed, so nothing half-written remains.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cache import CacheUnavailable, SharedCache, open_cache, redact
from .errors import DashboardError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
HEARTBEAT_S = 1.0
STALE_S = 6.0  # a running job whose heartbeat is older than this has lost its process
LOCAL_SLOTS = 2  # diskcache mode: jobs running at once on one host
JOB_TTL_S = 24 * 3600.0
BUILTIN_JOBS: dict[str, str] = {
    "sleep": "dashboard.jobs:sleep_job",
    "materialize": "dashboard.sources.prepared:materialize_job",
    "generate": "dashboard.authoring.generation:generate_job",
}
_REGISTERED: dict[str, Callable[..., dict]] = {}


class JobError(DashboardError, RuntimeError):
    """A job cannot be submitted or found."""


class JobCancelled(DashboardError):
    """Raised inside a job by ``ctx.progress`` once the job was cancelled."""


@dataclass
class JobStatus:
    """What a job is doing: ``state`` is queued, running, done, failed or cancelled."""

    id: str
    kind: str
    params: dict[str, Any]
    state: str = QUEUED
    progress: float = 0.0
    message: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    scratch: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> JobStatus:
        return cls(**json.loads(raw))


def register_job(name: str, fn: Callable[..., dict] | str, replace: bool = False) -> None:
    """Make ``fn`` (or ``"module:function"``) runnable as job kind ``name``.

    Register in a module every process imports (a Celery worker and the local job
    processes import ``dashboard`` and the registered module path), or use a
    ``"module:function"`` string, which each process resolves itself.
    """
    if not replace and (name in _REGISTERED or name in BUILTIN_JOBS):
        raise JobError(f"a job kind named {name!r} is already registered")
    if isinstance(fn, str):
        BUILTIN_JOBS[name] = fn
    else:
        _REGISTERED[name] = fn


def job_function(kind: str) -> Callable[..., dict]:
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    target = BUILTIN_JOBS.get(kind)
    if target is None:
        raise JobError(f"unknown job kind {kind!r}; known: {', '.join(sorted({*BUILTIN_JOBS, *_REGISTERED}))}")
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class JobContext:
    """What a running job sees: its parameters, progress reporting, cancellation."""

    def __init__(self, jobs: Jobs, status: JobStatus):
        self._jobs = jobs
        self.job_id = status.id
        self.params = status.params
        self.scratch: list[str] = []
        self._last = 0.0

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1) and raise :class:`JobCancelled` if the job was cancelled."""
        if self._jobs.cancel_requested(self.job_id):
            raise JobCancelled("cancelled")
        now = time.monotonic()
        if now - self._last >= 0.2 or fraction >= 1.0:
            self._last = now
            self._jobs._update(self.job_id, progress=max(0.0, min(1.0, float(fraction))), message=message[:200],
                               scratch=list(self.scratch))

    def cancelled(self) -> bool:
        return self._jobs.cancel_requested(self.job_id)

    def scratch_file(self, path: str | os.PathLike) -> str:
        """Record ``path`` as this job's temporary file *before* it is created: if the job's
        process dies, whoever finds it dead removes the file."""
        path = os.fspath(path)
        self.scratch.append(path)
        self._jobs._update(self.job_id, scratch=list(self.scratch))
        return path


class Jobs:
    """Submit, follow and cancel jobs; ``runner`` starts them (a local process or Celery)."""

    def __init__(self, store: SharedCache, runner: Callable[[Jobs, str], None], url: str):
        self.store = store
        self.runner = runner
        self.url = url

    # -- the API ------------------------------------------------------------------
    def submit(self, kind: str, params: dict[str, Any] | None = None, *, key: str | None = None) -> str:
        """Queue a job and return its id; with ``key``, an equal job not failed is reused."""
        job_function(kind)  # unknown kinds fail here, not in the worker
        params = dict(params or {})
        json.dumps(params)  # parameters travel as JSON
        if key is not None:
            with self.store.lock(f"jobkey:{key}", timeout=10, wait=10):
                existing = self.store.get(f"jobkey:{key}")
                if existing is not None:
                    status = self.status(existing.decode())
                    if status is not None and status.state in (QUEUED, RUNNING, DONE):
                        return status.id
                job_id = self._create(kind, params)
                self.store.set(f"jobkey:{key}", job_id.encode(), JOB_TTL_S)
        else:
            job_id = self._create(kind, params)
        self.runner(self, job_id)
        return job_id

    def status(self, job_id: str) -> JobStatus | None:
        """The job's state (a running job whose process died is reported failed)."""
        raw = self.store.get(f"job:{job_id}")
        if raw is None:
            return None
        status = JobStatus.from_json(raw)
        if status.state == RUNNING and time.time() - self._heartbeat(job_id) > STALE_S:
            self._lost(status)
            status = JobStatus.from_json(self.store.get(f"job:{job_id}") or raw)
        elif status.state == QUEUED and time.time() - status.updated > STALE_S:
            self.runner(self, job_id)  # its starter died before the job started: start it again
        return status

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it ends as cancelled at its next progress report."""
        self.store.set(f"cancel:{job_id}", b"1", JOB_TTL_S)
        status = self.status(job_id)
        if status is not None and status.state == QUEUED:
            self._update(job_id, state=CANCELLED, message="cancelled before it started")

    def wait(self, job_id: str, timeout: float = 60.0) -> JobStatus:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            if status is None:
                raise JobError(f"no job {job_id!r}")
            if status.finished or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        try:
            self.store.ping()
        except CacheUnavailable:
            return {"ok": False, "error": "the jobs backend cannot be reached"}
        return {"ok": True}

    # -- running (the job's process) ---------------------------------------------------
    def run(self, job_id: str) -> JobStatus:
        """Run a queued job here, now (in a job process or a Celery worker)."""
        with self.store.lock(f"claim:{job_id}", timeout=10, wait=10):
            status = self.status(job_id)
            if status is None:
                raise JobError(f"no job {job_id!r}")
            if status.state != QUEUED:
                return status  # another process took it, or it was cancelled
            self._beat(job_id)
            self._update(job_id, state=RUNNING, message="started")
        stop = threading.Event()
        beat = threading.Thread(target=self._beat_loop, args=(job_id, stop), daemon=True)
        beat.start()
        ctx = JobContext(self, status)
        try:
            result = job_function(status.kind)(ctx, **status.params) or {}
            self._update(job_id, state=DONE, progress=1.0, result=result, message="done", scratch=[])
        except JobCancelled:
            _remove(ctx.scratch)
            self._update(job_id, state=CANCELLED, message="cancelled", scratch=[])
        except DashboardError as exc:
            _remove(ctx.scratch)
            self._update(job_id, state=FAILED, error=str(exc), message="failed", scratch=[])
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, status.kind)
            _remove(ctx.scratch)
            self._update(job_id, state=FAILED, error=f"internal error ({type(exc).__name__}); the log has the details",
                         message="failed", scratch=[])
        finally:
            stop.set()
            beat.join(5)
        return self.status(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        return self.store.get(f"cancel:{job_id}") is not None

    # -- internals -----------------------------------------------------------------------
    def _create(self, kind: str, params: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex
        self.store.set(f"job:{job_id}", JobStatus(job_id, kind, params).to_json(), JOB_TTL_S)
        return job_id

    def _update(self, job_id: str, **changes: Any) -> None:
        with self.store.lock(f"job:{job_id}", timeout=10, wait=10):
            raw = self.store.get(f"job:{job_id}")
            if raw is None:
                return
            status = JobStatus.from_json(raw)
            if status.finished and changes.get("state") not in (None, status.state):
                return  # a finished job stays finished
            for name, value in changes.items():
                setattr(status, name, value)
            status.updated = time.time()
            self.store.set(f"job:{job_id}", status.to_json(), JOB_TTL_S)

    def _beat(self, job_id: str) -> None:
        self.store.set(f"beat:{job_id}", str(time.time()).encode(), JOB_TTL_S)

    def _beat_loop(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(CacheUnavailable):
                self._beat(job_id)

    def _heartbeat(self, job_id: str) -> float:
        raw = self.store.get(f"beat:{job_id}")
        return float(raw) if raw else 0.0

    def _lost(self, status: JobStatus) -> None:
        _remove(status.scratch)
        self._update(status.id, state=FAILED, error="the process running this job stopped (killed or out of memory); "
                     "nothing it was writing was kept", message="failed", scratch=[])


def _remove(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


# -- diskcache mode: one process per job ---------------------------------------------------
def _local_runner(jobs: Jobs, job_id: str) -> None:
    """Start a job process unless ``LOCAL_SLOTS`` are busy (a finishing process takes the next)."""
    with jobs.store.lock("local:slots", timeout=10, wait=10):
        queue = json.loads(jobs.store.get("local:queue") or b"[]")
        if job_id not in queue:
            queue.append(job_id)
        running = json.loads(jobs.store.get("local:running") or b"{}")
        alive = {j: pid for j, pid in running.items() if _pid_alive(pid)}
        started = []
        while queue and len(alive) < LOCAL_SLOTS:
            next_id = queue.pop(0)
            status_raw = jobs.store.get(f"job:{next_id}")
            if status_raw is None or JobStatus.from_json(status_raw).state != QUEUED:
                continue
            process = subprocess.Popen(
                [sys.executable, "-m", "dashboard.jobs", "run", jobs.url, next_id],
                stdin=subprocess.DEVNULL, start_new_session=True,  # survives the web worker that started it
            )
            alive[next_id] = process.pid
            started.append(process)
            jobs._update(next_id, message="starting")
        jobs.store.set("local:queue", json.dumps(queue).encode())
        jobs.store.set("local:running", json.dumps(alive).encode())
    for process in started:  # reap it in the background so it never lingers as a zombie
        threading.Thread(target=process.wait, daemon=True).start()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return True


def _run_local(url: str, job_id: str) -> int:
    jobs = open_jobs_url(url)
    jobs.run(job_id)
    with jobs.store.lock("local:slots", timeout=10, wait=10):
        running = json.loads(jobs.store.get("local:running") or b"{}")
        running.pop(job_id, None)
        jobs.store.set("local:running", json.dumps(running).encode())
        queue = json.loads(jobs.store.get("local:queue") or b"[]")
    if queue:
        _local_runner(jobs, queue[0])
    return 0


# -- Redis mode: Celery -------------------------------------------------------------------
def celery_app(url: str):
    """The Celery app of a jobs URL (broker and job state in the same Redis)."""
    from celery import Celery

    app = Celery("dashboard", broker=url, broker_connection_retry_on_startup=True)
    app.conf.update(
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_transport_options={"socket_timeout": 2, "socket_connect_timeout": 2},
    )

    @app.task(name="dashboard.run_job")
    def run_job(job_id: str) -> None:
        open_jobs_url(url).run(job_id)

    return app


def _celery_runner(url: str) -> Callable[[Jobs, str], None]:
    app = celery_app(url)

    def start(jobs: Jobs, job_id: str) -> None:
        try:
            app.send_task("dashboard.run_job", args=[job_id], retry=False)
        except Exception as exc:  # kombu/redis errors: the broker is down
            log.warning("the job broker at %s cannot be reached: %s", redact(url), exc)
            raise CacheUnavailable(f"the job broker cannot be reached ({type(exc).__name__})") from None

    return start


def open_jobs_url(url: str) -> Jobs:
    """The jobs backend a URL names (``diskcache:///dir`` or ``redis://...``)."""
    scheme = url.partition(":")[0].lower()
    if scheme == "diskcache":
        return Jobs(open_cache(url), _local_runner, url)
    if scheme in ("redis", "rediss"):
        from .cache import RedisCache

        return Jobs(RedisCache(url, prefix="fleet-jobs:", socket_timeout=2.0), _celery_runner(url), url)
    raise JobError(f"FLEET_JOBS_URL: use diskcache:///DIR or redis://HOST:PORT/DB, got {redact(url)!r}")


def open_jobs(settings) -> Jobs:
    """The jobs of these settings; without ``jobs_url``, a private temporary folder (single user)."""
    url = settings.jobs_url
    if not url:
        import tempfile

        url = f"diskcache://{tempfile.mkdtemp(prefix='fleet-jobs-')}"
    return open_jobs_url(url)


def sleep_job(ctx: JobContext, seconds: float = 1.0, steps: int = 10, write: str | None = None) -> dict:
    """A job that waits in steps (and may write a file atomically): for tests and smoke checks."""
    steps = max(1, int(steps))
    scratch = None
    if write:
        scratch = ctx.scratch_file(f"{write}.tmp-{ctx.job_id}")
        Path(scratch).write_text("partial\n")
    for i in range(steps):
        ctx.progress(i / steps, f"step {i + 1} of {steps}")
        time.sleep(float(seconds) / steps)
    if write and scratch:
        Path(scratch).write_text("complete\n")
        os.replace(scratch, write)
        ctx.scratch.remove(scratch)
    ctx.progress(1.0, "done")
    return {"slept": float(seconds), "wrote": write}


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.jobs run URL JOB_ID``: run one queued job (started by the app)."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.jobs", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one queued job (the app starts this itself)")
    run.add_argument("url")
    run.add_argument("job_id")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s job: %(message)s")
    try:
        return _run_local(args.url, args.job_id)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "CANCELLED",
    "DONE",
    "FAILED",
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobStatus",
    "Jobs",
    "QUEUED",
    "RUNNING",
    "open_jobs",
    "open_jobs_url",
    "register_job",
]
