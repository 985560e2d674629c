"""Every field of the scenario format, walked from the pydantic model, and what controls send."""

from __future__ import annotations

import pytest

from dashboard.authoring.fields import coerce, field_index, scenario_fields, template_of

SPECS = field_index()


def test_the_walk_reaches_every_nested_field():
    paths = {s.path for s in scenario_fields()}
    assert {
        "name",
        "fleet.size",
        "fleet.mix",
        "phases[].intensity",
        "phases[].period_s",
        "affected[].servers",
        "affected[].effects{}.spread",
        "affected[].oom.offline_ticks",
        "effects{}.mode",
        "oom.every_s",
    } <= paths
    assert SPECS["phases[].kind"].optional and SPECS["phases[].kind"].kind == "choice"
    assert SPECS["duration_s"].kind == "seconds" and SPECS["tick_s"].kind == "float"
    assert SPECS["fleet.size"].low == 1 and SPECS["fleet.size"].high == 100_000
    assert SPECS["phases[].end"].low_open  # gt 0, not ge
    assert SPECS["affected[].profiles"].kind == "choices" and "web" in SPECS["affected[].profiles"].choices
    assert SPECS["description"].kind == "longtext"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("phases.2.intensity", "phases[].intensity"),
        ("affected.0.effects.cpu_pct.target", "affected[].effects{}.target"),
        ("affected.1.oom.every_s", "affected[].oom.every_s"),
        ("fleet.mix.web", "fleet.mix{}"),
        ("effects.cpu_pct", "effects{}"),
        ("seed", "seed"),
    ],
)
def test_concrete_paths_map_to_templates(path, template):
    assert template_of(path) == template


@pytest.mark.parametrize(
    ("path", "sent", "value"),
    [
        ("fleet.size", 12.0, 12),
        ("fleet.size", "12", 12),
        ("fleet.size", 1.5, 1.5),  # left for the validator to refuse
        ("tick_s", 5, 5.0),
        ("duration_s", "1:30", "1:30"),
        ("duration_s", "90", 90.0),
        ("duration_s", "inf", "inf"),
        ("phases[].kind", "", None),
        ("schema_version", "1", 1),
        ("affected[].servers", "a, b\nc", ["a", "b", "c"]),
        ("affected[].profiles", "web", ["web"]),
        ("affected[].profiles", [], None),
        ("title", "", ""),
        ("description", None, None),
    ],
)
def test_control_values_become_field_values(path, sent, value):
    assert coerce(SPECS[path], sent) == value
