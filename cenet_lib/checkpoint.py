"""Checkpoints: what a run saves (:class:`TrainState`), written atomically, loaded with clear errors.

A checkpoint is a dict saved with ``torch.save``. It is first written to a temporary file in the
same folder, flushed to disk, then renamed over the target (``os.replace`` is atomic on POSIX and
Windows), so a run killed at any moment leaves either the previous complete file or the new one,
never a partial file where a finished one is expected.
"""
from __future__ import annotations

import math
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj, path)`` without ever leaving a partial ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it the mode open() would
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of ours; the message names it and the fix."""


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint or ``model.pt`` written by :func:`save_atomic`, read with ``weights_only=True``:
    tensors and plain Python values only, so that loading a file cannot run code. A run folder
    stands for its ``model.pt``."""
    path = Path(path)
    if path.is_dir():
        if not (path / "model.pt").is_file():
            raise CheckpointError(
                f"{path} is a folder without a model.pt: pass a finished run's folder or its model.pt."
            )
        path = path / "model.pt"
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = (str(error).strip().splitlines() or ["empty or unreadable file"])[0][:200]
        raise CheckpointError(
            f"Cannot read {path} as a checkpoint ({type(error).__name__}: {reason}). Pass a model.pt written by "
            "`cenet train`; a file from elsewhere may be corrupt or hold objects other than tensors."
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path} holds a {type(checkpoint).__name__}, not a checkpoint: pass a model.pt written by `cenet train`."
        )
    return checkpoint


def model_state(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The model weights of a checkpoint of ours, or a bare state dict; ``module.`` prefixes
    (saved from ``DataParallel`` or ``DistributedDataParallel``) are removed."""
    state = checkpoint.get("model", checkpoint)
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_weights(model: nn.Module, checkpoint: dict[str, Any], source: str) -> None:
    """Load a checkpoint's weights into ``model``; a checkpoint of another model or class count says so."""
    expected, saved_name = getattr(model, "model_name", None), checkpoint.get("model_name")
    if saved_name and expected and saved_name != expected:
        raise ValueError(f"{source} holds a {saved_name!r} model, not {expected!r}.")
    state = model_state(checkpoint)
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        saved = checkpoint.get("num_classes", "another number of")
        raise ValueError(
            f"{source} does not fit this model: {len(mismatched)} tensors differ in shape (e.g. {mismatched[0]}: "
            f"{tuple(state[mismatched[0]].shape)} saved, {tuple(own[mismatched[0]].shape)} here). It was trained with "
            f"{saved} classes or input channels; build the model with the same num_classes and in_channels."
        )
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{source} does not match the model: missing {missing[:3]}, unexpected {unexpected[:3]}.")


def load_trained_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved in ``path`` (a ``model.pt`` or ``checkpoint.pt`` of a run) and load
    its weights; returns the model (in eval mode) and the checkpoint's metadata."""
    from .models import build_model

    checkpoint = load_checkpoint(path)
    missing = [key for key in ("model_name", "num_classes", "in_channels") if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{path} lacks {', '.join(missing)}: it is not a checkpoint written by cenet_lib's training. For a bare "
            "state dict, build the model with build_model(...) and call load_weights(model, state, source)."
        )
    model = build_model(checkpoint["model_name"], checkpoint["num_classes"], checkpoint["in_channels"])
    load_weights(model, checkpoint, str(path))
    model.encoder_weights = checkpoint.get("encoder_weights", model.encoder_weights)
    return model.eval(), checkpoint


def rng_state() -> dict[str, Any]:
    """The random states, in types that ``torch.load(weights_only=True)`` reads back."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": (name, keys.tolist(), position, has_gauss, cached),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


#: What a run's files hold beside the weights: both files carry the model's identity and settings;
#: ``checkpoint.pt`` adds what resuming needs, ``model.pt`` what a finished run reports.
IDENTITY_KEYS = ("model_name", "num_classes", "in_channels", "encoder_weights", "config")
RESUME_KEYS = ("optimizer", "scheduler", "state", "rng")
FINAL_KEYS = ("stop_reason", "synthetic", "history")


@dataclass
class TrainState:
    """Where a run stands: epochs and optimizer steps done, the position and running loss within
    the current epoch (a run resumes mid-epoch), the per-epoch history, the plateau policy's memory
    (its best loss and weights) and, once it ends, why it stopped."""

    epoch: int = 0
    step: int = 0
    batch_in_epoch: int = 0
    epoch_loss: float = 0.0
    epoch_images: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    plateau: dict[str, Any] = field(default_factory=lambda: {"best": math.inf, "bad_epochs": 0})
    stop_reason: str = ""

    def end_epoch(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        self.epoch, self.batch_in_epoch, self.epoch_loss, self.epoch_images = self.epoch + 1, 0, 0.0, 0

    def to_checkpoint(self, model: nn.Module, identity: dict[str, Any], optimizer=None, scheduler=None,
                      synthetic: bool = False, final: bool = False) -> dict[str, Any]:
        """The one layout of a run's files: ``model.pt`` with ``final`` (:data:`FINAL_KEYS`),
        ``checkpoint.pt`` otherwise (:data:`RESUME_KEYS`); ``identity`` gives :data:`IDENTITY_KEYS`."""
        payload = {"model": model.state_dict(), **{key: identity[key] for key in IDENTITY_KEYS}}
        if final:
            return {**payload, "stop_reason": self.stop_reason or "completed all epochs", "synthetic": synthetic,
                    "history": self.history}
        state = {
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self.batch_in_epoch,
            "epoch_loss": self.epoch_loss,
            "epoch_images": self.epoch_images,
            "history": self.history,
            "plateau": self.plateau,
        }
        return {
            **payload,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "state": state,
            "rng": rng_state(),
        }

    @classmethod
    def from_checkpoint(
        cls, checkpoint: dict[str, Any], model: nn.Module, optimizer, scheduler, source: str
    ) -> TrainState:
        """Restore ``checkpoint.pt`` into the model, optimizer, scheduler and random generators."""
        load_weights(model, checkpoint, source)
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(checkpoint["scheduler"])
        set_rng_state(checkpoint["rng"])
        return cls(**checkpoint["state"])
