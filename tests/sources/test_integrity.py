"""Datasets that never lie: a file that does not match what its metadata records is refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dashboard import datasets, schema
from dashboard.datasets import JOURNAL_FILE
from dashboard.errors import IntegrityError
from dashboard.evaluate import main as evaluate_main
from dashboard.generate import PARQUET_OPTIONS, generate_demo_dataset
from dashboard.sources import files, open_source


def _generate(folder, seed: int = 1, **kwargs):
    kwargs.setdefault("fleet_size", 8)
    kwargs.setdefault("duration", 2)
    return generate_demo_dataset(folder, "default", seed=seed, progress=False, **kwargs)


def _halve_cpu(path) -> None:
    """Rewrite a Parquet file with cpu_pct halved, as the generator writes it (same layout)."""
    table = pq.read_table(path)
    k = table.schema.get_field_index("cpu_pct")
    table = table.set_column(k, "cpu_pct", pc.divide(table.column(k), 2.0))
    pq.write_table(table, path, row_group_size=table.num_rows, **PARQUET_OPTIONS)


def _rel(path, root) -> str:
    return os.fspath(path.relative_to(root))


@pytest.mark.parametrize("lazy", ["false", "true"])
def test_a_parquet_rewritten_under_its_old_metadata_is_refused(data_dir, lazy):
    paths = _generate(data_dir / "demo")
    assert open_source(_rel(paths["parquet"], data_dir), lazy=lazy).n_ticks() == 24
    _halve_cpu(paths["parquet"])
    with pytest.raises(IntegrityError) as info:
        open_source(_rel(paths["parquet"], data_dir), lazy=lazy)
    message = str(info.value)
    assert message.startswith(f"{paths['parquet']}: ")
    assert "demo_dataset_metadata.json" in message
    assert "the file was changed after the dataset was written" in message or "bytes, but" in message


def test_a_csv_changed_in_place_is_refused(data_dir):
    paths = _generate(data_dir / "demo")
    data = bytearray(paths["csv"].read_bytes())
    k = len(data) - 20
    while not chr(data[k]).isdigit():
        k -= 1
    data[k] = ord("9") if data[k] != ord("9") else ord("8")  # one digit, same size
    paths["csv"].write_bytes(bytes(data))
    with pytest.raises(
        IntegrityError,
        match=r"its sha256 is .*, but its metadata \(demo_dataset_metadata.json\) records",
    ):
        open_source(_rel(paths["csv"], data_dir))


def test_a_file_cut_short_is_refused_by_its_size(data_dir):
    paths = _generate(data_dir / "demo")
    size = paths["csv"].stat().st_size
    with open(paths["csv"], "r+b") as fh:
        fh.truncate(size - 100)
    with pytest.raises(IntegrityError, match=f"{size - 100:,} bytes, but its metadata .* records {size:,}"):
        open_source(_rel(paths["csv"], data_dir))


def test_a_mixed_folder_is_refused_not_scored_against_the_wrong_truth(data_dir, capsys):
    """An earlier version killed between its renames left a seed-2 CSV beside seed-1 Parquet
    and metadata; that CSV loaded silently and evaluate scored it against seed 1's truth."""
    one = _generate(data_dir / "one", seed=1)
    two = _generate(data_dir / "two", seed=2)
    shutil.copyfile(two["csv"], one["csv"])
    with pytest.raises(IntegrityError):
        open_source(_rel(one["csv"], data_dir))
    assert evaluate_main(["--data", str(one["csv"])]) == 2
    assert "its metadata (demo_dataset_metadata.json) records" in capsys.readouterr().err
    assert open_source(_rel(one["parquet"], data_dir)).metadata()["seed"] == 1  # intact, whole


def test_a_verified_file_is_not_hashed_again_until_it_changes(data_dir, monkeypatch):
    paths = _generate(data_dir / "demo")
    spec = _rel(paths["parquet"], data_dir)
    open_source(spec)
    hashed = []
    real = datasets.file_record
    monkeypatch.setattr(datasets, "file_record", lambda p: hashed.append(p) or real(p))
    open_source(spec)
    assert hashed == []
    os.utime(paths["parquet"])  # touched: checked again
    open_source(spec)
    assert hashed == [paths["parquet"]]


def test_files_over_the_size_limit_get_the_size_check_and_page_checksums(data_dir, monkeypatch):
    paths = _generate(data_dir / "demo")
    monkeypatch.setattr(datasets, "FULL_CHECK_BYTES", 1000)
    spec = _rel(paths["parquet"], data_dir)
    report = open_source(spec).report()
    assert (
        f"{paths['parquet']}: size checked against its metadata (demo_dataset_metadata.json) "
        "(sha256 skipped above 1 GB: verify=full checks it); page checksums are checked as "
        "pages are read"
    ) in report
    _halve_cpu(paths["parquet"])  # a same-size rewrite is not caught by the size alone...
    size = paths["parquet"].stat().st_size
    meta = json.loads(paths["metadata"].read_text())
    meta["files"][paths["parquet"].name]["bytes"] = size
    paths["metadata"].write_text(json.dumps(meta))
    open_source(spec)
    with pytest.raises(IntegrityError, match="sha256"):  # ...but by verify=full
        open_source(spec, verify="full")
    assert "not checked against" in "\n".join(open_source(spec, verify="off").report())


def _flip_bit_in_a_data_page(path) -> None:
    data = bytearray(path.read_bytes())
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(4)  # cpu_pct
    data[chunk.data_page_offset + chunk.total_compressed_size - 10] ^= 0x10  # among its values
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("lazy", ["false", "true"])
def test_a_flipped_bit_in_an_uncompressed_parquet_fails_its_page_checksum(data_dir, fleet_frame, lazy):
    frame = fleet_frame(n_servers=3, n_ticks=40)
    frame[schema.TIMESTAMP] = pd.to_datetime(frame[schema.TIMESTAMP], utc=True).dt.as_unit("ms")
    path = data_dir / "plain.parquet"
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        path,
        compression="none",
        write_page_checksum=True,
        use_dictionary=False,
    )
    assert open_source("plain.parquet", lazy=lazy).n_ticks() == 40
    _flip_bit_in_a_data_page(path)
    with pytest.raises(IntegrityError) as info:
        open_source("plain.parquet", lazy=lazy).window(39, 40)
    assert "a data page fails its checksum" in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_datasets_written_before_page_checksums_load_with_a_note(data_dir):
    paths = _generate(data_dir / "demo")
    table = pq.read_table(paths["parquet"])
    options = {**PARQUET_OPTIONS, "write_page_checksum": False}
    pq.write_table(table, paths["parquet"], row_group_size=table.num_rows, **options)
    meta = json.loads(paths["metadata"].read_text())
    meta["schema_version"] = 1
    meta["files"][paths["parquet"].name] = datasets.file_record(paths["parquet"])
    paths["metadata"].write_text(json.dumps(meta))
    src = open_source(_rel(paths["parquet"], data_dir))
    assert src.metadata()["seed"] == 1
    assert (
        f"{paths['parquet']}: sha256 and size match its metadata (demo_dataset_metadata.json); "
        "the file carries no page checksums (written by an earlier version)"
    ) in src.report()


def test_metadata_about_other_files_is_not_used_for_this_one(data_dir):
    paths = _generate(data_dir / "demo", formats="parquet")
    shutil.copyfile(_generate(data_dir / "other")["csv"], data_dir / "demo" / "demo_dataset.csv")
    src = open_source("demo/demo_dataset.csv")
    assert src.metadata() is None  # not this file's ground truth
    assert any("describes demo_dataset.parquet, not demo_dataset.csv: not used" in n for n in src.report())
    assert paths["parquet"].exists()


def test_a_directory_dataset_is_checked_file_by_file(data_dir):
    paths = _generate(data_dir / "demo", formats="parquet")
    src = open_source("dir:demo")
    assert any("1 file(s) checked against demo_dataset_metadata.json" in n for n in src.report())
    _halve_cpu(paths["parquet"])
    with pytest.raises(IntegrityError):
        open_source("dir:demo")


def test_a_dataset_replaced_while_it_is_opened_is_read_again_whole(data_dir, monkeypatch):
    paths = _generate(data_dir / "demo", seed=1)
    real = files.read_csv_frame
    replaced = []

    def replace_then_read(*args, **kwargs):
        if not replaced:  # a generation commits while this reader parses the old file
            replaced.append(_generate(data_dir / "demo", seed=2, force=True))
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "read_csv_frame", replace_then_read)
    src = open_source(_rel(paths["csv"], data_dir))
    assert replaced and src.metadata()["seed"] == 2
    assert src.n_ticks() == 24


KILLED_AFTER_CSV = """
import os, signal, sys
from dashboard import datasets
from dashboard.generate import generate_demo_dataset
real = os.replace

def killed_after_csv(src, dst):
    real(src, dst)
    if str(dst).endswith("demo_dataset.csv"):
        os.kill(os.getpid(), signal.SIGKILL)

datasets.os.replace = killed_after_csv
generate_demo_dataset(sys.argv[1], seed=2, fleet_size=8, duration=2, force=True, progress=False)
"""


def test_a_generation_killed_between_its_moves_is_finished_by_the_next_reader(data_dir):
    paths = _generate(data_dir / "demo", seed=1)
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_CSV, str(data_dir / "demo")],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (data_dir / "demo" / JOURNAL_FILE).exists()  # seed-2 CSV beside seed-1 Parquet
    for kind in ("parquet", "csv"):
        src = open_source(_rel(paths[kind], data_dir))
        assert src.metadata()["seed"] == 2  # the new set, whole
    assert not (data_dir / "demo" / JOURNAL_FILE).exists()


def test_a_plain_file_growing_while_it_is_read_is_read_as_it_was(data_dir, monkeypatch):
    """Without metadata nothing says what the file should hold: a CSV that another process
    appends to while it is parsed loads as a snapshot, as it always did."""
    path = data_dir / "plain.csv"
    path.write_text("timestamp,server_name,cpu_pct\n2024-01-01T00:00:00Z,a,1\n")
    real = files.read_csv_frame

    def append_then_read(*args, **kwargs):
        frame = real(*args, **kwargs)
        with open(path, "a") as fh:
            fh.write("2024-01-01T00:00:05Z,a,2\n")
        return frame

    monkeypatch.setattr(files, "read_csv_frame", append_then_read)
    assert open_source("plain.csv").n_ticks() == 1
