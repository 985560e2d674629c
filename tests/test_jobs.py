"""Background jobs by URL: a process per job on DiskCache, Celery workers on Redis; killed workers."""

from __future__ import annotations

import json
import os
import signal

import pytest

from dashboard.jobs import CANCELLED, DONE, FAILED, RUNNING, JobError, open_jobs_url

from .processes import CeleryWorker, redis_server, wait_until


@pytest.fixture()
def local_jobs(tmp_path):
    jobs = open_jobs_url(f"diskcache://{tmp_path / 'jobs'}")
    yield jobs
    for pid in json.loads(jobs.store.get("local:running") or b"{}").values():
        with __import__("contextlib").suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_local_job_runs_in_its_own_process_with_progress(local_jobs, tmp_path):
    target = tmp_path / "out.txt"
    job = local_jobs.submit("sleep", {"seconds": 0.5, "steps": 5, "write": str(target)})
    seen = wait_until(lambda: (s := local_jobs.status(job)).state in (RUNNING, DONE) and s, 60, "the job to start")
    assert seen.kind == "sleep"
    final = local_jobs.wait(job, 60)
    assert final.state == DONE and final.progress == 1.0
    assert final.result == {"slept": 0.5, "wrote": str(target)}
    assert target.read_text() == "complete\n"


def test_equal_jobs_are_submitted_once(local_jobs):
    a = local_jobs.submit("sleep", {"seconds": 0.2}, key="same")
    b = local_jobs.submit("sleep", {"seconds": 0.2}, key="same")
    assert a == b
    assert local_jobs.wait(a, 60).state == DONE


def test_a_job_can_be_cancelled(local_jobs, tmp_path):
    target = tmp_path / "never.txt"
    job = local_jobs.submit("sleep", {"seconds": 30, "steps": 300, "write": str(target)})
    wait_until(lambda: local_jobs.status(job).state == RUNNING, 60, "the job to run")
    local_jobs.cancel(job)
    assert local_jobs.wait(job, 30).state == CANCELLED
    assert not target.exists() and not list(tmp_path.glob("never.txt.tmp-*"))


def test_unknown_kinds_are_refused_at_submission(local_jobs):
    with pytest.raises(JobError, match="unknown job kind 'nope'"):
        local_jobs.submit("nope")


def test_a_killed_job_process_is_reported_failed_and_leaves_nothing_half_written(local_jobs, tmp_path):
    target = tmp_path / "out.txt"
    job = local_jobs.submit("sleep", {"seconds": 60, "steps": 600, "write": str(target)})
    wait_until(lambda: local_jobs.status(job).state == RUNNING and list(tmp_path.glob("out.txt.tmp-*")), 60, "the job to write")
    pid = json.loads(local_jobs.store.get("local:running"))[job]
    os.kill(pid, signal.SIGKILL)
    final = wait_until(lambda: (s := local_jobs.status(job)).state == FAILED and s, 30, "the job to be reported failed")
    assert "stopped" in final.error
    assert not target.exists() and not list(tmp_path.glob("out.txt.tmp-*"))


def test_celery_jobs_and_a_killed_celery_worker(tmp_path):
    with redis_server(tmp_path / "redis") as redis:
        env = {"FLEET_JOBS_URL": redis.url}
        jobs = open_jobs_url(redis.url)
        worker = CeleryWorker(env, cwd=tmp_path).start()
        try:
            done = jobs.submit("sleep", {"seconds": 0.3, "steps": 3})
            assert jobs.wait(done, 60).state == DONE
            target = tmp_path / "out.txt"
            job = jobs.submit("sleep", {"seconds": 60, "steps": 600, "write": str(target)})
            wait_until(lambda: jobs.status(job).state == RUNNING and list(tmp_path.glob("out.txt.tmp-*")), 60, "the job to write")
            worker.kill()
            final = wait_until(lambda: (s := jobs.status(job)).state == FAILED and s, 30, "the job to be reported failed")
            assert "stopped" in final.error
            assert not target.exists() and not list(tmp_path.glob("out.txt.tmp-*"))
            assert jobs.health() == {"ok": True}
        finally:
            worker.stop()
        redis.stop()
        assert jobs.health()["ok"] is False
