"""A run on a folder of the user's own label maps: recorded as real data, scored per named class,
evaluated where the folder has moved, and applied with `cenet predict` that checks every input
first (or skips the bad ones with --keep-going) and writes label maps as palette PNGs too."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from cenet_lib.cli import main

CLASSES = ["background", "disc", "cup"]


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder-run")
    data = root / "my_fundus"
    rng = np.random.default_rng(0)
    for i in range(6):
        labels = np.zeros((64, 64), np.uint8)
        labels[16 + i : 48, 16:48] = 1
        labels[26:38, 26:38] = 2
        image = (rng.integers(0, 40, (64, 64, 3)) + 100 * labels[..., None]).astype(np.uint8)
        for folder, array in (("images", image), ("masks", labels)):
            (data / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(data / folder / f"eye{i}.png")
    (data / "masks" / "classes.json").write_text(json.dumps(CLASSES))
    run = root / "runs"
    assert main(["train", "--dataset", str(data), "--model", "backbone", "--profile", "smoke", "--recipe", "scratch",
                 "--run-dir", str(run)]) == 0
    return data, run


def test_a_smoke_run_on_a_real_folder_is_recorded_as_real(folder_run, monkeypatch, tmp_path):
    data, run = folder_run
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["synthetic"] is False
    assert json.loads((run / "metrics_test.json").read_text())["provenance"]["synthetic"] is False
    monkeypatch.chdir(tmp_path)
    from cenet_lib.config import load_config
    from cenet_lib.runs import default_run_dir

    named = default_run_dir(load_config("smoke", overrides={"dataset": str(data), "synthetic": False}))
    assert "synthetic" not in named.name


def test_scores_per_named_class_and_evaluation_of_a_moved_folder(folder_run, tmp_path, capsys):
    data, run = folder_run
    scores = pd.read_csv(run / "metrics_test_per_image.csv")
    assert {"dice_disc", "iou_disc", "dice_cup", "iou_cup", "pixel_accuracy"} <= set(scores.columns)
    moved = tmp_path / "elsewhere"
    shutil.copytree(data, moved)
    assert main(["evaluate", str(run), "--dataset", str(tmp_path / "nowhere")]) == 1
    assert "nowhere does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--dataset", str(moved), "--no-tta"]) == 0
    assert "iou_cup" in capsys.readouterr().out


def test_predict_checks_every_input_first_and_keeps_going_when_asked(folder_run, tmp_path, capsys):
    data, run = folder_run
    inputs = tmp_path / "inputs"
    shutil.copytree(data / "images", inputs)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(inputs / "eye3.png")  # grey among colour images
    (inputs / "eye4.png").write_bytes((inputs / "eye4.png").read_bytes()[:100])  # truncated
    out = tmp_path / "out"
    assert main(["predict", str(run), str(inputs), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1 of 6 inputs cannot be used, nothing was written" in err and "eye4.png" in err
    assert not any(out.iterdir())

    assert main(["predict", str(run), str(inputs), "--out", str(out), "--keep-going"]) == 1
    said = capsys.readouterr()
    assert said.err.count("skipped") == 1 and "eye3.png is grey" in said.out
    assert "Label colours in *_labels_colour.png: 0 = RGB(0, 0, 0)" in said.out
    assert sorted(p.name for p in out.glob("*_labels.png")) == [f"eye{i}_labels.png" for i in (0, 1, 2, 3, 5)]
    colour = Image.open(out / "eye0_labels_colour.png")
    assert colour.mode == "P" and colour.getpalette()[:3] == [0, 0, 0] and max(colour.getpalette()[3:9]) > 0
    assert np.array_equal(np.asarray(colour), np.asarray(Image.open(out / "eye0_labels.png")))
