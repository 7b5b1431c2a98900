"""A folder of the user's own images: ``images/`` and ``masks/`` with matching file names.

Masks are binary (0/255 or 0/1: ``num_classes = 1``) or integer label maps 0..K-1 (``num_classes``
= K), detected from the masks unless given; masks with other values (anti-aliased 0..255 edges,
say) are refused with the names of the files. A ``train/`` and ``test/`` pair of such folders is
used as the split when present; otherwise ``cenet_splits.json`` beside ``images/`` holds it. When
neither exists, a split (20% test, seed 0) is drawn and written there once every image has its mask,
and a message says so. A ``classes.json`` or ``classes.txt`` in ``masks/`` (or beside it) names
the classes, background first: the evaluation's per-class Dice and IoU then carry the names.
``data/README.md`` documents the layout.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .base import DatasetError, DatasetMissing, Reader, Sample, check_same_size, paired_files
from .io import IMAGE_SUFFIXES, channel_count, grey_mask, list_images, read_array, read_image
from .splits import LOCAL_SPLIT_FILE, holdout_and_folds, load_split, make_split_file

#: Label maps hold at most this many classes; larger values mean a mask that is not a label map.
MAX_LABELS = 32


#: The layouts a folder of the user's own images may have, in one line (``data/README.md`` draws them).
LAYOUT = ("expected FOLDER/images/NAME.png with FOLDER/masks/NAME.png (the same names), or FOLDER/train/images, "
          "FOLDER/train/masks, FOLDER/test/images and FOLDER/test/masks (data/README.md)")

log = logging.getLogger(__name__)


def layout_hint(root: Path, base: Path) -> str:
    """What the folder holds instead of the expected layout, and how to arrange it."""
    images = base / "images"
    if images.is_dir() and {"train", "test"} <= {p.name for p in images.iterdir() if p.is_dir()}:
        return (f"{images} holds train/ and test/: move them to {root}/train/images and {root}/test/images, "
                f"and the masks of each to {root}/train/masks and {root}/test/masks")
    folders = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    misnamed = folders and not {"images", "masks"} <= set(folders)
    found = (
        f"it holds the folders {', '.join(folders)}: rename the images' folder to images and the masks' to masks"
        if misnamed
        else ""
    )
    return "; ".join(filter(None, [found, LAYOUT]))


def read_class_names(masks_dir: Path, num_classes: int) -> tuple[str, ...] | None:
    """The classes' names from ``classes.json`` (a list, label k at position k, or {"k": name}) or
    ``classes.txt`` (one name per line) in the masks folder or the dataset folder beside it."""
    for folder in (masks_dir, masks_dir.parent):
        if (folder / "classes.json").is_file():
            path = folder / "classes.json"
            try:
                found = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise DatasetError(
                    f"{path} is not valid JSON ({error}); write a list of names, one per label."
                ) from None
            names = [found.get(str(k)) for k in range(len(found))] if isinstance(found, dict) else found
            break
        if (folder / "classes.txt").is_file():
            path = folder / "classes.txt"
            names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
            break
    else:
        return None
    expected = max(2, num_classes)
    if len(names) != expected or not all(isinstance(name, str) and name for name in names):
        raise DatasetError(
            f"{path} names {len(names)} classes, but the masks hold {expected} (labels 0..{expected - 1}, "
            "background first); give one name per label."
        )
    return tuple(names)


def majority_channels(images: list[Path]) -> int:
    """The channel count (1 or 3) most of ``images`` have: one odd file is then the one named as
    wrong (by :func:`~cenet_lib.data.io.read_image`), not every good one."""
    counts = [min(count, 3) for count in map(channel_count, images) if count is not None] or [3]
    return max(sorted(set(counts)), key=counts.count)


class ImageFolder(Reader):
    name = "folder"
    splits = ("train", "test")
    instructions = f"A folder of your own images: {LAYOUT}."
    fetchable = False

    def __init__(
        self, root: Path, split: str = "train", num_classes: int | None = None, split_file: Path | None = None
    ) -> None:
        super().__init__(root, split)
        if not self.root.is_dir():
            raise DatasetMissing(f"{self.root} does not exist; check the path ({LAYOUT}).")
        base = self.root / split if (self.root / "train" / "images").is_dir() else self.root
        images = list_images(base / "images") if (base / "images").is_dir() else []
        if not images:
            raise DatasetError(
                f"{self.name}: no images in {base / 'images'} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}); "
                f"{layout_hint(self.root, base)}."
            )
        masks_dir = base / "masks"
        if not masks_dir.is_dir():
            raise DatasetError(f"{self.name}: no masks folder {masks_dir}; {layout_hint(self.root, base)}.")
        by_stem = {p.stem: p for p in list_images(masks_dir)}
        pairs = paired_files(images, masks_dir, lambda p: by_stem.get(p.stem, Path(p.stem + ".*")).name, self.name)
        if base == self.root:  # one folder: the split lives in a split file, drawn once every image has its mask
            ids = [p.stem for p in images]
            local = self.root / LOCAL_SPLIT_FILE
            if split_file is None and not local.is_file():
                make_split_file(
                    local,
                    holdout_and_folds(ids, 0.2, min(5, len(ids)), seed=0)
                    if len(ids) > 1
                    else {"train": ids, "test": ids},
                )
                log.info("Created a split for %s (20%% test, seed 0) in %s; it will be reused.", self.root, local)
            chosen = set(load_split(self.name, self.root, ids, split_file)[split])
            pairs = [pair for pair in pairs if pair[0].stem in chosen]
        self.pairs = pairs
        self.ids = [image.stem for image, _ in self.pairs]
        self.require_nonempty()
        self.in_channels = majority_channels([image for image, _ in self.pairs])
        self.num_classes = num_classes or self._detect_classes()
        self.class_names = read_class_names(masks_dir, self.num_classes)

    def _detect_classes(self) -> int:
        """1 for binary masks (0/1 or 0/255), K for label maps 0..K-1 (K at most MAX_LABELS)."""
        values, colour = {}, []
        for _, mask in self.pairs:
            try:
                values[mask] = set(np.unique(grey_mask(read_array(mask), mask)).tolist())
            except DatasetError as error:
                colour.append((mask, str(error)))
        if colour:
            names = ", ".join(mask.name for mask, _ in colour[:5]) + (
                f" and {len(colour) - 5} more" if len(colour) > 5 else ""
            )
            raise DatasetError(
                f"{len(colour)} colour mask(s) in {colour[0][0].parent} ({names}). First: {colour[0][1]}"
            )
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
