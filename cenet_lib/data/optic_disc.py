"""Optic disc segmentation (section III-B; Table I).

The paper's sets are ORIGA (650 images, Set A for training, Set B for testing), Messidor (with
disc masks) and RIM-ONE release 1 (cropped images, five experts). None may be redistributed;
DRISHTI-GS1 is the public stand-in read here, with its official Training/Test split.

For full-fundus images the paper crops an 800x800 region around the brightest point (after [71])
and the predictions are mapped back to the original frame for scoring. :func:`brightest_point`
smooths the luminance (mean of R, G, B) with a Gaussian of sigma = 2% of the image width, so that
a single hot pixel or a small reflex cannot win, and takes its maximum inside the field of view
eroded by 10% of the image width, so that glare along the rim of the field of view cannot win
either. Why 10%: on the 50 DRISHTI-GS1 training images every disc pixel lies at least 14.5% of the
width inside the field of view. Without the erosion the crop missed the disc of drishtiGS_001 (a
test image with a bright glare at the top of its field of view); with it, the 800x800 crop holds the
whole disc in all 101 images (asserted by the real-data tests). With ``crop_size`` set, a reader
returns the crop as ``image``/``mask``, the full-size reference as ``extra["full_mask"]`` and the
crop box (top, left, height, width) as ``extra["crop_box"]``; :func:`cenet_lib.tasks.paste_crop` maps a prediction
back, and the evaluation flags per image whether the crop held the whole disc.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from ..tasks import DiscCropTask
from .base import DatasetError, Reader, Sample, check_same_size
from .drive import derive_fov
from .io import list_images, read_array, read_image, read_mask
from .splits import load_split

#: A DRISHTI-GS1 soft-map pixel is disc when at least 2 of the 4 experts marked it (value >= 128).
DRISHTI_MAJORITY = 128


def brightest_point(image: np.ndarray, sigma_fraction: float = 0.02, margin_fraction: float = 0.10) -> tuple[int, int]:
    """(row, column) of the maximum of the Gaussian-smoothed luminance inside the field of view
    eroded by ``margin_fraction`` of the image width (the whole field of view where that leaves
    nothing). The image frame counts as the rim of the field of view where the field is cut off.

    Computed on a copy shrunk (by area averaging) to about 512 pixels wide, for speed; the answer is
    mapped back to the full frame."""
    colour = image if image.ndim == 3 else image[..., None]
    factor = max(1, colour.shape[1] // 512)
    if factor > 1:
        colour = cv2.resize(
            colour, (colour.shape[1] // factor, colour.shape[0] // factor), interpolation=cv2.INTER_AREA
        )
        colour = colour if colour.ndim == 3 else colour[..., None]
    grey = colour.mean(axis=2).astype(np.float32)
    smooth = cv2.GaussianBlur(grey, (0, 0), max(1.0, sigma_fraction * grey.shape[1]))
    field = derive_fov(np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour)
    inner = ndimage.distance_transform_edt(np.pad(field, 1))[1:-1, 1:-1] >= margin_fraction * grey.shape[1]
    region = inner if inner.any() else field if field.any() else np.ones_like(field)
    row, column = np.unravel_index(int(np.argmax(np.where(region, smooth, -np.inf))), smooth.shape)
    return int(row) * factor + factor // 2, int(column) * factor + factor // 2


def crop_box(center: tuple[int, int], size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """A ``size`` x ``size`` box centred on ``center``, shifted to lie inside an image of ``shape``
    (smaller when the image is)."""
    height, width = min(size, shape[0]), min(size, shape[1])
    top = int(np.clip(center[0] - height // 2, 0, shape[0] - height))
    left = int(np.clip(center[1] - width // 2, 0, shape[1] - width))
    return top, left, height, width


def _cropped(sample: Sample, size: int | None) -> Sample:
    if size is None:
        return sample
    box = crop_box(brightest_point(sample.image), size, sample.image.shape[:2])
    top, left, height, width = box
    window = (slice(top, top + height), slice(left, left + width))
    extra = {**sample.extra, "crop_box": box, "full_mask": sample.mask}
    return Sample(sample.id, sample.image[window], sample.mask[window], None, extra)


class DrishtiGS1(Reader):
    name = "drishti"
    task = DiscCropTask()
    folder = "DRISHTI-GS1"
    num_classes = 1
    in_channels = 3
    splits = ("train", "test")
    instructions = (
        "DRISHTI-GS1 (Sivaswamy et al. 2014) is distributed by IIIT Hyderabad's CVIT. Put its Training/ and Test/ "
        "folders in <data root>/DRISHTI-GS1/ (images in */Images, soft maps in */GT/<id>/SoftMap)."
    )

    def __init__(self, root: Path, split: str = "train", crop_size: int | None = 800) -> None:
        super().__init__(root, split)
        self.split_dir = self.require_dir(self.root / ("Training" if split == "train" else "Test"), f"{split} split")
        self.images = list_images(self.require_dir(self.split_dir / "Images", "Images"))
        self.ids = [p.stem for p in self.images]
        self.crop_size = crop_size
        self.require_nonempty()

    def soft_map_path(self, image_id: str) -> Path:
        return self.split_dir / "GT" / image_id / "SoftMap" / f"{image_id}_ODsegSoftmap.png"

    def load(self, index: int) -> Sample:
        image_id = self.ids[index]
        image = read_image(self.images[index], channels=3)
        soft = read_array(self.soft_map_path(image_id))
        soft = soft[..., 0] if soft.ndim == 3 else soft
        sample = Sample(image_id, image, (soft >= DRISHTI_MAJORITY).astype(np.uint8), extra={"soft_map": soft})
        return _cropped(check_same_size(sample, str(self.images[index])), self.crop_size)


class OpticDiscFolder(Reader):
    """ORIGA or Messidor, arranged as ``images/<id>.<ext>`` and ``masks/<id>.png`` (disc > 0), with
    the split in ``cenet_splits.json`` beside them (ORIGA: Set A as ``train``, Set B as ``test``)."""
    task = DiscCropTask()

    num_classes = 1
    in_channels = 3
    splits = ("train", "test")

    def __init__(
        self, root: Path, split: str = "train", crop_size: int | None = 800, split_file: Path | None = None
    ) -> None:
        super().__init__(root, split)
        images = list_images(self.require_dir(self.root / "images", "images"))
        self.masks_dir = self.require_dir(self.root / "masks", "masks")
        chosen = set(load_split(self.name, self.root, [p.stem for p in images], split_file)[split])
        self.images = [p for p in images if p.stem in chosen]
        self.ids = [p.stem for p in self.images]
        self.crop_size = crop_size
        self.require_nonempty()

    def load(self, index: int) -> Sample:
        image = read_image(self.images[index], channels=3)
        mask = read_mask(self.masks_dir / f"{self.ids[index]}.png")
        sample = check_same_size(Sample(self.ids[index], image, mask), str(self.images[index]))
        return _cropped(sample, self.crop_size)


class ORIGA(OpticDiscFolder):
    name = "origa"
    folder = "ORIGA"
    instructions = (
        "ORIGA is not redistributable; ask its owners (Zhang et al. 2010). Arrange it as <data root>/ORIGA/images/, "
        "<data root>/ORIGA/masks/ (disc masks as PNG) and a cenet_splits.json with 'train' (Set A) and 'test' (Set B)."
    )


class Messidor(OpticDiscFolder):
    name = "messidor"
    folder = "Messidor"
    instructions = (
        "Messidor images come from the Messidor programme; disc masks from Aquino et al. 2010. Arrange them as "
        "<data root>/Messidor/images/, <data root>/Messidor/masks/ and a cenet_splits.json with 'train' and 'test'."
    )


class RimOneR1(Reader):
    """RIM-ONE release 1: cropped disc images ``<id>.bmp`` with five expert masks ``<id>-exp1.bmp`` ..
    ``<id>-exp5.bmp`` side by side in ``images/``. ``expert`` picks the reference; all five are in
    ``extra["experts"]``. Splits are the cross-validation folds of the split file."""
    task = DiscCropTask()

    name = "rimone"
    folder = "RIM-ONE-r1"
    num_classes = 1
    in_channels = 3
    splits = ("train", "test")
    instructions = (
        "RIM-ONE release 1 is distributed by the MIAG group (Fumero et al. 2011). Put its images and the five experts' "
        "masks (<id>-exp1.bmp .. <id>-exp5.bmp) in <data root>/RIM-ONE-r1/images/ with a cenet_splits.json of folds."
    )

    def __init__(
        self, root: Path, split: str = "train", fold: int = 0, expert: int = 1, split_file: Path | None = None
    ) -> None:
        super().__init__(root, split)
        if not 1 <= expert <= 5:
            raise ValueError(f"rimone: expert must be 1..5, got {expert}.")
        folder = self.require_dir(self.root / "images", "images")
        images = [p for p in list_images(folder) if "-exp" not in p.stem]
        folds = load_split(self.name, self.root, [p.stem for p in images], split_file)["folds"]
        held_out = set(folds[fold])
        self.images = [p for p in images if (p.stem in held_out) == (split == "test")]
        self.ids = [p.stem for p in self.images]
        self.expert = expert
        self.require_nonempty()

    def load(self, index: int) -> Sample:
        image_file = self.images[index]
        experts = []
        for k in range(1, 6):
            path = image_file.with_name(f"{image_file.stem}-exp{k}{image_file.suffix}")
            if not path.is_file():
                raise DatasetError(f"rimone: expert {k}'s mask for {image_file} is missing: expected {path}.")
            experts.append(read_mask(path))
        image = read_image(image_file, channels=3)
        sample = Sample(self.ids[index], image, experts[self.expert - 1], extra={"experts": experts})
        return check_same_size(sample, str(image_file))
