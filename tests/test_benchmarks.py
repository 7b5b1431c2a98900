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
