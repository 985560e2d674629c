"""The model registry: built-ins by name, register(), entry points, parameters for the UI."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import ClassVar

import numpy as np
import pytest

from dashboard import registry as registry_module
from dashboard.errors import DashboardError, ModelError, RegistryError
from dashboard.models import (
    DEFAULT_MODEL,
    ENTRY_POINT_GROUP,
    MODELS,
    Parameter,
    RiskModel,
    RiskScores,
    get_model,
    list_models,
    register_model,
)

from .fleets import synthetic_fleet


class Constant(RiskModel):
    """Says the same thing about every server."""

    name: ClassVar[str] = "constant"
    description: ClassVar[str] = "a constant probability"
    history: ClassVar[int] = 1
    metrics: ClassVar[tuple[str, ...]] = ("cpu_pct",)
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("level", 0.25, "the probability", 0.0, 1.0),
        Parameter("mode", "flat", "how", choices=("flat", "steep")),
    )

    def score(self, window):
        n = window.n_servers
        p = np.full(n, self.params["level"])
        return RiskScores(p, p[:, None].copy(), ("cpu",))


class NotAModel:
    pass


def test_top_level_imports():
    from dashboard import RiskModel as A
    from dashboard import get_model as g
    from dashboard import register_model as r

    assert A is RiskModel and g is get_model and r is register_model


def test_builtins_and_default():
    assert DEFAULT_MODEL == "adaptive"
    assert {"adaptive", "heuristic", "learned", "phase-aware"} <= set(MODELS.names())
    assert get_model("heuristic").name == "heuristic"
    assert get_model("phase-aware").reads_ground_truth


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(RegistryError) as info:
        get_model("tft")
    assert "heuristic" in str(info.value) and "phase-aware" in str(info.value)
    assert isinstance(info.value, DashboardError)


@pytest.mark.parametrize(
    "params",
    [{"nope": 1}, {"sensitivity": -1}, {"sensitivity": "high"}, {"recent_ticks": 2.5}, {"sensitivity": float("nan")}],
)
def test_bad_parameters_raise_model_error(params):
    with pytest.raises(ModelError):
        get_model("heuristic", **params)


def test_parameters_are_resolved_and_keyed():
    a = get_model("heuristic", sensitivity=2)
    assert a.params["sensitivity"] == 2
    assert a.key() != get_model("heuristic").key()
    assert a.key() == get_model("heuristic", sensitivity=2.0).key()


def test_register_a_class_and_refuse_clashes():
    register_model("constant", Constant)
    model = get_model("constant", level=0.5)
    src = synthetic_fleet()
    assert np.all(model.score(src.window(3, 1)).probability == 0.5)
    with pytest.raises(RegistryError):
        register_model("constant", Constant)
    with pytest.raises(RegistryError):
        register_model("heuristic", Constant)
    register_model("heuristic", Constant, replace=True)
    assert get_model("heuristic").name == "constant"


def test_register_a_lazy_import_string():
    register_model("lazy", "dashboard.models.heuristic:HeuristicModel")
    assert get_model("lazy").name == "heuristic"


def test_register_refuses_non_models():
    with pytest.raises(RegistryError) as info:
        register_model("bad", NotAModel)
    assert "score" in str(info.value)
    register_model("bad-later", f"{__name__}:NotAModel")
    with pytest.raises(RegistryError):
        get_model("bad-later")


def test_duck_typed_models_are_accepted():
    class Duck:
        history = 1
        metrics = ("cpu_pct",)

        def score(self, window):
            n = window.n_servers
            return RiskScores(np.zeros(n), np.zeros((n, 1)), ("cpu",))

    duck = Duck()
    register_model("duck", duck)
    assert get_model("duck") is duck
    with pytest.raises(ModelError):
        get_model("duck", level=1)


def test_entry_point_plugins(monkeypatch):
    eps = [
        EntryPoint(name="third-party", value="dashboard.models.heuristic:HeuristicModel", group=ENTRY_POINT_GROUP),
        EntryPoint(name="broken", value="no_such_package.models:Model", group=ENTRY_POINT_GROUP),
        EntryPoint(name="other-group", value="x:y", group="something.else"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [e for e in eps if e.group == group])
    MODELS.clear()
    names = MODELS.names()
    assert "third-party" in names and "broken" in names and "other-group" not in names
    assert get_model("third-party").name == "heuristic"
    with pytest.raises(RegistryError) as info:
        get_model("broken")
    assert "install" in str(info.value)


def test_list_models_describes_parameters_for_a_form():
    register_model("constant", Constant)
    models = {m["name"]: m for m in list_models()}
    assert [m["name"] for m in list_models()] == sorted(models)
    for info in models.values():
        assert set(info) == {"name", "description", "reads_ground_truth", "history", "metrics", "parameters"}
        assert info["description"]
        for param in info["parameters"]:
            assert set(param) == {"name", "kind", "default", "description", "low", "high", "choices"}
    constant = models["constant"]
    assert constant["history"] == 1 and constant["metrics"] == ["cpu_pct"]
    assert constant["parameters"][1]["choices"] == ["flat", "steep"]
    heuristic = models["heuristic"]
    assert heuristic["reads_ground_truth"] is False
    assert {p["name"] for p in heuristic["parameters"]} >= {"sensitivity", "z_threshold"}
    assert models["phase-aware"]["reads_ground_truth"] is True
    with pytest.raises(ModelError):
        get_model("constant", mode="wild")
