"""A trained model leaves the package: ONNX at any size, a torch.export program, a saved-model folder
(safetensors, no pickle), torch.hub, and `cenet predict` on that folder; bad input gets one line."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from cenet_lib.checkpoint import load_trained_model
from cenet_lib.cli import main
from cenet_lib.data.policy import InputPolicy
from cenet_lib.models import from_pretrained, save_pretrained
from cenet_lib.models.export import export_onnx

REPOSITORY = Path(__file__).resolve().parents[1]
TRAINED_AT = 64  # the smoke profile's input size


@pytest.fixture(scope="module")
def run(tmp_path_factory, synthetic_cache):
    """CE-Net (with its DAC and RMP blocks) trained for two smoke epochs on the DRIVE stand-in."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CENET_CACHE", str(synthetic_cache))
        folder = tmp_path_factory.mktemp("export") / "run"
        assert (
            main(["train", "--dataset", "drive", "--model", "cenet", "--profile", "smoke", "--run-dir", str(folder)])
            == 0
        )
        yield folder
    shutil.rmtree(folder.parent)


def logits(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(x).numpy()


def test_onnx_serves_sizes_it_was_not_trained_at(run, tmp_path, capsys):
    import onnxruntime

    path = tmp_path / "cenet.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(path)]) == 0
    said = capsys.readouterr().out
    assert re.search(r"max \|exported - PyTorch\| logit difference 1x3x200x328: \S+, 2x3x257x177: \S+", said), said
    model, _ = load_trained_model(run)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map  # how to prepare an image, carried in the file
    assert json.loads(metadata["cenet.input_policy"]) == {"input_policy": "resize", "input_size": [TRAINED_AT] * 2}
    assert json.loads(metadata["cenet.normalization"])["offset"] == -1.6 and metadata["cenet.threshold"] == "0.5"
    assert metadata["cenet.preprocessing"].startswith(f"resize the image to {TRAINED_AT}x{TRAINED_AT}")
    for shape in [(1, 3, 130, 97), (2, 3, 352, 288)]:  # below RMP's 192 minimum, and a multiple of 32
        assert shape[-1] != TRAINED_AT
        x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
        found = session.run(None, {"image": x.numpy()})[0]
        assert found.shape == (shape[0], 1, *shape[2:])
        np.testing.assert_allclose(found, logits(model, x), atol=1e-3, rtol=0)


@pytest.mark.parametrize("size", [(96, 160), (200, 120)])
def test_torch_export_program_matches_at_its_size(run, tmp_path, size):
    path = tmp_path / "cenet.pt2"
    assert main(["export", str(run), "--format", "pt2", "--out", str(path), "--input-size", *map(str, size)]) == 0
    program = torch.export.load(path).module()
    model, _ = load_trained_model(run)
    x = torch.randn(3, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        np.testing.assert_allclose(program(x).numpy(), logits(model, x), atol=1e-3, rtol=0)


def test_saved_model_folder_reloads_identically_without_pickle(run, tmp_path):
    folder = tmp_path / "saved"
    assert main(["export", str(run), "--format", "folder", "--out", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    for file in folder.iterdir():  # pickle protocol 2+ starts with 0x80; torch.save writes a zip (PK)
        assert file.read_bytes()[:2] not in (b"\x80\x02", b"\x80\x04", b"\x80\x05", b"PK"), file.name
    config = json.loads((folder / "config.json").read_text())
    assert config["model_name"] == "cenet" and config["num_classes"] == 1 and config["in_channels"] == 3
    assert config["input_policy"]["size"] == [TRAINED_AT, TRAINED_AT] and config["normalization"]["offset"] == -1.6
    card = (folder / "README.md").read_text()
    assert "SYNTHETIC" in card and "profile smoke" in card and "random weights, not from ImageNet" in card
    steps = pd.read_csv(run / "log.csv")["step"].iloc[-1]
    assert f"{steps} steps (2 epochs)" in card  # the steps that ran, from the run's history
    assert "| fov_auc |" in card  # the run's test scores
    reloaded, saved = from_pretrained(folder)
    original, _ = load_trained_model(run)
    x = torch.randn(2, 3, 80, 72, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(logits(reloaded, x), logits(original, x))
    assert saved.policy() == InputPolicy("resize", (TRAINED_AT, TRAINED_AT))


def test_predict_gives_the_same_masks_from_a_run_and_its_saved_folder(run, tmp_path, synthetic_root):
    folder = tmp_path / "saved"
    assert main(["export", str(run), "--format", "folder", "--out", str(folder)]) == 0
    images = synthetic_root / "DRIVE" / "test" / "images"
    assert main(["predict", str(run), str(images), "--out", str(tmp_path / "from_run"), "--no-tta"]) == 0
    assert main(["predict", str(folder), str(images), "--out", str(tmp_path / "from_folder"), "--no-tta"]) == 0
    masks = sorted(p.name for p in (tmp_path / "from_run").glob("*_mask.png"))
    assert masks and masks == sorted(p.name for p in (tmp_path / "from_folder").glob("*_mask.png"))
    for name in masks:
        assert np.array_equal(
            np.asarray(Image.open(tmp_path / "from_run" / name)),
            np.asarray(Image.open(tmp_path / "from_folder" / name)),
        )


def test_torch_hub_loads_every_registered_network():
    model = torch.hub.load(str(REPOSITORY), "cenet", source="local", num_classes=2)
    assert model.model_name == "cenet" and model.head[-1].out_channels == 2
    unet = torch.hub.load(str(REPOSITORY), "unet", source="local", in_channels=1)
    assert unet(torch.zeros(1, 1, 64, 64)).shape == (1, 1, 64, 64)


def _one_line_error(capsys, argv: list[str], *expected: str) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for text in expected:
        assert text in err, err


def test_bad_exports_say_which_file_and_the_fix(run, tmp_path, capsys):
    _one_line_error(
        capsys,
        ["export", str(tmp_path / "nowhere"), "--format", "onnx", "--out", str(tmp_path / "a.onnx")],
        "Run not found",
        "nowhere",
        "cenet train",
    )
    (tmp_path / "unfinished").mkdir()
    _one_line_error(
        capsys,
        ["export", str(tmp_path / "unfinished"), "--format", "onnx", "--out", str(tmp_path / "a.onnx")],
        "unfinished is a folder without a model.pt",
        "finished run",
    )
    _one_line_error(capsys, ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "missing" / "a.onnx")],
                    "the folder", "missing does not exist", "create it")
    _one_line_error(capsys, ["export", str(run), "--format", "tflite", "--out", str(tmp_path / "a.tflite")],
                    "Unknown format 'tflite'", "a.tflite", "onnx, pt2, folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(capsys, ["predict", str(empty), str(tmp_path), "--out", str(tmp_path / "out")],
                    "empty holds neither model.pt", "config.json", "cenet export")

    model, _ = load_trained_model(run)
    folder = save_pretrained(model, tmp_path / "saved", InputPolicy())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_name": "cenet_v2"}))
    _one_line_error(capsys, ["predict", str(folder), str(tmp_path), "--out", str(tmp_path / "out")],
                    "config.json names the model 'cenet_v2'", "use one of cenet")
    (folder / "config.json").write_text(json.dumps(config))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    _one_line_error(capsys, ["predict", str(folder), str(tmp_path), "--out", str(tmp_path / "out")],
                    "model.safetensors", "truncated or corrupt", "export it again")
    (folder / "config.json").unlink()
    (folder / "model.safetensors").unlink()
    assert not (tmp_path / "out").exists()  # nothing was written for any of them


def test_onnx_export_refuses_a_file_that_differs(tmp_path):
    """The self-check: an exported graph that does not reproduce PyTorch is reported and removed."""
    from cenet_lib.models import build_model

    model = build_model("backbone", in_channels=1)
    with pytest.raises(ValueError, match="differs from PyTorch"):
        export_onnx(model, tmp_path / "b.onnx", tolerance=-1.0)
    assert not (tmp_path / "b.onnx").exists()


def test_the_readmes_onnx_example_matches_predict(run, tmp_path, monkeypatch, synthetic_root):
    """The README's ONNX example, run as written (file names aside), applies the preprocessing the
    file's metadata names and gives `cenet predict --no-tta`'s probabilities within 1e-3 (in fp32:
    bf16 autocast, where the CPU has it, is turned off for the comparison)."""
    import tifffile

    from cenet_lib import hardware

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = re.search(r"```python\n(import json\n\nimport cv2\n.*?)```", readme, re.S).group(1)
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "cenet.onnx")]) == 0
    image = next((synthetic_root / "DRIVE" / "test" / "images").iterdir())
    Image.open(image).convert("RGB").save(tmp_path / "my_image.png")
    monkeypatch.setattr(hardware, "native_bf16", lambda device: False)
    assert main(["predict", str(run), str(tmp_path / "my_image.png"), "--out", str(tmp_path / "out"), "--no-tta",
                 "--probabilities"]) == 0
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    expected = tifffile.imread(tmp_path / "out" / "my_image_probabilities.tif")
    assert namespace["probability"].shape == expected.shape
    assert np.abs(namespace["probability"] - expected).max() < 1e-3
