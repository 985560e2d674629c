"""Every registered model's scorecard on the same data, side by side, as plain data (Dash-free).

Each row is one figure of the scorecard, each column one model; the best value of a row is
marked among the models that do not read ground truth (one that does sees the answer key).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Card = Mapping[str, Any]


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[str, ...]  # one text per model
    best: tuple[bool, ...]  # where the row's best value is


@dataclass(frozen=True)
class Comparison:
    models: tuple[str, ...]
    current: str | None  # the model picked in the shell, highlighted
    rows: tuple[Row, ...]
    notes: tuple[tuple[str, str], ...]  # (model, warning or error), in model order
    reads_ground_truth: tuple[bool, ...]


def _get(key: str, *path: str) -> Callable[[Card], Any]:
    def read(card: Card) -> Any:
        value: Any = card.get(key)
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return read


def _median_lead(card: Card) -> float | None:
    leads = [
        i.get("lead_time_s")
        for i in card.get("incidents") or []
        if isinstance(i, Mapping) and i.get("detected") and isinstance(i.get("lead_time_s"), (int, float))
    ]
    return float(statistics.median(leads)) if leads else None


def _incidents_text(card: Card, _value: float | None) -> str:
    incidents = [i for i in card.get("incidents") or [] if isinstance(i, Mapping)]
    if not incidents:
        return "n/a"
    return f"{sum(bool(i.get('detected')) for i in incidents)}/{len(incidents)}"


def _pct(_card: Card, value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _num(digits: int) -> Callable[[Card, float | None], str]:
    return lambda _card, value: "n/a" if value is None else f"{value:.{digits}f}"


def _lead(_card: Card, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.0f} s" if abs(value) < 3600 else f"{value / 3600:+.1f} h"


# (label, value, text, higher is better)
FIGURES: tuple[tuple[str, Callable[[Card], Any], Callable[[Card, Any], str], bool], ...] = (
    ("incidents detected", _get("incident_detection_rate"), _incidents_text, True),
    ("median lead time", _median_lead, _lead, True),
    ("false alarms / server-day", _get("false_alarm_episodes_per_server_day"), _num(2), False),
    ("precision", _get("precision"), _pct, True),
    ("recall", _get("recall"), _pct, True),
    ("AUROC", _get("auroc"), _num(3), True),
    ("NAB standard, alerts", _get("nab", "standard"), _num(1), True),
    ("NAB standard, tuned", _get("nab_tuned", "standard"), _num(1), True),
    ("top-5 coverage", _get("top5_peak_coverage"), _pct, True),
)


def compare(cards: Mapping[str, Card | str], current: str | None = None) -> Comparison:
    """The comparison of ``cards`` (model name -> scorecard dict, or the error that stopped it)."""
    models = tuple(cards)
    scored = {m: c for m, c in cards.items() if isinstance(c, Mapping)}
    cheats = tuple(bool(scored.get(m, {}).get("reads_ground_truth")) for m in models)
    rows = []
    for label, read, text, higher in FIGURES:
        values = [read(scored[m]) if m in scored else None for m in models]
        honest = [v for v, cheat in zip(values, cheats, strict=True) if v is not None and not cheat]
        best_value = (max(honest) if higher else min(honest)) if len(honest) > 1 else None
        rows.append(
            Row(
                label,
                tuple(text(scored[m], v) if m in scored else "error" for m, v in zip(models, values, strict=True)),
                tuple(
                    best_value is not None and v == best_value and not cheat
                    for v, cheat in zip(values, cheats, strict=True)
                ),
            )
        )
    notes = []
    for m in models:
        card = cards[m]
        if not isinstance(card, Mapping):
            notes.append((m, f"cannot evaluate: {card}"))
            continue
        if card.get("reads_ground_truth"):
            notes.append((m, "reads the ground truth: its figures do not measure detection"))
        notes.extend((m, str(w)) for w in card.get("warnings") or [])
    return Comparison(models, current if current in models else None, tuple(rows), tuple(notes), cheats)


__all__ = ["FIGURES", "Comparison", "Row", "compare"]
