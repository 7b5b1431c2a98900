"""The command line end to end on a synthetic stand-in: train, evaluate, predict, bad input."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from cenet_lib.cli import main


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, synthetic_cache, monkeypatch_module):
    monkeypatch_module.setenv("CENET_CACHE", str(synthetic_cache))
    run = tmp_path_factory.mktemp("runs") / "smoke"
    assert main(["train", "--dataset", "drive", "--model", "backbone", "--profile", "smoke", "--run-dir", str(run)]) == 0
    yield run
    shutil.rmtree(run)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_train_writes_a_complete_run(trained_run):
    for name in ("config.yaml", "model.pt", "log.csv", "loss_curve.png", "metrics_test.json",
                 "metrics_test_per_image.csv", "metrics_test_summary.csv", "human_observer_per_image.csv"):
        assert (trained_run / name).is_file(), name
    assert not (trained_run / "checkpoint.pt").exists()  # deleted once model.pt is written
    result = json.loads((trained_run / "metrics_test.json").read_text())
    provenance = result["provenance"]
    assert provenance["synthetic"] is True and provenance["profile"] == "smoke" and provenance["recipe"] == "paper"
    assert provenance["encoder_weights"].startswith("scratch") and provenance["tta"] is True
    assert "fov_auc" in result["summary"] and "fov_sensitivity" in result["human_observer"]


def test_evaluate_again_without_tta(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--no-tta"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA" in out and "fov_auc" in out
    assert json.loads((trained_run / "metrics_test.json").read_text())["provenance"]["tta"] is False


def test_predict_writes_maps_masks_and_overlays(trained_run, tmp_path, synthetic_root):
    images = synthetic_root / "DRIVE" / "test" / "images"
    assert main(["predict", str(trained_run / "model.pt"), str(images), "--out", str(tmp_path), "--overlay"]) == 0
    prob = np.asarray(Image.open(tmp_path / "01_test_prob.png"))
    mask = np.asarray(Image.open(tmp_path / "01_test_mask.png"))
    assert prob.shape == mask.shape == (136, 128) and set(np.unique(mask)) <= {0, 255}
    assert np.asarray(Image.open(tmp_path / "01_test_overlay.png")).shape == (136, 128, 3)


def test_bad_input_messages(trained_run, tmp_path, capsys):
    assert main(["train", "--dataset", "drive", "--model", "cenett", "--profile", "smoke"]) == 1
    assert "Registered models: cenet" in capsys.readouterr().err
    assert main(["train", "--dataset", "nowhere", "--profile", "smoke"]) == 1
    assert "Unknown dataset 'nowhere'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(trained_run / "model.pt"), str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 1
    assert "No images found" in capsys.readouterr().err
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(grey)
    assert main(["predict", str(trained_run / "model.pt"), str(grey), "--out", str(tmp_path / "o")]) == 1
    assert "expected an image with 3 channel" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "Checkpoint not found" in capsys.readouterr().err


def test_section_writes_its_table_and_the_index(tmp_path, synthetic_cache, monkeypatch, capsys):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    assert main(["section", "lung", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    results = tmp_path / "smoke"
    meta = json.loads((results / "tables" / "table_III.json").read_text())
    assert meta["section"] == "lung" and meta["profile"] == "smoke" and "synthetic" in meta["dataset"]
    assert (results / "figures" / "loss_curves_lung.png").is_file()
    assert "[Table III." in (results / "README.md").read_text()
    assert "lung: Table III on synthetic stand-in" in capsys.readouterr().out
    assert not list((results / "runs").rglob("checkpoint.pt"))  # finished runs keep model.pt only

    # a rerun trains nothing; a row that lost its scores is evaluated again
    scores = results / "runs" / "lung" / "ce-net-seed0" / "metrics_test_per_image.csv"
    before = scores.read_text()
    scores.unlink()
    monkeypatch.setattr("cenet_lib.reporting.experiments.train", None)
    assert main(["section", "lung", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    assert scores.read_text() == before
