"""Risk models: the interface, the registry of named models, and the built-ins.

>>> from dashboard.models import get_model, list_models
>>> model = get_model("adaptive")
>>> scores = model.score(window)          # one vectorised call for the whole fleet

Built-ins are lazy ``"module:Class"`` strings; third-party models register through the
``fleet_dashboard.models`` entry-point group or :func:`register_model`.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ModelError, RegistryError
from ..registry import Registry
from .base import Parameter, RiskModel, RiskScores

DEFAULT_MODEL = "adaptive"
ENTRY_POINT_GROUP = "fleet_dashboard.models"

BUILTIN_MODELS = {
    "adaptive": "dashboard.models.adaptive:AdaptiveModel",
    "heuristic": "dashboard.models.heuristic:HeuristicModel",
    "learned": "dashboard.models.learned:LearnedModel",
    "phase-aware": "dashboard.models.phase_aware:PhaseAwareModel",
}


def _check_model(obj: Any) -> str | None:
    """Why ``obj`` cannot serve as a risk model, or None when it can."""
    if inspect.isclass(obj) and issubclass(obj, RiskModel):
        if inspect.isabstract(obj):
            return f"it does not implement {', '.join(sorted(obj.__abstractmethods__))}"
        return None
    missing = [a for a in ("score", "history", "metrics") if not hasattr(obj, a)]
    if missing:
        return (
            f"it lacks {', '.join(missing)}; subclass dashboard.models.RiskModel "
            "and implement score(window) -> RiskScores"
        )
    if not callable(obj.score):
        return "its score attribute is not callable"
    return None


MODELS: Registry[type[RiskModel]] = Registry("risk model", BUILTIN_MODELS, ENTRY_POINT_GROUP, check=_check_model)


def register_model(name: str, target: Any, replace: bool = False) -> None:
    """Register a model class (or ``"module:Class"``) under ``name``; clashes are refused."""
    MODELS.register(name, target, replace=replace)


def get_model(name: str | None = None, **params: Any) -> RiskModel:
    """A ready-to-use instance of the model registered as ``name`` (default: ``adaptive``).

    Unknown names raise :class:`~dashboard.errors.RegistryError` listing the known
    ones; invalid parameters raise :class:`~dashboard.errors.ModelError`.
    """
    name = DEFAULT_MODEL if name is None else name
    cls = MODELS.get(name)
    if not inspect.isclass(cls):
        if params:
            raise ModelError(f"model {name!r} is an instance and takes no parameters")
        return cls
    try:
        return cls(**params)
    except ModelError:
        raise
    except TypeError as exc:
        raise ModelError(f"model {name!r} refused its parameters: {exc}") from exc


def describe_model(name: str) -> dict[str, Any]:
    """What the UI needs to list a model and render a form for its parameters."""
    cls = MODELS.get(name)
    params = getattr(cls, "parameters", ()) or ()
    return {
        "name": name,
        "description": str(getattr(cls, "description", "") or (cls.__doc__ or "").strip().split("\n")[0]),
        "reads_ground_truth": bool(getattr(cls, "reads_ground_truth", False)),
        "history": int(getattr(cls, "history", 0)),
        "metrics": list(getattr(cls, "metrics", ())),
        "parameters": [_describe_parameter(p) for p in params],
    }


def _describe_parameter(p: Parameter) -> dict[str, Any]:
    return p.describe()


def list_models() -> list[dict[str, Any]]:
    """Every registered model, described (see :func:`describe_model`), sorted by name."""
    return [describe_model(name) for name in MODELS.names()]


def model_names() -> list[str]:
    return MODELS.names()


__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_MODEL",
    "ENTRY_POINT_GROUP",
    "MODELS",
    "ModelError",
    "Parameter",
    "RegistryError",
    "RiskModel",
    "RiskScores",
    "describe_model",
    "get_model",
    "list_models",
    "model_names",
    "register_model",
]
