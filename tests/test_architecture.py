"""The package's shape: imports point one way, private names stay home, the environment is read
only at the entry points, app modules stay small and view-models stay Dash-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dashboard"
# Modules that are entry points: they may read the environment (Settings.from_env).
ENTRY_POINTS = {
    "dashboard.cli",
    "dashboard.wsgi",
    "dashboard.celery_worker",
    "dashboard.app.factory",
    "dashboard.app.serving",
}
MAX_APP_MODULE_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> set[str]:
    """The package's modules ``module`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{target}.{alias.name}"
                found.add(name if name in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = {m: _imported(m, p) for m, p in MODULES.items()}
    assert _cycles(graph) == []


def test_private_names_are_not_imported_across_modules():
    crossing = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                crossing += [
                    f"{module} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert crossing == []


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines calling ``Settings.from_env`` outside ``if __name__ == "__main__":`` blocks."""
    main_blocks = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            main_blocks.update(id(n) for n in ast.walk(node))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "from_env" and id(node) not in main_blocks
    ]


def test_only_entry_points_read_the_settings_from_the_environment():
    readers = {
        module: lines
        for module, path in MODULES.items()
        if module not in ENTRY_POINTS and module != "dashboard.settings"
        and (lines := _reads_environment(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert readers == {}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("dashboard.app")))
def test_app_modules_stay_small(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_APP_MODULE_LINES, f"{module}: {lines} lines; split it by idea"


def test_view_models_and_validation_do_not_import_dash():
    code = (
        "import sys\n"
        "import dashboard.app.live.view, dashboard.app.live.state, dashboard.app.about.view\n"
        "import dashboard.app.builder.view, dashboard.app.builder.edits, dashboard.authoring.preview\n"
        "import dashboard.app.validate, dashboard.app.arrays, dashboard.app.services\n"
        "print(sorted(m for m in sys.modules if m == 'dash' or m.startswith(('dash.', 'plotly'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
