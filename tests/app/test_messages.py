"""Web messages: paths relative to their data root, roots never listed, echoed values capped."""

from __future__ import annotations

import pytest

from dashboard.app.live import ids
from dashboard.app.messages import MAX_MESSAGE_CHARS, public_message
from dashboard.app.shell import ids as shell_ids
from dashboard.errors import PathSafetyError
from dashboard.sources import open_source

from .conftest import post_tick, response_value


def test_paths_under_a_root_are_shown_relative_to_it(tmp_path):
    root = tmp_path / "data"
    text = f"{root}/exports/m.csv: line 3: bad value; see {root}"
    assert public_message(text, [root]) == "exports/m.csv: line 3: bad value; see ."


def test_paths_outside_the_roots_keep_only_their_name(tmp_path):
    assert public_message("cannot read /srv/secret/keys.json", [tmp_path]) == "cannot read …/keys.json"
    assert "http://example.com/x" in public_message("'http://example.com/x' is a URL", [tmp_path])


def test_the_roots_are_never_listed(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("timestamp,cpu_pct\n")
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(PathSafetyError) as caught:
        open_source(str(outside), data_roots=[root])
    assert "allowed roots" in str(caught.value)  # the operator at a terminal sees them
    shown = public_message(caught.value, [root])
    assert shown == "'…/elsewhere.csv' is outside the data roots"
    assert str(tmp_path) not in shown


def test_echoed_values_are_capped():
    shown = public_message("the speed must be 1-10, got " + "9" * 309)
    assert "9" * 16 not in shown and "309 digits" in shown
    assert len(public_message("x" * 10_000)) <= MAX_MESSAGE_CHARS + 40


def test_the_page_shows_no_server_path_and_no_root(client, settings):
    _, data = post_tick(client, {(shell_ids.URL, "search"): "?source=csv:/proc/self/environ"})
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "environ" in message and "not a data file" in message
    assert "/proc" not in message and str(settings.data_roots[0]) not in message
    assert "allowed roots" not in message and "resolve" not in message


def test_a_broken_file_under_a_root_is_named_relative_to_it(tmp_path):
    from dashboard.app import create_app
    from dashboard.settings import Settings

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.csv").write_bytes(b"\x00\x01 not text")
    app = create_app(Settings(data_roots=(tmp_path,), demo_dir=tmp_path / "none"))
    search = f"?source={tmp_path / 'sub' / 'broken.csv'}"
    _, data = post_tick(app.server.test_client(), {(shell_ids.URL, "search"): search})
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "sub/broken.csv" in message and str(tmp_path) not in message


def test_a_huge_number_in_a_link_is_not_echoed_in_full(client):
    _, data = post_tick(client, {(shell_ids.URL, "search"): "?speed=1e308"})
    message = response_value(data, shell_ids.MESSAGE, "children")
    assert "speed" in message and len(message) < 200
    assert response_value(data, ids.VIEW, "data")["speed"] == 1
