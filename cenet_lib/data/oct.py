"""Retinal OCT layers (section III-F; Table V).

The paper's Topcon set (11 regions, 10 boundaries) is private. The public stand-in is the Duke DME
set (Chiu et al., Biomed. Opt. Express 2015): 10 subjects x 11 annotated B-scans with 8 manual
layer boundaries (ILM, NFL/GCL, IPL/INL, INL/OPL, OPL/ONL, ISM/ISE, IS/OS-OS/RPE, Bruch's
membrane) and a fluid outline. Three layouts are read:

* ``DukeDME``: per-B-scan PNGs, ``{train,val,test}/images/Subject_XX_YY.png`` with label maps in
  ``labels/`` (0 above the ILM, 1..7 the layers, 8 below Bruch's membrane, 9 fluid painted over).
* ``DukeDMEMat``: the official per-subject files ``Subject_XX.mat`` (``images`` H x W x 61,
  ``manualLayers1`` 8 x W x 61 in 1-based rows, NaN where not annotated, ``manualFluid1``
  H x W x 61). The annotated B-scans are those with any boundary marked; each is cropped to its
  annotated A-scans and converted to a label map as below. Subjects 01-06 train, 07-08 val, 09-10 test.
* ``OCTBoundaryCSV``: ``{split}/images/<id>.png`` with ``{split}/boundaries/<id>.csv``, one row per
  boundary (top to bottom), one column per A-scan, row positions in pixels (0-based), empty where
  missing.

Label maps and boundaries convert both ways. :func:`label_map_from_boundaries`: a pixel's label is
the number of boundaries at or above it; a missing boundary takes the position of the next one below
(its layer has zero thickness), and the fluid mask is painted over with label ``num_boundaries + 1``.
Reading boundaries off a label map (``cenet_lib.metrics.boundary_positions``) skips fluid pixels, so
a boundary under fluid is found at the first non-fluid pixel of the layer below it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import loadmat

from ..metrics.layers import boundary_positions
from ..tasks import LayerBoundaryTask
from .base import DatasetError, Reader, Sample, check_same_size
from .io import list_images, read_array, read_image

DUKE_BOUNDARIES = ("ILM", "NFL/GCL", "IPL/INL", "INL/OPL", "OPL/ONL", "ISM/ISE", "IS/OS-OS/RPE", "BM")
DUKE_FLUID = len(DUKE_BOUNDARIES) + 1  # label 9
#: The regions of a Duke label map, by label.
DUKE_CLASSES = ("above ILM", "NFL", "GCL+IPL", "INL", "OPL", "ONL+ISM", "ISE", "OS+RPE", "below BM", "fluid")
DUKE_SUBJECT_SPLITS = {"train": range(1, 7), "val": range(7, 9), "test": range(9, 11)}


def label_map_from_boundaries(boundaries: np.ndarray, height: int, fluid: np.ndarray | None = None) -> np.ndarray:
    """(K, W) boundary rows -> (height, W) uint8 label map; see the module docstring."""
    filled = np.array(boundaries, dtype=np.float64)
    filled[-1] = np.where(np.isnan(filled[-1]), height, filled[-1])
    for k in range(len(filled) - 2, -1, -1):  # a missing boundary coincides with the one below
        filled[k] = np.where(np.isnan(filled[k]), filled[k + 1], filled[k])
    rows = np.arange(height)[None, :, None]
    labels = (rows >= np.ceil(filled)[:, None, :]).sum(axis=0).astype(np.uint8)
    if fluid is not None:
        labels[fluid.astype(bool)] = len(boundaries) + 1
    return labels


def boundaries_from_label_map(label_map: np.ndarray, num_boundaries: int = len(DUKE_BOUNDARIES)) -> np.ndarray:
    """(num_boundaries, W) rows of the boundaries of a label map, fluid skipped, NaN where absent."""
    return boundary_positions(label_map, num_boundaries, ignore_labels=(num_boundaries + 1,))


class _OCTReader(Reader):
    num_classes = len(DUKE_BOUNDARIES) + 2  # 9 regions and fluid
    class_names = DUKE_CLASSES
    in_channels = 1
    splits = ("train", "val", "test")
    num_boundaries = len(DUKE_BOUNDARIES)
    task = LayerBoundaryTask(DUKE_BOUNDARIES)

    def _list_split(self, annotations: str) -> Path:
        """List ``<root>/<split>/images`` into ``images`` and ``ids``; return ``<root>/<split>/<annotations>``."""
        split_dir = self.require_dir(self.root / self.split, f"{self.split} split")
        self.images = list_images(self.require_dir(split_dir / "images", "images"))
        self.ids = [p.stem for p in self.images]
        self.require_nonempty()
        return self.require_dir(split_dir / annotations, annotations)

    def _sample(self, image_id: str, image: np.ndarray, labels: np.ndarray, source: str) -> Sample:
        if labels.max() > self.num_classes - 1:
            raise DatasetError(f"{source}: label {int(labels.max())} is out of range 0..{self.num_classes - 1}.")
        sample = Sample(
            image_id, image, labels, extra={"boundaries": boundaries_from_label_map(labels, self.num_boundaries)}
        )
        return check_same_size(sample, source)


class DukeDME(_OCTReader):
    name = "duke"
    folder = "Duke-DME-2015"
    instructions = (
        "The Duke DME OCT set (Chiu et al. 2015) is free for research from Duke's VIP lab site. Put the per-B-scan "
        "layout ({train,val,test}/images and labels) in <data root>/Duke-DME-2015/, or the official Subject_XX.mat "
        "files in <data root>/Duke-DME-2015-mat/ (python -m cenet_lib.data fetch duke explains)."
    )

    def __init__(self, root: Path, split: str = "train") -> None:
        super().__init__(root, split)
        self.labels_dir = self._list_split("labels")

    def load(self, index: int) -> Sample:
        image = read_image(self.images[index], channels=1)
        label_file = self.labels_dir / self.images[index].name
        labels = read_array(label_file)
        if labels.ndim != 2:
            raise DatasetError(f"{label_file}: expected a single-channel label map, found shape {labels.shape}.")
        return self._sample(self.ids[index], image, labels, str(self.images[index]))


class DukeDMEMat(_OCTReader):
    name = "duke_mat"
    folder = "Duke-DME-2015-mat"
    instructions = DukeDME.instructions

    def __init__(self, root: Path, split: str = "train") -> None:
        super().__init__(root, split)
        self.require_dir(self.root, "dataset")
        self.scans: list[tuple[np.ndarray, np.ndarray]] = []
        for subject in DUKE_SUBJECT_SPLITS[split]:
            path = self.root / f"Subject_{subject:02d}.mat"
            for number, image, labels in self._annotated_scans(path):
                self.ids.append(f"Subject_{subject:02d}_{number:02d}")
                self.scans.append((image, labels))
        self.require_nonempty()

    @staticmethod
    def _annotated_scans(path: Path):
        if not path.is_file():
            raise DatasetError(f"duke_mat: {path} not found.\n{DukeDME.instructions}")
        try:
            content = loadmat(path)
            images, layers = content["images"], content["manualLayers1"]
        except Exception as error:  # truncated, not a MAT file, or missing fields
            raise DatasetError(
                f"{path}: not a Duke DME subject file with 'images' and 'manualLayers1' ({error})."
            ) from error
        fluid = content.get("manualFluid1")
        annotated = [s for s in range(layers.shape[2]) if np.isfinite(layers[:, :, s]).any()]
        for number, s in enumerate(annotated):
            boundaries = layers[:, :, s].astype(np.float64) - 1  # MATLAB rows are 1-based
            columns = np.flatnonzero(np.isfinite(boundaries).any(axis=0))
            columns = slice(columns.min(), columns.max() + 1)
            scan_fluid = None if fluid is None else fluid[:, columns, s] > 0
            labels = label_map_from_boundaries(boundaries[:, columns], images.shape[0], scan_fluid)
            yield number, np.asarray(images[:, columns, s], dtype=np.uint8)[..., None], labels

    def load(self, index: int) -> Sample:
        image, labels = self.scans[index]
        return self._sample(self.ids[index], image, labels, self.ids[index])


class OCTBoundaryCSV(_OCTReader):
    name = "oct_csv"
    folder = "OCT-boundaries"
    instructions = (
        "A plain OCT layout: <root>/{train,val,test}/images/<id>.png and <root>/{split}/boundaries/<id>.csv, one row "
        "per boundary, one column per A-scan, 0-based row positions, empty cells where a boundary is missing."
    )

    def __init__(self, root: Path, split: str = "train") -> None:
        super().__init__(root, split)
        self.boundaries_dir = self._list_split("boundaries")

    def load(self, index: int) -> Sample:
        image = read_image(self.images[index], channels=1)
        csv = self.boundaries_dir / f"{self.ids[index]}.csv"
        if not csv.is_file():
            raise DatasetError(f"oct_csv: no boundary file for {self.images[index]}: expected {csv}.")
        boundaries = np.genfromtxt(csv, delimiter=",", ndmin=2)
        if boundaries.shape != (self.num_boundaries, image.shape[1]):
            raise DatasetError(
                f"{csv}: expected {self.num_boundaries} rows of {image.shape[1]} A-scans, found {boundaries.shape}."
            )
        labels = label_map_from_boundaries(boundaries, image.shape[0])
        return self._sample(self.ids[index], image, labels, str(csv))
