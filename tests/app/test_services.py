"""Pure helpers of the per-process services."""

from __future__ import annotations

import pytest

from dashboard.app.services import spec_label


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("csv:/data/x/metrics.csv?columns=host%3Dserver_name", "csv · metrics.csv (columns)"),
        ("scenario:default?seed=7&fleet_size=50", "scenario · default (seed, fleet_size)"),
        ("/data/demo/demo_dataset.parquet", "demo_dataset.parquet"),
        ("follow:logs/live.csv", "follow · live.csv"),
    ],
)
def test_spec_label_is_short_and_names_the_file(spec, label):
    assert spec_label(spec) == label


def test_spec_label_caps_length():
    assert len(spec_label("csv:" + "x" * 200 + ".csv")) <= 60
