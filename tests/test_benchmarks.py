"""benchmarks/speed.py runs end to end at a tiny size and writes its table with the peer's ratios."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]


def test_speed_benchmark_writes_its_tables(tmp_path):
    executed = tmp_path / "results" / "quick" / "executed"
    executed.mkdir(parents=True)
    (executed / "02_retinal_vessels.done").write_text("ok 1234 s\n")
    command = [sys.executable, "benchmarks/speed.py", "--quick", "--sizes", "64", "--repeats", "1",
               "--data-root", str(tmp_path / "no-data"), "--checkpoint", str(tmp_path / "none.pt"),
               "--results", str(tmp_path / "results"), "--out", str(tmp_path / "out"), "--fp32"]
    finished = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]

    table = pd.read_csv(tmp_path / "out" / "speed_cpu_fp32_quick.csv")
    assert list(table.model) == ["smp_unet_resnet34", "cenet"]
    peer, cenet = table.iloc[0], table.iloc[1]
    assert peer.train_vs_peer == 1.0 and peer.tta_vs_peer == 1.0
    assert cenet.parameters == 29_003_093 and cenet.forward_gflops > 0
    assert cenet.train_vs_peer == cenet.train_images_per_s / peer.train_images_per_s
    assert (table[["train_images_per_s", "infer_images_per_s", "tta_images_per_s", "train_tflops"]] > 0).all().all()
    assert (table.train_share_of_matmul_rate > 0).all()
    assert not table.amp.any() and not table.channels_last.any()

    report = (tmp_path / "out" / "speed_cpu_fp32_quick.md").read_text()
    assert "segmentation_models_pytorch" in report and "commit" in report
    assert "| quick     | 02_retinal_vessels |      1234 |" in report
    assert "not measured (no checkpoint or no DRIVE data)" in report


def test_the_search_gives_whole_epochs_that_fit_the_budget():
    sys.path.insert(0, str(REPOSITORY / "benchmarks"))
    from input_policy_search import steps_within_budget

    # 1800 s, 60 s of prediction, two rows of 60 s overhead: 1620 s for 0.5 + 1.5 s a step = 810 steps
    assert steps_within_budget(1800, 60, 60, [0.5, 1.5], epoch_steps=1) == 810
    steps = steps_within_budget(1800, 60, 60, [0.5, 1.5], epoch_steps=13)  # rounded down to 62 epochs
    assert steps == 806 and steps % 13 == 0 and 60 + 2 * 60 + steps * 2.0 <= 1800
    # a budget the prediction already spends still trains one epoch
    assert steps_within_budget(100, 500, 60, [1.0], epoch_steps=13) == 13
