"""Server-level behaviour: security headers (G2b), /health and 404s (E5), the optional login (A8)."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from werkzeug.security import generate_password_hash

from dashboard.app import create_app
from dashboard.app.shell import ids
from dashboard.auth import AuthError, audit_save, load_login, parse_users
from dashboard.settings import Settings

from .conftest import tick_body

PASSWORD = "correct horse battery"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_g2b_every_answer_carries_security_headers(client):
    for path in ("/", "/_dash-layout", "/health"):
        response = client.get(path)
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "object-src 'none'" in csp


def test_the_csp_allows_dash_inline_scripts_by_hash_only(app, client):
    csp = client.get("/").headers["Content-Security-Policy"]
    script = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    for digest in app.csp_hashes():
        assert digest in script
    assert "'unsafe-inline'" not in script


def test_e5_health_reports_json_and_unknown_paths_are_404(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["status"] == "ok" and body["degraded"] == []
    assert set(body["checks"]) >= {"scenario_dir", "data_roots", "cache"}
    for path in ("/nope", "/admin/../etc/passwd", "/x/y"):
        assert client.get(path).status_code == 404
    assert client.get("/").status_code == 200


def test_e5_health_reports_a_missing_scenario_folder(settings, tmp_path):
    app = create_app(Settings(**{**settings.__dict__, "scenario_dir": tmp_path / "gone"}))
    body = app.server.test_client().get("/health").get_json()
    assert body["status"] == "degraded" and body["degraded"] == ["scenario_dir"]
    assert str(tmp_path) not in json.dumps(body)


@pytest.fixture()
def login_app(settings):
    users = f"alice:{generate_password_hash(PASSWORD)},bob:{generate_password_hash(PASSWORD)}"
    return create_app(Settings(**{**settings.__dict__, "auth_users": users, "auth_editors": ("alice",)}))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer x"},
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode()},
        {"Authorization": "Basic"},
        _basic("alice", "wrong"),
        _basic("mallory", PASSWORD),
    ],
)
def test_a8_anything_but_valid_credentials_is_401(login_app, headers):
    client = login_app.server.test_client()
    for path in ("/", "/_dash-layout"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert b"Traceback" not in response.data
    response = client.post("/_dash-update-component", json=tick_body(), headers=headers)
    assert response.status_code == 401


def test_a8_valid_credentials_pass_and_health_stays_public(login_app):
    client = login_app.server.test_client()
    assert client.get("/", headers=_basic("alice", PASSWORD)).status_code == 200
    response = client.post(
        "/_dash-update-component", json=tick_body({(ids.URL, "search"): ""}), headers=_basic("bob", PASSWORD)
    )
    assert response.status_code == 200
    assert client.get("/health").status_code == 200


def test_a8_a_forged_routing_callback_does_not_skip_the_login(login_app):
    body = tick_body()
    body["inputs"].append({"id": "url", "property": "pathname", "value": "/health"})
    response = login_app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 401


def test_editors_and_watchers(login_app, settings):
    from dashboard.app.server import may_edit

    server = login_app.server
    with server.test_request_context("/", headers=_basic("alice", PASSWORD)):
        server.preprocess_request()
        assert may_edit()
    with server.test_request_context("/", headers=_basic("bob", PASSWORD)):
        server.preprocess_request()
        assert not may_edit()
    plain = create_app(settings).server
    with plain.test_request_context("/"):
        assert may_edit(plain)


def test_saves_are_audited_with_user_and_time(caplog):
    with caplog.at_level(logging.INFO, logger="dashboard.audit"):
        audit_save("alice", "my.json", overwrite=True)
    (record,) = caplog.records
    assert "overwrote my.json by alice" in record.getMessage()
    assert record.getMessage()[:4].isdigit()  # starts with the UTC time


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice", "without both parts"),
        ("alice:plain", "not a Werkzeug hash"),
        ("a b:scrypt:x", "without spaces"),
        ("# only a comment\n", "lists no user"),
        ("alice:scrypt:1,alice:scrypt:2", "listed twice"),
    ],
)
def test_users_file_errors_name_the_problem(text, message):
    with pytest.raises(AuthError, match=message):
        parse_users(text, "FLEET_AUTH_FILE (users)")


def test_users_file_and_unknown_editors(tmp_path, settings):
    users = tmp_path / "users"
    users.write_text(f"# team\nalice:{generate_password_hash('x' * 8)}\n")
    login = load_login(Settings(**{**settings.__dict__, "auth_file": users}))
    assert set(login.users) == {"alice"} and login.may_edit("alice")
    with pytest.raises(AuthError, match="FLEET_AUTH_EDITORS: 'carol' cannot log in"):
        load_login(Settings(**{**settings.__dict__, "auth_file": users, "auth_editors": ("carol",)}))
    with pytest.raises(AuthError, match="FLEET_AUTH_FILE: cannot read"):
        load_login(Settings(**{**settings.__dict__, "auth_file": tmp_path / "missing"}))


def test_password_hash_cli(capsys, monkeypatch):
    import io

    from werkzeug.security import check_password_hash

    from dashboard.auth import main

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-pass\n"))
    assert main(["alice", "--password-stdin"]) == 0
    user, _, digest = capsys.readouterr().out.strip().partition(":")
    assert user == "alice" and check_password_hash(digest, "s3cret-pass")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["alice", "--password-stdin"]) == 2
