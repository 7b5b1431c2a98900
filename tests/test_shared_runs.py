"""Runs named by what they are: a run two tables ask for is trained once, and a fresh checkout reuses its record."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

import cenet_lib.reporting.runner as runner
from cenet_lib.metrics.degenerate import degenerate_seeds, flag, one_class
from cenet_lib.reporting.section import run_section
from cenet_lib.reporting.sections import SECTIONS, section_config
from cenet_lib.reporting.tables import build_table
from cenet_lib.reporting.walkthrough import SectionWalkthrough
from cenet_lib.training import train


@pytest.fixture
def counted_training(monkeypatch):
    trained = []

    def counting(run, run_dir, **options):
        trained.append(run.name)
        return train(run, run_dir, **options)

    monkeypatch.setattr(runner, "train", counting)
    return trained


def test_tables_ii_and_vi_train_their_shared_rows_once(tmp_path, synthetic_cache, monkeypatch, counted_training):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    vessels = run_section("vessels", out_root=tmp_path, rows=["U-Net", "Backbone"])
    ablation = run_section("ablation", out_root=tmp_path, rows=["Backbone", "Backbone + RMP"])
    assert len(counted_training) == 3 and len(set(counted_training)) == 3  # U-Net, Backbone, Backbone + RMP
    assert ablation.reused == ["Backbone (1/2, seed 0)"]
    assert vessels.run_dirs["Backbone"] == ablation.run_dirs["Backbone"]
    assert vessels.run_dirs["Backbone"][0].parent == tmp_path / "smoke" / "runs" / "drive"
    assert section_config("vessels", "smoke") == section_config("ablation", "smoke")


def test_git_keeps_a_runs_record_and_a_fresh_checkout_reuses_it(
    tmp_path, synthetic_cache, monkeypatch, counted_training
):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    first = run_section("lung", out_root=tmp_path, rows=["U-Net"])
    (run_dir,) = first.run_dirs["U-Net"]
    record = [
        "config.yaml",
        "log.csv",
        "metrics_test.json",
        "metrics_test_per_image.csv",
        "predictions/index.json",
        "predictions/0.png",
    ]
    left_out = ["model.pt", "checkpoint.pt", "loss_curve.png"]
    repository = Path(__file__).resolve().parents[1]
    in_repository = [f"results/quick/runs/lung/{run_dir.name}/{name}" for name in record + left_out]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *in_repository], cwd=repository, capture_output=True, text=True
    )
    assert ignored.stdout.split() == in_repository[len(record):]
    for path in run_dir.iterdir():  # what a fresh checkout of that record holds
        if path.is_file() and path.name not in record:
            path.unlink()
    counted_training.clear()
    again = run_section("lung", out_root=tmp_path, rows=["U-Net"])
    assert not counted_training and again.reused == ["U-Net (1/1, seed 0)"]
    pd.testing.assert_frame_equal(pd.read_csv(again.per_image), pd.read_csv(first.per_image))
    figure = SectionWalkthrough("lung", "smoke", out_root=tmp_path).prediction_figure(again)
    assert "U-Net on test images" in figure.texts[0].get_text()  # drawn from the record's stored maps
    assert sum(bool(axis.images) for axis in figure.axes) >= 4


def test_a_run_name_ignores_where_and_how_fast_it_runs():
    base = section_config("vessels", "quick", {"model": "cenet"})
    same = section_config(
        "vessels",
        "quick",
        {"model": "cenet", "device": "cpu", "cpu_threads": 1, "data_root": "/elsewhere", "encoder_weights": "scratch"},
    )
    assert base.run_name() == same.run_name()
    for changed in ({"seed": 1}, {"loss": "ce"}, {"steps": 100}, {"tta": False}, {"encoder_weights": "imagenet"}):
        assert section_config("vessels", "quick", {"model": "cenet", **changed}).run_name() != base.run_name()


def _per_image(sensitivity: float, seeds: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "seed": s,
                "id": f"{k}",
                "fov_sensitivity": sensitivity if s == 0 else 0.7,
                "fov_specificity": 0.98,
                "fov_accuracy": 0.9,
                "fov_auc": 0.8,
            }
            for s in range(seeds)
            for k in range(4)
        ]
    )


def test_a_run_predicting_background_everywhere_is_flagged_in_its_table():
    assert one_class(_per_image(0.0)) == "all background" and one_class(_per_image(0.4)) == ""
    assert one_class(_per_image(0.5).assign(fov_specificity=0.0)) == "all foreground"
    assert degenerate_seeds(_per_image(0.0, seeds=3)) == {0: "all background"}
    assert flag(_per_image(0.0, seeds=3)) == "DEGENERATE: all background in 1 of 3 runs"
    long = build_table(SECTIONS["vessels"], {"U-Net": _per_image(0.6), "CE-Net": _per_image(0.0)}, "synthetic", True)
    flags = long.groupby("method")["flag"].first()
    assert flags["CE-Net"].startswith("DEGENERATE") and flags["U-Net"] == "" and flags["HED"] == ""


def test_a_run_two_sections_reach_at_once_is_held_by_one(tmp_path):
    """Sections side by side (run_all.sh --jobs) take a shared run's lock in turn."""
    import threading
    import time

    from cenet_lib.reporting.runner import run_lock

    order = []

    def hold(name):
        with run_lock(tmp_path / "runs" / "drive" / "cenet-dice-0000-seed0"):
            order.append(f"{name} in")
            time.sleep(0.3)
            order.append(f"{name} out")

    threads = [threading.Thread(target=hold, args=(name,)) for name in ("first", "second")]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join()
    assert order == ["first in", "first out", "second in", "second out"]
