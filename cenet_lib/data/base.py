"""What every dataset reader returns, and the error it raises on bad input."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..tasks import BinaryTask, MultiClassTask, Task

#: The file that marks a dataset folder as a synthetic stand-in (or a packed copy of one).
SYNTHETIC_MARKER = "SYNTHETIC.txt"


def mark_synthetic(out: Path, name: str, seed: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / SYNTHETIC_MARKER).write_text(
        f"Synthetic stand-in for the {name} dataset, written by cenet_lib.data.synthetic (seed {seed}).\n"
        "Not real data: results computed on it are labelled synthetic.\n"
    )
    return out



class DatasetError(RuntimeError):
    """Missing, incomplete or malformed data; the message names the file or folder and the fix."""


class DatasetMissing(DatasetError):
    """The dataset's own folder is not there: every split would say the same."""


@dataclass
class Sample:
    """One image of a dataset, in the paper's task form.

    ``image`` is (H, W, C): uint8 for photographs and micrographs, float32 in [0, 1] for windowed CT
    when asked for. ``mask`` is (H, W) uint8: {0, 1} for binary tasks, the class index for
    multi-class ones; ``None`` where the labels are private (ISBI 2012 test volume). ``roi`` is a
    boolean region of interest (DRIVE's field of view) or ``None`` for the whole image. ``extra``
    holds what some sections need beside: a second observer's mask, an optic-disc crop box, the
    raw label image.
    """

    id: str
    image: np.ndarray
    mask: np.ndarray | None
    roi: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Reader(Sequence[Sample]):
    """Base of the dataset readers: a list of ``ids`` and a ``load(index)`` that reads one sample.

    Subclasses set ``name``, ``num_classes`` (1 for a binary task), ``in_channels`` and
    ``splits``, fill ``self.ids`` in ``__init__`` and implement ``load``.
    """

    name: str = ""
    num_classes: int = 1
    in_channels: int = 3
    splits: tuple[str, ...] = ("train", "test")
    #: The classes' names by label, where the dataset names them (``None``: unnamed).
    class_names: tuple[str, ...] | None = None
    #: Where to get the dataset and where to put it: shown when it is missing.
    instructions: str = ""
    #: ``python -m cenet_lib.data fetch NAME`` explains how to get it (not for the user's own folders).
    fetchable: bool = True
    #: The version of what ``load`` returns: raise it whenever a change alters the samples, so that
    #: packed copies made before (:mod:`cenet_lib.data.pack`) are refused instead of read.
    version: int = 1

    def __init__(self, root: Path, split: str) -> None:
        if split not in self.splits:
            raise ValueError(f"{self.name} has splits {', '.join(self.splits)}; got {split!r}.")
        self.root = Path(root)
        self.split = split
        self.ids: list[str] = []
        #: True for a synthetic stand-in (it carries a SYNTHETIC.txt marker): label its results so.
        self.synthetic = (self.root / SYNTHETIC_MARKER).is_file()

    @property
    def task(self) -> Task:
        """How this dataset's predictions are scored (:mod:`cenet_lib.tasks`); readers of a section's
        dataset set their own, and any other reader is a plain binary or multi-class task."""
        return BinaryTask() if self.num_classes == 1 else MultiClassTask(self.class_names)

    def require_dir(self, path: Path, what: str) -> Path:
        """``path`` if it is a folder, else a :class:`DatasetError` with the dataset's instructions
        (:class:`DatasetMissing` when the dataset's own folder is not there)."""
        if not path.is_dir():
            fetch = f" (python -m cenet_lib.data fetch {self.name} says how to get it)" if self.fetchable else ""
            if not self.root.is_dir():
                raise DatasetMissing(f"{self.name}: dataset folder not found: {self.root}{fetch}\n{self.instructions}")
            raise DatasetError(f"{self.name}: {what} folder not found: {path}{fetch}\n{self.instructions}")
        return path

    def require_nonempty(self) -> None:
        if not self.ids:
            raise DatasetError(
                f"{self.name}: the {self.split!r} split under {self.root} holds no images.\n{self.instructions}"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.load(index % len(self))

    def __iter__(self) -> Iterator[Sample]:
        return (self.load(index) for index in range(len(self)))

    def load(self, index: int) -> Sample:
        raise NotImplementedError


class ReaderSubset(Reader):
    """Some of another reader's images, by position: a validation split held out of the training
    images, or the first N of a split for a smoke run. Each image is loaded by the reader it comes
    from, so its files, masks and regions stay paired whatever that reader keeps beside its ids."""

    def __init__(self, reader: Reader, indices: Sequence[int], split: str) -> None:
        self.reader, self.indices = reader, list(indices)
        self.name, self.num_classes, self.in_channels = reader.name, reader.num_classes, reader.in_channels
        self.instructions, self.root, self.synthetic = reader.instructions, reader.root, reader.synthetic
        self.class_names = reader.class_names
        self.split = split
        self.splits = tuple(dict.fromkeys((*reader.splits, split)))
        self.ids = [reader.ids[index] for index in self.indices]

    @property
    def task(self) -> Task:
        return self.reader.task

    def load(self, index: int) -> Sample:
        return self.reader.load(self.indices[index])


def paired_files(images: list[Path], masks_dir: Path, mask_name, dataset: str) -> list[tuple[Path, Path]]:
    """Pair each image with its mask ``masks_dir / mask_name(image)``; missing masks are all
    counted, and the first few named with the file expected for each."""
    pairs = [(image, masks_dir / mask_name(image)) for image in images]
    missing = [(image, mask) for image, mask in pairs if not mask.is_file()]
    if missing:
        named = "; ".join(f"{image.name} -> expected {mask}" for image, mask in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        image = missing[0][0]
        suffixed = (
            sorted(p.name for p in masks_dir.glob(f"{image.stem}?*") if p.is_file()) if masks_dir.is_dir() else []
        )
        hint = (f" The masks seem to carry a suffix ({suffixed[0]} for {image.name}): rename each to its image's name "
                f"({image.stem}{Path(suffixed[0]).suffix}).") if suffixed else ""
        raise DatasetError(
            f"{dataset}: {len(missing)} of {len(images)} images have no mask in {masks_dir}: {named}{more}. "
            f"Each image needs a mask of the same name (any image suffix).{hint}"
        )
    return pairs


def check_same_size(sample: Sample, source: str, extra_masks: tuple[str, ...] = ()) -> Sample:
    """Raise if the mask, region or the ``extra_masks`` of ``sample`` differ in size from its image."""
    height, width = sample.image.shape[:2]
    arrays = {"mask": sample.mask, "region mask": sample.roi}
    arrays.update({key: sample.extra[key] for key in extra_masks if key in sample.extra})
    for what, array in arrays.items():
        if array is not None and array.shape[:2] != (height, width):
            raise DatasetError(
                f"{source}: {what} of {sample.id} is {array.shape[1]}x{array.shape[0]} but the image is "
                f"{width}x{height}; image and masks must have the same size."
            )
    return sample
