"""Fixtures for the source tests: a temporary data root and small schema-shaped datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import schema

PROFILES = ("web", "database", "cache")


def _fleet_frame(
    n_servers: int = 3,
    n_ticks: int = 4,
    start: str = "2024-01-01T00:00:00Z",
    step_s: float = 5.0,
    metrics: tuple[str, ...] = schema.METRIC_NAMES,
    seed: int = 0,
    truth: bool = False,
) -> pd.DataFrame:
    """One row per server per tick, sorted by time then server, timestamps as ISO strings with Z."""
    rng = np.random.default_rng(seed)
    ticks = pd.date_range(pd.Timestamp(start), periods=n_ticks, freq=pd.Timedelta(seconds=step_s))
    names = [f"{PROFILES[i % len(PROFILES)]}-{i:03d}" for i in range(n_servers)]
    rows = n_servers * n_ticks
    frame = pd.DataFrame(
        {
            schema.TIMESTAMP: np.repeat(ticks.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(), n_servers),
            schema.SERVER: np.tile(names, n_ticks),
            schema.PROFILE: np.tile(
                [PROFILES[i % len(PROFILES)] for i in range(n_servers)], n_ticks
            ),
            schema.STATE: "online",
        }
    )
    for name in metrics:
        high = schema.METRIC_BY_NAME[name].high
        top = 1.0 if high == 1.0 else 90.0
        frame[name] = np.round(rng.uniform(0.0, top, rows), 3)
    if truth:
        phases = np.array(["stable", "escalation", "peak", "recovery"])
        frame[schema.PHASE] = np.repeat(
            phases[np.minimum(np.arange(n_ticks) * 4 // n_ticks, 3)], n_servers
        )
        frame[schema.PROBLEM_CHILD] = np.tile([i == 0 for i in range(n_servers)], n_ticks)
    return frame


@pytest.fixture
def fleet_frame():
    return _fleet_frame


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory that is the working directory, so the default settings' data root."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def write_csv(data_dir: Path):
    def write(frame: pd.DataFrame, name: str = "metrics.csv") -> Path:
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def write_parquet(data_dir: Path):
    def write(
        frame: pd.DataFrame, name: str = "metrics.parquet", row_group_size: int | None = None
    ) -> Path:
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        out = frame.copy()
        if out[schema.TIMESTAMP].dtype == object or pd.api.types.is_string_dtype(
            out[schema.TIMESTAMP]
        ):
            out[schema.TIMESTAMP] = pd.to_datetime(out[schema.TIMESTAMP], utc=True).dt.as_unit("ms")
        out.to_parquet(path, index=False, row_group_size=row_group_size)
        return path

    return write
