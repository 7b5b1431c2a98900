"""Runs side by side (``cenet section ... --jobs N``): the same tables as one run after another,
shared runs trained once, finished runs skipped, a failed run reported while the others go on."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from cenet_lib.cli import main as cli_main
from cenet_lib.reporting.plan import section_runs


@pytest.fixture()
def one_thread():
    """Both ways on one thread: the workers get one each on this CPU, and the thread count changes
    the last bits of a run's weights."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tables(out: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = out / "smoke" / "tables"
    return pd.read_csv(tables / f"table_{name}.csv"), pd.read_csv(tables / f"table_{name}_per_image.csv")


def test_three_jobs_write_the_tables_of_one_run_after_another(
    tmp_path, synthetic_cache, monkeypatch, capsys, one_thread
):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    sections = ["section", "vessels", "ablation", "--profile", "smoke"]
    assert cli_main([*sections, "--out", str(tmp_path / "side"), "--jobs", "3"]) == 0
    out = capsys.readouterr().out
    assert (
        "8 runs: 0 finished earlier, 8 to train with 3 side by side" in out
    )  # U-Net, Backbone, CE-Net serve both tables
    assert out.count("done vessels") + out.count("done ablation") == 8
    assert len(list((tmp_path / "side" / "smoke" / "runs" / "drive").glob("*-seed0"))) == 8
    assert cli_main([*sections, "--out", str(tmp_path / "one")]) == 0
    for name in ("II", "VI"):
        (side, side_scores), (one, one_scores) = _tables(tmp_path / "side", name), _tables(tmp_path / "one", name)
        pd.testing.assert_frame_equal(side, one, check_exact=False, atol=1e-6)
        pd.testing.assert_frame_equal(side_scores, one_scores, check_exact=False, atol=1e-6)
    capsys.readouterr()
    assert cli_main([*sections, "--out", str(tmp_path / "side"), "--jobs", "3"]) == 0
    assert "8 runs: 8 finished earlier, 0 to train" in capsys.readouterr().out


def test_a_failed_run_is_reported_and_the_other_section_gets_its_table(tmp_path, synthetic_cache, monkeypatch, capsys):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    broken = section_runs("lung", "smoke", out_root=tmp_path).jobs[0]
    broken.run_dir.mkdir(parents=True)
    (broken.run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")  # resuming it fails
    assert cli_main(["section", "lung", "vessels", "--profile", "smoke", "--out", str(tmp_path), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    log = broken.run_dir.with_name(f"{broken.run_dir.name}.log")
    assert f"FAILED lung: {broken.label}" in captured.out and f"log: {log}" in captured.out
    assert "Traceback" in log.read_text()
    assert "lung: Table III not written: 1 of" in captured.err
    tables = tmp_path / "smoke" / "tables"
    assert (tables / "table_II.csv").is_file() and not (tables / "table_III.csv").exists()
    others = [job for job in section_runs("lung", "smoke", out_root=tmp_path).jobs if job.run_dir != broken.run_dir]
    assert all((job.run_dir / "metrics_test_per_image.csv").is_file() for job in others)


def test_workers_take_the_gpus_in_turn(monkeypatch):
    import queue

    from cenet_lib.reporting.schedule import start_worker

    threads = torch.get_num_threads()
    slots = queue.Queue()
    for slot in range(4):
        slots.put(slot)
    seen = []
    for _ in range(4):  # four workers on two GPUs: two to each
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        start_worker(slots, ["0", "1"], 1)
        seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
    assert seen == ["0", "1", "0", "1"] and torch.get_num_threads() == 1
    torch.set_num_threads(threads)
