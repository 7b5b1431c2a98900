"""Ctrl-C during training: the step finishes, a checkpoint is written, one line says what was saved
and the command that resumes, and resuming ends with the weights of an uninterrupted run. Within an
epoch a checkpoint is taken once ``checkpoint_seconds`` have passed."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from cenet_lib.checkpoint import load_checkpoint
from cenet_lib.cli import main
from cenet_lib.config import load_config
from cenet_lib.training import train

REPOSITORY = Path(__file__).resolve().parents[1]
SETTINGS = ["input_size=64", "epochs=4", "batch_size=1", "checkpoint_seconds=1", "tta=false"]


def test_ctrl_c_saves_says_how_to_resume_and_resumes_identically(tmp_path, synthetic_cache, monkeypatch):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    run = tmp_path / "run"
    command = [sys.executable, "-m", "cenet_lib", "train", "--dataset", "lung", "--model", "unet", "--profile", "smoke",
               "--no-evaluate", "--run-dir", str(run), *SETTINGS]
    process = subprocess.Popen(command, cwd=REPOSITORY, env=dict(os.environ), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    checkpoint, mid_epoch = run / "checkpoint.pt", None
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None and mid_epoch is None:
        if checkpoint.is_file():
            state = load_checkpoint(checkpoint)["state"]
            mid_epoch = state if state["batch_in_epoch"] > 0 else None  # taken by time within an epoch
        time.sleep(0.05)
    assert mid_epoch is not None, "no checkpoint was taken within an epoch"
    signalled = time.time()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    said = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert len(said) == 1, err[-2000:]
    saved = load_checkpoint(checkpoint)
    assert checkpoint.stat().st_mtime >= signalled - 0.5 and saved["state"]["step"] >= mid_epoch["step"]
    assert f"saved {checkpoint} at epoch {saved['state']['epoch'] + 1}, step {saved['state']['step']}" in said[0]

    resume = shlex.split(said[0].split("resume with: ")[1])
    assert resume[:2] == ["cenet", "train"] and "--resume" in resume
    assert main([*resume[1:], "--no-evaluate"]) == 0
    whole = train(
        load_config("smoke", overrides={"dataset": "lung", "model": "unet", **dict(s.split("=") for s in SETTINGS)}),
        tmp_path / "whole",
    )
    resumed, uninterrupted = load_checkpoint(run / "model.pt"), load_checkpoint(whole)
    assert [row["epoch"] for row in resumed["history"]] == [1, 2, 3, 4]
    for key, value in uninterrupted["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
