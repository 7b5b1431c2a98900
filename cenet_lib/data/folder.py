"""A folder of the user's own images: ``images/`` and ``masks/`` with matching file names.

Masks are binary (0/255 or 0/1: ``num_classes = 1``) or integer label maps 0..K-1 (``num_classes``
= K), detected from the masks unless given; masks with other values (anti-aliased 0..255 edges,
say) are refused with the names of the files. A ``train/`` and ``test/`` pair of such folders is
used as the split when present; otherwise ``cenet_splits.json`` beside ``images/`` holds it. When
neither exists, a split (20% test, seed 0) is drawn once every image has its mask and written to
the cache (:func:`split_cache_file`; the dataset folder is only read, and may be read-only), and a
message says so; the next run reads it from there, so a changed set of files is noticed rather than
split anew. A ``classes.json`` or ``classes.txt`` in ``masks/``, beside it, or at the root of a
``train/`` + ``test/`` folder names the classes, background first: the evaluation's per-class Dice
and IoU then carry the names.
An optional ``fov/`` (or ``roi/``) folder of binary masks with the images' names is a region of
interest, as DRIVE's field of view: binary tasks are then scored inside it (``fov_*``) beside the
whole image (``whole_*``); training sees whole images, as for DRIVE.
``data/README.md`` documents the layout.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ..tasks import FieldOfViewTask, Task
from .base import DatasetError, DatasetMissing, Reader, Sample, check_same_size, paired_files
from .io import IMAGE_SUFFIXES, channel_count, grey_mask, list_images, read_array, read_image
from .paths import cache_dir
from .splits import LOCAL_SPLIT_FILE, holdout_and_folds, load_split, make_split_file

#: Label maps hold at most this many classes; larger values mean a mask that is not a label map.
MAX_LABELS = 32
#: Folders of region-of-interest masks (a fundus camera's field of view, say) beside ``images/``.
REGION_FOLDERS = ("fov", "roi")


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


def read_class_names(masks_dir: Path, num_classes: int, root: Path) -> tuple[str, ...] | None:
    """The classes' names from ``classes.json`` (a list, label k at position k, or {"k": name}) or
    ``classes.txt`` (one name per line) in the masks folder, the split's folder beside it, or the
    dataset's ``root`` (one file for ``train/`` and ``test/``)."""
    for folder in dict.fromkeys((masks_dir, masks_dir.parent, root)):
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


def split_cache_file(root: Path) -> Path:
    """Where the split drawn for the folder ``root`` is kept: the cache, named by the folder's absolute path."""
    resolved = Path(root).expanduser().resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    return cache_dir("splits") / f"{resolved.name}-{digest}.json"


def colour_or_grey(count: int | None) -> int | None:
    """1 for grey images (with or without alpha), 3 for colour ones (RGB or RGBA)."""
    return None if count is None else (3 if count >= 3 else 1)


@functools.cache
def majority_channels(images: tuple[Path, ...]) -> int:
    """The channel count (1 or 3) most of a folder's ``images`` (all its splits) have; the others are
    converted to it (:func:`~cenet_lib.data.io.to_channels`) and named in a note, once."""
    found = {image: colour_or_grey(channel_count(image)) for image in images}
    counts = [count for count in found.values() if count is not None] or [3]
    majority = max(sorted(set(counts)), key=counts.count)
    odd = [image.name for image, count in found.items() if count not in (None, majority)]
    if odd:
        kind, rule = ("colour", "repeating the grey channel") if majority == 3 else ("grey", "BT.601 luma")
        log.info("%d of %d images in %s are not %s like the others (%s%s); they are converted to %s by %s.",
                 len(odd), len(images), images[0].parent, kind, ", ".join(odd[:5]), " ..." if len(odd) > 5 else "",
                 kind, rule)
    return majority


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
        pairs = self._paired_by_name(images, masks_dir)
        if base == self.root:  # one folder: the split lives in a split file, drawn once every image has its mask
            ids = [p.stem for p in images]
            if split_file is None and not (self.root / LOCAL_SPLIT_FILE).is_file():
                split_file = split_cache_file(self.root)
                if not split_file.is_file():
                    make_split_file(
                        split_file,
                        holdout_and_folds(ids, 0.2, min(5, len(ids)), seed=0)
                        if len(ids) > 1
                        else {"train": ids, "test": ids},
                    )
                    log.info("Drew a split for %s (20%% test, seed 0), kept in %s; it will be reused.", self.root,
                             split_file)
            chosen = set(load_split(self.name, self.root, ids, split_file)[split])
            pairs = [pair for pair in pairs if pair[0].stem in chosen]
        self.pairs = pairs
        self.ids = [image.stem for image, _ in self.pairs]
        self.require_nonempty()
        self.regions = self._region_files(base)
        every_image = images if base == self.root else [
            image for part in self.splits if (self.root / part / "images").is_dir()
            for image in list_images(self.root / part / "images")
        ]
        self.in_channels = majority_channels(tuple(every_image))
        self.num_classes = num_classes or self._detect_classes()
        self.class_names = read_class_names(masks_dir, self.num_classes, self.root)

    def _region_files(self, base: Path) -> dict[str, Path]:
        """The region-of-interest mask of each image, by id, from ``fov/`` (or ``roi/``) beside
        ``images/``: one per image, of the image's name; empty without such a folder."""
        folder = next((base / name for name in REGION_FOLDERS if (base / name).is_dir()), None)
        if folder is None:
            return {}
        pairs = self._paired_by_name([image for image, _ in self.pairs], folder)
        return {image.stem: region for image, region in pairs}

    def _paired_by_name(self, images: list[Path], folder: Path) -> list[tuple[Path, Path]]:
        """Each image with the file of its name (any image suffix) in ``folder``: a mask or a region."""
        by_stem = {p.stem: p for p in list_images(folder)}
        return paired_files(images, folder, lambda p: by_stem.get(p.stem, Path(p.stem + ".*")).name, self.name)

    @property
    def task(self) -> Task:
        """Scored inside the region of interest (``fov_*``) and on the whole image (``whole_*``) where
        there is one, as DRIVE is; otherwise as any binary or multi-class folder."""
        if self.regions and self.num_classes == 1:
            return FieldOfViewTask()
        return super().task

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
        image = read_image(image_file, self.in_channels, convert=True)
        mask = grey_mask(read_array(mask_file), mask_file)
        if self.num_classes == 1:
            mask = (mask > 0).astype(np.uint8)
        elif mask.max() >= self.num_classes:
            raise DatasetError(f"{mask_file}: label {int(mask.max())} is out of range for {self.num_classes} classes.")
        roi = None
        if self.regions:
            region_file = self.regions[self.ids[index]]
            region = grey_mask(read_array(region_file), region_file)
            if not set(np.unique(region).tolist()) <= {0, 1, 255}:
                raise DatasetError(f"{region_file}: a region of interest holds 0 outside and 255 (or 1) inside; found "
                                   f"values up to {int(region.max())}. Save it as a binary PNG without smoothing.")
            roi = region > 0
        return check_same_size(Sample(self.ids[index], image, mask.astype(np.uint8), roi), str(image_file))
