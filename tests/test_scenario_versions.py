"""Format versions: a file of every earlier version still loads, through its migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.errors import ScenarioError
from dashboard.scenario import SCHEMA_VERSION, parse_scenario
from dashboard.scenario_versions import MIGRATIONS, upgrade

VERSIONS = Path(__file__).resolve().parent / "data" / "scenario_versions"


def test_a_file_of_every_version_is_kept():
    kept = sorted(int(p.stem[1:]) for p in VERSIONS.glob("v*.json"))
    assert kept == list(range(1, SCHEMA_VERSION + 1)), (
        "keep one scenario file of every schema_version in tests/data/scenario_versions/"
    )


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_file_of_every_version_loads_as_the_current_format(version):
    text = (VERSIONS / f"v{version}.json").read_text()
    assert json.loads(text)["schema_version"] == version
    scenario = parse_scenario(text, source=f"v{version}.json")
    assert scenario.schema_version == SCHEMA_VERSION
    assert json.loads(scenario.to_json())["schema_version"] == SCHEMA_VERSION
    assert scenario.affected_servers()  # the file means what it meant: servers are still hit


def test_every_earlier_version_has_its_migration():
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


def test_migrations_run_in_order_from_the_files_version():
    def rename(doc):
        doc = dict(doc)
        doc["renamed"] = doc.pop("old")
        return doc

    steps = {1: rename, 2: lambda d: {**d, "added": d["renamed"] * 2}}
    out = upgrade({"schema_version": 1, "old": 3}, 3, migrations=steps)
    assert out == {"schema_version": 3, "renamed": 3, "added": 6}
    assert upgrade({"schema_version": 2, "renamed": 1}, 3, migrations=steps)["added"] == 2


def test_a_missing_migration_is_named():
    with pytest.raises(ScenarioError, match="no migration from schema_version 1 to 2"):
        upgrade({"schema_version": 1}, 2, migrations={})


@pytest.mark.parametrize("version", [True, "1", None, 0, -1])
def test_unusable_versions_are_left_to_the_validator(version):
    assert upgrade({"schema_version": version}, 2, migrations={}) == {"schema_version": version}


def test_a_newer_file_says_so():
    doc = json.loads((VERSIONS / f"v{SCHEMA_VERSION}.json").read_text())
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ScenarioError, match="newer version of the dashboard"):
        parse_scenario(doc)
