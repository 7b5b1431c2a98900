"""DRIVE retinal vessels (section III-C; Tables II and VI).

Layout as distributed: ``training/images/NN_training.tif``, ``training/1st_manual/NN_manual1.gif``,
``training/mask/NN_training_mask.gif`` (may be absent), ``test/images/NN_test.tif``,
``test/1st_manual/NN_manual1.gif``, ``test/2nd_manual/NN_manual2.gif``, ``test/mask/NN_test_mask.gif``.
The first observer is the reference; the second observer (stored 0/1 in some copies, 0/255 in
others) comes as ``extra["second_observer"]`` for the "human observer" row. The field-of-view (FOV)
mask is the region of interest; where a split has none it is derived from the image
(:func:`derive_fov`).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from ..tasks import FieldOfViewTask
from .base import Reader, Sample, check_same_size
from .io import read_image, read_mask

#: A pixel is inside the FOV when its smoothed red channel exceeds this (the dark surround is < 10).
FOV_RED_THRESHOLD = 25


def derive_fov(image: np.ndarray) -> np.ndarray:
    """Field of view of a fundus photograph: red channel, 5x5 median filter, threshold at
    :data:`FOV_RED_THRESHOLD`, largest connected component, holes filled. On each of the 20 DRIVE
    test images its intersection over union with the provided mask is at least 0.98 (asserted by
    the real-data tests)."""
    red = cv2.medianBlur(np.ascontiguousarray(image[..., 0]), 5)
    inside = red > FOV_RED_THRESHOLD
    labels, count = ndimage.label(inside)
    if count > 1:
        sizes = ndimage.sum(inside, labels, index=range(1, count + 1))
        inside = labels == 1 + int(np.argmax(sizes))
    return ndimage.binary_fill_holes(inside)


class DRIVE(Reader):
    name = "drive"
    task = FieldOfViewTask()
    folder = "DRIVE"
    num_classes = 1
    in_channels = 3
    splits = ("train", "test")
    instructions = (
        "DRIVE (Staal et al. 2004) is distributed after registration on the DRIVE challenge site. Unpack it so "
        "that <data root>/DRIVE/training and <data root>/DRIVE/test exist (see data/README.md)."
    )

    def __init__(self, root: Path, split: str = "train") -> None:
        super().__init__(root, split)
        self.split_dir = self.require_dir(self.root / ("training" if split == "train" else "test"), f"{split} split")
        images_dir = self.require_dir(self.split_dir / "images", "images")
        self.images = sorted(images_dir.glob("*.tif"))
        self.ids = [p.name.split("_")[0] for p in self.images]
        self.require_nonempty()

    def _optional(self, folder: str, name: str) -> Path | None:
        path = self.split_dir / folder / name
        return path if path.is_file() else None

    def load(self, index: int) -> Sample:
        number, kind = self.ids[index], ("training" if self.split == "train" else "test")
        image = read_image(self.images[index], channels=3)
        mask = read_mask(self.split_dir / "1st_manual" / f"{number}_manual1.gif")
        fov_file = self._optional("mask", f"{number}_{kind}_mask.gif")
        roi = read_mask(fov_file).astype(bool) if fov_file else derive_fov(image)
        extra: dict = {"fov_source": "provided" if fov_file else "derived"}
        second = self._optional("2nd_manual", f"{number}_manual2.gif")
        if second:
            extra["second_observer"] = read_mask(second)
        return check_same_size(Sample(number, image, mask, roi, extra), str(self.images[index]), ("second_observer",))
