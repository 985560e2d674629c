"""The team server under real gunicorn: refusing bad setups, correctness across workers, faults.

Every server here is a real gunicorn (with the project's gunicorn.conf.py), a real
redis-server and a real Celery worker on free loopback ports, always stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard.app.live import ids
from dashboard.app.live.callbacks import tick_request
from dashboard.app.shell import ids as shell_ids

from .processes import BIN, Gunicorn, gunicorn, redis_server, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TEAM_APP = ["--pythonpath", str(ROOT), "tests.team_app:server"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return {
        "FLEET_DATA_ROOTS": str(data),
        "FLEET_DEMO_DIR": str(tmp_path / "no-demo"),
        "FLEET_DATA": "scenario:default",
        "FLEET_TEST_CALLS": str(tmp_path / "calls.log"),
        "FLEET_BACKGROUND_SCORER": "0",
        **extra,
    }


def _open(server: Gunicorn, query: str) -> dict:
    status, answer = server.post("/_dash-update-component", tick_request({(shell_ids.URL, "search"): query}))
    assert status == 200, answer
    return answer["response"]


def _next(server: Gunicorn, store: dict, n: int) -> tuple[int, dict]:
    body = tick_request({(ids.INTERVAL, "n_intervals"): n}, store, [f"{ids.INTERVAL}.n_intervals"])
    status, answer = server.post("/_dash-update-component", body)
    return status, (answer["response"] if status == 200 else answer)


# -- refusing to start ------------------------------------------------------------------
def _gunicorn_exit(args: list[str], env: dict[str, str], cwd: str) -> tuple[int, str]:
    result = subprocess.run(
        [str(BIN / "gunicorn"), *args], env={**os.environ, **env}, cwd=cwd,
        capture_output=True, text=True, timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_b4c_started_from_root_without_data_roots_it_refuses(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    env["FLEET_DEMO_DIR"] = str(tmp_path / "no-demo")
    code, output = _gunicorn_exit(["-w", "1", "-b", "127.0.0.1:0", "dashboard.wsgi:server"], env, "/")
    assert code != 0
    assert "FLEET_DATA_ROOTS: the team server serves only folders named explicitly" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("value", ["abc", "nan", "inf"])
def test_g4_a_bad_setting_stops_the_server_with_a_message(tmp_path, value):
    env = {**_env(tmp_path), "FLEET_REFRESH_SEC": value}
    conf = str(ROOT / "gunicorn.conf.py")
    code, output = _gunicorn_exit(["-c", conf, "-b", "127.0.0.1:0", "dashboard.wsgi:server"], env, str(tmp_path))
    assert code != 0
    assert f"FLEET_REFRESH_SEC: expected a number of seconds above 0 and at most 3600, got '{value}'" in output
    assert "Traceback" not in output and "Worker failed to boot" not in output


# -- correctness across workers --------------------------------------------------------------
@pytest.mark.parametrize("cache", ["diskcache", "redis"])
def test_four_workers_every_client_sees_each_tick_once_and_each_tick_is_scored_once(tmp_path, cache):
    with redis_server(tmp_path / "redis") as redis:
        extra = {"FLEET_CACHE_URL": redis.url} if cache == "redis" else {}
        with gunicorn(_env(tmp_path, **extra), workers=4, cwd=tmp_path, extra=TEAM_APP[:2], app=TEAM_APP[2]) as server:
            sources = ["scenario:default?seed=1", "scenario:default?seed=2"]
            polls = 12

            def client(k: int) -> list[int]:
                spec = sources[k % 2].replace("?", "%3F").replace("=", "%3D")
                response = _open(server, f"?source={spec}&model=counting&tick={k % 3 + 1}")  # links count from 1
                store = response[ids.VIEW]["data"]
                seen = [store["tick"]]
                for n in range(1, polls + 1):
                    status, response = _next(server, store, n)
                    assert status == 200, response
                    store = response[ids.VIEW]["data"]
                    seen.append(store["tick"])
                return seen

            with ThreadPoolExecutor(8) as pool:
                sequences = list(pool.map(client, range(8)))
    for k, seen in enumerate(sequences):
        assert seen == list(range(k % 3, k % 3 + polls + 1)), (k, seen)
    calls = Counter(line.rsplit(" ", 1)[0] for line in (tmp_path / "calls.log").read_text().splitlines())
    assert calls and max(calls.values()) == 1, calls.most_common(3)
    pids = {line.rsplit(" ", 1)[1] for line in (tmp_path / "calls.log").read_text().splitlines()}
    assert len(pids) >= 2  # the work was shared out, not done by one worker


# -- faults ------------------------------------------------------------------------------------
def test_e4_a_worker_killed_mid_request_leaves_the_others_unaffected(tmp_path):
    env = _env(tmp_path, FLEET_TEST_SLOW_PID=str(tmp_path / "slow.pid"), FLEET_TEST_SLOW_S="20")
    with gunicorn(env, workers=2, cwd=tmp_path, extra=TEAM_APP[:2], app=TEAM_APP[2]) as server:
        other = _open(server, "?tick=6")[ids.VIEW]["data"]
        victim = _open(server, "?tick=6&model=heuristic")[ids.VIEW]["data"]
        slow_store = dict(victim, model="slow")
        result: dict = {}

        def slow_request():
            try:
                result["answer"] = _next(server, slow_store, 1)
            except OSError as exc:  # the connection dropped with the worker
                result["error"] = exc

        thread = threading.Thread(target=slow_request)
        thread.start()
        pid = int(wait_until(lambda: (tmp_path / "slow.pid").read_text(), 30, "the slow request to reach a worker"))
        os.kill(pid, signal.SIGKILL)
        thread.join(60)
        assert "error" in result or result["answer"][0] >= 500
        ticks = []
        for n in range(1, 6):  # the other user, meanwhile and after
            status, response = _next(server, other, n)
            assert status == 200
            other = response[ids.VIEW]["data"]
            ticks.append(other["tick"])
        assert ticks == [6, 7, 8, 9, 10]
        status, response = _next(server, victim, 2)  # the victim's next refresh recovers
        assert status == 200 and response[ids.VIEW]["data"]["tick"] == 6
        wait_until(lambda: len(server.worker_pids()) == 2, 30, "gunicorn to replace the worker")


def test_redis_stopped_and_restarted_no_request_fails(tmp_path):
    with redis_server(tmp_path / "redis") as redis:
        env = _env(tmp_path, FLEET_CACHE_URL=redis.url)
        with gunicorn(env, workers=2, cwd=tmp_path, extra=TEAM_APP[:2], app=TEAM_APP[2]) as server:
            store = _open(server, "?model=counting")[ids.VIEW]["data"]
            n = 0

            def poll(times: int) -> list[dict]:
                nonlocal store, n
                answers = []
                for _ in range(times):
                    n += 1
                    status, response = _next(server, store, n)
                    assert status == 200, response
                    store = response[ids.VIEW]["data"]
                    answers.append(response)
                return answers

            poll(3)
            assert all(shell_ids.MESSAGE not in a for a in poll(2))
            redis.stop()
            down = poll(4)
            messages = [a.get(shell_ids.MESSAGE, {}).get("children", "") for a in down]
            assert any("shared cache" in m for m in messages), messages
            health = server.get("/health")
            assert health[0] == 200 and b'"degraded"' in health[1]
            before = len((tmp_path / "calls.log").read_text().splitlines())
            redis.start()
            wait_until(lambda: b'"status":"ok"' in server.get("/health")[1].replace(b" ", b""), 30, "health to recover")
            # the restarted Redis is empty: new ticks are scored again and stored there
            import redis as redis_client

            assert redis_client.Redis.from_url(redis.url).dbsize() == 0
            store = _open(server, "?model=counting&tick=40")[ids.VIEW]["data"]
            # each worker tries Redis again on its own (every RETRY_S): /health answered by one
            # of them says nothing of the other, so wait until refreshes on both stop saying so
            failed: list[BaseException] = []

            def recovered() -> bool:
                try:
                    answers = poll(4)
                except AssertionError as exc:  # a failed request: the test fails, not retries
                    failed.append(exc)
                    return True
                return all("shared cache" not in a.get(shell_ids.MESSAGE, {}).get("children", "") for a in answers)

            wait_until(recovered, 30, "every worker to use the restarted Redis")
            assert not failed, failed
            assert len((tmp_path / "calls.log").read_text().splitlines()) > before
            assert redis_client.Redis.from_url(redis.url).dbsize() > 0
            assert server.get("/health")[0] == 200
