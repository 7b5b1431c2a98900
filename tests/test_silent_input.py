"""Inputs that used to pass every check and train on nonsense: 16-bit images, colour masks, and a
resume with settings other than the run's own. Each is refused (or read right) before a model is built."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
import yaml
from PIL import Image

from cenet_lib import training
from cenet_lib.checkpoint import load_checkpoint
from cenet_lib.cli import main
from cenet_lib.config import load_config
from cenet_lib.data import DatasetError, build_reader

SIZE = 48


def folder_dataset(root: Path, image=None, mask=None, count: int = 4) -> Path:
    """``count`` images with masks (a bright square on a dark background) in the folder layout;
    ``image(i, array)`` / ``mask(i, array)`` write file ``i`` their own way."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        square = np.zeros((SIZE, SIZE), np.uint8)
        square[10 + i : 30 + i, 12:34] = 1
        picture = (rng.integers(0, 60, (SIZE, SIZE)) + 150 * square).astype(np.uint8)
        (image or (lambda k, a: Image.fromarray(a).save(root / "images" / f"{k}.png")))(i, picture)
        (mask or (lambda k, a: Image.fromarray(a * 255).save(root / "masks" / f"{k}.png")))(i, square)
    return root


def refuses_before_building(tmp_path, monkeypatch, capsys, folder: Path, *expected: str) -> None:
    monkeypatch.setattr(training, "build_parts", None)  # nothing may get this far
    assert main(["train", "--dataset", str(folder), "--profile", "smoke", "--run-dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    assert not (tmp_path / "run").exists()


def test_16_bit_images_are_refused_with_the_rule(tmp_path, monkeypatch, capsys):
    def sixteen_bit(k, array):  # a 12-bit range stored in 16 bits, as microscope exports do
        deep = array.astype(np.uint16) * 16
        if k % 2:
            tifffile.imwrite(tmp_path / "data" / "images" / f"{k}.tif", deep)
        else:
            Image.fromarray(deep).save(tmp_path / "data" / "images" / f"{k}.png")

    folder = folder_dataset(tmp_path / "data", image=sixteen_bit)
    assert np.asarray(Image.open(folder / "images" / "0.png")).dtype == np.uint16  # the file is really 16-bit
    with pytest.raises(DatasetError, match=r"0.png: a 16-bit integer image \(uint16, values \d+\.\.\d+\).*8-bit PNG"):
        build_reader(str(folder), "train").load(0)
    refuses_before_building(
        tmp_path, monkeypatch, capsys, folder, "problems in the data", "1.tif: a 16-bit", "0.png: a 16-bit"
    )

    assert main(["data", "check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"train +\d images \(uint16\), 1 channel\(s\), 1 class\(es\): \d problem", out), out


def test_a_deep_file_holding_8_bit_values_reads_as_that_image(tmp_path):
    eight = folder_dataset(tmp_path / "eight")
    deep = folder_dataset(
        tmp_path / "deep",
        image=lambda k, a: tifffile.imwrite(tmp_path / "deep" / "images" / f"{k}.tif", a.astype(np.uint16)),
    )
    for index in range(2):
        expected, found = build_reader(str(eight), "train")[index], build_reader(str(deep), "train")[index]
        assert found.image.dtype == np.uint8 and np.array_equal(found.image, expected.image)


def test_colour_masks_are_refused_and_grey_rgb_masks_read(tmp_path, monkeypatch, capsys):
    def green(k, array):  # objects in green on black, as annotation tools save them
        rgb = np.zeros((*array.shape, 3), np.uint8)
        rgb[..., 1] = array * 255
        Image.fromarray(rgb).save(tmp_path / "colour" / "masks" / f"{k}.png")

    folder = folder_dataset(tmp_path / "colour", mask=green)
    with pytest.raises(
        DatasetError, match=r"3 colour mask\(s\) .*\(0.png, 1.png, 3.png\).*\(0, 255, 0\).*single-channel PNG"
    ):
        build_reader(str(folder), "train")
    refuses_before_building(tmp_path, monkeypatch, capsys, folder, "colour mask", "single-channel PNG")

    grey_rgb = folder_dataset(
        tmp_path / "grey",
        mask=lambda k, a: Image.fromarray(np.repeat(a[..., None] * 255, 3, 2)).save(
            tmp_path / "grey" / "masks" / f"{k}.png"
        ),
    )
    grey = folder_dataset(tmp_path / "plain")
    found, expected = build_reader(str(grey_rgb), "train")[0], build_reader(str(grey), "train")[0]
    assert found.mask.any() and np.array_equal(found.mask, expected.mask)
    grey_alpha = folder_dataset(tmp_path / "alpha", mask=lambda k, a: Image.fromarray(
        np.stack([a * 255, np.full_like(a, 255)], -1), mode="LA").save(tmp_path / "alpha" / "masks" / f"{k}.png"))
    assert np.array_equal(build_reader(str(grey_alpha), "train")[0].mask, expected.mask)  # grey with alpha: grey


class Interrupted(Exception):
    pass


def test_resume_takes_the_runs_own_settings_and_refuses_others(tmp_path, synthetic_cache, monkeypatch, capsys):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    settings = {"dataset": "lung", "model": "backbone", "input_size": 48, "epochs": 3, "batch_size": 2, "max_images": 4,
                "checkpoint_every": 1, "tta": False}
    config = load_config("smoke", overrides=settings)  # not the smoke profile's own 64x64 and 2 epochs
    run = tmp_path / "run"

    def stop_at_three(step, total):
        if step == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        training.train(config, run, on_step=stop_at_three)
    assert load_checkpoint(run / "checkpoint.pt")["state"]["step"] == 3
    capsys.readouterr()  # the training's progress bars
    base = ["train", "--dataset", "lung", "--run-dir", str(run), "--resume", "--no-evaluate"]

    assert main([*base, "epochs=5", "input_size=64"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "epochs: saved 3, given 5" in err and "input_size: saved (48, 48), given (64, 64)" in err
    assert main([*base, "--profile", "quick"]) == 1
    assert "profile: saved 'smoke', given 'quick'" in capsys.readouterr().err
    assert main([*base, "--model", "cenet"]) == 1
    assert "model: saved 'backbone', given 'cenet'" in capsys.readouterr().err

    assert main([*base, "device=cpu", "epochs=3"]) == 0  # the same settings again, and where it runs: allowed
    saved = load_checkpoint(run / "model.pt")
    assert [row["epoch"] for row in saved["history"]] == [1, 2, 3]
    written = yaml.safe_load((run / "config.yaml").read_text())
    assert written["epochs"] == 3 and written["input_size"] == [48, 48]  # config.yaml is what trained
    whole = training.train(config, tmp_path / "whole")
    for key, value in load_checkpoint(whole)["model"].items():
        assert torch.equal(value, saved["model"][key]), key
    assert os.listdir(run) and not (run / "checkpoint.pt").exists()
