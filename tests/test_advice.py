"""The right advice for a wrong folder: a missing path says so whatever the profile, no message
suggests a command that would fail, a folder in another layout gets the expected one and a hint,
every problem of every split comes at once, and the channel count is the majority's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import cenet_lib.training as training
from cenet_lib.cli import main as cenet
from cenet_lib.cli import main as cenet_main

SIZE = 40


def data_command(argv: list[str]) -> int:
    """``python -m cenet_lib.data ARGV``, which is ``cenet data ARGV``."""
    return cenet_main(["data", *argv])


def write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def pair(
    root: Path, name: str, images: str = "images", masks: str = "masks", mask_name: str | None = None, grey=False
) -> None:
    picture = (
        np.random.default_rng(len(name)).integers(0, 255, (SIZE, SIZE) if grey else (SIZE, SIZE, 3)).astype(np.uint8)
    )
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[5:20, 5:20] = 255
    write(root / images / f"{name}.png", picture)
    if masks:
        write(root / masks / f"{mask_name or name}.png", mask)


def test_a_mistyped_folder_says_it_does_not_exist_under_any_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(training, "build_parts", None)
    for profile in ("smoke", "quick"):
        assert cenet(["train", "--dataset", str(tmp_path / "my_dat" / "fundus"), "--profile", profile]) == 1
        err = capsys.readouterr().err
        assert "does not exist; check the path" in err and "synthetic stand-ins" not in err, err


def test_check_on_a_missing_path_suggests_nothing_that_fails(tmp_path, capsys):
    assert data_command(["check", str(tmp_path / "nowhere")]) == 1
    out = capsys.readouterr().out
    assert "nowhere does not exist; check the path" in out and "fetch" not in out
    assert "FOLDER/images/NAME.png with FOLDER/masks/NAME.png" in out  # the layout, drawn


def test_images_split_inside_images_gets_the_layout_to_move_to(tmp_path, capsys):
    for split in ("train", "test"):
        pair(tmp_path, f"{split}1", images=f"images/{split}", masks=f"annotations/{split}")
    assert data_command(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'images'} holds train/ and test/: move them to {tmp_path}/train/images" in out, out


def test_other_folder_names_and_suffixed_masks_get_a_hint(tmp_path, capsys):
    pair(tmp_path / "a", "case1", images="img", masks="gt")
    assert data_command(["check", str(tmp_path / "a")]) == 1
    assert (
        "it holds the folders gt, img: rename the images' folder to images and the masks' to masks"
        in capsys.readouterr().out
    )
    for name in ("drishtiGS_001", "drishtiGS_002"):
        pair(tmp_path / "b", name, mask_name=f"{name}-1-Disc-T")
    assert data_command(["check", str(tmp_path / "b")]) == 1
    out = capsys.readouterr().out
    assert (
        "carry a suffix (drishtiGS_001-1-Disc-T.png for drishtiGS_001.png): rename each to its image's name" in out
    ), out


def test_missing_masks_of_both_splits_are_reported_at_once(tmp_path, capsys, monkeypatch):
    for split in ("train", "test"):
        pair(tmp_path, f"{split}_a", images=f"{split}/images", masks=f"{split}/masks")
        pair(tmp_path, f"{split}_b", images=f"{split}/images", masks="")
    assert data_command(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "train_b.png -> expected" in out and "test_b.png -> expected" in out, out
    monkeypatch.setattr(training, "build_parts", None)
    assert cenet(["train", "--dataset", str(tmp_path), "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "2 problems in the data" in err and "train_b.png" in err and "test_b.png" in err, err


def test_the_channel_count_is_the_majoritys_and_the_odd_file_is_converted_with_a_note(tmp_path, capsys):
    from cenet_lib.data.folder import split_cache_file

    pair(tmp_path, "a_grey", grey=True)  # sorts first
    for name in ("b", "c", "d", "e"):
        pair(tmp_path, name)
    assert data_command(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"kept in {split_cache_file(tmp_path)}" in out  # check says where it keeps the split it drew
    assert "1 of 5 images" in out and "(a_grey.png); they are converted to colour by repeating the grey channel" in out
    assert "3 channel(s)" in out and "PROBLEM" not in out
