"""Training engine on the CPU: convergence of every model, determinism, resume after a kill, NaN stop,
checkpoint loading."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import cenet_lib.hardware as hardware_module
from cenet_lib.checkpoint import CheckpointError, load_checkpoint, load_trained_model, load_weights, save_atomic
from cenet_lib.config import load_config
from cenet_lib.data.dataset import EpochBatches
from cenet_lib.data.run_readers import make_reader
from cenet_lib.evaluation import evaluate
from cenet_lib.losses import build_loss
from cenet_lib.metrics import summarize
from cenet_lib.models import build_model, list_models
from cenet_lib.optim import plateau_step, warn_sgd_from_scratch
from cenet_lib.training import TrainingDiverged, train

REPOSITORY = Path(__file__).resolve().parents[1]


def tiny(cache: Path, **overrides):
    """A few seconds of training on the synthetic lung stand-in (two large lungs: easy to learn)."""
    settings = {"dataset": "lung", "input_size": 64, "epochs": 2, "batch_size": 4, "max_images": 8, "tta": False}
    return load_config("smoke", overrides={**settings, **overrides}), cache / "synthetic"


@pytest.mark.parametrize("model", list_models())
def test_every_model_learns_the_stand_in(model, tmp_path, synthetic_cache):
    config, cache = tiny(synthetic_cache, model=model, epochs=15, optimizer="adam", lr=2e-3, loss="dice", augment=False)
    final = train(config, tmp_path, cache_dir=cache)
    assert not (tmp_path / "checkpoint.pt").exists()  # only an unfinished run keeps one
    history = load_checkpoint(final)["history"]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert [row["step"] for row in history] == list(range(2, 31, 2))  # 8 images in batches of 4 per epoch
    trained, _ = load_trained_model(final)
    reader = make_reader(config, "train", cache)
    reader.ids = reader.ids[:8]
    scores = summarize(evaluate(trained, reader, config.input_size, tta=False)[0])
    assert scores.loc["dice", "mean"] > 0.6  # chance (all lung) would score about 0.3


def parameters(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def assert_same_weights(first: Path, second: Path) -> None:
    a, b = parameters(first), parameters(second)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_seed_gives_identical_weights(tmp_path, synthetic_cache):
    config, cache = tiny(synthetic_cache, model="backbone", epochs=1)
    assert_same_weights(train(config, tmp_path / "a", cache_dir=cache), train(config, tmp_path / "b", cache_dir=cache))
    first_line = (tmp_path / "a" / "config.yaml").read_text().splitlines()[0]
    assert (
        first_line
        == f"# ran with: device cpu, amp {hardware_module.native_bf16(torch.device('cpu'))}, channels_last True"
    )
    assert load_config("smoke", yaml_file=tmp_path / "a" / "config.yaml") == config  # a run's settings rerun it
    other, _ = tiny(synthetic_cache, model="backbone", epochs=1, seed=1)
    different = parameters(train(other, tmp_path / "c", cache_dir=cache))
    assert not torch.equal(different["head.4.weight"], parameters(tmp_path / "a" / "model.pt")["head.4.weight"])


@pytest.mark.parametrize("policy", ["resize", "crop"])
def test_resume_after_kill_mid_epoch_gives_the_same_weights(policy, tmp_path, synthetic_cache):
    settings = ["dataset=lung", "model=backbone", "input_size=64", "epochs=2", "batch_size=2", "max_images=8",
                "checkpoint_every=1", "tta=false", "augment=true", f"input_policy={policy}"]
    command = [
        sys.executable,
        "-m",
        "cenet_lib",
        "train",
        "--dataset",
        "lung",
        "--model",
        "backbone",
        "--profile",
        "smoke",
        "--no-evaluate",
        "--run-dir",
        str(tmp_path / "killed"),
        *settings,
    ]
    env = {**os.environ, "CENET_CACHE": str(synthetic_cache)}
    process = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 120
    step = 0
    while time.time() < deadline and process.poll() is None:  # kill in the second epoch, after its first batch
        if checkpoint.is_file():
            state = load_checkpoint(checkpoint)["state"]
            step = state["step"]
            if state["epoch"] == 1 and state["batch_in_epoch"] >= 1:
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 4 < step < 8, f"the kill was not mid-epoch (step {step})"
    assert not (tmp_path / "killed" / "model.pt").exists()
    load_checkpoint(checkpoint)  # complete, even if the kill came during a save

    config = load_config("smoke", overrides=dict(s.split("=") for s in settings))
    train(config, tmp_path / "killed", resume=True, cache_dir=synthetic_cache / "synthetic")
    assert not list((tmp_path / "killed").glob(".*.tmp"))  # a save cut short is cleared on resume
    train(config, tmp_path / "whole", cache_dir=synthetic_cache / "synthetic")
    assert_same_weights(tmp_path / "killed" / "model.pt", tmp_path / "whole" / "model.pt")
    history = load_checkpoint(tmp_path / "killed" / "model.pt")["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    assert not (tmp_path / "killed" / "checkpoint.pt").exists()


@pytest.mark.parametrize("seconds, saved_after, validated_after", [(0, [1, 2, 3], [1, 2, 3, 4]), (3600, [], [1, 4])])
def test_checkpoints_when_due_and_validation_after_the_first_and_last_epoch(
    seconds, saved_after, validated_after, tmp_path, synthetic_cache, monkeypatch
):
    """No checkpoint after the last epoch (model.pt follows at once), none for a run shorter than
    checkpoint_seconds; validation after the first and last epoch and with every checkpoint."""
    config, cache = tiny(synthetic_cache, dataset="duke", model="backbone", epochs=4, checkpoint_seconds=seconds)
    saves = []

    def counted(payload, path):
        if Path(path).name == "checkpoint.pt":
            saves.append(payload["state"]["epoch"])
        save_atomic(payload, path)

    train(config, tmp_path, cache_dir=cache, save=counted)
    assert saves == saved_after
    history = load_checkpoint(tmp_path / "model.pt")["history"]
    assert len(history) == 4
    assert [
        row["epoch"] for row in history if "val_boundary_overall" in row
    ] == validated_after  # the Duke set has a val split


def test_cuda_without_an_index_resolves_to_the_current_gpu(monkeypatch):
    chosen = []

    def set_device(device):  # torch refuses torch.device("cuda") here: it needs an index
        if torch.device(device).index is None:
            raise ValueError(f"Expected a torch.device with a specified index, but got: {device}")
        chosen.append(torch.device(device))

    monkeypatch.setattr(torch.cuda, "set_device", set_device)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(hardware_module, "native_bf16", lambda device: True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)  # restored afterwards
    for name in ("cuda", "auto"):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        hardware = hardware_module.resolve_hardware(load_config("smoke", overrides={"device": name}))
        assert hardware.device == torch.device("cuda", 0) and chosen[-1] == torch.device("cuda", 0)
        assert hardware.amp and hardware.channels_last and hardware.num_workers == min(4, max(0, os.cpu_count() - 1))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, synthetic_cache, monkeypatch):
    config, cache = tiny(synthetic_cache, model="backbone", epochs=3, batch_size=4, checkpoint_seconds=0)
    real_loss = build_loss(config.loss)
    calls = {"n": 0}

    def poisoned(name):
        def loss(logits, target):
            calls["n"] += 1
            value = real_loss(logits, target)
            return value * float("nan") if calls["n"] == 3 else value  # 2 steps per epoch: NaN in epoch 2
        return loss

    with pytest.raises(TrainingDiverged, match="nan at epoch 2.*checkpoint is kept"):
        train(config, tmp_path, cache_dir=cache, loss_factory=poisoned)
    saved = load_checkpoint(tmp_path / "checkpoint.pt")
    assert saved["state"]["epoch"] == 1 and all(
        torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point()
    )


def test_plateau_policy_halves_lr_reloads_best_and_stops():
    config = load_config("smoke", "authors", overrides={"plateau_patience": 2, "stop_patience": 4})
    model = build_model("unet", 1, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    plateau = {"best": float("inf"), "bad_epochs": 0}
    losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95]
    reasons = []
    for loss in losses:
        reasons.append(plateau_step(plateau, loss, model, optimizer, config))
        if loss == 0.9:
            best = {k: v.clone() for k, v in model.state_dict().items()}
            torch.nn.init.zeros_(model.head.weight)  # training moves on from the best weights
    assert reasons[:6] == [""] * 6 and "no lower training loss" in reasons[6]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 4)  # halved after bad epochs 3 and 4
    torch.testing.assert_close(model.head.weight, best["head.weight"])  # the best weights were reloaded


def test_epoch_batches_are_shared_between_ranks_and_resume():
    single = EpochBatches(10, 2, seed=0)
    ranks = [EpochBatches(10, 2, seed=0, rank=r, world_size=2) for r in range(2)]
    everything = sorted(i for batch in single.batches(3) for i in batch)
    assert everything == list(range(10))
    shared = sorted(i for r in ranks for batch in r.batches(3) for i in batch)
    assert shared == list(range(10))
    assert single.batches(3) != single.batches(4)
    single.epoch, single.skip = 3, 2
    assert [[i for i, _ in batch] for batch in single] == single.batches(3)[2:]


def test_resume_of_a_finished_run_keeps_it_and_a_fresh_start_replaces_it(tmp_path, synthetic_cache, monkeypatch):
    config, cache = tiny(synthetic_cache, model="backbone", epochs=1)
    final = train(config, tmp_path, cache_dir=cache)
    written = final.stat().st_mtime_ns
    assert final.stat().st_mode & 0o777 == 0o666 & ~current_umask()  # not the private mode of a temporary file
    # resuming a finished run builds nothing
    assert train(config, tmp_path, resume=True, cache_dir=cache, model_factory=None) == final
    assert final.stat().st_mtime_ns == written
    removed = []

    def watched(payload, path):
        removed.append(not final.exists())
        save_atomic(payload, path)

    train(config, tmp_path, cache_dir=cache, save=watched)  # a fresh start in the same folder
    assert removed[0] and final.stat().st_mtime_ns != written  # the old weights went before training began


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_warns_when_the_papers_sgd_recipe_trains_a_resnet_encoder_from_scratch(recwarn):
    real = load_config("paper", overrides={"model": "cenet"})
    with pytest.warns(UserWarning, match="cenet on drive: SGD at lr 0.004 .*encoder_weights=imagenet"):
        warn_sgd_from_scratch(real, build_model("cenet", 1))
    quiet = [(real, "unet"),  # U-Net has no pretrained encoder
             (load_config("paper", "scratch", overrides={"model": "cenet"}), "cenet"),  # Adam
             (load_config("smoke", overrides={"model": "cenet"}), "cenet")]  # synthetic data
    for config, model in quiet:
        warn_sgd_from_scratch(config, build_model(model, 1))
    assert not recwarn.list


def test_checkpoint_from_data_parallel_and_mismatches(tmp_path):
    model = build_model("backbone", num_classes=2)
    wrapped = torch.nn.DataParallel(model)
    path = save_atomic(
        {"model": wrapped.state_dict(), "model_name": "backbone", "num_classes": 2, "in_channels": 3},
        tmp_path / "dp.pt",
    )
    assert next(iter(wrapped.state_dict())).startswith("module.")
    loaded, _ = load_trained_model(path)
    torch.testing.assert_close(loaded.head[-1].weight, model.head[-1].weight)
    with pytest.raises(ValueError, match="trained with 2 classes"):
        load_weights(build_model("backbone", num_classes=1), load_checkpoint(path), "dp.pt")
    with pytest.raises(ValueError, match="holds a 'backbone' model, not 'cenet'"):
        load_weights(build_model("cenet", num_classes=2), load_checkpoint(path), "dp.pt")
    (tmp_path / "bare.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="Cannot read .*bare.pt as a checkpoint"):
        load_trained_model(tmp_path / "bare.pt")


def test_atomic_save_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = save_atomic({"a": 1}, tmp_path / "c.pt")

    def broken(obj, file):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({"a": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path) == {"a": 1} and len(list(tmp_path.iterdir())) == 1


def test_distributed_data_parallel_under_torchrun_on_the_cpu(tmp_path, synthetic_cache):
    """Two processes with the gloo backend, each taking batch_size images of every step; rank 0 writes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "cenet_lib",
               "train", "--dataset", "lung", "--model", "backbone", "--profile", "smoke", "--no-evaluate",
               "--run-dir", str(tmp_path), "input_size=64", "batch_size=4", "max_images=8", "cpu_threads=1"]
    env = {**os.environ, "CENET_CACHE": str(synthetic_cache)}
    result = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = load_checkpoint(tmp_path / "model.pt")
    assert [row["step"] for row in saved["history"]] == [1, 2]  # 8 images = one step of 2 x 4 per epoch
    assert not (tmp_path / "checkpoint.pt").exists()
    assert all(torch.isfinite(v).all() for v in parameters(tmp_path / "model.pt").values() if v.is_floating_point())


def test_val_holdout_takes_the_last_training_images_as_validation(synthetic_cache):
    config = load_config("smoke", overrides={"dataset": "drive", "val_holdout": 1})
    cache = synthetic_cache / "synthetic"
    train_ids = make_reader(config, "train", cache).ids
    val_reader = make_reader(config, "val", cache)
    assert val_reader.split == "val" and len(val_reader) == 1 and len(train_ids) == 3
    assert not set(train_ids) & set(val_reader.ids)
    full = make_reader(load_config("smoke", overrides={"dataset": "drive"}), "train", cache)
    sample = val_reader[0]  # the held-out image comes with its own mask and field of view
    np.testing.assert_array_equal(sample.image, full[3].image)
    np.testing.assert_array_equal(sample.mask, full[3].mask)
    assert sample.id == full.ids[3] == val_reader.ids[0]
    assert (
        make_reader(config, "test", cache).ids
        == make_reader(load_config("smoke", overrides={"dataset": "drive"}), "test", cache).ids
    )
    with pytest.raises(ValueError, match="must leave training images"):
        make_reader(load_config("smoke", overrides={"dataset": "drive", "val_holdout": 4}), "train", cache)
    duke = load_config("smoke", overrides={"dataset": "duke", "val_holdout": 2})  # has its own val split: kept
    assert (
        make_reader(duke, "val", cache).ids
        == make_reader(load_config("smoke", overrides={"dataset": "duke"}), "val", cache).ids
    )
