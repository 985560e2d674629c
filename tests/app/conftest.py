"""Fixtures of the app tests: a small generated demo dataset and an app serving it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashboard.app import create_app
from dashboard.app.live.callbacks import tick_request
from dashboard.settings import Settings


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The default demo (20 servers, 60 ticks, seed 42), generated once per test session."""
    from dashboard.generate import generate_demo_dataset

    folder = tmp_path_factory.mktemp("demo")
    generate_demo_dataset(folder, progress=False)
    return folder


@pytest.fixture()
def settings(demo_dir: Path) -> Settings:
    return Settings(
        data_roots=(demo_dir,),
        demo_dir=demo_dir,
        default_source=str(demo_dir / "demo_dataset.parquet"),
        refresh_sec=1.0,
    )


@pytest.fixture()
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture()
def client(app):
    return app.server.test_client()


def tick_body(
    values: dict[tuple[str, str], Any] | None = None,
    store: Any = None,
    changed: list[str] | None = None,
) -> dict:
    """A request for the tick callback, shaped the way the Dash renderer sends it."""
    return tick_request(values, store, changed)


def post_tick(client, values=None, store=None, changed=None):
    """POST one tick request; returns (status code, parsed response or None)."""
    response = client.post("/_dash-update-component", json=tick_body(values, store, changed))
    data = json.loads(response.data) if response.status_code == 200 and response.data else None
    return response.status_code, data


def response_value(data: dict, component: str, prop: str) -> Any:
    return data["response"].get(component, {}).get(prop)
