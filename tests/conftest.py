"""Fixtures shared by every test: registries start each test with only their built-ins."""

from __future__ import annotations

import sys

import pytest

from dashboard.registry import Registry


def _registries() -> list[Registry]:
    found = []
    for name in ("dashboard.sources", "dashboard.models"):
        module = sys.modules.get(name)
        if module is None:
            continue
        found.extend(v for v in vars(module).values() if isinstance(v, Registry))
    return found


@pytest.fixture(autouse=True)
def _reset_registries():
    for registry in _registries():
        registry.clear()
    yield
    for registry in _registries():
        registry.clear()


@pytest.fixture(autouse=True)
def _forget_verified_files():
    """Each test checks data files against their metadata afresh (the check is cached per process)."""
    from dashboard.datasets import clear_verified

    clear_verified()
    yield
    clear_verified()
