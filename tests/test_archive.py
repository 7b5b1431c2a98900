"""One archive of a results folder: everything but weights, its size said and limited."""
from __future__ import annotations

import tarfile

import pytest

from cenet_lib.cli import main
from cenet_lib.reporting.archive import ArchiveTooLarge, write_archive


def _results(root):
    run = root / "quick" / "runs" / "drive" / "cenet-dice-0000-seed0"
    run.mkdir(parents=True)
    for name in ("model.pt", "checkpoint.pt"):
        (run / name).write_bytes(b"\0" * 1000)
    (run / "log.csv").write_text("epoch,train_loss\n1,0.5\n")
    (run / ".checkpoint.pt.abc.tmp").write_bytes(b"partial")
    tables = root / "quick" / "tables"
    tables.mkdir()
    (tables / "table_II.md").write_text("# Table II\n")
    (root / "quick" / "executed").mkdir()
    (root / "quick" / "executed" / "02_retinal_vessels.ipynb").write_text("{}")
    return root


def test_the_archive_holds_the_results_without_weights(tmp_path):
    results = _results(tmp_path / "results")
    line = write_archive(results, tmp_path / "out.tar.gz")
    with tarfile.open(tmp_path / "out.tar.gz") as archive:
        names = archive.getnames()
    assert "results/quick/tables/table_II.md" in names and "results/quick/executed/02_retinal_vessels.ipynb" in names
    assert "results/quick/runs/drive/cenet-dice-0000-seed0/log.csv" in names
    assert not [name for name in names if name.endswith((".pt", ".tmp"))]
    assert line.startswith(f"Wrote {tmp_path / 'out.tar.gz'}: 3 files,") and "MiB" in line


def test_an_archive_past_the_limit_fails_and_is_removed(tmp_path, capsys):
    results = _results(tmp_path / "results")
    (results / "quick" / "figures").mkdir()
    (results / "quick" / "figures" / "noise.png").write_bytes(__import__("os").urandom(300_000))
    with pytest.raises(ArchiveTooLarge, match=r"over the limit of 0.1 MiB; the largest files: quick/figures/noise.png"):
        write_archive(results, tmp_path / "big.tar.gz", max_mib=0.1)
    assert not (tmp_path / "big.tar.gz").exists()
    assert main(["archive", str(results), "--out", str(tmp_path / "big.tar.gz"), "--max-mib", "0.1"]) == 1
    assert "over the limit" in capsys.readouterr().err
