"""Prediction for images of your own: a trained run (or a saved-model folder) applied to files or
folders, writing probability maps and masks. What ``cenet predict`` calls."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import load_trained_model
from .config import RunConfig, config_from_checkpoint
from .data import DatasetError
from .data.io import IMAGE_SUFFIXES, read_array, read_image, write_image
from .data.policy import InputPolicy
from .evaluation import predict_sample
from .hardware import resolve_hardware
from .models import SavedModelError, from_pretrained

log = logging.getLogger(__name__)


def load_predictor(path: Path) -> tuple[torch.nn.Module, InputPolicy, float, int]:
    """The model, input policy, threshold and input channels of a run (its folder or ``model.pt``)
    or of a saved-model folder (``config.json`` and ``model.safetensors``)."""
    if path.is_dir() and (path / "config.json").is_file() and not (path / "model.pt").is_file():
        model, saved = from_pretrained(path)
        return model, saved.policy(), saved.threshold, saved.in_channels
    if path.is_dir() and not (path / "model.pt").is_file():
        raise SavedModelError(
            f"{path} holds neither model.pt (a finished run) nor config.json (a saved-model folder): "
            "pass a run folder, its model.pt, or a folder written by `cenet export RUN --format folder`."
        )
    model, checkpoint = load_trained_model(path)
    config = config_from_checkpoint(checkpoint)
    return model, InputPolicy.from_config(config), config.threshold, checkpoint["in_channels"]


def _readable_image(path: Path, channels: int, model_path: Path) -> np.ndarray:
    """``path`` as the model's input image, or a :class:`DatasetError` naming the file and the fix."""
    found = read_array(path)
    found_channels = 1 if found.ndim == 2 else found.shape[2]
    if found_channels != channels and not (channels == 3 and found_channels == 4):
        raise DatasetError(
            f"{path} has {found_channels} channel(s), but the model in {model_path} was trained on {channels}-channel "
            f"images: convert the image to {'RGB' if channels == 3 else 'greyscale'} first, or use a model trained "
            "on such images."
        )
    return read_image(path, channels)


def predict(model_path: Path, inputs: list[Path], out: Path, overlay: bool, tta: bool, device: str = "auto",
            keep_going: bool = False) -> int:
    """Write each input's probability map and mask (a label map, and its palette PNG, for several
    classes). Every input is read and checked before anything is written; with ``keep_going`` the
    bad ones are skipped and listed at the end instead."""
    model, policy, threshold, channels = load_predictor(model_path)
    hardware = resolve_hardware(RunConfig(device=device))
    hardware.place(model)
    files = []
    for item in inputs:
        files += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if item.is_dir() else [item]
    if not files:
        raise DatasetError(
            f"No images found in {', '.join(map(str, inputs))} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    bad = {}
    for path in files:
        try:
            _readable_image(path, channels, model_path)
        except DatasetError as error:
            bad[path] = str(error).splitlines()[0]
    if bad and not keep_going:
        listed = "; ".join(bad.values())
        raise DatasetError(f"{len(bad)} of {len(files)} inputs cannot be used, nothing was written: {listed} "
                           "(--keep-going predicts the others)")
    out.mkdir(parents=True, exist_ok=True)
    classes = 1
    for path in (p for p in files if p not in bad):
        image = _readable_image(path, channels, model_path)
        probs = predict_sample(model, image, policy, tta, hardware.device, hardware.amp)
        classes, palette = probs.shape[0], _palette(max(2, probs.shape[0]))
        if probs.shape[0] == 1:
            mask = (probs[0] >= threshold).astype(np.uint8)
            write_image(out / f"{path.stem}_prob.png", np.round(probs[0] * 255).astype(np.uint8))
            write_image(out / f"{path.stem}_mask.png", mask * 255)
        else:
            mask = probs.argmax(axis=0).astype(np.uint8)
            write_image(out / f"{path.stem}_labels.png", mask)
            coloured = Image.fromarray(mask, mode="P")
            coloured.putpalette([value for colour in palette[: probs.shape[0]] for value in colour])
            coloured.save(out / f"{path.stem}_labels_colour.png")
        if overlay:
            rgb = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
            colours = (np.array(palette)[mask]).astype(np.float32)
            blended = np.where(mask[..., None] > 0, 0.5 * rgb + 0.5 * colours, rgb).astype(np.uint8)
            write_image(out / f"{path.stem}_overlay.png", blended)
        log.info("%s -> %s", path, out)
    if classes > 1:
        log.info(
            "Label colours in *_labels_colour.png: %s", ", ".join(f"{k} = RGB{palette[k]}" for k in range(classes))
        )
    for path, problem in bad.items():
        log.warning("skipped %s: %s", path, problem)
    return 1 if bad else 0


def _palette(count: int) -> list[tuple[int, int, int]]:
    """Black for label 0 (background), then matplotlib's tab10 colours."""
    import matplotlib

    return [(0, 0, 0)] + [
        tuple(int(255 * c) for c in matplotlib.colormaps["tab10"](k % 10)[:3]) for k in range(count - 1)
    ]
