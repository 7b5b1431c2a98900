"""python -m cenet_lib.data: status, synth, fetch, split."""
from __future__ import annotations

import json

from cenet_lib.data.__main__ import main


def test_status_lists_found_and_missing(synthetic_root, tmp_path, capsys):
    assert main(["status", "--data-root", str(synthetic_root)]) == 0
    out = capsys.readouterr().out
    assert "drive     found" in out and "(synthetic)" in out
    assert main(["status", "--data-root", str(tmp_path)]) == 0
    assert f"not found   (looked in {tmp_path / 'DRIVE'})" in capsys.readouterr().out


def test_status_flags_a_broken_copy(synthetic_root, tmp_path, capsys):
    (tmp_path / "DRIVE" / "training" / "images").mkdir(parents=True)
    assert main(["status", "--data-root", str(tmp_path), "--full"]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_synth_then_status(tmp_path, capsys):
    assert main(["synth", "isbi2012", "--out", str(tmp_path / "ISBI2012")]) == 0
    assert (tmp_path / "ISBI2012" / "train-volume.tif").is_file()
    assert main(["status", "--data-root", str(tmp_path), "--full"]) == 0
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
