"""Packed copies (``python -m cenet_lib.data pack``): every sample equal to the original reader's,
each group small enough for a GPU job, refused when stale, checked by ``status`` and ``check``."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cenet_lib.cli import main as cenet_main
from cenet_lib.data import READERS, PackedReader, build_reader
from cenet_lib.data.base import DatasetError
from cenet_lib.data.pack import MANIFEST, folder_mib, pack_dataset

PACKED = ("drive", "isbi2012", "lung", "drishti", "duke")
#: The groups that travel to a GPU job together, each within 60 MiB (issue #27).
GROUPS = {"drive+isbi2012+duke": ("drive", "isbi2012", "duke"), "lung": ("lung",), "drishti": ("drishti",)}
GROUP_LIMIT_MIB = 60


def data_main(argv: list[str]) -> int:
    """``python -m cenet_lib.data ARGV``, which is ``cenet data ARGV``."""
    return cenet_main(["data", *argv])


def assert_same_value(original, packed, where: str) -> None:
    if isinstance(original, np.ndarray):
        assert isinstance(packed, np.ndarray), where
        assert packed.dtype == original.dtype and packed.shape == original.shape, where
        assert np.array_equal(packed, original, equal_nan=original.dtype.kind == "f"), where
    else:
        assert type(packed) is type(original) and packed == original, where


def assert_same_samples(name: str, original_root: Path, packed_root: Path) -> None:
    """Every sample of every split, field by field, bit for bit."""
    for split in READERS[name].splits:
        original, packed = build_reader(name, split, original_root), build_reader(name, split, packed_root)
        assert isinstance(packed, PackedReader) and not isinstance(original, PackedReader)
        assert packed.ids == original.ids and packed.synthetic == original.synthetic
        assert type(packed.task) is type(original.task)
        assert (packed.num_classes, packed.in_channels, packed.class_names) == (
            original.num_classes,
            original.in_channels,
            original.class_names,
        )
        for a, b in zip(original, packed):
            where = f"{name}/{split}/{a.id}"
            assert a.id == b.id
            for part in ("image", "mask", "roi"):
                assert_same_value(getattr(a, part), getattr(b, part), f"{where} {part}")
            assert a.extra.keys() == b.extra.keys(), where
            for key in a.extra:
                assert_same_value(a.extra[key], b.extra[key], f"{where} extra {key}")


@pytest.mark.parametrize("name", PACKED)
def test_packed_stand_in_gives_the_readers_samples(name, synthetic_root, tmp_path):
    pack_dataset(name, synthetic_root, tmp_path)
    assert_same_samples(name, synthetic_root, tmp_path)


def test_a_packed_drive_needs_no_imagecodecs(synthetic_root, tmp_path):
    pack_dataset("drive", synthetic_root, tmp_path)
    script = ("import sys; sys.modules['imagecodecs'] = None\n"  # as on a GPU node without it
              "from cenet_lib.data import build_reader\n"
              "print(build_reader('drive', 'test', sys.argv[1])[0].image.shape)")
    packed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert packed.returncode == 0 and packed.stdout.strip().endswith(", 3)"), packed.stderr
    original = subprocess.run([sys.executable, "-c", script, str(synthetic_root)], capture_output=True, text=True)
    assert original.returncode != 0 and "imagecodecs" in original.stderr  # DRIVE's LZW TIFFs need it


@pytest.fixture()
def packed_drive(synthetic_root, tmp_path) -> Path:
    pack_dataset("drive", synthetic_root, tmp_path)
    return tmp_path


def test_a_copy_from_another_reader_version_is_refused(packed_drive):
    manifest_file = packed_drive / "DRIVE" / MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["reader_version"] = READERS["drive"].version + 1
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=r"packed by version 2 of the drive reader.*version 1.*cenet_lib.data pack"):
        build_reader("drive", "test", packed_drive)


def test_options_other_than_the_packed_ones_are_refused(synthetic_root, tmp_path):
    pack_dataset("lung", synthetic_root, tmp_path)
    assert len(build_reader("lung", "test", tmp_path, fold=0)) == len(build_reader("lung", "test", synthetic_root))
    with pytest.raises(DatasetError, match=r"fold=1 needs the original dataset"):
        build_reader("lung", "test", tmp_path, fold=1)


def test_check_finds_a_damaged_packed_file(packed_drive, capsys):
    assert data_main(["check", str(packed_drive / "DRIVE")]) == 0
    assert "sound packed copy of drive" in capsys.readouterr().out
    damaged = next((packed_drive / "DRIVE" / "test").glob("*.image.webp"))
    damaged.write_bytes(damaged.read_bytes()[:100])
    assert data_main(["check", str(packed_drive / "DRIVE")]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM: {damaged} differs from the file packed" in out
    assert f"PROBLEM: {damaged}: cannot read this packed file" in out


def test_status_reads_a_packed_root(packed_drive, capsys):
    data_main(["status", "--data-root", str(packed_drive)])
    out = capsys.readouterr().out
    assert "drive     found" in out and "(packed copy)" in out
    assert "test" in out and "PROBLEM" not in out.split("isbi2012")[0]


def test_pack_command_says_sizes_and_enforces_a_limit(synthetic_root, tmp_path, capsys):
    assert data_main(["pack", "--data-root", str(synthetic_root), "--out", str(tmp_path / "a"), "drive", "duke"]) == 0
    out = capsys.readouterr().out
    assert "drive" in out and "duke" in out and "MiB in all" in out
    assert (
        data_main(
            ["pack", "--data-root", str(synthetic_root), "--out", str(tmp_path / "b"), "drive", "--max-mib", "0.001"]
        )
        == 1
    )
    assert "more than --max-mib" in capsys.readouterr().err


def test_an_interrupted_pack_leaves_the_earlier_copy(packed_drive, synthetic_root, monkeypatch):
    from cenet_lib.data import pack as pack_module

    monkeypatch.setattr(pack_module, "_write_sample", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        pack_dataset("drive", synthetic_root, packed_drive)
    assert isinstance(build_reader("drive", "test", packed_drive), PackedReader)
    assert sorted(p.name for p in packed_drive.iterdir()) == ["DRIVE"]


@pytest.mark.parametrize("group", GROUPS)
def test_each_real_group_fits_a_gpu_job_and_gives_the_readers_samples(group, real_root, tmp_path):
    for name in GROUPS[group]:
        pack_dataset(name, real_root, tmp_path)
    assert folder_mib(tmp_path) <= GROUP_LIMIT_MIB
    for name in GROUPS[group]:
        assert_same_samples(name, real_root, tmp_path)
    shutil.rmtree(tmp_path)
