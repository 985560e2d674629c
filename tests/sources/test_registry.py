"""The source registry: built-ins, clashes, unknown kinds, entry-point plug-ins, options."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pandas as pd
import pytest

import dashboard
import dashboard.registry as registry_module
from dashboard.errors import DashboardError, RegistryError, SourceError
from dashboard.sources import (
    SOURCES,
    DataSource,
    Source,
    Window,
    list_sources,
    open_source,
    register_source,
)
from dashboard.sources.base import check_tick


class TinySource(Source):
    """Two ticks of one server, for plug-in tests."""

    name = "tiny"
    description = "two ticks of one server"
    parameters = {"value": "the cpu value"}

    def __init__(self, target: str, value: str = "5"):
        self.target = target
        self.value = float(value)
        self._ts = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:05"], dtype="datetime64[ns]")

    def n_ticks(self) -> int:
        return 2

    def timestamps(self) -> np.ndarray:
        return self._ts

    def servers(self) -> pd.DataFrame:
        return pd.DataFrame({"server_name": ["only"], "profile": ["web"]})

    def batch(self, i: int) -> pd.DataFrame:
        j = check_tick(i, 2)
        return pd.DataFrame(
            {"timestamp": [self._ts[j]], "server_name": ["only"], "cpu_pct": [self.value]}
        )

    def window(self, end: int, length: int) -> Window:
        j = check_tick(end, 2)
        start = max(0, j - length + 1)
        cpu = np.full((j - start + 1, 1), self.value, dtype=np.float32)
        return Window(
            self._ts[start : j + 1], np.array(["only"]), np.array(["web"]), {"cpu_pct": cpu}, j, 5.0
        )


class Incomplete(Source):
    name = "incomplete"

    def n_ticks(self) -> int:
        return 0


def test_builtins_are_listed_with_descriptions_and_parameters():
    listing = {entry["name"]: entry for entry in list_sources()}
    assert {"csv", "parquet", "dir", "scenario", "follow"} <= set(listing)
    for entry in listing.values():
        assert entry["description"]
        assert all({"name", "kind", "default", "description"} <= set(p) for p in entry["parameters"])
    names = {k: [p["name"] for p in entry["parameters"]] for k, entry in listing.items()}
    assert names["scenario"] == ["seed", "fleet_size", "duration", "tick", "incidents"]
    assert "columns" in names["csv"]


def test_public_api_is_importable_from_the_package():
    assert dashboard.DataSource is DataSource
    assert dashboard.open_source is open_source
    assert dashboard.register_source is register_source
    assert dashboard.list_sources is list_sources


def test_register_refuses_a_taken_name():
    with pytest.raises(RegistryError, match="already registered"):
        register_source("csv", TinySource)
    register_source("tiny", TinySource)
    with pytest.raises(RegistryError, match="'tiny' is already registered"):
        register_source("tiny", TinySource)
    register_source("tiny", TinySource, replace=True)


def test_registered_plugin_opens_by_spec_with_options(data_dir):
    register_source("tiny", TinySource)
    src = open_source("tiny:anything?value=7")
    assert src.kind == "tiny"
    assert src.batch(-1)["cpu_pct"].tolist() == [7.0]
    assert src.window(1, 5).metrics["cpu_pct"].shape == (2, 1)


def test_plugin_registered_as_module_string(data_dir):
    register_source("tiny2", f"{__name__}:TinySource")
    assert "tiny2" in [s["name"] for s in list_sources()]


def test_unknown_kind_is_answered_with_the_known_ones(data_dir):
    with pytest.raises(
        SourceError,
        match=r"unknown source kind 'nosuch'.*known: csv, dir, follow, parquet, prometheus, scenario",
    ):
        open_source("nosuch:thing")
    with pytest.raises(RegistryError, match="known: csv"):
        SOURCES.get("nosuch")
    with pytest.raises(SourceError, match="unknown data format 'xls'; known: auto, csv"):
        DataSource("x.csv", data_format="xls")


def test_plugin_without_the_interface_is_refused():
    with pytest.raises(RegistryError, match="does not implement"):
        register_source("bad", Incomplete)
    with pytest.raises(RegistryError, match="subclass of dashboard.sources.base.Source"):
        register_source("bad", object)
    register_source("bad", "no_such_module_xyz:Thing")
    with pytest.raises(RegistryError, match="install the package"):
        SOURCES.get("bad")
    listing = {e["name"]: e for e in list_sources()}
    assert listing["bad"]["available"] is False


def test_entry_point_plugin_is_found(monkeypatch, data_dir):
    ep = EntryPoint(name="tiny_ep", value=f"{__name__}:TinySource", group="fleet_dashboard.sources")

    def fake_entry_points(group=None):
        return [ep] if group == "fleet_dashboard.sources" else []

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    SOURCES.clear()
    assert "tiny_ep" in SOURCES.names()
    assert open_source("tiny_ep:x").n_ticks() == 2


def test_entry_point_cannot_shadow_a_builtin(monkeypatch):
    ep = EntryPoint(name="csv", value=f"{__name__}:TinySource", group="fleet_dashboard.sources")
    monkeypatch.setattr(registry_module, "entry_points", lambda group=None: [ep])
    SOURCES.clear()
    assert SOURCES.get("csv").__name__ == "CSVSource"


def test_unknown_option_lists_the_allowed_ones(data_dir, write_csv, fleet_frame):
    write_csv(fleet_frame())
    with pytest.raises(
        SourceError, match=r"unknown option\(s\) 'colour' for source kind 'csv'; allowed: columns"
    ):
        open_source("csv:metrics.csv?colour=red")
    with pytest.raises(SourceError, match="unknown option"):
        open_source("metrics.csv", colour="red")
    with pytest.raises(SourceError, match="both in the spec and as arguments"):
        open_source("csv:metrics.csv?tz=UTC", tz="UTC")


def test_plugin_that_crashes_is_reported_as_our_error(data_dir):
    class Crashing(TinySource):
        def __init__(self, target: str, value: str = "5"):
            raise RuntimeError("boom")

    register_source("crash", Crashing)
    with pytest.raises(DashboardError, match="RuntimeError: boom"):
        open_source("crash:x")


def test_clear_forgets_registrations():
    register_source("tiny", TinySource)
    SOURCES.clear()
    assert "tiny" not in SOURCES.names()
