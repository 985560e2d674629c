"""A small plug-in registry shared by data sources and risk models.

Modelled on fsspec's ``known_implementations`` and SQLAlchemy's ``PluginLoader``:
built-ins are lazy ``"module:attr"`` strings imported on first use, third-party
plug-ins come from an entry-point group, in-process plug-ins from ``register()``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from .errors import RegistryError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to plug-in objects (usually classes), loaded lazily.

    ``check`` is called with each loaded object and returns an error string when
    the object does not implement the interface (or ``None`` when it does).
    """

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, str],
        group: str,
        check: Callable[[Any], str | None] | None = None,
    ):
        self.kind = kind
        self.group = group
        self._builtins = dict(builtins)
        self._check = check
        self._targets: dict[str, Any] = {}
        self._loaded: dict[str, T] = {}
        self._entry_points_read = False
        self.clear()

    # -- registration -------------------------------------------------
    def register(self, name: str, target: Any, *, replace: bool = False) -> None:
        """Register ``target`` (an object or a ``"module:attr"`` string) under ``name``.

        Refuses a name that is taken unless ``replace=True``.
        """
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise RegistryError(f"{self.kind} name must be a non-empty string without surrounding spaces, got {name!r}")
        self._read_entry_points()
        if name in self._targets and not replace:
            raise RegistryError(
                f"a {self.kind} named {name!r} is already registered ({self._describe(name)}); "
                "pass replace=True to override it"
            )
        if not isinstance(target, str):
            self._validate(name, target)
            self._loaded[name] = target
        else:
            self._loaded.pop(name, None)
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def clear(self) -> None:
        """Forget everything but the built-ins (for tests)."""
        self._targets = dict(self._builtins)
        self._loaded = {}
        self._entry_points_read = False

    # -- lookup -------------------------------------------------------
    def get(self, name: str) -> T:
        """The plug-in registered as ``name``; an unknown name is answered with the known ones."""
        self._read_entry_points()
        if not isinstance(name, str) or name not in self._targets:
            known = ", ".join(sorted(self._targets)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}")
        if name not in self._loaded:
            target = self._targets[name]
            obj = _import_target(target, self.kind, name) if isinstance(target, str) else target
            self._validate(name, obj)
            self._loaded[name] = obj
        return self._loaded[name]

    def names(self) -> list[str]:
        self._read_entry_points()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._read_entry_points()
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    @property
    def targets(self) -> Mapping[str, Any]:
        """A read-only view of name -> target."""
        self._read_entry_points()
        return MappingProxyType(self._targets)

    # -- internals ----------------------------------------------------
    def _describe(self, name: str) -> str:
        target = self._targets[name]
        return target if isinstance(target, str) else f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)}"

    def _validate(self, name: str, obj: Any) -> None:
        if self._check is None:
            return
        problem = self._check(obj)
        if problem:
            raise RegistryError(f"{self.kind} plug-in {name!r} ({obj!r}) is not usable: {problem}")

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in entry_points(group=self.group):
            if ep.name in self._targets:
                log.warning("ignoring %s plug-in %r from entry point %s: the name is taken", self.kind, ep.name, ep.value)
                continue
            self._targets[ep.name] = ep.value


def _import_target(target: str, kind: str, name: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistryError(
            f"{kind} {name!r} needs module {module_name!r}, which cannot be imported ({exc}); "
            "install the package that provides it"
        ) from exc
    obj: Any = module
    for part in filter(None, attr.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise RegistryError(f"{kind} {name!r}: module {module_name!r} has no attribute {attr!r}") from exc
    return obj
