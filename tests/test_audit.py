"""G3: CI prints every dependency advisory and fails only for a direct dependency with a fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _audit(tmp_path, dependencies) -> subprocess.CompletedProcess:
    report = tmp_path / "audit.json"
    report.write_text(json.dumps({"dependencies": dependencies}))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit.py"), str(report)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("dependencies", "code", "printed"),
    [
        ([{"name": "Dash", "version": "2.14.0", "vulns": [{"id": "PYSEC-2024-35", "fix_versions": ["2.15.0"]}]}], 1,
         "Dash 2.14.0: PYSEC-2024-35 (direct; fixed in 2.15.0)"),
        ([{"name": "dash", "version": "4.4.1", "vulns": [{"id": "GHSA-x", "fix_versions": []}]}], 0, "no fix yet"),
        ([{"name": "urllib3", "version": "1.26", "vulns": [{"id": "GHSA-y", "fix_versions": ["2.0"]}]}], 0, "(indirect;"),
        ([{"name": "numpy", "skip_reason": "Dependency not found on PyPI and could not be audited: numpy"}], 0, "not audited: numpy"),
    ],
)
def test_g3_advisories_are_printed_and_only_fixable_direct_ones_fail(tmp_path, dependencies, code, printed):
    result = _audit(tmp_path, dependencies)
    assert result.returncode == code, result.stdout
    assert printed in result.stdout
