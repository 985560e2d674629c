"""Fixtures of the builder tests: an app whose user scenarios, datasets and jobs live in tmp."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from dashboard.app import create_app
from dashboard.app.services import Services


@pytest.fixture()
def builder_settings(settings, tmp_path):
    """The app tests' settings with the builder's folders (and the jobs' state) in ``tmp_path``."""
    return replace(
        settings,
        data_roots=(*settings.data_roots, tmp_path),
        user_scenario_dir=tmp_path / "user_scenarios",
        dataset_dir=tmp_path / "datasets",
        jobs_url=f"diskcache://{tmp_path / 'jobs'}",
    )


@pytest.fixture()
def builder_app(builder_settings):
    return create_app(builder_settings)


@pytest.fixture()
def services(builder_settings):
    return Services(builder_settings)


def pattern(component: dict[str, Any]) -> str:
    """A pattern-matching id as the renderer writes it in ``changedPropIds``."""
    return json.dumps(component, sort_keys=True, separators=(",", ":"))


def post(client, outputs: list[tuple[Any, str]], inputs: list[Any], state: list[Any], changed: list[str]):
    """POST one callback request shaped the way the Dash renderer sends it."""
    def name(component):
        return pattern(component) if isinstance(component, dict) else component

    body = {
        "output": ".." + "...".join(f"{name(c)}.{p}" for c, p in outputs) + ".."
        if len(outputs) > 1
        else f"{name(outputs[0][0])}.{outputs[0][1]}",
        "outputs": [{"id": c, "property": p} for c, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }
    response = client.post("/_dash-update-component", json=body)
    data = response.get_json(silent=True) if response.status_code == 200 else None
    return response.status_code, data


def post_to(client, app, trigger: str, values: dict[str, Any], state: list[Any]):
    """POST to the callback that ``trigger`` (``"id.prop"``) fires, with its own outputs
    (allow_duplicate outputs carry a suffix the renderer sends back); ``values`` gives its
    inputs by ``"id.prop"`` (the others are None)."""
    for key, callback in app.callback_map.items():
        names = [f"{i['id']}.{i['property']}" for i in callback["inputs"]]
        if trigger in names:
            outputs = [o.rsplit(".", 1) for o in key.strip(".").split("...")]
            body = {
                "output": key,
                "outputs": [{"id": c, "property": p} for c, p in outputs] if len(outputs) > 1 else {"id": outputs[0][0], "property": outputs[0][1]},
                "inputs": [{"id": n.rsplit(".", 1)[0], "property": n.rsplit(".", 1)[1], "value": values.get(n)} for n in names],
                "state": state,
                "changedPropIds": [trigger],
            }
            response = client.post("/_dash-update-component", json=body)
            return response.status_code, (response.get_json(silent=True) if response.status_code == 200 else None)
    raise AssertionError(f"no callback is triggered by {trigger}")
