"""python -m cenet_lib.data: status, synth, fetch, split."""
from __future__ import annotations

import json

from cenet_lib.cli import main as cenet_main


def main(argv: list[str]) -> int:
    """``python -m cenet_lib.data ARGV``, which is ``cenet data ARGV``."""
    return cenet_main(["data", *argv])


def test_status_lists_found_and_missing(synthetic_root, tmp_path, capsys):
    assert main(["status", "--data-root", str(synthetic_root)]) == 0
    out = capsys.readouterr().out
    assert "drive     found" in out and "(synthetic)" in out
    assert main(["status", "--data-root", str(tmp_path)]) == 0
    assert f"not found   (looked in {tmp_path / 'DRIVE'})" in capsys.readouterr().out


def test_status_flags_a_broken_copy(synthetic_root, tmp_path, capsys):
    (tmp_path / "DRIVE" / "training" / "images").mkdir(parents=True)
    assert main(["status", "--data-root", str(tmp_path)]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_synth_then_status(tmp_path, capsys):
    assert main(["synth", "isbi2012", "--out", str(tmp_path / "ISBI2012")]) == 0
    assert (tmp_path / "ISBI2012" / "train-volume.tif").is_file()
    assert main(["status", "--data-root", str(tmp_path)]) == 0
    assert "challenge_test    10 images" in capsys.readouterr().out


def test_fetch_prints_steps_and_licence(capsys):
    assert main(["fetch", "drive"]) == 0
    out = capsys.readouterr().out
    assert "registration" in out and "Licence" in out
    assert main(["fetch", "nothing"]) == 2


def test_split_command_writes_folds(synthetic_root, tmp_path):
    out = tmp_path / "lung.json"
    assert main(["split", "lung", "--data-root", str(synthetic_root), "--out", str(out)]) == 0
    folds = json.loads(out.read_text())["folds"]
    assert len(folds) == 5 and sum(len(f) for f in folds) == 10
    assert main(["split", "isbi2012", "--data-root", str(synthetic_root), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["folds"][0] == ["train-volume_00", "train-volume_01"]


def test_status_of_a_data_root_that_does_not_exist(tmp_path, capsys):
    assert main(["status", "--data-root", str(tmp_path / "nonexistent")]) == 1
    assert "does not exist" in capsys.readouterr().err


def own_folder(root, count=5, size=(24, 32)):
    """A folder of the user's own images in the documented layout."""
    import numpy as np

    from cenet_lib.data.io import write_image

    rng = np.random.default_rng(0)
    for k in range(count):
        write_image(root / "images" / f"case{k}.png", rng.integers(0, 255, (*size, 3), dtype=np.uint8))
        write_image(root / "masks" / f"case{k}.png", (rng.random(size) > 0.5).astype(np.uint8) * 255)
    return root


def test_check_lists_every_problem_of_a_folder_at_once(tmp_path, capsys):
    import numpy as np

    from cenet_lib.data.folder import split_cache_file
    from cenet_lib.data.io import write_image

    folder = own_folder(tmp_path / "mine", count=10)
    assert main(["check", str(folder)]) == 0
    assert "is ready" in capsys.readouterr().out
    split_cache_file(folder).unlink()
    (folder / "masks" / "case1.png").unlink()
    (folder / "masks" / "case2.png").unlink()
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "2 of 10 images have no mask" in out and "case1.png" in out and "case2.png" in out
    assert not split_cache_file(folder).exists()  # no split is drawn before every image has its mask
    write_image(folder / "masks" / "case1.png", np.zeros((24, 32), np.uint8))
    write_image(folder / "masks" / "case2.png", np.zeros((20, 32), np.uint8))  # another size
    (folder / "images" / "case3.png").write_bytes(b"not an image")
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "case2" in out and "same size" in out and "case3.png" in out and "truncated or corrupt" in out


def test_folder_messages_name_the_fix(tmp_path):
    import numpy as np
    import pytest

    from cenet_lib.data import DatasetError, build_reader
    from cenet_lib.data.folder import split_cache_file
    from cenet_lib.data.io import write_image

    with pytest.raises(DatasetError, match="Dataset folder not found: .*nowhere"):
        build_reader(str(tmp_path / "nowhere"), "train")
    (tmp_path / "empty" / "images").mkdir(parents=True)
    (tmp_path / "empty" / "masks").mkdir()
    with pytest.raises(DatasetError, match=r"no images in .*empty/images .*; expected FOLDER/images/NAME.png"):
        build_reader(str(tmp_path / "empty"), "train")
    folder = own_folder(tmp_path / "mine")
    build_reader(str(folder), "train")
    (folder / "images" / "case0.png").rename(folder / "images" / "renamed.png")
    (folder / "masks" / "case0.png").rename(folder / "masks" / "renamed.png")
    with pytest.raises(DatasetError, match=r"does not match.*delete .*/splits/mine-.*\.json"):
        build_reader(str(folder), "train")
    split_cache_file(folder).unlink()
    write_image(folder / "masks" / "case1.png", np.arange(24 * 32).reshape(24, 32).astype(np.uint8))  # anti-aliased
    with pytest.raises(DatasetError, match="values other than 0/1/255.*case1.png"):
        build_reader(str(folder), "train")


def test_python_m_cenet_lib_data_is_cenet_data():
    import subprocess
    import sys

    alias = subprocess.run([sys.executable, "-m", "cenet_lib.data", "fetch", "drive"], capture_output=True, text=True)
    assert alias.returncode == 0 and "Licence:" in alias.stdout
    assert alias.stdout == subprocess.run([sys.executable, "-m", "cenet_lib", "data", "fetch", "drive"],
                                          capture_output=True, text=True).stdout
