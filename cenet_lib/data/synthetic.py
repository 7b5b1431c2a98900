"""Synthetic stand-ins for every dataset, written in that dataset's real on-disk format.

Same folder names, file names, file types, dtypes and value conventions as the real distribution,
smaller images, and structure a network can learn: fundus-like images with a branching vessel tree
and a bright disc, EM-like slices with a membrane tessellation, CT-like slices with two lungs in a
body in Hounsfield units, OCT-like B-scans with layered bands and fluid. The real readers run on
them unchanged. Each stand-in carries a ``SYNTHETIC.txt`` marker, which readers expose as
``reader.synthetic`` so that every number computed on it can be labelled synthetic.

``python -m cenet_lib.data synth NAME --out DIR`` writes one.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.segmentation import find_boundaries

from .base import mark_synthetic
from .io import write_image
from .isbi2012 import contiguous_folds
from .splits import LOCAL_SPLIT_FILE, holdout_and_folds, kfold, make_split_file
from .synthetic_oct import synth_duke, synth_duke_mat, synth_oct_csv


def _save_palette_gif(path: Path, mask01: np.ndarray) -> None:
    """A 0/1 palette GIF, as DRIVE stores its second observer."""
    image = Image.new("P", (mask01.shape[1], mask01.shape[0]))
    image.putpalette([0, 0, 0, 255, 255, 255] + [0, 0, 0] * 254)
    image.putdata(mask01.astype(np.uint8).ravel().tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


# --- fundus ------------------------------------------------------------------------------------

def _vessel_tree(shape: tuple[int, int], root: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Binary mask of a branching tree of lines growing from ``root`` (row, column)."""
    mask = np.zeros(shape, np.uint8)
    scale = min(shape)

    def grow(y: float, x: float, angle: float, length: float, width: int, depth: int) -> None:
        if depth == 0 or width < 1:
            return
        y2, x2 = y + length * np.sin(angle), x + length * np.cos(angle)
        cv2.line(mask, (int(x), int(y)), (int(x2), int(y2)), 1, thickness=width)
        for turn in (-1, 1):
            grow(
                y2,
                x2,
                angle + turn * rng.uniform(0.3, 0.7),
                length * rng.uniform(0.6, 0.8),
                width - 1 if rng.random() < 0.6 else width,
                depth - 1,
            )

    for angle in rng.uniform(0, 2 * np.pi, 4):
        grow(root[0], root[1], angle, scale * 0.18, max(2, scale // 60), 5)
    return mask


def fundus(
    shape: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int], int]:
    """(RGB uint8 image, vessel mask 0/1, FOV mask 0/1, disc centre (row, col), disc radius)."""
    height, width = shape
    rows, cols = np.mgrid[:height, :width]
    centre = (height / 2, width / 2)
    radius = 0.47 * min(shape)
    dist = np.hypot(rows - centre[0], cols - centre[1])
    fov = (dist < radius).astype(np.uint8)
    disc = (int(height * rng.uniform(0.4, 0.6)), int(width * rng.choice([0.3, 0.7])))
    disc_radius = max(3, int(0.08 * min(shape)))
    vessels = _vessel_tree(shape, disc, rng) & fov
    shade = 1 - 0.35 * (dist / radius) ** 2
    image = np.stack([170 * shade, 75 * shade, 35 * shade], axis=-1)
    glow = np.exp(-(np.hypot(rows - disc[0], cols - disc[1]) / disc_radius) ** 4)[..., None]
    image = image * (1 - glow) + np.array([250, 220, 150]) * glow
    image[vessels.astype(bool)] *= [0.55, 0.45, 0.6]
    image += rng.normal(0, 4, image.shape)
    image = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0.7)
    image *= fov[..., None]
    return np.clip(image, 0, 255).astype(np.uint8), vessels, fov, disc, disc_radius


def synth_drive(
    out: Path, seed: int = 0, n_train: int = 4, n_test: int = 4, shape: tuple[int, int] = (136, 128)
) -> Path:
    """DRIVE layout; like the shared copy, ``training/mask`` is left out (the FOV is then derived)."""
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "DRIVE", seed)
    for split, first, count in (("training", 21, n_train), ("test", 1, n_test)):
        for number in range(first, first + count):
            image, vessels, fov, _, _ = fundus(shape, rng)
            write_image(out / split / "images" / f"{number:02d}_{split}.tif", image, compression="lzw")
            write_image(out / split / "1st_manual" / f"{number:02d}_manual1.gif", vessels * 255)
            if split == "test":
                second = vessels.copy()
                second[rng.random(shape) < 0.02] ^= 1  # the second observer disagrees on a few pixels
                _save_palette_gif(out / split / "2nd_manual" / f"{number:02d}_manual2.gif", second & fov)
                write_image(out / split / "mask" / f"{number:02d}_test_mask.gif", fov * 255)
    return out


def _disc_soft_map(
    shape: tuple[int, int], centre: tuple[int, int], radius: int, rng: np.random.Generator, scale: float = 1.0
) -> np.ndarray:
    """Soft map 0/64/128/191/255: four experts' ellipses of slightly different size."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    votes = np.zeros(shape, np.int32)
    for _ in range(4):
        ry, rx = radius * scale * rng.uniform(0.9, 1.1, 2)
        votes += ((rows - centre[0]) / ry) ** 2 + ((cols - centre[1]) / rx) ** 2 <= 1
    return np.array([0, 64, 128, 191, 255], np.uint8)[votes]


def synth_drishti(
    out: Path, seed: int = 0, n_train: int = 3, n_test: int = 3, shape: tuple[int, int] = (240, 280)
) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "DRISHTI-GS1", seed)
    number = 1
    for split, count in (("Training", n_train), ("Test", n_test)):
        for _ in range(count):
            image_id = f"drishtiGS_{number:03d}"
            number += 1
            image, _, _, disc, radius = fundus(shape, rng)
            write_image(out / split / "Images" / f"{image_id}.jpg", image)
            gt = out / split / "GT" / image_id
            write_image(gt / "SoftMap" / f"{image_id}_ODsegSoftmap.png", _disc_soft_map(shape, disc, radius, rng))
            write_image(gt / "SoftMap" / f"{image_id}_cupsegSoftmap.png", _disc_soft_map(shape, disc, radius, rng, 0.5))
            (gt / "AvgBoundary").mkdir(parents=True, exist_ok=True)
            (gt / "AvgBoundary" / f"{image_id}_diskCenter.txt").write_text(f"{disc[1]} {disc[0]}\n")
            (gt / f"{image_id}_cdrValues.txt").write_text("0.50 0.50 0.50 0.50\n")
    return out


def _disc_folder(out: Path, name: str, seed: int, count: int, shape: tuple[int, int]) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, name, seed)
    ids = [f"{k + 1:03d}" for k in range(count)]
    for image_id in ids:
        image, _, _, disc, radius = fundus(shape, rng)
        write_image(out / "images" / f"{image_id}.jpg", image)
        write_image(
            out / "masks" / f"{image_id}.png", (_disc_soft_map(shape, disc, radius, rng) >= 128).astype(np.uint8) * 255
        )
    make_split_file(out / LOCAL_SPLIT_FILE, holdout_and_folds(ids, 0.5, 2, seed))
    return out


def synth_origa(out: Path, seed: int = 0) -> Path:
    return _disc_folder(out, "ORIGA", seed, 6, (200, 300))


def synth_messidor(out: Path, seed: int = 0) -> Path:
    return _disc_folder(out, "Messidor", seed, 6, (200, 300))


def synth_rimone(out: Path, seed: int = 0, count: int = 6, shape: tuple[int, int] = (96, 88)) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "RIM-ONE r1", seed)
    ids = [f"Im{k + 1:03d}" for k in range(count)]
    for image_id in ids:
        image, _, _, _, _ = fundus((shape[0] * 3, shape[1] * 3), rng)
        centre = (shape[0] // 2, shape[1] // 2)
        rows, cols = np.mgrid[: shape[0], : shape[1]]
        glow = np.exp(-(np.hypot(rows - centre[0], cols - centre[1]) / (0.3 * min(shape))) ** 4)[..., None]
        crop = image[shape[0] : 2 * shape[0], shape[1] : 2 * shape[1]].astype(np.float32)
        crop = crop * (1 - glow) + np.array([250, 220, 150]) * glow
        write_image(out / "images" / f"{image_id}.bmp", crop.astype(np.uint8))
        for expert in range(1, 6):
            ry, rx = 0.3 * np.array(shape) * rng.uniform(0.9, 1.1, 2)
            mask = ((rows - centre[0]) / ry) ** 2 + ((cols - centre[1]) / rx) ** 2 <= 1
            write_image(out / "images" / f"{image_id}-exp{expert}.bmp", mask.astype(np.uint8) * 255)
    make_split_file(out / LOCAL_SPLIT_FILE, {"folds": [sorted(ids[0::2]), sorted(ids[1::2])]})
    return out


# --- EM ----------------------------------------------------------------------------------------

def em_slice(size: int, rng: np.random.Generator, cells: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 EM-like slice, ISBI label slice: membrane 0, interior 255) from a Voronoi tessellation."""
    seeds = rng.uniform(0, size, (cells, 2))
    rows, cols = np.mgrid[:size, :size]
    distances = (rows[..., None] - seeds[:, 0]) ** 2 + (cols[..., None] - seeds[:, 1]) ** 2
    regions = np.argmin(distances, axis=-1) + 1
    membrane = find_boundaries(regions, mode="thick")
    image = 165 + rng.normal(0, 18, (size, size))
    image[membrane] = 55 + rng.normal(0, 10, membrane.sum())
    image = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0.8)
    return np.clip(image, 0, 255).astype(np.uint8), np.where(membrane, 0, 255).astype(np.uint8)


def synth_isbi2012(out: Path, seed: int = 0, slices: int = 10, size: int = 128) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "ISBI 2012", seed)
    train = [em_slice(size, rng) for _ in range(slices)]
    test = [em_slice(size, rng)[0] for _ in range(slices)]
    write_image(out / "train-volume.tif", np.stack([s[0] for s in train]), compression="zlib")
    write_image(out / "train-labels.tif", np.stack([s[1] for s in train]), compression="zlib")
    write_image(out / "test-volume.tif", np.stack(test), compression="zlib")
    ids = [f"train-volume_{i:02d}" for i in range(slices)]
    make_split_file(out / LOCAL_SPLIT_FILE, contiguous_folds(ids, min(5, slices)))
    return out


# --- CT ----------------------------------------------------------------------------------------

def ct_slice(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(int16 slice in Hounsfield units, lung mask 0/255): a body with two lungs and a spine."""
    rows, cols = np.mgrid[:size, :size] / size
    hu = np.full((size, size), -1000.0)
    body = ((rows - 0.5) / 0.36) ** 2 + ((cols - 0.5) / 0.45) ** 2 <= 1
    hu[body] = 40
    lungs = np.zeros((size, size), bool)
    for side in (0.32, 0.68):
        ry, rx = rng.uniform(0.2, 0.26), rng.uniform(0.11, 0.15)
        lungs |= ((rows - 0.48) / ry) ** 2 + ((cols - side) / rx) ** 2 <= 1
    hu[lungs] = -850
    spine = ((rows - 0.78) / 0.06) ** 2 + ((cols - 0.5) / 0.06) ** 2 <= 1
    hu[spine] = 700
    hu += rng.normal(0, 30, hu.shape)
    return np.round(hu).astype(np.int16), lungs.astype(np.uint8) * 255


def synth_lung(out: Path, seed: int = 0, count: int = 10, size: int = 128) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "lung CT", seed)
    ids = []
    for number in range(count):
        image_id = f"ID_{number:04d}_Z_{int(rng.integers(60, 200)):04d}"
        hu, mask = ct_slice(size, rng)
        write_image(out / "2d_images" / f"{image_id}.tif", hu, compression="zlib")
        write_image(out / "2d_masks" / f"{image_id}.tif", mask, compression="zlib")
        ids.append(image_id)
    make_split_file(out / LOCAL_SPLIT_FILE, {"seed": seed, "folds": kfold(ids, 5, seed)})  # as data/splits/lung.json
    return out


def synth_folder(out: Path, seed: int = 0, count: int = 6, size: int = 96) -> Path:
    """``images/*.png`` and ``masks/*.png`` (0/255) of bright blobs on a textured background."""
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "image folder", seed)
    rows, cols = np.mgrid[:size, :size]
    for number in range(count):
        mask = np.zeros((size, size), bool)
        for _ in range(3):
            cy, cx = rng.uniform(0.2, 0.8, 2) * size
            mask |= np.hypot(rows - cy, cols - cx) <= rng.uniform(0.08, 0.15) * size
        image = 60 + 120 * mask[..., None] + rng.normal(0, 25, (size, size, 3))
        write_image(out / "images" / f"img_{number:02d}.png", np.clip(image, 0, 255).astype(np.uint8))
        write_image(out / "masks" / f"img_{number:02d}.png", mask.astype(np.uint8) * 255)
    return out


SYNTHESIZERS: dict[str, Callable[..., Path]] = {
    "drive": synth_drive,
    "isbi2012": synth_isbi2012,
    "lung": synth_lung,
    "drishti": synth_drishti,
    "origa": synth_origa,
    "messidor": synth_messidor,
    "rimone": synth_rimone,
    "duke": synth_duke,
    "duke_mat": synth_duke_mat,
    "oct_csv": synth_oct_csv,
    "folder": synth_folder,
}


def synthesize(name: str, out: Path, seed: int = 0) -> Path:
    """Write the synthetic stand-in of dataset ``name`` into ``out``."""
    if name not in SYNTHESIZERS:
        raise ValueError(f"Unknown dataset {name!r}: synthetic stand-ins exist for {', '.join(SYNTHESIZERS)}.")
    return SYNTHESIZERS[name](Path(out), seed=seed)
