"""The readers on the real datasets in ../shared/data (skipped when absent): counts, shapes, dtypes,
value conventions and split sizes asserted against the real files."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from cenet_lib.data import build_reader
from cenet_lib.data.drive import derive_fov
from cenet_lib.data.splits import SPLITS_DIR

pytestmark = pytest.mark.real_data


def test_drive(real_root):
    train, test = build_reader("drive", "train", real_root), build_reader("drive", "test", real_root)
    assert len(train) == len(test) == 20 and not train.synthetic
    assert train.ids[0] == "21" and test.ids[0] == "01"
    for sample in test:
        assert sample.image.shape == (584, 565, 3) and sample.image.dtype == np.uint8
        assert set(np.unique(sample.mask)) == {0, 1}
        assert sample.extra["fov_source"] == "provided"
        second = sample.extra["second_observer"]  # stored 0/1 on disk
        assert set(np.unique(second)) == {0, 1} and 0.05 < second.mean() < 0.2
        derived = derive_fov(sample.image)
        assert (derived & sample.roi).sum() / (derived | sample.roi).sum() >= 0.98
    sample = train[0]
    assert sample.extra["fov_source"] == "derived" and 0.6 < sample.roi.mean() < 0.75
    assert 0.05 < sample.mask.mean() < 0.2  # vessels cover about an eighth of the image


def test_isbi2012(real_root):
    volume = tifffile.imread(real_root / "ISBI2012/train-volume.tif")
    labels = tifffile.imread(real_root / "ISBI2012/train-labels.tif")
    assert volume.shape == labels.shape == (30, 512, 512) and volume.dtype == np.uint8
    assert set(np.unique(labels)) == {0, 255}
    folds = json.loads((SPLITS_DIR / "isbi2012.json").read_text())["folds"]
    assert [len(f) for f in folds] == [6] * 5 and folds[1][0] == "train-volume_06"  # contiguous
    for fold in range(5):
        train = build_reader("isbi2012", "train", real_root, fold=fold)
        test = build_reader("isbi2012", "test", real_root, fold=fold)
        assert len(train) == 24 and len(test) == 6 and test.ids == folds[fold]
    sample = test[0]
    assert sample.image.shape == (512, 512, 1)
    assert 0.15 < sample.mask.mean() < 0.3  # membrane pixels
    assert len(build_reader("isbi2012", "challenge_test", real_root)) == 30


def test_lung(real_root):
    train, test = build_reader("lung", "train", real_root), build_reader("lung", "test", real_root)
    assert len(train) == 213 and len(test) == 54 and not set(train.ids) & set(test.ids)
    hu = tifffile.imread(real_root / "finding-lungs-in-ct-data/2d_images" / f"{test.ids[0]}.tif")
    assert hu.dtype == np.int16 and hu.min() < -500
    sample = test[0]
    assert sample.image.shape == (512, 512, 1) and sample.image.dtype == np.uint8
    assert set(np.unique(sample.mask)) == {0, 1} and 0.05 < sample.mask.mean() < 0.5
    folds = [set(build_reader("lung", "test", real_root, fold=k).ids) for k in range(5)]
    assert sum(len(f) for f in folds) == 267 and len(set.union(*folds)) == 267


def test_drishti(real_root):
    readers = {split: build_reader("drishti", split, real_root) for split in ("train", "test")}
    assert len(readers["train"]) == 50 and len(readers["test"]) == 51
    misses = []
    for reader in readers.values():
        for sample in reader:
            assert sample.image.shape == (800, 800, 3)
            assert set(np.unique(sample.extra["soft_map"])) <= {0, 64, 128, 191, 255}
            if sample.mask.sum() < sample.extra["full_mask"].sum():
                misses.append(sample.id)
    assert misses == []  # the 800x800 crop around the brightest point holds the whole disc in all 101 images


def test_duke(real_root):
    sizes = {split: len(build_reader("duke", split, real_root)) for split in ("train", "val", "test")}
    assert sizes == {"train": 66, "val": 22, "test": 22}
    reader = build_reader("duke", "test", real_root)
    assert all(i.startswith(("Subject_09", "Subject_10")) for i in reader.ids)
    sample = reader[0]
    assert sample.image.shape[0] == 496 and 500 <= sample.image.shape[1] <= 548
    assert sample.mask.max() <= 9 and set(range(9)) <= set(np.unique(sample.mask))
    boundaries = sample.extra["boundaries"]
    assert boundaries.shape == (8, sample.image.shape[1])
    assert np.all(np.diff(boundaries, axis=0)[np.isfinite(np.diff(boundaries, axis=0))] >= 0)  # ordered
