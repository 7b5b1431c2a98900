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
    assert (
        main(["train", "--dataset", "drive", "--model", "backbone", "--profile", "smoke", "--run-dir", str(run)]) == 0
    )
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
    assert provenance["encoder_weights"] == "random initialisation" and provenance["tta"] is True
    assert "fov_auc" in result["summary"] and "fov_sensitivity" in result["human_observer"]


def test_evaluate_again_without_tta(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--no-tta", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA" in out and "fov_auc" in out
    assert json.loads((trained_run / "metrics_test.json").read_text())["provenance"]["tta"] is True  # kept
    assert json.loads((trained_run / "metrics_test_no-tta.json").read_text())["provenance"]["tta"] is False


def test_predict_writes_maps_masks_and_overlays(trained_run, tmp_path, synthetic_root):
    images = synthetic_root / "DRIVE" / "test" / "images"
    assert main(["predict", str(trained_run / "model.pt"), str(images), "--out", str(tmp_path), "--overlay"]) == 0
    prob = np.asarray(Image.open(tmp_path / "01_test_prob.png"))
    mask = np.asarray(Image.open(tmp_path / "01_test_mask.png"))
    assert prob.shape == mask.shape == (136, 128) and set(np.unique(mask)) <= {0, 255}
    assert np.asarray(Image.open(tmp_path / "01_test_overlay.png")).shape == (136, 128, 3)


def test_bad_input_messages(trained_run, tmp_path, capsys):
    assert main(["train", "--dataset", "drive", "--model", "cenett", "--profile", "smoke"]) == 1
    assert "setting model='cenett' is not valid; choose one of: cenet," in capsys.readouterr().err
    assert main(["train", "--dataset", "nowhere", "--profile", "smoke"]) == 1
    assert "Unknown dataset 'nowhere'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(trained_run / "model.pt"), str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 1
    assert "No images found" in capsys.readouterr().err
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(grey)
    assert main(["predict", str(trained_run / "model.pt"), str(grey), "--out", str(tmp_path / "o")]) == 0
    assert "grey.png is grey; the model takes colour images, so it is converted" in capsys.readouterr().out
    assert (tmp_path / "o" / "grey_mask.png").is_file()
    assert main(["predict", str(trained_run), str(grey.parent / "absent.png"), "--out", str(tmp_path / "o")]) == 1
    assert "File not found" in one_line(capsys)  # the run folder itself was accepted as the model
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "Checkpoint not found" in one_line(capsys)


def one_line(capsys) -> str:
    """The error printed, checked to be a single line (no traceback)."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("content", [b"", b"this is not a checkpoint", b"PK\x03\x04garbage"])
def test_garbage_checkpoint_gives_one_line(content, tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(content)
    assert main(["predict", str(tmp_path / "model.pt"), str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert "Cannot read" in one_line(capsys)


def test_cuda_without_a_gpu_suggests_auto_or_cpu(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--dataset", "drive", "--profile", "smoke", "--device", "cuda", "--no-evaluate"]) == 1
    err = one_line(capsys)
    assert "no CUDA GPU" in err and "device=auto" in err and "device=cpu" in err


def test_a_run_directory_is_never_silently_restarted(trained_run, tmp_path, capsys):
    assert (
        main(
            ["train", "--dataset", "drive", "--model", "backbone", "--profile", "smoke", "--run-dir", str(trained_run)]
        )
        == 1
    )
    assert "--resume to continue it, --force to start over" in one_line(capsys)
    assert (
        main(["train", "--dataset", "drive", "--profile", "smoke", "--run-dir", str(tmp_path / "new"), "--resume"]) == 1
    )
    assert "Nothing to resume" in one_line(capsys)
    assert not (tmp_path / "new").exists()


def test_smoke_profile_on_a_folder_of_own_images(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for k in range(4):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"i{k}.png")
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "masks").mkdir()
    for k in range(4):
        (tmp_path / f"i{k}.png").rename(tmp_path / "data" / "images" / f"i{k}.png")
        Image.fromarray((rng.random((40, 48)) > 0.5).astype(np.uint8) * 255).save(
            tmp_path / "data" / "masks" / f"i{k}.png"
        )
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                str(tmp_path / "data"),
                "--model",
                "backbone",
                "--profile",
                "smoke",
                "--run-dir",
                str(run),
            ]
        )
        == 0
    )
    assert "SYNTHETIC" not in capsys.readouterr().out  # the folder itself, not a stand-in


def test_section_writes_its_table_and_the_index(tmp_path, synthetic_cache, monkeypatch, capsys):
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    assert main(["section", "lung", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    results = tmp_path / "smoke"
    meta = json.loads((results / "tables" / "table_III.json").read_text())
    assert meta["section"] == "lung" and meta["profile"] == "smoke" and "synthetic" in meta["dataset"]
    assert (results / "figures" / "loss_curves_lung.png").is_file()
    assert "[Table III." in (results / "README.md").read_text()
    assert "lung: Table III on synthetic stand-in" in capsys.readouterr().out
    assert not list((results / "runs").rglob("*.pt"))  # smoke runs keep no checkpoint and no weights once scored
    assert len(list((results / "runs").rglob("predictions/index.json"))) == 3

    # a rerun trains nothing and says it reused the finished rows
    (scores,) = (results / "runs" / "lung").glob("cenet-dice-*-seed0/metrics_test_per_image.csv")
    before = scores.read_text()
    monkeypatch.setattr("cenet_lib.reporting.runner.train", None)
    assert main(["section", "lung", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    assert scores.read_text() == before
    assert "CE-Net (3/3, seed 0): reusing the finished run" in capsys.readouterr().out


def own_folder(root, count=6):
    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(count):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(root / "images" / f"c{k}.png")
        Image.fromarray((rng.random((40, 48)) > 0.5).astype(np.uint8) * 255).save(root / "masks" / f"c{k}.png")
    return root


def truncate(folder):
    path = folder / "images" / "c1.png"
    path.write_bytes(path.read_bytes()[:60])
    return "c1.png", "truncated or corrupt"


def resize_mask(folder):
    Image.fromarray(np.zeros((30, 48), np.uint8)).save(folder / "masks" / "c2.png")
    return "c2", "same size"


def odd_labels(folder):
    Image.fromarray(np.arange(40 * 48).reshape(40, 48).astype(np.uint8)).save(folder / "masks" / "c3.png")
    return "c3.png", "values other than 0/1/255"


def drop_mask(folder):
    (folder / "masks" / "c4.png").unlink()
    return "c4.png", "no mask"


def empty_test_split(folder):
    (folder / "cenet_splits.json").write_text('{"train": ["c0", "c1", "c2", "c3", "c4", "c5"], "test": []}')
    return "'test' split", "holds no images"


@pytest.mark.parametrize("spoil", [truncate, resize_mask, odd_labels, drop_mask, empty_test_split])
def test_bad_data_stops_train_before_anything_is_built(spoil, tmp_path, capsys, monkeypatch):
    """Each bad input gives one line naming the file (or split) and the fix, before a model is built
    or the run folder is written; a bad file the first images would not reach is found all the same."""
    import cenet_lib.training as training

    folder = own_folder(tmp_path / "mine")
    named, fix = spoil(folder)
    monkeypatch.setattr(training, "build_parts", None)  # nothing may get this far
    run = tmp_path / "run"
    code = main(["train", "--dataset", str(folder), "--profile", "smoke", "--run-dir", str(run), "max_images=1"])
    err = one_line(capsys)
    assert code == 1 and named in err and fix in err, err
    assert not run.exists()


def test_train_takes_a_data_root_and_names_a_missing_dataset(tmp_path, capsys):
    assert (
        main(["train", "--dataset", "drive", "--profile", "quick", "--data-root", str(tmp_path), "--no-evaluate"]) == 1
    )
    err = one_line(capsys)
    assert f"folder not found: {tmp_path / 'DRIVE'}" in err


def test_predict_writes_an_exif_rotated_photo_at_its_shown_size(trained_run, tmp_path):
    """A phone's JPEG is stored 40 wide and 64 high with EXIF orientation 6: every viewer shows it
    64 wide and 40 high, and so do the predicted maps."""
    stored = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    stored.save(tmp_path / "photo.jpg", exif=exif)
    assert main(["predict", str(trained_run), str(tmp_path / "photo.jpg"), "--out", str(tmp_path / "out")]) == 0
    assert Image.open(tmp_path / "out" / "photo_mask.png").size == (64, 40)
