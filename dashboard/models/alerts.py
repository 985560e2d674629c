"""Alert states derived from incident probabilities, with hysteresis.

The life cycle follows Prometheus alerting rules (``for``, ``keep_firing_for``) and
Grafana alert states (Normal, Pending, Alerting, Recovering):

* **normal** -> **pending** when the probability reaches ``threshold``;
* **pending** -> **firing** once it has stayed at or above ``threshold`` for ``for_s``
  seconds, or back to **normal** as soon as it drops below;
* **firing** stays firing while the probability is at least ``clear_threshold`` (the
  hysteresis band keeps a noisy score from flapping), then goes **recovering**;
* **recovering** returns to **firing** if the probability climbs back to
  ``clear_threshold``, and to **normal** after ``keep_firing_for_s`` seconds below it.

A missing probability (NaN) counts as "condition not met", as a missing series does
in Prometheus. Both firing and recovering are *active* alerts: they are what a pager
would show, and what the evaluation counts as an alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError

NORMAL = 0
PENDING = 1
FIRING = 2
RECOVERING = 3
STATE_NAMES = ("normal", "pending", "firing", "recovering")
ACTIVE_STATES = (FIRING, RECOVERING)


# Durations are set in seconds but mean "a few ticks": the defaults below, at 5 s per
# tick, are 10 s and 30 s; :meth:`AlertPolicy.for_tick_seconds` keeps the tick counts at
# any tick size (at 5-minute ticks: 10 min and 30 min), instead of letting 10 s silently
# become one 5-minute tick.
DEFAULT_FOR_TICKS = 2
DEFAULT_KEEP_FIRING_TICKS = 6


@dataclass(frozen=True)
class AlertPolicy:
    """Thresholds and durations of the alert state machine.

    The defaults suit 5-second ticks: a server fires after two ticks (10 s) at or
    above 0.5 and keeps firing until its probability has stayed below 0.3 for 30 s.
    At other tick sizes use :meth:`for_tick_seconds`, which keeps those tick counts.
    """

    threshold: float = 0.5
    clear_threshold: float = 0.3
    for_s: float = 10.0
    keep_firing_for_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("threshold", "clear_threshold", "for_s", "keep_firing_for_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ModelError(f"alert policy: {name} must be a finite number, got {value!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ModelError(f"alert policy: threshold must be in (0, 1], got {self.threshold!r}")
        if not 0.0 <= self.clear_threshold <= self.threshold:
            raise ModelError(
                f"alert policy: clear_threshold must be in [0, threshold={self.threshold}], "
                f"got {self.clear_threshold!r}"
            )
        if self.for_s < 0 or self.keep_firing_for_s < 0:
            raise ModelError(
                f"alert policy: for_s and keep_firing_for_s must be >= 0, got {self.for_s!r} and {self.keep_firing_for_s!r}"
            )

    @classmethod
    def for_tick_seconds(cls, tick_seconds: float, **overrides: float) -> AlertPolicy:
        """The default policy at this tick size: fire after 2 ticks, keep firing for 6.

        ``overrides`` (threshold, clear_threshold, for_s, keep_firing_for_s) win.
        """
        tick = float(tick_seconds) if tick_seconds and math.isfinite(tick_seconds) and tick_seconds > 0 else 5.0
        values = {
            "for_s": DEFAULT_FOR_TICKS * tick,
            "keep_firing_for_s": DEFAULT_KEEP_FIRING_TICKS * tick,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def at_tick_size(self, tick_seconds: float) -> dict[str, float | int]:
        """What ``for_s`` and ``keep_firing_for_s`` become at this tick size: whole ticks
        (rounded up) and the seconds those ticks span."""
        for_ticks, keep_ticks = self.for_ticks(tick_seconds), self.keep_ticks(tick_seconds)
        return {
            "tick_seconds": float(tick_seconds),
            "for_ticks": for_ticks,
            "for_effective_s": for_ticks * float(tick_seconds),
            "keep_firing_for_ticks": keep_ticks,
            "keep_firing_for_effective_s": keep_ticks * float(tick_seconds),
        }

    def for_ticks(self, tick_seconds: float) -> int:
        """``for_s`` as a whole number of ticks (rounded up: never fire early)."""
        return _to_ticks(self.for_s, tick_seconds)

    def keep_ticks(self, tick_seconds: float) -> int:
        return _to_ticks(self.keep_firing_for_s, tick_seconds)

    def memory_ticks(self, tick_seconds: float) -> int:
        """The shortest look-back that can express the whole life cycle of one alert."""
        return self.for_ticks(tick_seconds) + self.keep_ticks(tick_seconds) + 1

    def to_dict(self) -> dict[str, float]:
        return {
            "threshold": self.threshold,
            "clear_threshold": self.clear_threshold,
            "for_s": self.for_s,
            "keep_firing_for_s": self.keep_firing_for_s,
        }


DEFAULT_POLICY = AlertPolicy()


def _to_ticks(seconds: float, tick_seconds: float) -> int:
    if seconds <= 0:
        return 0
    if not tick_seconds or tick_seconds <= 0 or not math.isfinite(tick_seconds):
        raise ModelError(f"alert durations need a positive tick interval, got {tick_seconds!r} s")
    # A small tolerance so that 10 s at 5 s/tick is 2 ticks, not 3 after rounding noise.
    return int(math.ceil(seconds / tick_seconds - 1e-9))


def alert_states(
    probabilities: np.ndarray,
    policy: AlertPolicy | None = None,
    tick_seconds: float = 5.0,
) -> np.ndarray:
    """Alert state of every server at every tick, running from NORMAL at tick 0.

    ``probabilities`` is ``(T, N)``; the result is int8 ``(T, N)`` holding the
    module's state codes. Vectorised over servers; one step per tick.
    """
    policy = policy or DEFAULT_POLICY
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2:
        raise ModelError(f"alert_states needs a (ticks, servers) array, got shape {p.shape}")
    need_for = policy.for_ticks(tick_seconds)
    need_keep = policy.keep_ticks(tick_seconds)
    n_ticks, n = p.shape
    out = np.empty((n_ticks, n), dtype=np.int8)
    state = np.full(n, NORMAL, dtype=np.int8)
    # Ticks spent in the current pending / recovering stretch.
    held = np.zeros(n, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        above = p >= policy.threshold  # NaN compares False: "condition not met"
        holding = p >= policy.clear_threshold
    for t in range(n_ticks):
        state, held = step_states(state, held, above[t], holding[t], need_for, need_keep)
        out[t] = state
    return out


def step_states(state, held, above, holding, need_for, need_keep):
    """One tick of the state machine for every server (vectorised)."""
    was_normal = state == NORMAL
    was_pending = state == PENDING
    was_firing = state == FIRING
    was_recovering = state == RECOVERING
    new = state.copy()
    held = held + 1

    # normal -> pending (or straight to firing when for_s is 0)
    start = was_normal & above
    new[start] = FIRING if need_for == 0 else PENDING
    held[start] = 0
    # pending: fire once the condition has held for need_for ticks, else drop
    new[was_pending & ~above] = NORMAL
    new[was_pending & above & (held >= need_for)] = FIRING
    # firing -> recovering (or normal when keep_firing_for is 0)
    stop = was_firing & ~holding
    new[stop] = RECOVERING if need_keep > 0 else NORMAL
    held[stop] = 0
    # recovering: back to firing if the score returns, normal once kept long enough
    new[was_recovering & holding] = FIRING
    new[was_recovering & ~holding & (held >= need_keep)] = NORMAL
    return new, held


def alert_states_at(
    probabilities: np.ndarray,
    ticks: np.ndarray,
    lookback: int,
    policy: AlertPolicy | None = None,
    tick_seconds: float = 5.0,
    *,
    offset: int = 0,
    chunk_cells: int = 4_000_000,
) -> np.ndarray:
    """Alert states at the given ticks, each from its own bounded look-back.

    The state at tick ``t`` is the state machine run from NORMAL over ticks
    ``max(0, t - lookback) .. t``: a pure function of those probabilities, so any
    worker computes the same answer in any order. ``probabilities[i]`` is tick
    ``offset + i`` and must cover ``max(0, min(ticks) - lookback) .. max(ticks)``.
    Returns int8 ``(len(ticks), N)``.

    All runs are stepped together (vectorised over target ticks and servers);
    servers that never reach ``threshold`` in the span are NORMAL without a run.
    """
    policy = policy or DEFAULT_POLICY
    p = np.asarray(probabilities, dtype=np.float32)
    ticks = np.asarray(ticks, dtype=np.int64).reshape(-1)
    n = p.shape[1]
    out = np.zeros((ticks.size, n), dtype=np.int8)
    if ticks.size == 0 or n == 0:
        return out
    lookback = max(int(lookback), 0)
    with np.errstate(invalid="ignore"):
        candidates = np.flatnonzero((p >= policy.threshold).any(axis=0))
    if candidates.size == 0:
        return out
    need_for = policy.for_ticks(tick_seconds)
    need_keep = policy.keep_ticks(tick_seconds)
    sub = p[:, candidates]
    steps = lookback + 1
    rows_per_chunk = max(1, chunk_cells // max(1, steps * candidates.size))
    for lo in range(0, ticks.size, rows_per_chunk):
        targets = ticks[lo : lo + rows_per_chunk]
        # index[j, k]: the tick that run k reads at step j (before tick 0: nothing).
        absolute = targets[None, :] - lookback + np.arange(steps)[:, None]
        index = absolute - offset
        valid = absolute >= 0
        if (index[-1] >= sub.shape[0]).any() or (valid & (index < 0)).any():
            raise ModelError("alert_states_at: the probabilities do not cover the requested ticks")
        gathered = sub[np.clip(index, 0, None)]  # (steps, K, M)
        gathered[~valid] = np.nan
        with np.errstate(invalid="ignore"):
            above = gathered >= policy.threshold
            holding = gathered >= policy.clear_threshold
        k = targets.size
        state = np.full((k, candidates.size), NORMAL, dtype=np.int8)
        held = np.zeros((k, candidates.size), dtype=np.int64)
        for j in range(steps):
            state, held = step_states(state, held, above[j], holding[j], need_for, need_keep)
        out[lo : lo + k][:, candidates] = state
    return out


def is_active(states: np.ndarray) -> np.ndarray:
    """True where an alert is firing or recovering (what a pager shows)."""
    return (states == FIRING) | (states == RECOVERING)


__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_FOR_TICKS",
    "DEFAULT_KEEP_FIRING_TICKS",
    "DEFAULT_POLICY",
    "FIRING",
    "NORMAL",
    "PENDING",
    "RECOVERING",
    "STATE_NAMES",
    "AlertPolicy",
    "alert_states",
    "alert_states_at",
    "is_active",
]
