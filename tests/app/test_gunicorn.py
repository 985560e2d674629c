"""Under gunicorn with several workers, a tab's playback depends on its Store alone."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids

from .conftest import tick_body

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.skipif(
    shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="needs gunicorn"
)
def test_any_worker_answers_any_tab(demo_dir, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "FLEET_DATA": str(demo_dir / "demo_dataset.parquet"),
        "FLEET_DATA_ROOTS": str(demo_dir),
        "FLEET_DEMO_DIR": str(tmp_path),
        "FLEET_CACHE_DIR": str(tmp_path / "scores"),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-w", "3", "-b", f"127.0.0.1:{port}", "dashboard.wsgi:server"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/_dash-update-component"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        tabs = {}
        for name, query in (("a", "?tick=4"), ("b", "?tick=31&speed=5")):
            answer = _post(url, tick_body({(shell_ids.URL, "search"): query}))
            tabs[name] = answer["response"][ids.VIEW]["data"]
        seen = {"a": [tabs["a"]["tick"]], "b": [tabs["b"]["tick"]]}
        for n in range(1, 16):
            for name in ("a", "b"):
                body = tick_body(
                    {(ids.INTERVAL, "n_intervals"): n}, tabs[name], [f"{ids.INTERVAL}.n_intervals"]
                )
                tabs[name] = _post(url, body)["response"][ids.VIEW]["data"]
                seen[name].append(tabs[name]["tick"])
        assert seen["a"] == list(range(3, 19))
        assert seen["b"] == [min(30 + 5 * k, 59) for k in range(16)]
        assert tabs["b"]["ended"] and not tabs["a"]["ended"]
        assert not (tmp_path / "demo_data").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
