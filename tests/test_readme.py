"""Every command and Python snippet in the README runs as written.

Shell commands in ``bash`` blocks and inline ``python ...`` commands run in a scratch folder;
serving commands (``run.py``, ``python -m dashboard SPEC``, gunicorn, ``run_dashboard()``,
``.run()``) are started on a free port, probed over HTTP and stopped. Python blocks run
statement by statement. Install and set-up commands (``pip install``, ``scripts/*.sh``,
``source``) are left out: the set-up scripts are what runs this test; so are the benchmark
scripts (``python benchmarks/...``: long runs that print figures, some on the development
data tests must not depend on) and the full training run (``python -m dashboard.train``: minutes
of work; ``tests/models/test_learned.py`` runs the same command on a small configuration).
Commands with an ALL-CAPS placeholder (``SPEC``, ``DATA``, ``artifact=FOLDER``) are templates
for the user's own files.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`\n]+)`")
SET_UP = ("pip ", "bash scripts/", "source ", "apt-get ", "sudo ", "python benchmarks/", "python -m dashboard.train")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]+$")  # SPEC, PATH_OR_SPEC: a template, not a command
# An operator's hosts: system paths, other machines, a password prompt, a Celery worker that
# runs until stopped. Shown, not run here; tests/test_team_server.py runs the same setups
# (login, Redis, Celery) on loopback ports.
OPERATOR_ONLY = re.compile(r"/etc/|\.internal\b|^celery |^echo |dashboard\.auth ")
SERVING_CALLS = {"run_dashboard", "run"}
START_TIMEOUT = 120

pytestmark = pytest.mark.slow


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def _shell_commands() -> list[str]:
    commands = []
    for body in _blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    prose = FENCE.sub("", README)
    commands += [span for span in INLINE.findall(prose) if span.startswith("python ")]
    return list(dict.fromkeys(commands))


def _runnable(command: str) -> bool:
    words = shlex.split(command)
    return (
        not command.startswith(SET_UP)
        and not OPERATOR_ONLY.search(command)
        and not any(PLACEHOLDER.match(w.split("=", 1)[-1]) for w in words)
    )


SHELL = [c for c in _shell_commands() if _runnable(c)]


def _serves(command: str) -> bool:
    words = [w for w in shlex.split(command) if "=" not in w or w.startswith("-")]
    if "--help" in words or "--list" in words:
        return False
    if "gunicorn" in words or words[:2] == ["python", "run.py"]:
        return True
    return words[:3] == ["python", "-m", "dashboard"] and len(words) > 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["FLEET_PORT"] = str(port)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra or {})
    return env


def _probe(port: int, process: subprocess.Popen) -> None:
    """Wait until the page and the app's layout answer 200; fail if the server died."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the server exited with {process.returncode}:\n{out[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                assert page.status == 200 and b"Fleet incident risk" in page.read()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=30) as r:
                assert r.status == 200
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered on port {port} within {START_TIMEOUT} s")
            time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _serve_and_probe(argv: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _probe(port, process)
    finally:
        _stop(process)


def _as_run_here(command: str, tmp_path: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The command's argv and environment in the scratch folder: ``run.py`` from the checkout,
    absolute paths in its variables moved under the scratch folder, port 8050 made free."""
    words = shlex.split(command.replace(":8050", f":{port}"))
    extra = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        name, value = words.pop(0).split("=", 1)
        if value.startswith("/"):  # a folder the operator names: here, a fresh one
            value = str(tmp_path / value.lstrip("/"))
            Path(value).mkdir(parents=True, exist_ok=True)
        extra[name] = value
    words = [str(ROOT / w) if w in ("run.py", "gunicorn.conf.py") else w for w in words]
    return words, _env(tmp_path, port, extra)


@pytest.mark.parametrize("command", SHELL)
def test_the_readme_command_works(command, tmp_path):
    port = _free_port()
    argv, env = _as_run_here(command, tmp_path, port)
    if _serves(command):
        _serve_and_probe(argv, env, tmp_path, port)
        return
    result = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


# -- Python ---------------------------------------------------------------------------------------
def _statements(body: str) -> list[tuple[str, bool, bool]]:
    """Each top-level statement's source, whether it serves (blocks until stopped) and
    whether it is an import."""
    tree = ast.parse(body)
    out = []
    for node in tree.body:
        serves = False
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            serves = name in SERVING_CALLS
        imports = isinstance(node, ast.Import | ast.ImportFrom)
        out.append((ast.get_source_segment(body, node), serves, imports))
    return out


PYTHON = _blocks("python")


@pytest.mark.parametrize("block", range(len(PYTHON)))
def test_the_readme_python_block_works(block, tmp_path):
    statements = _statements(PYTHON[block])
    setup = [s for s, serves, _imports in statements if not serves]
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(setup)],
        cwd=tmp_path,
        env=_env(tmp_path, port),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imports = [s for s, _serves, is_import in statements if is_import]
    for statement in (s for s, serves, _imports in statements if serves):
        port = _free_port()  # the set-up ran once in this folder; the imports run again
        script = "\n".join([*imports, statement])
        _serve_and_probe([sys.executable, "-c", script], _env(tmp_path, port), tmp_path, port)


def _api_calls() -> list[str]:
    """Inline calls of the public API with literal arguments (``open_source("...")``)."""
    import dashboard

    calls = []
    for span in INLINE.findall(FENCE.sub("", README)):
        try:
            node = ast.parse(span, mode="eval").body
        except SyntaxError:
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if not node.args and not node.keywords:
            continue  # a mention of the function (``run_dashboard()``), not a call to run
        if node.func.id not in dashboard.__all__:
            continue
        try:
            values = [ast.literal_eval(a) for a in node.args]
            values += [ast.literal_eval(k.value) for k in node.keywords]
        except ValueError:
            continue  # a placeholder argument (a name, ``{...}``)
        if all(v is not Ellipsis for v in values):
            calls.append(span)
    return calls


def test_the_readme_inline_api_calls_work(tmp_path):
    calls = _api_calls()
    script = "from dashboard import *\n" + "\n".join(calls)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_env(tmp_path, _free_port()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_harness_finds_what_the_readme_promises():
    assert any("dashboard.generate" in c for c in SHELL)
    assert any(c.startswith("python run.py") and _serves(c) for c in SHELL)
    assert any("gunicorn" in c for c in SHELL)
    assert any(serves for b in PYTHON for _s, serves, _i in _statements(b))
