"""ISBI 2012 EM segmentation challenge (section III-E; Table IV).

Layout as distributed: ``train-volume.tif``, ``train-labels.tif`` (membrane = 0, cell interior =
255) and ``test-volume.tif``, 30-page TIFFs of 512x512 slices. Alternatively a folder of per-slice
images: ``train/images/*``, ``train/labels/*`` and ``test/images/*`` (matching names).

The task is membrane detection: ``mask`` is 1 on membrane. The raw label slice is kept as
``extra["label_image"]`` for V_Rand/V_Info. The challenge keeps the test labels private, so scores
come from k-fold cross-validation over the 30 training slices: the split file
(``data/splits/isbi2012.json``) holds 5 folds of 6 *contiguous* slices (serial sections are
correlated, so neighbouring slices stay on one side). ``split="train"`` gives the slices outside
fold ``fold``, ``split="test"`` the slices of fold ``fold``, ``split="challenge_test"`` the unlabelled
test volume.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tasks import CellStackTask
from .base import DatasetError, Reader, Sample, check_same_size
from .io import list_images, read_array, read_image
from .splits import load_split


def contiguous_folds(ids: list[str], k: int = 5) -> dict:
    """The split file content: ``k`` folds of consecutive slices."""
    return {"folds": [chunk.tolist() for chunk in np.array_split(np.array(sorted(ids)), k)]}


class ISBI2012(Reader):
    name = "isbi2012"
    task = CellStackTask()
    folder = "ISBI2012"
    num_classes = 1
    in_channels = 1
    splits = ("train", "test", "challenge_test")
    instructions = (
        "The ISBI 2012 EM segmentation challenge data (train-volume.tif, train-labels.tif, test-volume.tif) "
        "is available from the challenge's download page. Put the three files in <data root>/ISBI2012/."
    )

    def __init__(self, root: Path, split: str = "train", fold: int = 0, split_file: Path | None = None) -> None:
        super().__init__(root, split)
        self.require_dir(self.root, "dataset")
        kind = "test" if split == "challenge_test" else "train"
        self.volume, self.labels = self._read_volumes(kind)
        all_ids = [f"{kind}-volume_{i:02d}" for i in range(len(self.volume))]
        if split == "challenge_test":
            self.ids = all_ids
        else:
            folds = load_split(self.name, self.root, all_ids, split_file)["folds"]
            if not 0 <= fold < len(folds):
                raise ValueError(f"isbi2012: fold must be in 0..{len(folds) - 1}, got {fold}.")
            held_out = set(folds[fold])
            self.ids = [i for i in all_ids if (i in held_out) == (split == "test")]
        self.index = {slice_id: number for number, slice_id in enumerate(all_ids)}
        self.require_nonempty()

    def _read_volumes(self, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
        volume_file = self.root / f"{kind}-volume.tif"
        if volume_file.is_file():
            volume = read_array(volume_file)
            labels = read_array(self.root / "train-labels.tif") if kind == "train" else None
            source = f"{volume_file} and {self.root / 'train-labels.tif'}"
        elif (self.root / kind / "images").is_dir():
            files = list_images(self.root / kind / "images")
            volume = np.stack([read_image(f, 1)[..., 0] for f in files]) if files else np.zeros((0, 1, 1), np.uint8)
            labels = None
            if kind == "train":
                labels = np.stack([read_image(self.root / "train" / "labels" / f.name, 1)[..., 0] for f in files])
            source = str(self.root / kind)
        else:
            raise DatasetError(
                f"isbi2012: neither {volume_file} nor a per-slice folder {self.root / kind / 'images'} exists.\n"
                + self.instructions
            )
        if volume.ndim != 3 or (labels is not None and labels.shape != volume.shape):
            raise DatasetError(
                f"isbi2012: expected volumes of shape (slices, H, W) with labels of the same shape in {source}; "
                f"found {volume.shape} and {None if labels is None else labels.shape}."
            )
        return volume, labels

    def load(self, index: int) -> Sample:
        slice_id = self.ids[index]
        number = self.index[slice_id]
        image = self.volume[number][..., None]
        if self.labels is None:
            return Sample(slice_id, image, None)
        label_image = self.labels[number]
        mask = (label_image == 0).astype(np.uint8)
        return check_same_size(Sample(slice_id, image, mask, extra={"label_image": label_image}), slice_id)
