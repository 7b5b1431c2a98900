"""Prediction for images of your own: a trained run (or a saved-model folder) applied to files or
folders, writing probability maps and masks. What ``cenet predict`` calls.

Images of any size: a model that predicts whole images at native scale tiles those that would need
more than a memory budget (``memory_gb``, :func:`~cenet_lib.inferers.inferer_for`), or as ``tile``
says (a side; 0 for whole images). Out: an 8-bit probability map and the thresholded mask (or a
label map for several classes), and with ``probabilities`` each class's probabilities at full
precision, as a float32 TIFF.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .checkpoint import load_trained_model
from .config import RunConfig, config_from_checkpoint
from .data import DatasetError
from .data.folder import colour_or_grey
from .data.io import IMAGE_SUFFIXES, channel_count, read_image, write_image
from .data.policy import InputPolicy
from .evaluation import predict_sample
from .hardware import resolve_hardware
from .inferers import BUDGET_OVERLAP, DEFAULT_BUDGET_GB, Inferer, SlidingWindowInferer, WholeImageInferer, inferer_for
from .models import SavedModelError, from_pretrained
from .run_dir import writable_folder

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


def _readable_image(path: Path, channels: int) -> np.ndarray:
    """``path`` as the model's input image (grey and colour converted to the model's channels, with
    a note, by the rule training uses: :func:`~cenet_lib.data.io.to_channels`)."""
    found = colour_or_grey(channel_count(path))
    if found is not None and found != channels:
        log.info("%s is %s; the model takes %s images, so it is converted (%s).", path.name,
                 "grey" if found == 1 else "colour", "colour" if channels == 3 else "grey",
                 "grey channel repeated" if channels == 3 else "BT.601 luma")
    return read_image(path, channels, convert=True)


def choose_inferer(policy: InputPolicy, tta: bool, shape: tuple[int, int], tile: str | int,
                   memory_gb: float) -> Inferer:
    """``tile`` "auto": the policy's own inferer, tiling an image too large for ``memory_gb``; 0: the
    whole image at once; a side: tiles of that side."""
    if tile == "auto":
        return inferer_for(policy, tta, shape, memory_gb)
    flips = tuple(policy.flips) if tta else ()
    side = int(tile)
    return WholeImageInferer(flips) if side == 0 else SlidingWindowInferer((side, side), BUDGET_OVERLAP, flips)


def predict(model_path: Path, inputs: list[Path], out: Path, overlay: bool, tta: bool, device: str = "auto",
            keep_going: bool = False, tile: str | int = "auto", memory_gb: float = DEFAULT_BUDGET_GB,
            probabilities: bool = False, threshold: float | None = None) -> int:
    """Write each input's probability map and mask (a label map, and its palette PNG, for several
    classes), and with ``probabilities`` its float32 probabilities. ``threshold`` replaces the
    model's own cut-off. Every input is read and checked before anything is written; with
    ``keep_going`` the bad ones are skipped and listed at the end instead."""
    if threshold is not None and not 0 < threshold < 1:
        raise ValueError(f"--threshold {threshold}: a probability cut-off lies strictly between 0 and 1.")
    if tile != "auto" and (not str(tile).isdigit() or 0 < int(tile) < 32):
        raise ValueError(f"--tile {tile}: give auto, 0 (whole images) or a side of at least 32 pixels.")
    model, policy, own_threshold, channels = load_predictor(model_path)
    writable_folder(out, "--out")
    threshold = own_threshold if threshold is None else threshold
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
            read_image(path, channels, convert=True)
        except DatasetError as error:
            bad[path] = str(error).splitlines()[0]
    if bad and not keep_going:
        listed = "; ".join(bad.values())
        raise DatasetError(f"{len(bad)} of {len(files)} inputs cannot be used, nothing was written: {listed} "
                           "(--keep-going predicts the others)")
    classes = 1
    for path in (p for p in files if p not in bad):
        image = _readable_image(path, channels)
        inferer = choose_inferer(policy, tta, image.shape[:2], tile, memory_gb)
        if isinstance(inferer, SlidingWindowInferer) and tile == "auto":
            log.info("%s: %dx%d, predicted in tiles of %dx%d to stay within %g GB (--tile 0: whole)", path.name,
                     *image.shape[:2], *inferer.tile, memory_gb)
        probs = predict_sample(model, image, policy, tta, hardware.device, hardware.amp, inferer)
        classes, palette = _write_outputs(out, path.stem, image, probs, threshold, overlay, probabilities)
        log.info("%s -> %s", path, out)
    if classes > 1:
        log.info(
            "Label colours in *_labels_colour.png: %s", ", ".join(f"{k} = RGB{palette[k]}" for k in range(classes))
        )
    for path, problem in bad.items():
        log.warning("skipped %s: %s", path, problem)
    return 1 if bad else 0


def _write_outputs(out: Path, stem: str, image: np.ndarray, probs: np.ndarray, threshold: float, overlay: bool,
                   probabilities: bool) -> tuple[int, list[tuple[int, int, int]]]:
    """Write one image's maps (module docstring); returns the number of classes and their colours."""
    if probabilities:
        write_image(out / f"{stem}_probabilities.tif", probs[0] if probs.shape[0] == 1 else probs)
    classes, palette = probs.shape[0], _palette(max(2, probs.shape[0]))
    if probs.shape[0] == 1:
        mask = (probs[0] >= threshold).astype(np.uint8)
        write_image(out / f"{stem}_prob.png", np.round(probs[0] * 255).astype(np.uint8))
        write_image(out / f"{stem}_mask.png", mask * 255)
    else:
        mask = probs.argmax(axis=0).astype(np.uint8)
        write_image(out / f"{stem}_labels.png", mask)
        coloured = Image.fromarray(mask, mode="P")
        coloured.putpalette([value for colour in palette[: probs.shape[0]] for value in colour])
        coloured.save(out / f"{stem}_labels_colour.png")
    if overlay:
        rgb = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
        colours = (np.array(palette)[mask]).astype(np.float32)
        blended = np.where(mask[..., None] > 0, 0.5 * rgb + 0.5 * colours, rgb).astype(np.uint8)
        write_image(out / f"{stem}_overlay.png", blended)
    return classes, palette


def _palette(count: int) -> list[tuple[int, int, int]]:
    """Black for label 0 (background), then matplotlib's tab10 colours."""
    import matplotlib

    return [(0, 0, 0)] + [
        tuple(int(255 * c) for c in matplotlib.colormaps["tab10"](k % 10)[:3]) for k in range(count - 1)
    ]
