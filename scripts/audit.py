"""Dependency advisories (pip-audit) for CI: print everything found; fail only when it matters.

    .venv/bin/python scripts/audit.py [pip-audit JSON file]

Runs ``pip-audit`` on the packages installed in this environment (or reads its JSON
output from a file) and prints each advisory. The exit status is 1 only when a *direct*
dependency (``install_requires`` and extras in ``setup.cfg``) has an advisory with a
fixed release available: that is a one-line upgrade nobody should postpone. Advisories
of indirect dependencies, advisories without a fix, and packages the advisory service
could not be asked about (no network) are reported, never fatal.
"""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def direct_dependencies() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config.get("options", "install_requires", fallback="").splitlines()
    for _extra, value in config.items("options.extras_require") if config.has_section("options.extras_require") else []:
        lines += value.splitlines()
    names = set()
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(normalize(match.group(1)))
    return names


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run_pip_audit() -> dict:
    pip_audit = Path(sys.executable).parent / "pip-audit"
    result = subprocess.run(
        [str(pip_audit), "--local", "--skip-editable", "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if not result.stdout.strip():
        print(f"pip-audit could not run (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        return {"dependencies": []}
    return json.loads(result.stdout)


def main(argv: list[str]) -> int:
    report = json.loads(Path(argv[0]).read_text()) if argv else run_pip_audit()
    direct = direct_dependencies()
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    fatal = []
    print(f"pip-audit: {len(audited)} packages audited, {len(skipped)} could not be")
    for dep in audited:
        for vuln in dep.get("vulns", []):
            is_direct = normalize(dep["name"]) in direct
            fixes = vuln.get("fix_versions") or []
            line = (f"  {dep['name']} {dep.get('version', '?')}: {vuln.get('id')} "
                    f"({'direct' if is_direct else 'indirect'}; "
                    f"{'fixed in ' + ', '.join(fixes) if fixes else 'no fix yet'})")
            print(line)
            if is_direct and fixes:
                fatal.append(line)
    if skipped:
        reasons = {d["skip_reason"].split(":")[0] for d in skipped}
        print(f"  not audited: {', '.join(sorted(d['name'] for d in skipped))[:400]} ({'; '.join(sorted(reasons))})")
    if fatal:
        print(f"FAIL: {len(fatal)} advisories of direct dependencies have a fixed release; upgrade them:")
        for line in fatal:
            print(line)
        return 1
    print("no advisory of a direct dependency with a fixed release")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
