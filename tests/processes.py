"""Real services for tests (redis-server, gunicorn, a Celery worker) on free loopback ports.

Each is started by a context manager that always stops it, also when the test fails.
They are what users run, never mocks; ``scripts/test.sh`` installs the Debian packages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "the condition") -> Any:
    """Poll ``check`` until it returns something truthy (and return it), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def _popen(args: list[str], *, env: dict | None = None, cwd: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


# -- redis-server ---------------------------------------------------------------------
def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise AssertionError("these tests need redis-server (Debian: apt-get install redis-server); scripts/test.sh installs it")
    return found


class RedisServer:
    """A throw-away redis-server on a free loopback port, no persistence."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = _popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--protected-mode", "yes"],
            log=self.folder / "redis.log",
        )
        wait_until(self.ping, 20, "redis-server to answer")
        return self

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder).start()
    try:
        yield server
    finally:
        server.stop()


# -- gunicorn ---------------------------------------------------------------------------
class Gunicorn:
    """``gunicorn dashboard.wsgi:server`` (or another app) with the project's gunicorn.conf.py."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, app: str = "dashboard.wsgi:server",
                 cwd: Path, extra: list[str] | None = None, log: Path | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cwd = Path(cwd)
        self.log = log or self.cwd / "gunicorn.log"
        conf = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
        self.args = [str(BIN / "gunicorn"), "-c", str(conf), "-w", str(workers),
                     "-b", f"127.0.0.1:{self.port}", *(extra or []), app]
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    def start(self, wait: bool = True) -> Gunicorn:
        self.process = _popen(self.args, env=self.env, cwd=self.cwd, log=self.log)
        if wait:
            wait_until(lambda: self.get("/health")[0] in (200, 503), START_TIMEOUT_S, f"gunicorn to serve (log: {self.log})")
        return self

    def get(self, path: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def post(self, path: str, body: dict, timeout: float = 60) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()]

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], **kwargs: Any) -> Iterator[Gunicorn]:
    server = Gunicorn(env, **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()


# -- a Celery worker ----------------------------------------------------------------------
class CeleryWorker:
    """``celery -A dashboard.celery_worker worker`` for the jobs of ``FLEET_JOBS_URL``."""

    def __init__(self, env: dict[str, str], *, cwd: Path, concurrency: int = 1):
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.cwd = Path(cwd)
        self.log = self.cwd / "celery.log"
        self.args = [str(BIN / "celery"), "-A", "dashboard.celery_worker", "worker", "--pool", "prefork",
                     "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
                     "--without-mingle", "--without-heartbeat"]
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        self.process = _popen(self.args, env=self.env, cwd=self.cwd, log=self.log)
        wait_until(lambda: "ready." in self.output(), START_TIMEOUT_S, f"the Celery worker to start (log: {self.log})")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool), as an OOM kill would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGTERM, timeout=30)


# -- Prometheus, its exporters and Alertmanager ----------------------------------------------
def debian_binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"these tests need {name} (Debian: apt-get install {package}); scripts/test.sh installs it")
    return found


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


class Exporter:
    """The project's replay exporter (``python -m dashboard.prometheus.exporter``) on a free port."""

    def __init__(self, folder: Path, data: str, *, tick_seconds: float = 1.0, start_tick: int = 0,
                 loop: bool = False, env: dict[str, str] | None = None):
        self.folder = Path(folder)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "dashboard.prometheus.exporter", "--data", data, "--port", str(self.port),
                     "--tick-seconds", f"{tick_seconds:g}", "--start-tick", str(start_tick), *(["--loop"] if loop else [])]
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.log = self.folder / f"exporter-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Exporter:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = _popen(self.args, env=self.env, cwd=self.folder, log=self.log)
        wait_until(lambda: _http_ok(f"http://{self.address}/metrics"), START_TIMEOUT_S, f"the replay exporter (log: {self.log})")
        return self

    def tick(self) -> int:
        with urllib.request.urlopen(f"http://{self.address}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("fleet_replay_tick "):
                    return int(float(line.split()[1]))
        raise AssertionError("the exporter serves no fleet_replay_tick")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


class NodeExporter:
    """Debian's prometheus-node-exporter on a free loopback port (a few collectors only)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> NodeExporter:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = debian_binary("prometheus-node-exporter", "prometheus-node-exporter")
        self.process = _popen(
            [binary, f"--web.listen-address={self.address}", "--collector.disable-defaults", "--collector.cpu",
             "--collector.meminfo", "--collector.diskstats", "--collector.netdev"],
            log=self.folder / "node-exporter.log",
        )
        wait_until(lambda: _http_ok(f"http://{self.address}/metrics"), START_TIMEOUT_S, "prometheus-node-exporter to answer")
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


class Prometheus:
    """Debian's prometheus with its own configuration and data folder, scraping ``targets``
    (``{job: [host:port, ...]}``) every ``scrape_interval``; exported labels are kept."""

    def __init__(self, folder: Path, targets: dict[str, list[str]], *, scrape_interval: str = "1s",
                 extra_args: list[str] | None = None):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen | None = None

    def _write_config(self) -> Path:
        jobs = []
        for job, addresses in self.targets.items():
            listed = ", ".join(json.dumps(a) for a in addresses)
            jobs.append(f"  - job_name: {json.dumps(job)}\n    honor_labels: true\n    static_configs:\n      - targets: [{listed}]\n")
        config = self.folder / "prometheus.yml"
        config.write_text(
            f"global:\n  scrape_interval: {self.scrape_interval}\n  scrape_timeout: {self.scrape_interval}\n"
            f"  evaluation_interval: {self.scrape_interval}\nscrape_configs:\n" + "".join(jobs)
        )
        return config

    def start(self) -> Prometheus:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = debian_binary("prometheus", "prometheus")
        config = self._write_config()
        self.process = _popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn", *self.extra_args],
            log=self.folder / "prometheus.log",
        )
        wait_until(lambda: _http_ok(f"{self.url}/-/ready"), START_TIMEOUT_S, f"prometheus to be ready (log: {self.folder / 'prometheus.log'})")
        return self

    def query(self, expr: str) -> list[dict]:
        data = urllib.parse.urlencode({"query": expr}).encode()
        with urllib.request.urlopen(f"{self.url}/api/v1/query", data=data, timeout=10) as response:
            return json.loads(response.read())["data"]["result"]

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


class Alertmanager:
    """Debian's prometheus-alertmanager on a free port, clustering off, its own storage."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Alertmanager:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = debian_binary("prometheus-alertmanager", "prometheus-alertmanager")
        config = self.folder / "alertmanager.yml"
        config.write_text("route:\n  receiver: nobody\n  group_wait: 1s\nreceivers:\n  - name: nobody\n")
        self.process = _popen(
            [binary, f"--config.file={config}", f"--storage.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn"],
            log=self.folder / "alertmanager.log",
        )
        wait_until(lambda: _http_ok(f"{self.url}/-/ready"), START_TIMEOUT_S, "alertmanager to be ready")
        return self

    def alerts(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


@contextlib.contextmanager
def running(*services: Any) -> Iterator[tuple[Any, ...]]:
    """Start ``services`` in order and stop them all in reverse order, also on failure."""
    started: list[Any] = []
    try:
        for service in services:
            started.append(service.start())
        yield tuple(started)
    finally:
        for service in reversed(started):
            service.stop()
        for service in services:
            if service not in started and getattr(service, "process", None) is not None:
                service.stop()
