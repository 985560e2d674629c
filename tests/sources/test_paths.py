"""Path safety: only local files under the data roots are read, and refusals come before any parser."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dashboard.errors import PathSafetyError, SourceError
from dashboard.settings import Settings
from dashboard.sources import open_source
from dashboard.sources.paths import parse_spec, resolve_roots, safe_path


@pytest.fixture
def no_parsers(monkeypatch):
    """Fail the test if pandas or pyarrow is asked to read anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("a parser was called before the path was checked")

    monkeypatch.setattr(pd, "read_csv", refuse)
    monkeypatch.setattr(pq, "ParquetFile", refuse)
    monkeypatch.setattr(pq, "read_table", refuse)


@pytest.mark.parametrize(
    "spec",
    [
        "http://example.com/metrics.csv",
        "https://example.com/m.parquet",
        "file:///etc/passwd",
        "s3://bucket/key.parquet",
        "csv:http://example.com/x.csv",
        "parquet:s3://bucket/x.parquet",
        "dir:file:///tmp",
        "follow:ftp://host/x.csv",
        "  HTTP://EXAMPLE.COM/x.csv",
    ],
)
def test_urls_are_refused(spec, data_dir, no_parsers):
    with pytest.raises(PathSafetyError, match="is a URL"):
        open_source(spec)


def test_dotdot_escape_is_refused(data_dir, tmp_path, no_parsers):
    (tmp_path / "secret.csv").write_text("timestamp,cpu_pct\n")
    with pytest.raises(
        PathSafetyError, match=r"outside the data roots \(its '\.\.' leads out of them\)"
    ):
        open_source("../secret.csv")
    with pytest.raises(PathSafetyError, match="outside the data roots"):
        open_source("csv:sub/../../secret.csv")


def test_absolute_path_outside_the_roots(data_dir, tmp_path, no_parsers):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("timestamp,cpu_pct\n")
    with pytest.raises(PathSafetyError, match="allowed roots: "):
        open_source(str(outside))
    with pytest.raises(PathSafetyError):
        open_source("/etc/passwd")


def test_symlink_leading_out_is_refused(data_dir, tmp_path, no_parsers):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "m.csv").write_text("timestamp,cpu_pct\n")
    os.symlink(outside / "m.csv", data_dir / "link.csv")
    os.symlink(outside, data_dir / "linkdir")
    with pytest.raises(PathSafetyError, match="symlink that leads out"):
        open_source("link.csv")
    with pytest.raises(PathSafetyError):
        open_source("dir:linkdir")
    with pytest.raises(PathSafetyError):
        open_source("linkdir/*.csv")


def test_symlink_inside_the_roots_is_fine(data_dir, fleet_frame, write_csv):
    write_csv(fleet_frame(), "real.csv")
    os.symlink(data_dir / "real.csv", data_dir / "alias.csv")
    assert open_source("alias.csv").n_ticks() == 4


def test_glob_escaping_the_roots(data_dir, tmp_path, no_parsers):
    with pytest.raises(PathSafetyError):
        open_source("../*.csv")
    with pytest.raises(PathSafetyError):
        open_source(f"dir:{tmp_path}/*.parquet")


def test_extra_roots_can_be_passed(data_dir, tmp_path, fleet_frame, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    fleet_frame().to_csv(other / "m.csv", index=False)
    assert open_source(str(other / "m.csv"), data_roots=[other]).n_ticks() == 4
    settings = Settings(data_roots=(data_dir, other))
    assert open_source(str(other / "m.csv"), settings=settings).n_ticks() == 4
    # The environment is read by the entry points, never by open_source itself.
    monkeypatch.setenv("FLEET_DATA_ROOTS", os.pathsep.join([str(data_dir), str(other)]))
    with pytest.raises(PathSafetyError, match="outside the data roots"):
        open_source(str(other / "m.csv"))


def test_nul_byte_and_empty_spec(data_dir):
    with pytest.raises(PathSafetyError, match="NUL"):
        open_source("a\x00b.csv")
    with pytest.raises(SourceError, match="empty source spec"):
        open_source("  ")
    with pytest.raises(SourceError, match="must be a path or a string"):
        open_source(42)


def test_metadata_option_is_checked_too(data_dir, tmp_path, fleet_frame, write_csv):
    write_csv(fleet_frame())
    (tmp_path / "meta.json").write_text("{}")
    with pytest.raises(PathSafetyError):
        open_source("metrics.csv", metadata=str(tmp_path / "meta.json"))


def test_parse_spec_only_treats_known_kinds_as_kinds():
    spec = parse_spec("csv:a/b.csv?tz=UTC&resample=5s", ["csv"])
    assert (spec.kind, spec.target, spec.options) == (
        "csv",
        "a/b.csv",
        {"tz": "UTC", "resample": "5s"},
    )
    assert parse_spec("notes:2024.csv", ["csv"]).kind is None
    with pytest.raises(SourceError, match="given twice"):
        parse_spec("csv:x?tz=a&tz=b", ["csv"])


def test_safe_path_resolves_relative_to_the_working_directory(data_dir):
    roots = resolve_roots([data_dir])
    (data_dir / "x.csv").write_text("")
    assert safe_path("x.csv", roots) == (data_dir / "x.csv").resolve()
    assert safe_path("./sub/../x.csv", roots) == (data_dir / "x.csv").resolve()


def test_mapping_file_outside_the_roots_is_refused(data_dir, tmp_path, fleet_frame, write_csv):
    write_csv(fleet_frame())
    (tmp_path / "map.json").write_text('{"host": "server_name"}')
    with pytest.raises(PathSafetyError):
        open_source("metrics.csv", columns=str(tmp_path / "map.json"))
    with pytest.raises(PathSafetyError):
        open_source(f"csv:metrics.csv?units={tmp_path / 'map.json'}")
