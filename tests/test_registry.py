"""The generic plug-in registry behind the source and model registries."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from dashboard import registry as registry_module
from dashboard.errors import RegistryError
from dashboard.registry import Registry


class Good:
    def run(self):
        return "ok"


class Bad:
    pass


def _check(obj):
    return None if hasattr(obj, "run") else "it has no run() method"


def make(builtins=None):
    return Registry("widget", builtins or {"json": "json:JSONDecoder"}, group="test.widgets", check=None)


def test_reg001_builtin_is_lazy_and_loads_on_get():
    reg = make()
    assert "json" in reg
    import json

    assert reg.get("json") is json.JSONDecoder


def test_reg002_register_refuses_clash_unless_replace():
    reg = make()
    reg.register("good", Good)
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("good", Good)
    reg.register("good", Bad, replace=True)
    assert reg.get("good") is Bad


def test_reg003_unknown_name_lists_known_ones():
    reg = make()
    reg.register("good", Good)
    with pytest.raises(RegistryError, match=r"unknown widget 'nope'; known: good, json"):
        reg.get("nope")


def test_reg004_interface_check_on_register_and_on_lazy_load():
    reg = Registry("widget", {"lazy-bad": "tests.test_registry:Bad"}, group="test.widgets", check=_check)
    with pytest.raises(RegistryError, match="has no run"):
        reg.register("bad", Bad)
    reg.register("good", Good)
    assert reg.get("good") is Good


def test_reg005_missing_module_says_what_to_install():
    reg = make({"ghost": "no_such_module_xyz:Thing"})
    with pytest.raises(RegistryError, match="cannot be imported.*install"):
        reg.get("ghost")


def test_reg006_missing_attribute():
    reg = make({"ghost": "json:NoSuchThing"})
    with pytest.raises(RegistryError, match="has no attribute 'NoSuchThing'"):
        reg.get("ghost")


def test_reg007_entry_point_plugin_is_found_and_cannot_shadow_builtin(monkeypatch):
    eps = [
        EntryPoint(name="plugin", value="tests.test_registry:Good", group="test.widgets"),
        EntryPoint(name="json", value="tests.test_registry:Bad", group="test.widgets"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [e for e in eps if e.group == group])
    reg = make()
    assert reg.names() == ["json", "plugin"]
    assert reg.get("plugin").__name__ == "Good"
    import json

    assert reg.get("json") is json.JSONDecoder


def test_reg008_clear_forgets_registered_and_view_is_read_only():
    reg = make()
    reg.register("good", Good)
    reg.clear()
    assert "good" not in reg
    with pytest.raises(TypeError):
        reg.targets["x"] = Good  # type: ignore[index]


@pytest.mark.parametrize("name", ["", "  ", " x", 3, None])
def test_reg009_bad_names_refused(name):
    with pytest.raises(RegistryError, match="non-empty string"):
        make().register(name, Good)
