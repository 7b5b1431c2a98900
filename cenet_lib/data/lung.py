"""2D lung CT slices from LUNA, the Kaggle "Finding and Measuring Lungs in CT Data" set (section
III-D; Table III).

Layout as distributed: ``2d_images/ID_XXXX_Z_XXXX.tif`` (int16 Hounsfield units) and
``2d_masks/ID_XXXX_Z_XXXX.tif`` (lung = 255), same names. Intensities are windowed to
[-1000, 400] HU (air to soft tissue and bone edges: the lung parenchyma, about -900..-500 HU, and
the body wall stay distinct) and either quantised to uint8 (default) or kept as float32 in [0, 1].

The paper trains on 80% of the images and tests on the rest, with cross-validation: the split file
``data/splits/lung.json`` holds 5 random folds (seed 0) of the image ids; ``split="test"`` is fold
``fold`` (20%), ``split="train"`` the other four.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetError, Reader, Sample, check_same_size, paired_files
from .io import read_array, read_mask
from .splits import load_split

HU_WINDOW = (-1000.0, 400.0)


def window_hu(hu: np.ndarray, window: tuple[float, float] = HU_WINDOW, as_uint8: bool = True) -> np.ndarray:
    """Clip Hounsfield units to ``window`` and scale to [0, 1] (float32) or [0, 255] (uint8)."""
    low, high = window
    scaled = (np.clip(hu.astype(np.float32), low, high) - low) / (high - low)
    return np.round(scaled * 255).astype(np.uint8) if as_uint8 else scaled


class LungCT(Reader):
    name = "lung"
    folder = "finding-lungs-in-ct-data"
    num_classes = 1
    in_channels = 1
    splits = ("train", "test")
    instructions = (
        "The lung set is the Kaggle dataset 'Finding and Measuring Lungs in CT Data' (kmader). Download it and put "
        "its 2d_images/ and 2d_masks/ folders in <data root>/finding-lungs-in-ct-data/."
    )

    def __init__(
        self, root: Path, split: str = "train", fold: int = 0, as_uint8: bool = True, split_file: Path | None = None
    ) -> None:
        super().__init__(root, split)
        images = sorted(self.require_dir(self.root / "2d_images", "2d_images").glob("*.tif"))
        masks_dir = self.require_dir(self.root / "2d_masks", "2d_masks")
        folds = load_split(self.name, self.root, [p.stem for p in images], split_file)["folds"]
        if not 0 <= fold < len(folds):
            raise ValueError(f"lung: fold must be in 0..{len(folds) - 1}, got {fold}.")
        held_out = set(folds[fold])
        self.pairs = paired_files(
            [p for p in images if (p.stem in held_out) == (split == "test")], masks_dir, lambda p: p.name, self.name
        )
        self.ids = [image.stem for image, _ in self.pairs]
        self.as_uint8 = as_uint8
        self.require_nonempty()

    def load(self, index: int) -> Sample:
        image_file, mask_file = self.pairs[index]
        hu = read_array(image_file)
        if hu.ndim != 2 or hu.dtype.kind not in "iu":
            raise DatasetError(
                f"{image_file}: expected a 2D integer slice in Hounsfield units, found {hu.dtype} {hu.shape}."
            )
        image = window_hu(hu, as_uint8=self.as_uint8)[..., None]
        return check_same_size(Sample(self.ids[index], image, read_mask(mask_file)), str(image_file))
