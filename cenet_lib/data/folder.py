"""A folder of the user's own images: ``images/`` and ``masks/`` with matching file names.

Masks are binary (0/255 or 0/1: ``num_classes = 1``) or integer label maps 0..K-1 (``num_classes``
= K), detected from the masks unless given; masks with other values (anti-aliased 0..255 edges,
say) are refused with the names of the files. A ``train/`` and ``test/`` pair of such folders is
used as the split when present; otherwise ``cenet_splits.json`` beside ``images/`` holds it. When
neither exists, a split (20% test, seed 0) is drawn and written there once every image has its mask,
and a message says so. ``data/README.md`` documents the layout.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import DatasetError, Reader, Sample, check_same_size, paired_files
from .io import IMAGE_SUFFIXES, grey_mask, list_images, read_array, read_image
from .splits import LOCAL_SPLIT_FILE, holdout_and_folds, load_split, make_split_file

#: Label maps hold at most this many classes; larger values mean a mask that is not a label map.
MAX_LABELS = 32


class ImageFolder(Reader):
    name = "folder"
    splits = ("train", "test")
    instructions = "Expected <folder>/images/ and <folder>/masks/ with matching file names (or train/ and test/ holding both)."

    def __init__(self, root: Path, split: str = "train", num_classes: int | None = None, split_file: Path | None = None) -> None:
        super().__init__(root, split)
        self.require_dir(self.root, "dataset")
        base = self.root / split if (self.root / "train" / "images").is_dir() else self.root
        images = list_images(self.require_dir(base / "images", "images"))
        if not images:
            raise DatasetError(f"{self.name}: {base / 'images'} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}).")
        masks_dir = self.require_dir(base / "masks", "masks")
        by_stem = {p.stem: p for p in list_images(masks_dir)}
        pairs = paired_files(images, masks_dir, lambda p: by_stem.get(p.stem, Path(p.stem + ".*")).name, self.name)
        if base == self.root:  # one folder: the split lives in a split file, drawn once every image has its mask
            ids = [p.stem for p in images]
            local = self.root / LOCAL_SPLIT_FILE
            if split_file is None and not local.is_file():
                make_split_file(local, holdout_and_folds(ids, 0.2, min(5, len(ids)), seed=0) if len(ids) > 1 else {"train": ids, "test": ids})
                print(f"Created a split for {self.root} (20% test, seed 0) in {local}; it will be reused.")
            chosen = set(load_split(self.name, self.root, ids, split_file)[split])
            pairs = [pair for pair in pairs if pair[0].stem in chosen]
        self.pairs = pairs
        self.ids = [image.stem for image, _ in self.pairs]
        self.require_nonempty()
        first = read_array(self.pairs[0][0])
        self.in_channels = 1 if first.ndim == 2 else min(first.shape[2], 3)
        self.num_classes = num_classes or self._detect_classes()

    def _detect_classes(self) -> int:
        """1 for binary masks (0/1 or 0/255), K for label maps 0..K-1 (K at most MAX_LABELS)."""
        values, colour = {}, []
        for _, mask in self.pairs:
            try:
                values[mask] = set(np.unique(grey_mask(read_array(mask), mask)).tolist())
            except DatasetError as error:
                colour.append((mask, str(error)))
        if colour:
            names = ", ".join(mask.name for mask, _ in colour[:5]) + (f" and {len(colour) - 5} more" if len(colour) > 5 else "")
            raise DatasetError(f"{len(colour)} colour mask(s) in {colour[0][0].parent} ({names}). First: {colour[0][1]}")
        every = set().union(*values.values())
        if every <= {0, 1, 255}:
            return 1
        if max(every) < MAX_LABELS:
            return int(max(every)) + 1
        odd = [mask.name for mask, found in values.items() if not found <= {0, 1, 255}]
        raise DatasetError(
            f"{self.name}: {len(odd)} mask(s) in {self.pairs[0][1].parent} hold values other than 0/1/255 (e.g. "
            f"{', '.join(odd[:3])}, values up to {max(every)}): masks must be binary (0 and 1 or 255) or label maps "
            f"0..{MAX_LABELS - 1}. Re-save them without anti-aliasing or JPEG compression."
        )

    def load(self, index: int) -> Sample:
        image_file, mask_file = self.pairs[index]
        image = read_image(image_file, self.in_channels)
        mask = grey_mask(read_array(mask_file), mask_file)
        if self.num_classes == 1:
            mask = (mask > 0).astype(np.uint8)
        elif mask.max() >= self.num_classes:
            raise DatasetError(f"{mask_file}: label {int(mask.max())} is out of range for {self.num_classes} classes.")
        return check_same_size(Sample(self.ids[index], image, mask.astype(np.uint8)), str(image_file))
