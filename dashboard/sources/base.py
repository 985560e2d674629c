"""The data-source interface: random access to ticks of fleet metrics.

A source is a sequence of ticks; tick ``i`` holds one row per server. Plug-ins
subclass :class:`Source`; users get a :class:`DataSource`, which wraps a source
and adds the seed's sequential API (``get_next_batch``, ``reset``,
``get_current_progress``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .. import schema
from ..parameters import Parameter


@dataclass(frozen=True)
class Window:
    """The last ``T`` ticks of the whole fleet, tick-major, as numpy arrays.

    ``metrics[name]`` has shape ``(T, N)`` (ticks x servers) with NaN where a
    server reported nothing or the metric is missing. It holds the eight core metrics
    (all-NaN when the data lacks one), ``container_oom`` when present, and the data's
    *extra metrics* under their own names (:attr:`extra_metric_names`). The server axis is the
    source's full server list, in the same order for every window of a source.
    Ground truth (``phase_kind`` codes and ``problem_child``) is present only
    for labelled data and is stripped before an honest model sees the window.
    """

    timestamps: np.ndarray  # datetime64[ns] UTC, shape (T,)
    servers: np.ndarray  # str, shape (N,)
    profiles: np.ndarray  # str, shape (N,)
    metrics: dict[str, np.ndarray]  # name -> float32 (T, N)
    end: int  # index of the last tick of the window in its source
    tick_seconds: float  # nominal interval between ticks
    # Ground truth, None when the data carries none (or it was stripped):
    phase: np.ndarray | None = None  # int8 (T, N): index into schema.PHASE_KINDS, -1 unknown
    problem_child: np.ndarray | None = None  # bool (N,)
    extra: dict[str, Any] = field(default_factory=dict)
    # Each server's normal from its long history, attached by the scorer for models that
    # ask for one (``RiskModel.baseline_policy``); see dashboard.models.baselines.
    baseline: Any = None

    @property
    def n_ticks(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def n_servers(self) -> int:
        return int(self.servers.shape[0])

    @property
    def has_truth(self) -> bool:
        return self.phase is not None or self.problem_child is not None

    def without_truth(self) -> Window:
        """The same window with the ground-truth columns removed."""
        if not self.has_truth:
            return self
        return replace(self, phase=None, problem_child=None)

    @property
    def extra_metric_names(self) -> tuple[str, ...]:
        """Metrics beyond the schema's eight (e.g. NAB's ``value``, SMD's ``m00``..)."""
        return tuple(m for m in self.metrics if not schema.is_core_metric(m) and m != schema.OOM)

    def metric(self, name: str) -> np.ndarray:
        """``metrics[name]``, or an all-NaN array when the source lacks that metric."""
        arr = self.metrics.get(name)
        if arr is None:
            return np.full((self.n_ticks, self.n_servers), np.nan, dtype=np.float32)
        return arr


class Source(ABC):
    """What a data-source plug-in implements.

    Subclasses set ``name``/``description``/``parameters`` (for the UI listing)
    and implement the abstract methods. Everything must be vectorised: ``batch``
    and ``window`` are called on every dashboard refresh.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # The options a spec may carry, typed like a model's parameters: open_source parses
    # them (one parser for specs, links, forms and Python calls) and the UI renders a form.
    parameters: ClassVar[tuple[Parameter, ...]] = ()

    live: bool = False  # True for sources that keep growing (progress reads "live")
    # True for kinds that read over the network: their target names an endpoint the operator
    # configured (``prometheus:prod``), never an address, and ``open`` enforces it; file
    # kinds read only paths under the data roots.
    remote: ClassVar[bool] = False
    # Bump when the kind reads the same spec differently: scores cached for the old
    # version are then never served (it is part of the default identity).
    version: ClassVar[str] = "1"
    # ``kind:target?options`` the source was opened from; ``open_source`` sets it when the
    # kind did not (the default identity is built from it).
    canonical_spec: str | None = None

    @classmethod
    def open(cls, target: str, *, data_roots: tuple[Any, ...] = (), **options: Any) -> Source:
        """Build the source for ``target`` (the part of a spec after ``kind:``).

        ``open_source`` calls this with the configured data roots and the options, already
        typed by ``parameters`` (a spec's ``?seed=7`` arrives as the integer 7; options left
        out, or blank, arrive as their default, or not at all when that is None). The default calls ``cls(target, **options)``; a plug-in that reads
        local files should check them with ``dashboard.sources.paths.safe_path``. A kind
        whose ``open`` declares a ``settings`` keyword also gets the caller's
        :class:`~dashboard.settings.Settings` (the scenario kind reads its folder there).
        """
        return cls(target, **options)

    @abstractmethod
    def n_ticks(self) -> int:
        """How many ticks are available now (a live source may grow between calls)."""

    @abstractmethod
    def timestamps(self) -> np.ndarray:
        """Tick timestamps, datetime64[ns] UTC, shape ``(n_ticks,)``."""

    @abstractmethod
    def servers(self) -> pd.DataFrame:
        """Columns ``server_name`` and ``profile``, one row per server, in window order."""

    @abstractmethod
    def batch(self, i: int) -> pd.DataFrame:
        """All servers at tick ``i`` as a DataFrame in the schema's columns."""

    @abstractmethod
    def window(self, end: int, length: int) -> Window:
        """Up to ``length`` ticks ending at tick ``end`` (fewer near the start)."""

    def metadata(self) -> dict[str, Any] | None:
        """The dataset's metadata (scenario, phases, affected servers) when it carries any."""
        return None

    def tick_seconds(self) -> float:
        ts = self.timestamps()
        if len(ts) < 2:
            return 0.0
        return float(np.median(np.diff(ts).astype("timedelta64[ms]").astype(np.int64)) / 1000.0)

    def report(self) -> list[str]:
        """What was done to the data while loading (sorted, deduplicated, mapped...)."""
        return []

    def metric_units(self) -> dict[str, str]:
        """Every metric the data holds -> its unit (``""`` when unknown).

        The core metrics it has values for, then its extra metrics. The default looks
        at the last hour-or-so of ticks; sources that know their columns say so exactly.
        """
        n = int(self.n_ticks())
        if n <= 0:
            return {}
        window = self.window(n - 1, min(n, 60))
        out = {}
        for name, values in window.metrics.items():
            if schema.is_core_metric(name):
                if np.isfinite(values).any():
                    out[name] = schema.METRIC_BY_NAME[name].unit
            elif name != schema.OOM:
                out[name] = ""
        return out

    def row_counts(self) -> np.ndarray | None:
        """File rows merged into each (tick, server) cell, int ``(T, N)``, when the data had
        duplicate rows; None when each present cell is one row."""
        return None

    def identity(self) -> str:
        """A string that changes when the data changes: the key of cached scores, shared by
        every worker and host.

        The default is the canonical spec and the kind's :attr:`version`, which suits data
        that never changes under its spec (sources of changing data add what changes).
        A source made directly in Python, with no spec, gets a random identity of its own:
        never shared, and never mistaken for another source's (``id()`` is reused).
        """
        spec = self.canonical_spec
        if spec:
            return f"{spec}@{type(self).name or type(self).__name__}/{self.version}"
        own = self.__dict__.get("_own_identity")
        if own is None:
            import uuid

            own = self.__dict__.setdefault("_own_identity", f"{type(self).__name__}:{uuid.uuid4().hex}")
        return own

    def problem(self) -> str | None:
        """What keeps a live source from updating now (a metrics store that cannot be
        reached...), in words for the page; None when nothing does."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or memory held by the source."""


def check_tick(i: int, n: int) -> int:
    """``i`` as a valid tick index for a source of ``n`` ticks (negatives count from the end)."""
    from ..errors import DataError

    if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
        raise DataError(f"tick index must be an integer, got {i!r}")
    if n <= 0:
        raise DataError("the source has no ticks")
    j = int(i) + n if i < 0 else int(i)
    if not 0 <= j < n:
        raise DataError(f"tick {i} is out of range: the source has ticks 0..{n - 1}")
    return j


__all__ = ["Source", "Window", "check_tick", "schema"]
