"""Your own images as the paper's are treated: a region of interest for a folder, any image size
within a memory budget (tiles chosen to cover it evenly), probabilities at full precision, a
threshold of your choice."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image

from cenet_lib.cli import main
from cenet_lib.data.policy import InputPolicy
from cenet_lib.inferers import (
    BUDGET_OVERLAP,
    SlidingWindowInferer,
    WholeImageInferer,
    even_tile,
    inferer_for,
    tile_for_budget,
)
from cenet_lib.sliding_window import tile_starts


def fundus_folder(root, count=6, size=(48, 56)):
    """Images with vessels-like stripes, their masks, and a round field of view in ``fov/``."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: size[0], : size[1]]
    fov = ((yy - size[0] / 2) ** 2 + (xx - size[1] / 2) ** 2) < (min(size) / 2 - 2) ** 2
    for folder in ("images", "masks", "fov"):
        (root / folder).mkdir(parents=True)
    for k in range(count):
        mask = ((xx + 3 * k) % 9 < 2) & fov
        image = (rng.integers(0, 60, (*size, 3)) + 150 * mask[..., None] * fov[..., None]).astype(np.uint8)
        Image.fromarray(image).save(root / "images" / f"eye{k}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"eye{k}.png")
        Image.fromarray(fov.astype(np.uint8) * 255).save(root / "fov" / f"eye{k}.png")
    return root


@pytest.fixture(scope="module")
def fov_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    data = fundus_folder(root / "fundus")
    run = root / "run"
    assert main(["train", "--dataset", str(data), "--model", "unet", "--profile", "smoke", "--recipe", "scratch",
                 "--run-dir", str(run), "input_policy=crop", "input_size=32"]) == 0
    return data, run


def test_a_folder_with_a_region_of_interest_is_scored_inside_it_and_whole(fov_run, capsys):
    data, run = fov_run
    scores = pd.read_csv(run / "metrics_test_per_image.csv")
    assert {"fov_dice", "fov_auc", "whole_dice", "whole_auc"} <= set(scores.columns)
    assert (scores["fov_specificity"] != scores["whole_specificity"]).any()  # the black surround counts only whole
    assert main(["data", "check", str(data)]) == 0
    assert "a region of interest per image" in capsys.readouterr().out


def test_a_region_of_interest_is_checked_like_a_mask(tmp_path, capsys):
    data = fundus_folder(tmp_path / "fundus")
    (data / "fov" / "eye2.png").unlink()
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(data / "fov" / "eye3.png")
    assert main(["data", "check", str(data)]) == 1
    out = capsys.readouterr().out
    assert "eye2.png -> expected" in out and "/fov/eye2" in out


def test_the_tile_for_a_budget_covers_an_image_evenly():
    assert tile_for_budget((584, 565), 8, 1.0) is None  # DRIVE whole, as the committed tables were scored
    tile = tile_for_budget((2336, 3504), 8, 1.0)
    assert tile is not None and max(tile) <= 704 and tile[0] % 32 == 0 and tile[1] % 32 == 0
    for length, side in zip((2336, 3504), tile, strict=True):
        starts = tile_starts(length, side, BUDGET_OVERLAP)
        assert starts[-1] + side == length and all(b - a <= side for a, b in zip(starts, starts[1:], strict=False))
        wasted = len(starts) * side / length
        assert wasted < 1.25, (length, side, starts)  # a cover with little overlap, so tiling costs little time
    assert even_tile(3504, 704, BUDGET_OVERLAP) == 672 and even_tile(500, 704, BUDGET_OVERLAP) == 500
    crop = InputPolicy("crop", (192, 192))
    assert isinstance(inferer_for(crop, True, (2336, 3504), 1.0), SlidingWindowInferer)
    assert isinstance(inferer_for(crop, True, (584, 565), 1.0), WholeImageInferer)
    assert isinstance(inferer_for(InputPolicy("resize", (256, 256)), True, (2336, 3504), 1.0), WholeImageInferer)


def test_predict_tiles_a_large_image_and_writes_probabilities_at_full_precision(fov_run, tmp_path, capsys):
    _, run = fov_run
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (300, 420, 3), dtype=np.uint8)).save(tmp_path / "large.png")
    out_whole, out_tiled = tmp_path / "whole", tmp_path / "tiled"
    assert main(["predict", str(run), str(tmp_path / "large.png"), "--out", str(out_whole), "--tile", "0",
                 "--probabilities", "--no-tta"]) == 0
    assert main(["predict", str(run), str(tmp_path / "large.png"), "--out", str(out_tiled), "--memory-gb", "0.01",
                 "--probabilities", "--no-tta"]) == 0
    assert "predicted in tiles of" in capsys.readouterr().out
    whole = tifffile.imread(out_whole / "large_probabilities.tif")
    tiled = tifffile.imread(out_tiled / "large_probabilities.tif")
    assert whole.dtype == np.float32 and whole.shape == (300, 420) and len(np.unique(whole)) > 256  # > 8 bits
    assert Image.open(out_tiled / "large_mask.png").size == (420, 300)
    assert np.abs(whole - tiled).max() < 0.05  # U-Net's receptive field: tiles change probabilities little
    eight_bit = np.asarray(Image.open(out_whole / "large_prob.png"))
    assert np.abs(eight_bit / 255 - whole).max() <= 0.5 / 255 + 1e-6


def test_threshold_sets_the_cut_off_and_bad_options_say_so(fov_run, tmp_path, capsys):
    _, run = fov_run
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    for cut in ("0.2", "0.8"):
        assert main(["predict", str(run), str(tmp_path / "a.png"), "--out", str(tmp_path / cut), "--probabilities",
                     "--threshold", cut]) == 0
        probabilities = tifffile.imread(tmp_path / cut / "a_probabilities.tif")
        mask = np.asarray(Image.open(tmp_path / cut / "a_mask.png")) > 0
        assert np.array_equal(mask, probabilities >= float(cut))
    assert main(["predict", str(run), str(tmp_path / "a.png"), "--out", str(tmp_path / "x"), "--threshold", "2"]) == 1
    assert "--threshold 2.0: a probability cut-off lies strictly between 0 and 1" in capsys.readouterr().err
    assert main(["predict", str(run), str(tmp_path / "a.png"), "--out", str(tmp_path / "x"), "--tile", "big"]) == 1
    assert "--tile big: give auto, 0 (whole images) or a side of at least 32 pixels" in capsys.readouterr().err


def test_onnx_metadata_of_a_crop_policy_run(fov_run, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime

    _, run = fov_run
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    metadata = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]) \
        .get_modelmeta().custom_metadata_map
    assert json.loads(metadata["cenet.input_policy"])["input_policy"] == "crop"
    assert metadata["cenet.preprocessing"].startswith("rescale the image by 1 (1 = native size)")
