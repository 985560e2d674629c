"""A growing source: playback follows its head instead of ending."""

from __future__ import annotations

from dataclasses import replace

from dashboard.app import create_app
from dashboard.app.live import ids
from dashboard.app.shell import ids as shell_ids

from ..conftest import post_tick, response_value


def _rows_by_tick(csv_text: str) -> tuple[str, list[list[str]]]:
    header, *rows = csv_text.splitlines()
    ticks: dict[str, list[str]] = {}
    for row in rows:
        ticks.setdefault(row.split(",", 1)[0], []).append(row)
    return header, list(ticks.values())


def test_live_source_follows_its_head(demo_dir, settings, tmp_path):
    header, ticks = _rows_by_tick((demo_dir / "demo_dataset.csv").read_text())
    path = tmp_path / "growing.csv"
    path.write_text("\n".join([header, *(r for t in ticks[:10] for r in t)]) + "\n")
    app = create_app(replace(settings, data_roots=(tmp_path,), default_source=f"follow:{path}"))
    client = app.server.test_client()
    _, data = post_tick(client, {(shell_ids.URL, "search"): "?tick=9"})
    store = response_value(data, ids.VIEW, "data")
    assert store["tick"] == 9 and "live" in response_value(data, ids.PROGRESS, "children")
    _, data = post_tick(
        client, {(ids.INTERVAL, "n_intervals"): 1}, store, [f"{ids.INTERVAL}.n_intervals"]
    )
    store = response_value(data, ids.VIEW, "data")
    assert store["tick"] == 9 and store["playing"] and not store["ended"]
    with path.open("a") as f:
        f.write("\n".join(r for t in ticks[10:12] for r in t) + "\n")
    _, data = post_tick(
        client, {(ids.INTERVAL, "n_intervals"): 2}, store, [f"{ids.INTERVAL}.n_intervals"]
    )
    store = response_value(data, ids.VIEW, "data")
    assert store["tick"] == 10 and store["playing"]
    assert response_value(data, ids.SLIDER, "max") == 11
