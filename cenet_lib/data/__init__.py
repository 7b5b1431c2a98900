"""Dataset readers for every section of the paper, splits, augmentation and synthetic stand-ins.

>>> reader = build_reader("drive", "train")              # looks in <data root>/DRIVE
>>> dataset = SegmentationDataset(reader, augmentation=Augmentation(), seed=0)

``python -m cenet_lib.data status`` says which datasets were found where.
"""
from __future__ import annotations

import os
from pathlib import Path

from .base import DatasetError, DatasetMissing, Reader, Sample
from .dataset import SegmentationDataset
from .drive import DRIVE
from .folder import ImageFolder
from .isbi2012 import ISBI2012
from .lung import LungCT
from .oct import DukeDME, DukeDMEMat, OCTBoundaryCSV
from .optic_disc import ORIGA, DrishtiGS1, Messidor, RimOneR1
from .pack import PackedReader, is_packed
from .paths import data_root, dataset_dir
from .transforms import Augmentation

#: Readers by name, with the paper section each serves.
READERS: dict[str, type[Reader]] = {
    "drive": DRIVE,  # III-C, Tables II, VI
    "isbi2012": ISBI2012,  # III-E, Table IV
    "lung": LungCT,  # III-D, Table III
    "drishti": DrishtiGS1,  # III-B, Table I (public stand-in)
    "origa": ORIGA,  # III-B, Table I
    "messidor": Messidor,  # III-B, Table I
    "rimone": RimOneR1,  # III-B, Table I
    "duke": DukeDME,  # III-F, Table V (public stand-in), per-B-scan PNGs
    "duke_mat": DukeDMEMat,  # the same set as official .mat files
    "oct_csv": OCTBoundaryCSV,  # B-scans with per-column boundary CSVs
}


def build_reader(name: str, split: str = "train", data_root: str | os.PathLike | None = None, **options) -> Reader:
    """Reader ``name`` for ``split``, found under the data root (see :mod:`cenet_lib.data.paths`).

    A dataset folder holding a packed copy (:mod:`cenet_lib.data.pack`) is read by a :class:`PackedReader`.
    ``name`` may also be a path to a folder of the user's own images (see :class:`ImageFolder`).
    """
    if name in READERS:
        folder = dataset_dir(name, READERS[name].folder, data_root)
        if is_packed(folder):
            packed = PackedReader(folder, split, **options)
            if packed.name != name:
                raise DatasetError(
                    f"{folder} holds a packed copy of {packed.name}, not of {name}; pack {name} into it again."
                )
            return packed
        return READERS[name](folder, split, **options)
    if Path(name).expanduser().is_dir():
        return ImageFolder(Path(name).expanduser(), split, **options)
    if os.sep in name or name.startswith((".", "~")):
        raise DatasetMissing(f"Dataset folder not found: {Path(name).expanduser()} does not exist; check the path.")
    raise ValueError(f"Unknown dataset {name!r}: use one of {', '.join(READERS)}, or the path of a folder of images.")


__all__ = [
    "Augmentation",
    "DatasetError",
    "DatasetMissing",
    "ImageFolder",
    "PackedReader",
    "READERS",
    "Reader",
    "Sample",
    "SegmentationDataset",
    "build_reader",
    "data_root",
    "dataset_dir",
]
