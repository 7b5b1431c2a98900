"""Augmentation and preprocessing of section III-A."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from cenet_lib.data import Augmentation, SegmentationDataset, build_reader
from cenet_lib.data.base import Sample
from cenet_lib.data.transforms import FLIPS, dihedral, normalize, resize, undo_dihedral

NO_COLOUR = {"hue": 0.0, "saturation": 0.0, "value": 0.0}


def test_dihedral_group_has_eight_distinct_elements_and_inverses():
    array = np.arange(12).reshape(3, 4)
    images = [dihedral(array, k) for k in range(8)]
    assert len({im.tobytes() + bytes(im.shape) for im in images}) == 8
    for k in range(8):
        np.testing.assert_array_equal(undo_dihedral(dihedral(array, k), k), array)
    np.testing.assert_array_equal(dihedral(array, 4), array.T)  # the diagonal flip


def blob_sample(labels=(0, 1)) -> Sample:
    mask = np.zeros((64, 80), np.uint8)
    mask[20:40, 10:50] = labels[1]
    mask[45:60, 60:75] = labels[-1]
    image = np.repeat((mask * (200 // max(labels)))[..., None], 3, axis=2).astype(np.uint8)
    return Sample("blob", image, mask, np.ones((64, 80), bool))


def test_flips_only_keep_image_and_mask_aligned():
    augment = Augmentation(scale=(1.0, 1.0), shift=0.0, **NO_COLOUR)
    for seed in range(10):
        out = augment(blob_sample(), np.random.default_rng(seed))
        np.testing.assert_array_equal(out.image[..., 0], out.mask * 200)


def test_horizontal_flips_keep_top_and_bottom():
    """``flips=horizontal`` (OCT): the image is left as it is or mirrored left-right, never turned
    upside down or on its side, and both happen."""
    sample = blob_sample()
    augment = Augmentation(scale=(1.0, 1.0), shift=0.0, flips=FLIPS["horizontal"], **NO_COLOUR)
    seen = set()
    for seed in range(20):
        out = augment(sample, np.random.default_rng(seed))
        mirrored = np.array_equal(out.mask, sample.mask[:, ::-1])
        assert mirrored or np.array_equal(out.mask, sample.mask)
        seen.add(mirrored)
    assert seen == {True, False}


@pytest.mark.parametrize("labels", [(0, 1), (0, 3, 7)])
def test_masks_stay_exactly_labelled_and_aligned(labels):
    sample = blob_sample(labels)
    augment = Augmentation(**NO_COLOUR)
    for seed in range(10):
        out = augment(sample, np.random.default_rng(seed))
        assert set(np.unique(out.mask)) <= set(labels)
        agreement = ((out.image[..., 0] > 100 // max(labels)) == (out.mask > 0)).mean()
        assert agreement > 0.97


def test_scale_stays_within_ten_percent():
    sample = blob_sample()
    augment = Augmentation(shift=0.0, flips=(), **NO_COLOUR)
    ratios = [augment(sample, np.random.default_rng(seed)).mask.sum() / sample.mask.sum() for seed in range(20)]
    assert 0.9**2 - 0.05 < min(ratios) and max(ratios) < 1.1**2 + 0.05
    assert max(ratios) - min(ratios) > 0.1  # it does scale


def test_augmentation_is_reproducible_from_the_seed():
    sample = blob_sample()
    augment = Augmentation()
    first = augment(sample, np.random.default_rng(3))
    np.testing.assert_array_equal(first.image, augment(sample, np.random.default_rng(3)).image)
    assert not np.array_equal(first.image, augment(sample, np.random.default_rng(4)).image)


def test_colour_jitter_changes_colour_not_masks():
    sample = blob_sample()
    out = Augmentation(scale=(1, 1), shift=0, flips=())(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(out.mask, sample.mask)
    assert not np.array_equal(out.image, sample.image)


def test_normalize_and_resize():
    np.testing.assert_allclose(normalize(np.array([[[0, 255]]], np.uint8)), [[[-1.6, 1.6]]], atol=1e-6)
    np.testing.assert_allclose(normalize(np.array([[[0.5]]], np.float32)), [[[0.0]]], atol=1e-6)
    mask = np.random.default_rng(0).integers(0, 4, (30, 50)).astype(np.uint8)
    resized = resize(mask, (448, 448), nearest=True)
    assert resized.shape == (448, 448) and set(np.unique(resized)) <= set(np.unique(mask))
    assert resize(np.zeros((30, 50, 1), np.uint8), (64, 64), nearest=False).shape == (64, 64, 1)


def test_dataset_items_are_reproducible_per_epoch_and_worker_count(synthetic_root):
    reader = build_reader("drive", "train", synthetic_root)
    dataset = SegmentationDataset(reader, policy=(64, 64), augmentation=Augmentation(), seed=7)
    item = dataset[1]
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
    assert item["mask"].dtype == torch.int64 and item["roi"].dtype == torch.bool
    assert torch.equal(item["image"], dataset[1]["image"])
    dataset.set_epoch(1)
    assert not torch.equal(item["image"], dataset[1]["image"])

    def batches(workers: int) -> list[torch.Tensor]:
        loader = DataLoader(dataset, batch_size=2, num_workers=workers)
        return [batch["image"] for batch in loader]

    for serial, parallel in zip(batches(0), batches(2), strict=True):
        assert torch.equal(serial, parallel)
