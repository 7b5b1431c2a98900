"""Files written before the engine was split into parts still load, evaluate and resume.

The layout below is spelled out as the code of 2026-12-01 wrote it (``training.train``'s
``save_checkpoint`` closure and its final ``save_atomic``), not taken from today's code: a model is
too large to commit, so the test writes such files from a short smoke run and reads them back."""
from __future__ import annotations

import math
import shutil

import pandas as pd
import torch

from cenet_lib.checkpoint import load_checkpoint, save_atomic
from cenet_lib.config import config_from_checkpoint, load_config
from cenet_lib.runs import run_evaluation
from cenet_lib.training import train

CHECKPOINT_KEYS = {
    "model",
    "optimizer",
    "scheduler",
    "state",
    "rng",
    "config",
    "model_name",
    "num_classes",
    "in_channels",
    "encoder_weights",
}
STATE_KEYS = {"epoch", "step", "batch_in_epoch", "epoch_loss", "epoch_images", "history", "plateau"}
MODEL_KEYS = {
    "model",
    "model_name",
    "num_classes",
    "in_channels",
    "encoder_weights",
    "config",
    "stop_reason",
    "synthetic",
    "history",
}
OLD_ENCODER_WEIGHTS = "scratch (random initialisation)"  # the description before "random initialisation"


def _smoke(cache):
    settings = {"dataset": "lung", "model": "backbone", "input_size": 64, "epochs": 2, "batch_size": 4, "max_images": 8,
                "tta": False, "checkpoint_seconds": 0, "max_test_images": 2, "encoder_weights": "scratch"}
    return load_config("smoke", overrides=settings)


def _old_checkpoint(saved: dict) -> dict:
    """The checkpoint after epoch 1 in the old layout, key by key."""
    return {
        "model": saved["model"], "optimizer": saved["optimizer"], "scheduler": saved["scheduler"],
        "state": {"epoch": 1, "step": 2, "batch_in_epoch": 0, "epoch_loss": 0.0, "epoch_images": 0,
                  "history": saved["state"]["history"], "plateau": {"best": math.inf, "bad_epochs": 0}},
        "rng": {"python": saved["rng"]["python"], "numpy": saved["rng"]["numpy"], "torch": saved["rng"]["torch"]},
        "config": {**saved["config"], "encoder_weights": "scratch"},
        "model_name": "backbone", "num_classes": 1, "in_channels": 1, "encoder_weights": OLD_ENCODER_WEIGHTS,
    }


def test_an_old_checkpoint_resumes_bit_identically_and_an_old_model_evaluates(tmp_path, synthetic_cache, monkeypatch):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    config, cache = _smoke(synthetic_cache), synthetic_cache / "synthetic"

    def keep_epoch_one(payload, path):
        save_atomic(payload, path)
        if path.name == "checkpoint.pt" and payload["state"]["epoch"] == 1:
            shutil.copy(path, tmp_path / "epoch1.pt")

    whole = train(config, tmp_path / "whole", cache_dir=cache, save=keep_epoch_one)
    saved = load_checkpoint(tmp_path / "epoch1.pt")
    assert set(saved) == CHECKPOINT_KEYS and set(saved["state"]) == STATE_KEYS  # today's code writes the same layout
    assert set(load_checkpoint(whole)) == MODEL_KEYS

    old = tmp_path / "old"
    save_atomic(_old_checkpoint(saved), old / "checkpoint.pt")
    resumed = train(config, old, resume=True, cache_dir=cache)
    a, b = load_checkpoint(whole)["model"], load_checkpoint(resumed)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)

    final = load_checkpoint(whole)
    legacy = {key: final[key] for key in MODEL_KEYS}
    legacy.update(encoder_weights=OLD_ENCODER_WEIGHTS, config={**final["config"], "encoder_weights": "scratch"})
    save_atomic(legacy, tmp_path / "legacy" / "model.pt")
    assert config_from_checkpoint(legacy).identity() == config.identity()  # the run keeps its name
    scores = [
        pd.read_csv(folder / f"{run_evaluation(folder)['files']}_per_image.csv")
        for folder in (tmp_path / "whole", tmp_path / "legacy")
    ]
    pd.testing.assert_frame_equal(*scores)
