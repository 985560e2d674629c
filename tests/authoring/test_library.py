"""The scenario library: bundled then user scenarios, broken files listed, saves that never
lose or silently replace anything, drafts any worker can open."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dashboard.authoring import library as library_module
from dashboard.authoring.library import (
    BUNDLED,
    USER,
    ConflictError,
    Library,
    NameTakenError,
    version_of,
)
from dashboard.authoring.names import ScenarioNameError
from dashboard.errors import ScenarioError, WriteError
from dashboard.scenario import load_scenario, parse_scenario
from dashboard.settings import BUNDLED_SCENARIOS

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def library(tmp_path) -> Library:
    return Library(BUNDLED_SCENARIOS, tmp_path / "user_scenarios")


def small(name: str = "mine", seed: int = 1):
    return load_scenario("default").resolved(fleet_size=8, seed=seed).model_copy(update={"name": name})


def test_bundled_then_user_scenarios(library):
    library.save(small("zeta"), "zeta", expected=None)
    library.save(small("alpha"), "alpha", expected=None)
    entries = library.entries()
    kinds = [e.kind for e in entries]
    assert kinds == sorted(kinds, key=[BUNDLED, USER].index)
    assert [e.name for e in entries if e.kind == USER] == ["alpha", "zeta"]
    assert {e.name for e in entries if e.kind == BUNDLED} >= {"default", "memory_leak"}
    assert all(e.error is None for e in entries)
    assert library.find("alpha").label == "user_scenarios/alpha.json"


def test_broken_files_are_listed_with_their_errors(library):
    folder = library.user_dir
    folder.mkdir()
    (folder / "truncated.json").write_text('{"schema_version": 1, "name": ')
    (folder / "My File.json").write_text(small("x").to_json())
    (folder / "default.json").write_text(small("default").to_json())
    (folder / "<img src=x onerror=alert(1)>.json").write_text("{}")
    (folder / ".hidden.json").write_text("{}")  # hidden files are bookkeeping, never listed
    (folder / "notes.txt").write_text("not a scenario")
    broken = {e.name: e.error for e in library.entries() if e.kind == USER}
    assert set(broken) == {"truncated", "My File", "default", "<img src=x onerror=alert(1)>"}
    assert "user_scenarios/truncated.json" in broken["truncated"] and "JSON" in broken["truncated"]
    assert "not a scenario name" in broken["My File"]
    assert "bundled scenario has this name" in broken["default"]
    assert str(folder) not in " ".join(broken.values())  # messages name files relative to their folder
    with pytest.raises(ScenarioError, match="truncated"):
        library.read("truncated")


def test_a_broken_bundled_file_is_listed_too(tmp_path):
    bundled = tmp_path / "scenarios"
    bundled.mkdir()
    (bundled / "good.json").write_text(small("good").to_json())
    (bundled / "bad.json").write_text(small("bad").to_json().replace('"seed": 1', '"seed": -1'))
    entries = {e.name: e for e in Library(bundled, tmp_path / "user_scenarios").entries()}
    assert entries["good"].error is None and entries["good"].read_only
    assert entries["bad"].kind == BUNDLED and "scenarios/bad.json" in entries["bad"].error
    assert "seed" in entries["bad"].error


def test_read_finds_bundled_first_and_refuses_unknown_or_unsafe_names(library):
    scenario, entry = library.read("default")
    assert entry.kind == BUNDLED and scenario.name == "default"
    for bad in ("nope", "../default", "/etc/passwd", "Default"):
        with pytest.raises(ScenarioError, match="no scenario named"):
            library.read(bad)


def test_save_writes_canonical_json_and_reports_versions(library):
    saved = library.save(small("draft-name"), "incident", expected=None, user="ana")
    path = library.user_dir / "incident.json"
    data = path.read_bytes()
    assert saved.version == version_of(data) and saved.replaced is None
    assert parse_scenario(data).name == "incident"  # the file's name field follows its file name
    again = library.save(small("incident", seed=2), "incident", expected=saved.version)
    assert again.replaced == saved.version and again.version != saved.version


def test_an_existing_name_is_never_overwritten_silently(library):
    first = library.save(small(), "incident", expected=None)
    with pytest.raises(NameTakenError) as info:
        library.save(small(seed=9), "incident", expected=None)
    assert info.value.version == first.version
    assert library.read("incident")[0].seed == 1
    library.save(small(seed=9), "incident", expected=info.value.version)  # the explicit overwrite
    assert library.read("incident")[0].seed == 9


def test_a_save_after_someone_elses_is_a_conflict_showing_theirs(library):
    opened = library.save(small(), "incident", expected=None).version
    theirs = library.save(small(seed=5), "incident", expected=opened)
    with pytest.raises(ConflictError) as info:
        library.save(small(seed=7), "incident", expected=opened)
    assert info.value.version == theirs.version
    assert parse_scenario(info.value.theirs).seed == 5
    assert library.read("incident")[0].seed == 5  # nothing was lost
    library.save(small(seed=7), "incident", expected=info.value.version)  # keep mine, knowingly
    assert library.read("incident")[0].seed == 7


def test_bundled_names_are_read_only(library):
    with pytest.raises(ScenarioNameError, match="bundled") as info:
        library.save(small(), "default", expected=None)
    assert info.value.suggestion == "my-default"


@pytest.mark.parametrize("bad", ["..", "a/b", ".x", "CON", "", "报告"])
def test_bad_names_are_refused_before_writing(library, bad):
    with pytest.raises(ScenarioNameError):
        library.save(small(), bad, expected=None)
    assert not library.user_dir.exists() or list(library.user_dir.iterdir()) == []


def test_a_full_disk_keeps_the_old_file_and_says_why(library, monkeypatch):
    library.save(small(), "incident", expected=None)
    before = (library.user_dir / "incident.json").read_bytes()

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match="user_scenarios/incident.json: cannot save: no space left on device"):
        library.save(small(seed=3), "incident", expected=version_of(before))
    assert (library.user_dir / "incident.json").read_bytes() == before
    assert [p.name for p in library.user_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_an_unwritable_folder_is_a_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    lib = Library(BUNDLED_SCENARIOS, blocker / "user_scenarios")
    with pytest.raises(WriteError, match="cannot save: the folder cannot be created"):
        lib.save(small(), "incident", expected=None)


def test_temporaries_of_killed_saves_are_removed_and_never_listed(library):
    library.save(small(), "incident", expected=None)
    stale = library.user_dir / ".incident.json.abcdef012345.tmp"
    stale.write_text('{"half": ')
    assert [e.name for e in library.entries() if e.kind == USER] == ["incident"]
    library.save(small("other"), "other", expected=None)
    assert not stale.exists()


def test_a_busy_lock_is_a_message(library, monkeypatch):
    from filelock import FileLock

    library.user_dir.mkdir()
    monkeypatch.setattr(library_module, "LOCK_TIMEOUT_S", 0.2)
    held = FileLock(str(library.user_dir / library_module.LOCK_FILE))
    held.acquire()
    try:
        # filelock locks are re-entrant within a thread: hold it from another process
        code = f"from filelock import FileLock; import time; l = FileLock({str(library.user_dir / library_module.LOCK_FILE)!r}); l.acquire(); open({str(library.user_dir / 'go')!r}, 'w').close(); time.sleep(3)"
        held.release()
        proc = subprocess.Popen([sys.executable, "-c", code])
        deadline = time.monotonic() + 20
        while not (library.user_dir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(WriteError, match="another save has held the scenario folder"):
            library.save(small(), "incident", expected=None)
    finally:
        proc.kill()
        proc.wait()


def test_drafts_are_named_by_content_and_read_back(library):
    name = library.snapshot(small(seed=4))
    assert name.startswith("draft-") and library.snapshot(small(seed=4)) == name
    assert library.snapshot(small(seed=5)) != name
    scenario, entry = library.read(name)
    assert scenario.seed == 4 and entry.kind == USER
    assert [e for e in library.entries() if e.name.startswith("draft")] == []  # never listed
    with pytest.raises(ScenarioError, match="gone"):
        library.read("draft-0000000000000000")
    with pytest.raises(ScenarioError, match="not a draft"):
        library.read("draft-../../x")


def test_old_drafts_are_pruned(library, monkeypatch):
    names = [library.snapshot(small(seed=s)) for s in range(4)]
    folder = library.user_dir / library_module.DRAFTS_DIR
    now = time.time()
    ages = [library_module.DRAFT_MAX_AGE_S + 60, 300, 200, 100]  # the first is past its age
    for name, age in zip(names, ages, strict=True):
        os.utime(folder / f"{name[6:]}.json", (now - age, now - age))
    monkeypatch.setattr(library_module, "DRAFTS_KEPT", 3)
    newest = library.snapshot(small(seed=99))
    kept = sorted(p.stem for p in folder.glob("*.json"))
    assert kept == sorted(n[6:] for n in (newest, names[3], names[2]))


# -- several processes at once ------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from dashboard.authoring.library import ConflictError, Library
    from dashboard.scenario import parse_scenario
    from dashboard.settings import BUNDLED_SCENARIOS

    folder, mode, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    lib = Library(BUNDLED_SCENARIOS, folder)
    opened = lib.read_bytes("shared")  # what every process opened before anyone saves
    (go.parent / f"ready-{os.getpid()}").write_text("")
    while not go.exists():
        time.sleep(0.005)
    saved = conflicts = 0
    if mode == "race":  # every process saves its own change over the version all of them opened
        data, entry = opened
        scenario = parse_scenario(data).model_copy(update={"seed": 1000 + count})
        try:
            lib.save(scenario, "shared", expected=entry.version)
            saved += 1
        except ConflictError:
            conflicts += 1
    else:  # read, add one, save; on a conflict read again: no update may be lost
        while saved < count:
            data, entry = lib.read_bytes("shared")
            scenario = parse_scenario(data)
            scenario = scenario.model_copy(update={"seed": scenario.seed + 1})
            try:
                lib.save(scenario, "shared", expected=entry.version)
                saved += 1
            except ConflictError:
                conflicts += 1
    print(json.dumps({"saved": saved, "conflicts": conflicts}))
    """
)


def _run_workers(library, tmp_path, mode: str, counts: list[int]) -> list[dict]:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(library.user_dir), mode, str(n), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in counts
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.02)  # every process has opened the scenario and waits at the gate
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_concurrent_saves_of_one_opened_version_keep_exactly_one(library, tmp_path):
    library.save(small("shared"), "shared", expected=None)
    results = _run_workers(library, tmp_path, "race", [1, 2, 3, 4])
    assert sum(r["saved"] for r in results) == 1
    assert sum(r["conflicts"] for r in results) == 3
    winner = library.read("shared")[0].seed
    assert winner in {1001, 1002, 1003, 1004}  # one whole file, from the one that won


def test_concurrent_read_modify_write_loses_no_update(library, tmp_path):
    library.save(small("shared", seed=0), "shared", expected=None)
    results = _run_workers(library, tmp_path, "count", [10, 10, 10])
    assert sum(r["saved"] for r in results) == 30
    assert library.read("shared")[0].seed == 30
