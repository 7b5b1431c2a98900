"""No setting, folder or concurrent run gives a wrong result silently: each case is refused in one
line naming the setting or file (no traceback), or works as a person would expect."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from cenet_lib.cli import main
from cenet_lib.config import RunConfig, load_config
from cenet_lib.config_checks import SettingError
from cenet_lib.data.io import read_image
from cenet_lib.data.policy import InputPolicy
from cenet_lib.models import build_model, save_pretrained


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("lr_policy=foo", "setting lr_policy='foo' is not valid; choose one of: poly, plateau"),
        ("steps=-5", "setting steps=-5 is out of range; it must be at least 1"),
        ("epochs=0", "setting epochs=0 is out of range; it must be at least 1"),
        ("batch_size=0", "setting batch_size=0 is out of range; it must be at least 1"),
        ("lr=fast", "setting lr='fast': expected a number"),
        ("input_size=17", "input_size=17x17 is smaller than cenet's smallest input, 32x32 (its encoder halves the "
                          "image 5 times); the nearest valid size is input_size=32x32"),
        ("loss=focal", "setting loss='focal' is not valid; choose one of: dice, ce, dice_ce"),
        ("tta=sometimes", "setting tta='sometimes': expected true or false"),
        ("threshold=1.5", "setting threshold=1.5 is out of range; it must be above 0 and below 1"),
        ("input_size=256x", "setting input_size='256x': expected a size"),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_key(setting, said, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "drive", "--profile", "smoke", "--run-dir", str(run), setting]) == 1
    assert said in one_line(capsys)
    assert not run.exists()


def test_settings_are_checked_on_every_path_in():
    """The Python API, the notebooks' section settings and a resumed run's saved settings meet the same checks."""
    from cenet_lib.reporting.sections import section_config

    with pytest.raises(SettingError, match="setting epochs=0 is out of range"):
        RunConfig(epochs=0)
    with pytest.raises(SettingError, match="setting optimizer='rmsprop' is not valid; choose one of: sgd, adam"):
        section_config("vessels", "quick", {"optimizer": "rmsprop"})
    assert RunConfig(lr="1e-3", input_size=192, tile_size="none").lr == 0.001  # text and scalars take their types
    assert load_config("quick", overrides={"input_size": "384x192", "amp": "null"}).input_size == (384, 192)
    assert load_config("quick", overrides={"model": "unet", "input_size": "16"}).input_size == (16, 16)  # U-Net: /16


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("epochs: 3\nlr: [1e-3,\n", r"settings file .*bad.yaml line 3: not valid YAML"),
        ("- epochs: 3\n- lr: 0.1\n", r"settings file .*bad.yaml holds a list, not a mapping of settings"),
        ("epochs: zero\n", r"setting epochs='zero': expected a whole number"),
    ],
)
def test_a_malformed_settings_file_is_named_with_its_line(text, said, tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text(text)
    assert main(["train", "--dataset", "drive", "--profile", "smoke", "--config", str(tmp_path / "bad.yaml")]) == 1
    assert re.search(said, one_line(capsys))


def own_folder(root, masks, size=(40, 48)):
    rng = np.random.default_rng(0)
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for k, mask in enumerate(masks):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "images" / f"c{k}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"c{k}.png")
    return root


def test_all_background_masks_are_refused_by_check_and_train(tmp_path, capsys):
    folder = own_folder(tmp_path / "blank", [np.zeros((40, 48), bool)] * 6)
    assert main(["data", "check", str(folder)]) == 1
    assert re.search(r"all \d masks are background only \(every pixel 0\), so there is nothing to learn",
                     capsys.readouterr().out)
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(folder), "--profile", "smoke", "--run-dir", str(run)]) == 1
    err = capsys.readouterr().err
    assert "masks are background only" in err and "Traceback" not in err
    assert not (run / "config.yaml").exists()


def test_a_split_with_few_foreground_masks_is_named_in_a_warning(tmp_path, capsys):
    blank, spot = np.zeros((40, 48), bool), np.zeros((40, 48), bool)
    spot[10:20, 10:20] = True
    folder = own_folder(tmp_path / "sparse", [spot] + [blank] * 9)
    (folder / "cenet_splits.json").write_text(json.dumps({"train": [f"c{k}" for k in range(8)], "test": ["c8", "c9"]}))
    (folder / "masks" / "c8.png").write_bytes((folder / "masks" / "c0.png").read_bytes())
    assert main(["data", "check", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "folder/train" in err and "only 1 of 8 masks hold any foreground (c0)" in err


def test_a_read_only_dataset_is_read_never_written(tmp_path, capsys):
    """The drawn split goes to the cache; nothing in the dataset folder changes (checked by listing
    it, since the tests may run as root, which writes into read-only folders all the same)."""
    from cenet_lib.data.folder import split_cache_file

    rng = np.random.default_rng(0)
    folder = own_folder(tmp_path / "shared", [rng.random((40, 48)) > 0.5 for _ in range(6)])

    def listing():
        return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*"))

    before = listing()
    for path in [*folder.rglob("*"), folder]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert main(["data", "check", str(folder)]) == 0
        run = tmp_path / "run"
        assert main(["train", "--dataset", str(folder), "--model", "backbone", "--profile", "smoke",
                     "--run-dir", str(run)]) == 0
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert listing() == before
    assert split_cache_file(folder).is_file() and (run / "metrics_test.json").is_file()
    assert "kept in" in capsys.readouterr().out


HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from cenet_lib.run_dir import hold_folder
    with hold_folder(Path(sys.argv[1])):
        print("holding", flush=True)
        time.sleep(600)
""")


def test_one_process_per_run_folder_and_a_killed_holder_blocks_nothing(tmp_path, capsys):
    from cenet_lib.run_dir import hold_folder

    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert main(["train", "--dataset", "drive", "--profile", "smoke", "--run-dir", str(run)]) == 1
        assert f"{run} is in use by process {holder.pid} on" in one_line(capsys)
        assert not (run / "config.yaml").exists()
        (run / "model.pt").write_bytes(b"")
        assert main(["evaluate", str(run)]) == 1
        assert f"is in use by process {holder.pid}" in one_line(capsys)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with hold_folder(run):  # the killed process's lock went with it
        pass


def test_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["train", "--dataset", "drive", "--profile", "smoke", "--run-dir", str(blocker / "run")]) == 1
    assert f"cannot write to {blocker / 'run'}" in one_line(capsys)
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "x.png")
    model = tmp_path / "model"
    save_pretrained(build_model("unet"), model, InputPolicy("crop", (32, 32)))
    assert main(["predict", str(model), str(tmp_path / "x.png"), "--out", str(blocker / "out")]) == 1
    err = one_line(capsys)
    assert f"cannot write to {blocker / 'out'}" in err and "(--out)" in err
    if os.geteuid() != 0:  # root writes into read-only folders
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        assert main(["predict", str(model), str(tmp_path / "x.png"), "--out", str(locked)]) == 1
        assert "cannot write to" in one_line(capsys)


def exif_rotated_jpeg(path, array):
    """``array`` stored turned a quarter, with the EXIF orientation (6: rotate 90 clockwise to show)
    that turns it back, as phone cameras save photographs."""
    image = Image.fromarray(np.rot90(array, k=1))  # stored turned a quarter anticlockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif, quality=95)


def test_exif_orientation_is_applied_as_viewers_do(tmp_path):
    from cenet_lib.data.io import read_array

    shown = np.zeros((400, 652, 3), np.uint8)
    shown[:50] = 255  # a bright band at the top, as shown
    exif_rotated_jpeg(tmp_path / "photo.jpg", shown)
    assert Image.open(tmp_path / "photo.jpg").size == (400, 652)  # stored: 400 wide, 652 high
    read = read_array(tmp_path / "photo.jpg")
    assert read.shape == (400, 652, 3) and read[:50].mean() > 200 and read[60:].mean() < 30


def test_mixed_channels_follow_the_folders_majority_with_a_note(tmp_path, capsys):
    from cenet_lib.data import build_reader
    from cenet_lib.messages import show_messages

    show_messages()
    rng = np.random.default_rng(0)
    folder = own_folder(tmp_path / "mixed", [rng.random((40, 48)) > 0.5 for _ in range(5)])
    grey = rng.integers(0, 255, (40, 48), dtype=np.uint8)
    Image.fromarray(grey).save(folder / "images" / "c2.png")
    (reader,) = [reader for split in ("train", "test") if "c2" in (reader := build_reader(str(folder), split)).ids]
    assert re.search(r"1 of \d images in .*mixed/images are not colour like the others \(c2.png\); they are "
                     "converted to colour by repeating the grey channel", capsys.readouterr().out)
    sample = reader[reader.ids.index("c2")]
    assert sample.image.shape == (40, 48, 3) and (sample.image == grey[..., None]).all()

    rgb = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    expected = np.asarray(Image.fromarray(rgb).convert("L"))
    grey = read_image(tmp_path / "rgb.png", 1, convert=True)[..., 0]
    assert np.abs(grey.astype(int) - expected).max() <= 1  # Pillow's luma


def test_class_names_at_the_root_of_a_train_test_folder_are_used_and_shown(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for k in range(3):
            for folder, array in (("images", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)),
                                  ("masks", rng.integers(0, 3, (32, 32), dtype=np.uint8))):
                (tmp_path / "eyes" / split / folder).mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(tmp_path / "eyes" / split / folder / f"{split}{k}.png")
    (tmp_path / "eyes" / "classes.json").write_text(json.dumps(["background", "disc", "cup"]))
    assert main(["data", "check", str(tmp_path / "eyes")]) == 0
    out = capsys.readouterr().out
    assert "3 class(es) (background, disc, cup): ok" in out
