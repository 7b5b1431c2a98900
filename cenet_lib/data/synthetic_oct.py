"""Synthetic OCT B-scans in the Duke DME layouts (the MATLAB files and the plain CSV one): layered
bands between eight boundaries, with fluid, in the real datasets' formats (see :mod:`.synthetic`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import savemat

from .base import mark_synthetic
from .io import write_image
from .oct import DUKE_BOUNDARIES, label_map_from_boundaries


def oct_scan(
    shape: tuple[int, int], rng: np.random.Generator, fluid: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uint8 B-scan, boundaries (8, W) in rows, fluid mask) with curved layered bands."""
    height, width = shape
    columns = np.arange(width) / width
    top = height * (0.25 + 0.05 * np.sin(2 * np.pi * (columns + rng.random())))
    thickness = height * rng.uniform(0.03, 0.08, len(DUKE_BOUNDARIES) - 1)
    boundaries = np.vstack([top, top + np.cumsum(thickness)[:, None] * np.ones(width)])
    fluid_mask = np.zeros(shape, bool)
    if fluid:
        rows, cols = np.mgrid[:height, :width]
        centre = (boundaries[4, width // 2] + 2, width * rng.uniform(0.3, 0.7))
        fluid_mask = ((rows - centre[0]) / (0.04 * height)) ** 2 + ((cols - centre[1]) / (0.08 * width)) ** 2 <= 1
    labels = label_map_from_boundaries(boundaries, height, fluid_mask)
    brightness = np.array([10, 200, 120, 170, 90, 190, 60, 230, 140, 15])
    image = brightness[labels] + rng.normal(0, 20, shape)
    return np.clip(image, 0, 255).astype(np.uint8), boundaries, fluid_mask


DUKE_SHAPE = (96, 112)


def synth_duke(out: Path, seed: int = 0, scans_per_subject: int = 2) -> Path:
    """The per-B-scan layout of the shared Duke copy, subjects 01-10 split 6/2/2."""
    from .oct import DUKE_SUBJECT_SPLITS

    rng = np.random.default_rng(seed)
    mark_synthetic(out, "Duke DME (per B-scan)", seed)
    for split, subjects in DUKE_SUBJECT_SPLITS.items():
        for subject in subjects:
            for number in range(scans_per_subject):
                image, boundaries, fluid = oct_scan(DUKE_SHAPE, rng)
                name = f"Subject_{subject:02d}_{number:02d}.png"
                write_image(out / split / "images" / name, image)
                write_image(out / split / "labels" / name, label_map_from_boundaries(boundaries, DUKE_SHAPE[0], fluid))
    return out


def synth_duke_mat(out: Path, seed: int = 0, scans: int = 5, annotated: tuple[int, ...] = (1, 3)) -> Path:
    """Official per-subject .mat files: images H x W x scans, manualLayers1 8 x W x scans (1-based
    rows, NaN outside the annotated scans and columns), manualFluid1 H x W x scans."""
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "Duke DME (.mat)", seed)
    height, width = DUKE_SHAPE
    for subject in range(1, 11):
        images = np.zeros((height, width, scans), np.uint8)
        layers = np.full((len(DUKE_BOUNDARIES), width, scans), np.nan)
        fluid = np.zeros((height, width, scans), np.uint8)
        for s in range(scans):
            image, boundaries, fluid_mask = oct_scan(DUKE_SHAPE, rng)
            images[:, :, s] = image
            if s in annotated:
                layers[:, 10:-10, s] = np.ceil(boundaries[:, 10:-10]) + 1
                fluid[:, 10:-10, s] = fluid_mask[:, 10:-10]
        savemat(
            out / f"Subject_{subject:02d}.mat",
            {"images": images, "manualLayers1": layers, "manualFluid1": fluid},
            do_compression=True,
        )
    return out


def synth_oct_csv(out: Path, seed: int = 0, per_split: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    mark_synthetic(out, "OCT boundaries (CSV)", seed)
    for split in ("train", "val", "test"):
        for number in range(per_split):
            image, boundaries, _ = oct_scan(DUKE_SHAPE, rng, fluid=False)
            write_image(out / split / "images" / f"scan_{number:02d}.png", image)
            (out / split / "boundaries").mkdir(parents=True, exist_ok=True)
            np.savetxt(
                out / split / "boundaries" / f"scan_{number:02d}.csv", np.ceil(boundaries), delimiter=",", fmt="%.1f"
            )
    return out


# --- the user's own folder ---------------------------------------------------------------------

