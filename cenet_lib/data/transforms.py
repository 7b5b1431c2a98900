"""Preprocessing and augmentation of section III-A, on numpy arrays, image and mask together.

Training (section III-A 1): a random element of the dihedral group of the square (horizontal,
vertical and diagonal flips: 2 x 2 x 2 = 8 images; a run may keep fewer, :data:`FLIPS`), scaling
by 90-110% and a random shift of up to 10% of the size (one affine warp), and colour jitter in HSV
space (hue +-30 (of OpenCV's 0-180), saturation +-5, value +-15, the ranges of the authors' code;
value only for grey images). Images are interpolated bilinearly, masks by nearest neighbour, so
they stay exactly binary or integer-labelled; pixels warped in from outside the image are 0 in
image, mask and region.

Every image is then resized to the network input (448x448 by default, as the authors' code does)
and normalised as the authors' code does: ``x / 255 * 3.2 - 1.6`` for uint8 input (float input in
[0, 1] is taken as already divided by 255), the same in training and inference.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import Sample

NETWORK_SIZE = (448, 448)

#: The flips a run trains with and averages over at test time, as elements of :func:`dihedral`:
#: ``dihedral``, all 8 (section III-A); ``horizontal``, the identity and the left-right flip only,
#: for images with an up and a down (an OCT B-scan's layers are labelled in their top-to-bottom order,
#: which an up-down flip or a transpose reverses or turns on its side).
FLIPS: dict[str, tuple[int, ...]] = {"dihedral": tuple(range(8)), "horizontal": (0, 1)}


def dihedral(array: np.ndarray, k: int) -> np.ndarray:
    """Element ``k`` (0..7) of the dihedral group: bit 0 flips left-right, bit 1 up-down, bit 2
    transposes (the diagonal flip). Works on (H, W) and (H, W, C)."""
    if k & 1:
        array = array[:, ::-1]
    if k & 2:
        array = array[::-1]
    if k & 4:
        array = array.swapaxes(0, 1)
    return np.ascontiguousarray(array)


def undo_dihedral(array: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`dihedral`: ``undo_dihedral(dihedral(a, k), k) == a``."""
    if k & 4:
        array = array.swapaxes(0, 1)
    if k & 2:
        array = array[::-1]
    if k & 1:
        array = array[:, ::-1]
    return np.ascontiguousarray(array)


def normalize(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 or float in [0, 1] -> float32 ``x / 255 * 3.2 - 1.6`` (authors' code)."""
    scaled = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return scaled * 3.2 - 1.6


def denormalize(image: np.ndarray) -> np.ndarray:
    """:func:`normalize`'s inverse, to show a network input: float32 in [0, 1]."""
    return np.clip((image.astype(np.float32) + 1.6) / 3.2, 0, 1)


def resize(array: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    """Resize (H, W[, C]) to ``size`` = (height, width); nearest neighbour for masks."""
    if array.shape[:2] == tuple(size):
        return array
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    out = cv2.resize(array, (size[1], size[0]), interpolation=interpolation)
    return out[..., None] if array.ndim == 3 and out.ndim == 2 else out


def _hsv_jitter(image: np.ndarray, rng: np.random.Generator, hue: float, saturation: float, value: float) -> np.ndarray:
    if image.shape[2] != 3:
        shift = rng.uniform(-value, value) * (1.0 if image.dtype == np.uint8 else 1 / 255)
        top = 255 if image.dtype == np.uint8 else 1.0
        return np.clip(image.astype(np.float32) + shift, 0, top).astype(image.dtype)
    as_uint8 = image if image.dtype == np.uint8 else np.round(image * 255).astype(np.uint8)
    h, s, v = cv2.split(cv2.cvtColor(as_uint8, cv2.COLOR_RGB2HSV))
    h = ((h.astype(np.int16) + int(round(rng.uniform(-hue, hue)))) % 180).astype(np.uint8)
    s = np.clip(s.astype(np.int16) + int(round(rng.uniform(-saturation, saturation))), 0, 255).astype(np.uint8)
    v = np.clip(v.astype(np.int16) + int(round(rng.uniform(-value, value))), 0, 255).astype(np.uint8)
    out = cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2RGB)
    return out if image.dtype == np.uint8 else out.astype(np.float32) / 255


def _warp(array: np.ndarray, matrix: np.ndarray, nearest: bool) -> np.ndarray:
    height, width = array.shape[:2]
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    out = cv2.warpAffine(array, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out[..., None] if array.ndim == 3 and out.ndim == 2 else out


@dataclass
class Augmentation:
    """The training augmentation; ``__call__(sample, rng)`` returns a new augmented sample."""

    scale: tuple[float, float] = (0.9, 1.1)
    shift: float = 0.1
    hue: float = 30.0
    saturation: float = 5.0
    value: float = 15.0
    flips: tuple[int, ...] = FLIPS["dihedral"]  # the dihedral elements drawn from, uniformly

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image, mask, roi = sample.image, sample.mask, sample.roi
        image = _hsv_jitter(image, rng, self.hue, self.saturation, self.value)
        height, width = image.shape[:2]
        factor = rng.uniform(*self.scale)
        dx, dy = rng.uniform(-self.shift, self.shift, size=2) * (width, height)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 0.0, factor)
        matrix[:, 2] += (dx, dy)
        image = _warp(image, matrix, nearest=False)
        mask = _warp(mask, matrix, nearest=True) if mask is not None else None
        roi = _warp(roi.astype(np.uint8), matrix, nearest=True).astype(bool) if roi is not None else None
        if self.flips:
            k = self.flips[int(rng.integers(len(self.flips)))]
            image = dihedral(image, k)
            mask = dihedral(mask, k) if mask is not None else None
            roi = dihedral(roi, k) if roi is not None else None
        return Sample(sample.id, image, mask, roi, sample.extra)
