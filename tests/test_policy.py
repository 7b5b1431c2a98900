"""The input policy (resize, or crops at native scale with whole-image inference) and tiled inference."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cenet_lib.config import load_config
from cenet_lib.data import Augmentation, SegmentationDataset, build_reader
from cenet_lib.data.policy import InputPolicy, parse_size, random_crop
from cenet_lib.evaluation import predict_sample
from cenet_lib.models import build_model
from cenet_lib.sliding_window import sliding_window_probabilities, tile_starts


def test_crops_stay_inside_and_mask_and_region_follow_the_image():
    rng = np.random.default_rng(0)
    height, width = 37, 53
    index = np.arange(height * width).reshape(height, width)  # every pixel tells where it came from
    image = np.stack([index % 256, index // 256, np.zeros_like(index)], axis=2).astype(np.uint8)
    mask, roi = index.copy(), index % 3 == 0
    for _ in range(50):
        crop_image, crop_mask, crop_roi = random_crop([image, mask, roi], (16, 24), rng)
        assert crop_image.shape == (16, 24, 3) and crop_mask.shape == crop_roi.shape == (16, 24)
        origin = crop_mask[0, 0]
        top, left = divmod(int(origin), width)
        assert 0 <= top <= height - 16 and 0 <= left <= width - 24
        np.testing.assert_array_equal(crop_mask, index[top : top + 16, left : left + 24])
        np.testing.assert_array_equal(crop_image[..., 0] + 256 * crop_image[..., 1].astype(int), crop_mask)
        np.testing.assert_array_equal(crop_roi, roi[top : top + 16, left : left + 24])


def test_a_crop_larger_than_the_image_takes_the_whole_side_and_pads():
    image = np.ones((10, 40, 1), np.uint8)
    crop, = random_crop([image], (16, 8), np.random.default_rng(0))
    assert crop.shape == (16, 8, 1) and crop[:10].all() and not crop[10:].any()


def test_crops_are_reproducible_and_independent_of_workers(synthetic_root):
    reader = build_reader("drive", "train", synthetic_root)
    policy = InputPolicy("crop", (48, 40))
    first = SegmentationDataset(reader, policy, Augmentation(), seed=3)
    second = SegmentationDataset(reader, policy, Augmentation(), seed=3)
    order = [(2, 1), (0, 1), (1, 0)]
    a = [first[key]["mask"] for key in order]
    b = [second[key]["mask"] for key in reversed(order)][::-1]  # another order, as another worker would see
    for x, y in zip(a, b, strict=True):
        assert x.shape == (48, 40)
        torch.testing.assert_close(x, y)
    assert not torch.equal(first[(0, 0)]["image"], first[(0, 1)]["image"])  # another epoch, another crop
    torch.testing.assert_close(loader_items(reader, policy, workers=0), loader_items(reader, policy, workers=2))


def loader_items(reader, policy, workers):
    from torch.utils.data import DataLoader

    dataset = SegmentationDataset(reader, policy, Augmentation(), seed=5)
    loader = DataLoader(dataset, batch_sampler=[[(0, 0), (1, 0)], [(2, 0), (3, 0)]], num_workers=workers)
    return torch.cat([batch["image"] for batch in loader])


class Local(nn.Module):
    """A network whose receptive field is 5x5 pixels: tiling with enough overlap cannot change it."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize("tile", [32, (70, 24)])  # square tiles, and full-height strips (OCT B-scans)
def test_tiled_and_whole_image_probabilities_agree(tile):
    images = torch.randn(1, 3, 70, 97)
    model = Local().eval()
    whole = torch.sigmoid(model(images))
    tiled = sliding_window_probabilities(model, images, tile=tile, overlap=0.5, tta=False)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max() < 1e-3
    assert tile_starts(97, 32, 0.5) == [0, 16, 32, 48, 64, 65]  # the last tile is flush with the edge
    assert tile_starts(20, 32, 0.5) == [0]


def test_tiled_inference_through_predict_sample_with_tta():
    image = np.random.default_rng(0).integers(0, 255, (61, 83, 3), dtype=np.uint8)
    model = Local().eval()
    whole = predict_sample(model, image, InputPolicy("crop"), tta=True)
    for tile in (32, (61, 40)):  # a side, or (height, width): TTA transposes non-square tiles too
        tiled = predict_sample(model, image, InputPolicy("crop", tile=tile, overlap=0.5), tta=True)
        assert whole.shape == tiled.shape == (1, 61, 83)
        assert np.abs(whole - tiled).max() < 1e-3


@pytest.mark.parametrize("shape", [(61, 83), (97, 45)])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_native_size_output_for_odd_sizes(shape, scale):
    model = build_model("backbone", 1).eval()
    image = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    probs = predict_sample(model, image, InputPolicy("crop", scale=scale), tta=False)
    assert probs.shape == (1, *shape) and np.isfinite(probs).all()


def test_policy_from_config_and_its_provenance():
    config = load_config("quick", overrides={"input_policy": "crop", "input_size": "[128, 256]", "input_scale": "1.0"})
    policy = InputPolicy.from_config(config)
    assert policy == InputPolicy("crop", (128, 256), 1.0, None, 0.5)
    assert policy.describe() == {
        "input_policy": "crop",
        "crop_size": [128, 256],
        "input_scale": 1.0,
        "tile_size": None,
        "tile_overlap": None,
    }
    tiled = load_config("quick", overrides={"input_policy": "crop", "tile_size": "[496, 256]"})
    assert (
        InputPolicy.from_config(tiled).tile == (496, 256)
        and InputPolicy.from_config(tiled).describe()["tile_overlap"] == 0.5
    )
    assert load_config("quick", overrides={"tile_size": "192"}).tile_size == (192, 192)
    assert load_config("quick", overrides={"tile_size": "null"}).tile_size is None
    assert InputPolicy.from_config(load_config("quick")).describe() == {
        "input_policy": "resize",
        "input_size": [256, 256],
    }
    with pytest.raises(ValueError, match="Unknown input policy"):
        InputPolicy("tile")
    horizontal = InputPolicy.from_config(load_config("quick", overrides={"flips": "horizontal"}))
    assert horizontal.flips == (0, 1) and horizontal.describe()["flips"] == "horizontal"
    with pytest.raises(ValueError, match="setting flips='vertical' is not valid; choose one of: dihedral, horizontal"):
        load_config("quick", overrides={"flips": "vertical"})


def test_sizes_on_the_command_line():
    assert parse_size("256") == (256, 256) and parse_size("384x192") == parse_size("384X192") == (384, 192)
    for bad in ("", "x192", "0x192", "384x192x3", "big"):
        with pytest.raises(ValueError, match="height x width"):
            parse_size(bad)


def test_a_section_records_the_policy_in_its_provenance(tmp_path, synthetic_cache, monkeypatch):
    import json

    from cenet_lib.reporting.section import run_section

    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    result = run_section("lung", profile="smoke", out_root=tmp_path, rows=["CE-Net"],
                         settings={"input_policy": "crop", "input_size": (64, 64)})
    meta = json.loads((result.out_dir / "tables" / "table_III.json").read_text())
    assert meta["input_policy"] == "crop" and meta["crop_size"] == [64, 64] and meta["input_scale"] == 1.0
    assert meta["steps_trained"] == 4
