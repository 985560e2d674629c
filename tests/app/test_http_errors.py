"""Forged or malformed callback requests get a 4xx with a short message, never a 500."""

from __future__ import annotations

import pytest

from .conftest import tick_body


@pytest.mark.parametrize(
    "body",
    [
        {"output": "x.y", "outputs": {"id": "x", "property": "y"}, "inputs": [], "changedPropIds": []},
        {"output": "nope", "inputs": "not a list"},
        {},
    ],
)
def test_a_request_for_no_callback_is_a_400_with_a_message(client, body, caplog):
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400
    assert "does not match any callback" in response.get_json()["message"]
    assert "Traceback" not in caplog.text


def test_inputs_that_do_not_match_the_callback_are_a_400(client):
    body = tick_body()
    body["inputs"] = body["inputs"][:-1]  # one input short
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400


def test_a_body_over_the_limit_is_a_413(client, app):
    limit = app.server.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/_dash-update-component",
        data=b'{"x": "' + b"a" * (limit + 10) + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413


def test_a_non_json_body_is_refused_without_a_500(client):
    response = client.post("/_dash-update-component", data="x=1", content_type="text/plain")
    assert 400 <= response.status_code < 500
