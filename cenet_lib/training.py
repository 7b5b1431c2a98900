"""Training (section III-A): one loop for the CPU, one GPU, and several GPUs under ``torchrun``.

``train(config, run_dir)`` trains ``config.model`` on ``config.dataset`` and writes to ``run_dir``:

* ``config.yaml``: every setting, the recipe and the profile;
* ``checkpoint.pt``: model, optimizer, scheduler, RNG states, epoch, step and history, written
  atomically at the end of any epoch but the last that ends ``checkpoint_seconds`` or more after the
  start or the last save, within an epoch after any step that ends ``checkpoint_seconds`` or more
  after the last save (so at most that much work is lost to a kill), every ``checkpoint_every``
  steps, and when SIGINT or SIGTERM asks the run to stop (:mod:`cenet_lib.interrupts`: the step
  finishes, the checkpoint is written, and :class:`TrainingInterrupted` says how to resume).
  ``resume=True`` continues from it, mid-epoch included, and ends with the same weights as an
  uninterrupted run. A run shorter than ``checkpoint_seconds`` writes none (a smoke run, for one).
  The time rule keeps short epochs (20 DRIVE images on a GPU) from spending their time on
  checkpoints. The validation scores are computed after the first and the last epoch and with every
  epoch-end checkpoint. The checkpoint is deleted once ``model.pt`` is written: it only serves to
  resume, and with the optimizer's state it is three times the size of the weights (350 MB for CE-Net);
* ``model.pt``: the final weights with what is needed to rebuild the model, and the history. It
  exists only for a finished run: a fresh start removes an old one, and ``resume=True`` on a
  finished run returns it untouched;
* ``log.csv`` (one row per epoch: steps so far, loss, learning rate, validation scores, seconds) and
  ``loss_curve.png`` (redrawn with each checkpoint).

Determinism: the model is initialised from ``seed``; each epoch's order of images is drawn from
(seed, epoch) and each image's augmentation from (seed, epoch, index), so the batches do not depend
on the number of loader workers. With ``deterministic=True`` torch's deterministic algorithms are
required as well (on the CPU the default kernels already give identical runs).

A NaN or infinite loss stops the run with a message; the last good checkpoint stays as it was.
"""
from __future__ import annotations

import csv
import math
import os
import random
import shlex
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from .checkpoint import load_checkpoint, load_weights, save_atomic
from .config import RunConfig
from .data import Augmentation, SegmentationDataset, build_reader
from .data.base import Reader, ReaderSubset
from .data.policy import InputPolicy
from .data.synthetic import SYNTHESIZERS, synthesize
from .data.validate import check_splits
from .evaluation import evaluate
from .interrupts import StopOnSignal, TrainingInterrupted
from .losses import build_loss
from .metrics import summarize
from .models import ResNet34Encoder, build_model
from .reporting.figures import loss_curves


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class Hardware:
    device: torch.device
    amp: bool
    channels_last: bool
    num_workers: int
    rank: int = 0
    world_size: int = 1

    def place(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` on this device, in this memory format."""
        return model.to(self.device, memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally require deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (elsewhere autocast would emulate bf16 and run slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_hardware(config: RunConfig) -> Hardware:
    """Device, precision and loader settings. By default: bf16 autocast where the device computes
    bf16 natively (:func:`native_bf16`), channels_last memory format, and on CUDA pinned, persistent
    loader workers. Under torchrun each process takes the GPU of its rank.

    Why these defaults on the CPU too: one training step of cenet (batch 4, 256x256, Adam, this
    project's 2-core AVX512-BF16 CPU) took 1.28 s in fp32, 1.05 s with channels_last and 0.59 s with
    channels_last and bf16 autocast; U-Net 7.67, 6.75 and 3.29 s (``benchmarks/speed.py``)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if config.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(config.device)
        except RuntimeError as error:
            raise ValueError(f"device={config.device!r} is not a device: use auto, cpu, cuda or cuda:N ({error}).") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={config.device} was asked for, but this machine has no CUDA GPU; use device=auto "
                             "(the GPU where there is one) or device=cpu.")
    if world_size > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    elif device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())  # set_device needs an index
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = not config.deterministic
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    amp = config.amp if config.amp is not None else native_bf16(device)
    channels_last = config.channels_last if config.channels_last is not None else True
    workers = config.num_workers if config.num_workers is not None else (min(4, max(0, (os.cpu_count() or 1) - 1)) if cuda else 0)
    return Hardware(device, amp, channels_last, workers, rank, world_size)


def synthetic_cache_dir() -> Path:
    """Where synthetic stand-ins are written for training: ``$CENET_CACHE`` or ``~/.cache/cenet_lib``."""
    return Path(os.environ.get("CENET_CACHE") or Path.home() / ".cache" / "cenet_lib") / "synthetic"


def make_reader(config: RunConfig, split: str, cache_dir: Path | None = None) -> Reader:
    """The reader of ``config.dataset``: the real data, or with ``config.synthetic`` its stand-in,
    written once to ``cache_dir`` (default :func:`synthetic_cache_dir`). A folder of the user's own
    images is read as it is, whatever ``config.synthetic`` says (``--profile smoke`` on a folder), and a
    path that does not exist is reported as such.

    With ``config.val_holdout = N`` on a dataset without a validation split, the last N training
    images become the ``val`` split and leave ``train``: settings are chosen on them, never on the
    test split."""
    if config.val_holdout and split in ("train", "val"):
        reader = _make_reader(config, "train", cache_dir)
        if "val" in reader.splits:
            return reader if split == "train" else _make_reader(config, "val", cache_dir)
        if not 0 < config.val_holdout < len(reader):
            raise ValueError(f"val_holdout={config.val_holdout} must leave training images: the training split holds {len(reader)}.")
        cut = len(reader) - config.val_holdout
        return ReaderSubset(reader, range(cut, len(reader)) if split == "val" else range(cut), split)
    return _make_reader(config, split, cache_dir)


def _make_reader(config: RunConfig, split: str, cache_dir: Path | None) -> Reader:
    options: dict[str, Any] = {}
    if config.fold is not None:
        options["fold"] = config.fold
    if config.synthetic and config.dataset in SYNTHESIZERS:
        root = Path(cache_dir or synthetic_cache_dir()) / f"{config.dataset}-seed{config.seed}"
        if not root.is_dir():  # written aside, then renamed: processes starting together never see half of it
            partial = synthesize(config.dataset, root.with_name(f"{root.name}.partial-{os.getpid()}"), seed=config.seed)
            try:
                partial.rename(root)
            except OSError:  # another process finished first
                shutil.rmtree(partial)
        from .data import READERS

        return READERS[config.dataset](root, split, **options)
    return build_reader(config.dataset, split, config.data_root, **options)


class EpochBatches(Sampler):
    """Batches of (index, epoch) pairs: the epoch's order drawn from (seed, epoch), starting after
    ``skip`` batches when a run resumes mid-epoch. Under torchrun ``batch_size`` is per process: each
    step takes ``batch_size x world_size`` images and each process its own share of them."""

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip = 0, 0

    def batches(self, epoch: int) -> list[list[int]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.size).tolist()
        per_step = self.batch_size * self.world_size
        steps = [order[i : i + per_step] for i in range(0, len(order), per_step)]
        return [step[self.rank :: self.world_size] for step in steps if step[self.rank :: self.world_size]]

    def __len__(self) -> int:
        return len(self.batches(self.epoch)) - self.skip

    def __iter__(self):
        for batch in self.batches(self.epoch)[self.skip :]:
            yield [(index, self.epoch) for index in batch]


def make_optimizer(config: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's recipe) or Adam, with weight decay (Eq. 3's L_reg).

    Both use torch's fused kernels: one pass over all parameters instead of a chain of per-tensor
    operations. On this project's 2-core CPU a cenet training step (batch 4, 256x256, bf16,
    channels_last) took 0.603 s with torch's default Adam and 0.584 s with the fused one."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, fused=True)
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    raise ValueError(f"Unknown optimizer {config.optimizer!r}; choose sgd or adam.")


def warn_sgd_from_scratch(config: RunConfig, model: torch.nn.Module) -> None:
    """Warn when the paper's SGD recipe is about to train a ResNet-34 encoder from random weights on
    real data: the paper starts from ImageNet (section II-A, Fig. 8), and at the paper's size on
    DRIVE every such row of ``results/paper`` stayed at all background (Sen 0)."""
    resnet_from_scratch = isinstance(getattr(model, "encoder", None), ResNet34Encoder) and model.encoder_weights.startswith("scratch")
    if config.optimizer == "sgd" and resnet_from_scratch and not config.synthetic:
        warnings.warn(
            f"{config.model} on {config.dataset}: SGD at lr {config.lr:g} with a ResNet-34 encoder from random weights. "
            "With the paper's recipe from scratch, every ResNet-34 row on DRIVE stayed at all background (results/paper). "
            "Start from ImageNet (encoder_weights=imagenet; run_all.sh --encoder-weights imagenet) or use recipe=scratch "
            "(Adam at 1e-3).", stacklevel=2,
        )


def _poly_schedule(optimizer: torch.optim.Optimizer, total_steps: int, power: float):
    """The poly policy: lr = base_lr * (1 - step / total_steps) ** power, per optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total_steps) ** power)


def _rng_state() -> dict[str, Any]:
    """The random states, in types that ``torch.load(weights_only=True)`` reads back."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": (name, keys.tolist(), position, has_gauss, cached),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _write_log(history: list[dict[str, Any]], path: Path) -> None:
    columns = list(dict.fromkeys(key for row in history for key in row))
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    os.replace(temporary, path)


def _validation(model, reader: Reader | None, config: RunConfig, hardware: Hardware) -> dict[str, float]:
    """Mean scores on the dataset's validation split (plain prediction, no TTA), when it has one."""
    if reader is None:
        return {}
    table, _ = evaluate(model, reader, InputPolicy.from_config(config), tta=False, threshold=config.threshold,
                        device=hardware.device, amp=hardware.amp)
    return {f"val_{name}": float(row["mean"]) for name, row in summarize(table).iterrows()}


def train(
    config: RunConfig,
    run_dir: str | Path,
    resume: bool = False,
    cache_dir: Path | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Path:
    """Train as ``config`` says, writing to ``run_dir``; returns the path of the final ``model.pt``.

    Every image and mask of the training, validation and test splits is read and checked first
    (:func:`cenet_lib.data.validate.check_splits`), before anything is built or written.
    ``on_step(step, total_steps)`` is called after every optimizer step."""
    run_dir = Path(run_dir)
    checkpoint_path, final = run_dir / "checkpoint.pt", run_dir / "model.pt"
    if resume and final.is_file() and not checkpoint_path.is_file():
        print(f"{run_dir} finished earlier: {final} is kept as it is.")
        return final
    hardware = resolve_hardware(config)
    distributed = hardware.world_size > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if hardware.device.type == "cuda" else "gloo")
    main_process = hardware.rank == 0
    seed_everything(config.seed, config.deterministic)

    check_splits(lambda split: make_reader(config, split, cache_dir), ("train", "val", "test"))
    reader = make_reader(config, "train", cache_dir)
    if config.max_images:
        reader = ReaderSubset(reader, range(min(config.max_images, len(reader))), "train")
    val_reader = make_reader(config, "val", cache_dir) if "val" in reader.splits or config.val_holdout else None
    model = build_model(config.model, reader.num_classes, reader.in_channels, pretrained=config.encoder_weights)
    if main_process:
        warn_sgd_from_scratch(config, model)
    model = hardware.place(model)
    policy = InputPolicy.from_config(config)
    dataset = SegmentationDataset(reader, policy, Augmentation(flips=policy.flips) if config.augment else None, seed=config.seed)
    sampler = EpochBatches(len(dataset), config.batch_size, config.seed, hardware.rank, hardware.world_size)
    steps_per_epoch = len(sampler.batches(0))
    epochs = math.ceil(config.steps / steps_per_epoch) if config.steps else config.epochs
    optimizer = make_optimizer(config, model)
    scheduler = _poly_schedule(optimizer, epochs * steps_per_epoch, config.poly_power) if config.lr_policy == "poly" else None
    loss_fn = build_loss(config.loss)

    state: dict[str, Any] = {"epoch": 0, "step": 0, "batch_in_epoch": 0, "epoch_loss": 0.0, "epoch_images": 0,
                             "history": [], "plateau": {"best": math.inf, "bad_epochs": 0}}
    if main_process:
        for unfinished in run_dir.glob(".*.tmp"):  # a save cut short by a kill; the file it replaces is intact
            unfinished.unlink()
    if resume and checkpoint_path.is_file():
        saved = load_checkpoint(checkpoint_path)
        load_weights(model, saved, str(checkpoint_path))
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        _set_rng_state(saved["rng"])
        if main_process:
            print(f"Resuming {run_dir} at epoch {state['epoch'] + 1}, step {state['step']}.")
    elif main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        final.unlink(missing_ok=True)  # the weights of an earlier run in this folder
        used = f"# ran with: device {hardware.device}, amp {hardware.amp}, channels_last {hardware.channels_last}\n"
        settings = yaml.safe_dump({**config.to_dict(), "input_size": list(config.input_size)}, sort_keys=False)
        (run_dir / "config.yaml").write_text(used + settings)  # usable as --config for another run

    if distributed:
        trained = DistributedDataParallel(model, device_ids=[hardware.device] if hardware.device.type == "cuda" else None)
    else:
        trained = model
    if config.compile:
        trained = torch.compile(trained)
    loader = DataLoader(
        dataset, batch_sampler=sampler, num_workers=hardware.num_workers,
        pin_memory=hardware.device.type == "cuda", persistent_workers=hardware.num_workers > 0,
    )

    last_saved = time.monotonic()

    def save_checkpoint() -> None:
        nonlocal last_saved
        last_saved = time.monotonic()
        if main_process:
            save_atomic({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "state": state, "rng": _rng_state(), "config": config.to_dict(),
                "model_name": config.model, "num_classes": reader.num_classes, "in_channels": reader.in_channels,
                "encoder_weights": model.encoder_weights,
            }, checkpoint_path)

    stop_reason = ""
    with StopOnSignal() as stop:
        while state["epoch"] < epochs and not stop_reason:
            epoch = state["epoch"]
            sampler.epoch, sampler.skip = epoch, state["batch_in_epoch"]
            model.train()
            started = time.perf_counter()
            progress = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not main_process, leave=False)
            for batch in progress:
                images = batch["image"].to(hardware.device, non_blocking=True)
                if hardware.channels_last:
                    images = images.to(memory_format=torch.channels_last)
                masks = batch["mask"].to(hardware.device, non_blocking=True)
                with torch.autocast(device_type=hardware.device.type, dtype=torch.bfloat16, enabled=hardware.amp):
                    logits = trained(images)
                loss = loss_fn(logits.float(), masks)
                if not torch.isfinite(loss):
                    kept = (f"The last good checkpoint is kept at {checkpoint_path}." if checkpoint_path.is_file()
                            else "No checkpoint had been written yet.")
                    raise TrainingDiverged(
                        f"The loss became {loss.item()} at epoch {epoch + 1}, step {state['step'] + 1}. {kept} "
                        "Lower the learning rate (lr=...) or check the data."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                state["step"] += 1
                state["batch_in_epoch"] += 1
                state["epoch_loss"] += loss.item() * len(images)
                state["epoch_images"] += len(images)
                progress.set_postfix(loss=f"{loss.item():.4f}", img_s=f"{state['epoch_images'] / (time.perf_counter() - started):.1f}")
                every = config.checkpoint_every and state["step"] % config.checkpoint_every == 0
                mid_epoch = (0 < config.checkpoint_seconds <= time.monotonic() - last_saved
                             and state["batch_in_epoch"] < steps_per_epoch)  # an epoch's end has its own rule
                if every or mid_epoch or stop.requested:
                    save_checkpoint()
                if stop.requested:
                    raise TrainingInterrupted(
                        f"{stop.requested}: saved {checkpoint_path} at epoch {epoch + 1}, step {state['step']}; resume with: "
                        f"cenet train --dataset {shlex.quote(str(config.dataset))} --run-dir {shlex.quote(str(run_dir))} --resume"
                    )
                if on_step is not None and main_process:
                    on_step(state["step"], epochs * steps_per_epoch)

            train_loss = state["epoch_loss"] / max(1, state["epoch_images"])
            row = {"epoch": epoch + 1, "step": state["step"], "train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"],
                   "seconds": time.perf_counter() - started}
            if config.lr_policy == "plateau":
                stop_reason = _plateau_step(state["plateau"], train_loss, model, optimizer, config)
            last = epoch + 1 == epochs or bool(stop_reason)
            checkpoint_due = not last and time.monotonic() - last_saved >= config.checkpoint_seconds
            if (epoch == 0 or last or checkpoint_due) and main_process:
                row.update(_validation(model, val_reader, config, hardware))
            state["history"].append(row)
            state.update(epoch=epoch + 1, batch_in_epoch=0, epoch_loss=0.0, epoch_images=0)
            if checkpoint_due:
                save_checkpoint()
            if (checkpoint_due or last) and main_process:
                loss_curves({config.model: pd.DataFrame(state["history"])}, run_dir / "loss_curve.png",
                            f"{config.model} on {config.dataset}")
            if main_process:
                _write_log(state["history"], run_dir / "log.csv")
                tqdm.write(f"epoch {epoch + 1}: loss {train_loss:.4f}, lr {row['lr']:.2e}, {row['seconds']:.0f} s")

    if main_process:
        save_atomic({"model": model.state_dict(), "model_name": config.model, "num_classes": reader.num_classes,
                     "in_channels": reader.in_channels, "encoder_weights": model.encoder_weights,
                     "config": config.to_dict(), "stop_reason": stop_reason or "completed all epochs",
                     "synthetic": reader.synthetic, "history": state["history"]}, final)
        checkpoint_path.unlink(missing_ok=True)
    if distributed:
        dist.barrier()
    return final


def _plateau_step(plateau: dict, train_loss: float, model, optimizer, config: RunConfig) -> str:
    """The authors' schedule: keep the best weights (in ``plateau``, so they are checkpointed with
    it); after ``plateau_patience`` epochs without a lower training loss reload them and halve the
    learning rate; stop after ``stop_patience`` such epochs or once the learning rate would fall
    below ``min_lr``. Returns a stop reason or ''."""
    if train_loss < plateau["best"]:
        best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        plateau.update(best=train_loss, bad_epochs=0, best_state=best_state)
        return ""
    plateau["bad_epochs"] += 1
    if plateau["bad_epochs"] > config.stop_patience:
        return f"no lower training loss for {config.stop_patience} epochs"
    if plateau["bad_epochs"] > config.plateau_patience:
        if optimizer.param_groups[0]["lr"] < config.min_lr:
            return f"learning rate below {config.min_lr}"
        model.load_state_dict(plateau["best_state"])
        for group in optimizer.param_groups:
            group["lr"] /= 2
    return ""
