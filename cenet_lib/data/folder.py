"""A folder of the user's own images: ``images/`` and ``masks/`` with matching file names.

Masks are binary (0/255 or 0/1: ``num_classes = 1``) or integer label maps (``num_classes`` =
largest label + 1), detected from the masks unless given. A ``train/`` and ``test/`` pair of such
folders is used as the split when present; otherwise ``cenet_splits.json`` beside ``images/``
holds it. When neither exists, a split (20% test, seed 0) is created there, and a message says so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetError, Reader, Sample, check_same_size, paired_files
from .io import list_images, read_array, read_image
from .splits import LOCAL_SPLIT_FILE, holdout_and_folds, load_split, make_split_file


class ImageFolder(Reader):
    name = "folder"
    splits = ("train", "test")
    instructions = "Expected <folder>/images/ and <folder>/masks/ with matching file names (or train/ and test/ holding both)."

    def __init__(self, root: Path, split: str = "train", num_classes: int | None = None, split_file: Path | None = None) -> None:
        super().__init__(root, split)
        self.require_dir(self.root, "dataset")
        if (self.root / "train" / "images").is_dir():
            base = self.root / split
            images = list_images(self.require_dir(base / "images", "images"))
        else:
            base = self.root
            images = list_images(self.require_dir(base / "images", "images"))
            ids = [p.stem for p in images]
            local = self.root / LOCAL_SPLIT_FILE
            if split_file is None and not local.is_file() and ids:
                make_split_file(local, holdout_and_folds(ids, 0.2, min(5, len(ids)), seed=0))
                print(f"Created a split for {self.root} (20% test, seed 0) in {local}; it will be reused.")
            chosen = set(load_split(self.name, self.root, ids, split_file)[split])
            images = [p for p in images if p.stem in chosen]
        masks_dir = self.require_dir(base / "masks", "masks")
        by_stem = {p.stem: p for p in list_images(masks_dir)}
        self.pairs = paired_files(images, masks_dir, lambda p: by_stem.get(p.stem, Path(p.stem + ".*")).name, self.name)
        self.ids = [image.stem for image, _ in self.pairs]
        self.require_nonempty()
        first = read_array(self.pairs[0][0])
        self.in_channels = 1 if first.ndim == 2 else min(first.shape[2], 3)
        self.num_classes = num_classes or self._detect_classes()

    def _detect_classes(self) -> int:
        values = np.unique(np.concatenate([np.unique(read_array(mask)) for _, mask in self.pairs]))
        return 1 if set(values.tolist()) <= {0, 1, 255} else int(values.max()) + 1

    def load(self, index: int) -> Sample:
        image_file, mask_file = self.pairs[index]
        image = read_image(image_file, self.in_channels)
        mask = read_array(mask_file)
        mask = mask[..., 0] if mask.ndim == 3 else mask
        if self.num_classes == 1:
            mask = (mask > 0).astype(np.uint8)
        elif mask.max() >= self.num_classes:
            raise DatasetError(f"{mask_file}: label {int(mask.max())} is out of range for {self.num_classes} classes.")
        return check_same_size(Sample(self.ids[index], image, mask.astype(np.uint8)), str(image_file))
