"""Training (section III-A): one loop for the CPU, one GPU, and several GPUs under ``torchrun``.

:func:`train` only wires the parts: :func:`build_parts` (readers, model, optimizer, schedule,
loss, loader), :func:`train_one_epoch`, :func:`validate`, and the run folder
(:class:`~cenet_lib.run_dir.RunDir`), which writes the one checkpoint layout of
:class:`~cenet_lib.checkpoint.TrainState`. The model factory, the loss factory and the saver are
arguments, so a test hands in its own instead of patching this module.

``train(config, run_dir)`` trains ``config.model`` on ``config.dataset`` and writes to ``run_dir``:

* ``config.yaml``: every setting, the recipe and the profile;
* ``checkpoint.pt``: model, optimizer, scheduler, RNG states and the :class:`~cenet_lib.checkpoint.TrainState`,
  written atomically at the end of any epoch but the last that ends ``checkpoint_seconds`` or more
  after the start or the last save, within an epoch after any step that ends ``checkpoint_seconds``
  or more after the last save (so at most that much work is lost to a kill), every
  ``checkpoint_every`` steps, and when SIGINT or SIGTERM asks the run to stop
  (:mod:`cenet_lib.interrupts`: the step finishes, the checkpoint is written, and
  :class:`TrainingInterrupted` says what was saved). ``resume=True`` continues from it, mid-epoch
  included, and ends with the same weights as an uninterrupted run. A run shorter than
  ``checkpoint_seconds`` writes none (a smoke run, for one); the time rule keeps short epochs from
  spending their time on checkpoints. The validation scores are computed after the first and the
  last epoch and with every epoch-end checkpoint. The checkpoint is deleted once ``model.pt`` is
  written: it only serves to resume, and with the optimizer's state it is three times the size of
  the weights (350 MB for CE-Net);
* ``model.pt``: the final weights with what is needed to rebuild the model, and the history. It
  exists only for a finished run: a fresh start removes an old one, and ``resume=True`` on a
  finished run returns it untouched;
* ``log.csv`` (one row per epoch: steps so far, loss, learning rate, validation scores, seconds);
  the caller draws plots from it. Every checkpoint and the final weights are written by :func:`save_state`.

Determinism: the model is initialised from ``seed``; each epoch's order of images is drawn from
(seed, epoch) and each image's augmentation from (seed, epoch, index), so the batches do not depend
on the number of loader workers. With ``deterministic=True`` torch's deterministic algorithms are
required as well (on the CPU the default kernels already give identical runs).

A NaN or infinite loss stops the run with a message; the last good checkpoint stays as it was.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .checkpoint import TrainState, load_checkpoint, save_atomic
from .config import RunConfig
from .data import Augmentation, SegmentationDataset
from .data.base import Reader
from .data.dataset import EpochBatches
from .data.run_readers import split_readers, training_readers
from .data.validate import check_splits
from .evaluation import evaluate
from .hardware import seed_everything
from .interrupts import StopOnSignal, TrainingInterrupted
from .losses import build_loss
from .metrics import summarize
from .models import build_model
from .optim import make_optimizer, plateau_step, poly_schedule, warn_sgd_from_scratch
from .resolved import ResolvedRun, resolve_run
from .run_dir import RunDir, hold_folder

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainingParts:
    """Everything one run trains with, built once by :func:`build_parts`."""

    run: ResolvedRun
    model: nn.Module  # the model itself, whose weights are saved
    network: nn.Module  # what the steps call: the model, or its DistributedDataParallel or compiled wrapper
    optimizer: torch.optim.Optimizer
    scheduler: Any
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    loader: DataLoader
    sampler: EpochBatches
    epochs: int
    steps_per_epoch: int
    reader: Reader
    val_reader: Reader | None
    label: str = ""  # the run's name in progress lines: the table's row and seed

    @property
    def main_process(self) -> bool:
        return self.run.hardware.rank == 0

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def identity(self) -> dict[str, Any]:
        """What both of the run's files record about the model (:data:`~cenet_lib.checkpoint.IDENTITY_KEYS`)."""
        return {"model_name": self.run.config.model, "num_classes": self.reader.num_classes,
                "in_channels": self.reader.in_channels, "encoder_weights": self.model.encoder_weights,
                "config": self.run.config.to_dict()}

    def checkpoint(self, state: TrainState, final: bool = False) -> dict[str, Any]:
        return state.to_checkpoint(
            self.model, self.identity(), self.optimizer, self.scheduler, self.reader.synthetic, final
        )


def build_parts(run: ResolvedRun, cache_dir: Path | None, model_factory: Callable[..., nn.Module],
                loss_factory: Callable[[str], Callable]) -> TrainingParts:
    """Readers, model, optimizer, schedule, loss and loader of ``run`` (the caller seeds the generators first)."""
    config, hardware = run.config, run.hardware
    reader, val_reader = training_readers(config, cache_dir)
    model = model_factory(config.model, reader.num_classes, reader.in_channels, pretrained=config.encoder_weights)
    if hardware.rank == 0:
        warn_sgd_from_scratch(config, model)
    model = hardware.place(model)
    augmentation = Augmentation(flips=run.policy.flips) if config.augment else None
    dataset = SegmentationDataset(reader, run.policy, augmentation, seed=config.seed)
    sampler = EpochBatches(len(dataset), config.batch_size, config.seed, hardware.rank, hardware.world_size)
    steps_per_epoch = len(sampler.batches(0))
    epochs = math.ceil(config.steps / steps_per_epoch) if config.steps else config.epochs
    optimizer = make_optimizer(config, model)
    scheduler = (
        poly_schedule(optimizer, epochs * steps_per_epoch, config.poly_power) if config.lr_policy == "poly" else None
    )
    network = model
    if hardware.world_size > 1:
        network = DistributedDataParallel(
            model, device_ids=[hardware.device] if hardware.device.type == "cuda" else None
        )
    if config.compile:
        network = torch.compile(network)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=hardware.num_workers,
                        pin_memory=hardware.device.type == "cuda", persistent_workers=hardware.num_workers > 0)
    return TrainingParts(run, model, network, optimizer, scheduler, loss_factory(config.loss), loader, sampler,
                         epochs, steps_per_epoch, reader, val_reader)


def train_step(parts: TrainingParts, batch: dict[str, torch.Tensor], state: TrainState) -> float:
    """One optimizer step on ``batch``; returns its loss. A NaN or infinite loss raises :class:`TrainingDiverged`."""
    hardware = parts.run.hardware
    images = batch["image"].to(hardware.device, non_blocking=True)
    if hardware.channels_last:
        images = images.to(memory_format=torch.channels_last)
    masks = batch["mask"].to(hardware.device, non_blocking=True)
    with torch.autocast(device_type=hardware.device.type, dtype=torch.bfloat16, enabled=hardware.amp):
        logits = parts.network(images)
    loss = parts.loss_fn(logits.float(), masks)
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"The loss became {loss.item()} at epoch {state.epoch + 1}, step {state.step + 1}.")
    parts.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parts.optimizer.step()
    if parts.scheduler is not None:
        parts.scheduler.step()
    state.step += 1
    state.batch_in_epoch += 1
    state.epoch_loss += loss.item() * len(images)
    state.epoch_images += len(images)
    return loss.item()


def train_one_epoch(parts: TrainingParts, state: TrainState, run_dir: RunDir, stop: StopOnSignal, bar: tqdm,
                    on_step: Callable[[int, int], str | None] | None) -> dict[str, Any]:
    """The rest of the current epoch (all of it, or what follows a mid-epoch checkpoint); returns its
    log row. Checkpoints within the epoch every ``checkpoint_every`` steps, ``checkpoint_seconds``
    after the last save, and when a signal asks the run to stop (then :class:`TrainingInterrupted`)."""
    config = parts.run.config
    parts.sampler.epoch, parts.sampler.skip = state.epoch, state.batch_in_epoch
    parts.model.train()
    started = time.perf_counter()
    for batch in parts.loader:
        try:
            loss = train_step(parts, batch, state)
        except TrainingDiverged as error:
            kept = (f"The last good checkpoint is kept at {run_dir.checkpoint}." if run_dir.resumable
                    else "No checkpoint had been written yet.")
            raise TrainingDiverged(f"{error} {kept} Lower the learning rate (lr=...) or check the data.") from None
        bar.update()
        shown = {"epoch": f"{state.epoch + 1}/{parts.epochs}", "loss": f"{loss:.4f}",
                 "img_s": f"{state.epoch_images / (time.perf_counter() - started):.1f}"}
        every = config.checkpoint_every and state.step % config.checkpoint_every == 0
        mid_epoch = (0 < config.checkpoint_seconds <= run_dir.seconds_since_save()
                     and state.batch_in_epoch < parts.steps_per_epoch)  # an epoch's end has its own rule
        if every or mid_epoch or stop.requested:
            save_state(parts, state, run_dir)
        if stop.requested:
            raise TrainingInterrupted(stop.requested, run_dir.path, state.epoch + 1, state.step)
        said = on_step(state.step, parts.total_steps) if on_step is not None and parts.main_process else None
        bar.set_postfix(shown | ({"section": said} if said else {}), refresh=False)
    return {"epoch": state.epoch + 1, "step": state.step, "train_loss": state.epoch_loss / max(1, state.epoch_images),
            "lr": parts.optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - started}


def validate(model: nn.Module, reader: Reader | None, run: ResolvedRun) -> dict[str, float]:
    """Mean scores on the dataset's validation split (plain prediction, no TTA), when it has one."""
    if reader is None:
        return {}
    table, _ = evaluate(model, reader, run.policy, tta=False, threshold=run.config.threshold,
                        device=run.hardware.device, amp=run.hardware.amp)
    return {f"val_{name}": float(row["mean"]) for name, row in summarize(table).iterrows()}


def end_epoch(parts: TrainingParts, state: TrainState, row: dict[str, Any], run_dir: RunDir) -> None:
    """After an epoch: the plateau policy, validation (after the first and last epoch and with every
    checkpoint), the epoch-end checkpoint when ``checkpoint_seconds`` have passed, the log and plot."""
    config = parts.run.config
    if config.lr_policy == "plateau":
        state.stop_reason = plateau_step(state.plateau, row["train_loss"], parts.model, parts.optimizer, config)
    last = state.epoch + 1 == parts.epochs or bool(state.stop_reason)
    checkpoint_due = not last and run_dir.seconds_since_save() >= config.checkpoint_seconds
    if (state.epoch == 0 or last or checkpoint_due) and parts.main_process:
        row.update(validate(parts.model, parts.val_reader, parts.run))
    state.end_epoch(row)
    if not parts.main_process:
        return
    if checkpoint_due:
        save_state(parts, state, run_dir)
    run_dir.write_log(state.history)
    log.info("%s: epoch %d/%d: loss %.4f, lr %.2e, %.0f s", parts.label, state.epoch, parts.epochs, row["train_loss"],
             row["lr"], row["seconds"])


def save_state(parts: TrainingParts, state: TrainState, run_dir: RunDir, final: bool = False) -> None:
    """The one place a run's state is written (by the main process): a checkpoint to resume from,
    or, once training ends, ``model.pt``, which replaces it."""
    if not parts.main_process:
        return
    if final:
        run_dir.save_final(parts.checkpoint(state, final=True))
    else:
        run_dir.save_checkpoint(parts.checkpoint(state))


def train(
    config: RunConfig | ResolvedRun,
    run_dir: str | Path,
    resume: bool = False,
    cache_dir: Path | None = None,
    on_step: Callable[[int, int], str | None] | None = None,
    label: str | None = None,
    *,
    model_factory: Callable[..., nn.Module] = build_model,
    loss_factory: Callable[[str], Callable] = build_loss,
    save: Callable[[Any, Path], Any] = save_atomic,
) -> Path:
    """Train as ``config`` says, writing to ``run_dir``; returns the path of the final ``model.pt``.

    The folder is this process's alone while it trains (:func:`~cenet_lib.run_dir.hold_folder`). Every
    image and mask of every split is checked (:func:`~cenet_lib.data.validate.check_splits`) before
    anything is built or written. One progress bar, named by ``label`` (default: model and seed),
    follows the steps; the text ``on_step(step, total_steps)`` returns is shown beside it."""
    folder = RunDir(run_dir, save)
    if resume and folder.finished:
        log.info("%s finished earlier: %s is kept as it is.", folder.path, folder.final)
        return folder.final
    run = config if isinstance(config, ResolvedRun) else resolve_run(config)
    with hold_folder(folder.path) if run.hardware.rank == 0 else nullcontext():
        return _train(run, folder, resume, cache_dir, on_step, label, model_factory, loss_factory)


def _train(run: ResolvedRun, folder: RunDir, resume: bool, cache_dir: Path | None, on_step: Callable | None,
           label: str | None, model_factory: Callable[..., nn.Module], loss_factory: Callable[[str], Callable]) -> Path:
    """:func:`train`'s work, in a folder the process holds."""
    if run.hardware.world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if run.hardware.device.type == "cuda" else "gloo")
    seed_everything(run.config.seed, run.config.deterministic)
    check_splits(split_readers(run.config, cache_dir))
    parts = build_parts(run, cache_dir, model_factory, loss_factory)
    state = TrainState()
    if parts.main_process:
        folder.remove_partial_writes()
    if resume and folder.resumable:
        state = TrainState.from_checkpoint(
            load_checkpoint(folder.checkpoint), parts.model, parts.optimizer, parts.scheduler, str(folder.checkpoint)
        )
        if parts.main_process:
            log.info("Resuming %s at epoch %d, step %d.", folder.path, state.epoch + 1, state.step)
    elif parts.main_process:
        folder.start_fresh(run)
    parts.label = label or f"{run.config.model} seed {run.config.seed}"
    bar = tqdm(total=parts.total_steps, initial=state.step, desc=parts.label, unit="step",
               disable=not parts.main_process)
    with StopOnSignal() as stop, bar:
        while state.epoch < parts.epochs and not state.stop_reason:
            end_epoch(parts, state, train_one_epoch(parts, state, folder, stop, bar, on_step), folder)
    save_state(parts, state, folder, final=True)
    if run.hardware.world_size > 1:
        dist.barrier()
    return folder.final
