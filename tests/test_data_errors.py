"""Bad input gives one clear error naming the file or folder and what was expected."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from cenet_lib.data import DatasetError, build_reader
from cenet_lib.data.io import read_image, write_image
from cenet_lib.data.synthetic import synthesize


def copy_of(synthetic_root, folder, tmp_path):
    target = tmp_path / folder
    shutil.copytree(synthetic_root / folder, target)
    return tmp_path


def test_missing_dataset_says_where_to_get_it(tmp_path):
    with pytest.raises(
        DatasetError,
        match=r"(?s)drive: dataset folder not found: .*DRIVE \(python -m cenet_lib.data fetch drive.*registration",
    ):
        build_reader("drive", "train", tmp_path)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="drive, isbi2012, lung"):
        build_reader("drvie")


def test_missing_mask_of_a_pair(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "finding-lungs-in-ct-data", tmp_path)
    victim = sorted((root / "finding-lungs-in-ct-data/2d_masks").glob("*.tif"))[0]
    victim.unlink()
    with pytest.raises(DatasetError, match=f"1 of .* images have no mask .*{victim.stem}.*expected {victim}"):
        build_reader("lung", "train", root)
        build_reader("lung", "test", root)


def test_size_mismatch(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "DRIVE", tmp_path)
    write_image(root / "DRIVE/training/1st_manual/21_manual1.gif", np.zeros((50, 60), np.uint8))
    with pytest.raises(DatasetError, match=r"21.*60x50 but the image is 128x136"):
        build_reader("drive", "train", root)[0]


def test_truncated_file(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "DRIVE", tmp_path)
    image = root / "DRIVE/training/images/21_training.tif"
    image.write_bytes(image.read_bytes()[:500])
    with pytest.raises(DatasetError, match=f"Cannot read {image}.*truncated or corrupt"):
        build_reader("drive", "train", root)[0]


def test_missing_tiff_codec_says_what_to_install(tmp_path, monkeypatch):
    import tifffile

    image = tmp_path / "21_training.tif"
    tifffile.imwrite(image, np.zeros((8, 8, 3), np.uint8))

    def without_codec(path):  # what tifffile raises for an LZW TIFF when imagecodecs is absent
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile, "imread", without_codec)
    with pytest.raises(DatasetError, match=f"Cannot read {image}.*pip install imagecodecs") as caught:
        read_image(image, 3)
    assert "corrupt" not in str(caught.value)


def test_wrong_channel_count(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "DRIVE", tmp_path)
    image = root / "DRIVE/training/images/21_training.tif"
    write_image(image, np.zeros((136, 128), np.uint8))
    with pytest.raises(DatasetError, match=f"{image}: expected an image with 3 channel"):
        build_reader("drive", "train", root)[0]


def test_wrong_dtype(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "finding-lungs-in-ct-data", tmp_path)
    image = sorted((root / "finding-lungs-in-ct-data/2d_images").glob("*.tif"))[0]
    write_image(image, np.zeros((128, 128), np.float32))
    with pytest.raises(DatasetError, match="integer slice in Hounsfield units"):
        reader = build_reader("lung", "test", root)
        [reader[i] for i in range(len(reader))]
        reader = build_reader("lung", "train", root)
        [reader[i] for i in range(len(reader))]


def test_empty_split(tmp_path):
    (tmp_path / "DRIVE/training/images").mkdir(parents=True)
    with pytest.raises(DatasetError, match="'train' split .* holds no images"):
        build_reader("drive", "train", tmp_path)


def test_split_file_that_does_not_match_the_files(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "finding-lungs-in-ct-data", tmp_path)
    folder = root / "finding-lungs-in-ct-data"
    shutil.copy(next((folder / "2d_images").glob("*.tif")), folder / "2d_images" / "ID_9999_Z_0001.tif")
    with pytest.raises(DatasetError, match=r"does not match.*1 present but unlisted.*ID_9999_Z_0001"):
        build_reader("lung", "train", root)


def test_fold_out_of_range(synthetic_root):
    with pytest.raises(ValueError, match="fold must be in 0..4"):
        build_reader("lung", "train", synthetic_root, fold=5)


def test_label_out_of_range(synthetic_root, tmp_path):
    root = copy_of(synthetic_root, "Duke-DME-2015", tmp_path)
    label = sorted((root / "Duke-DME-2015/val/labels").glob("*.png"))[0]
    write_image(label, np.full((96, 112), 12, np.uint8))
    with pytest.raises(DatasetError, match="label 12 is out of range 0..9"):
        build_reader("duke", "val", root)[0]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match=f"File not found: {tmp_path / 'absent.png'}"):
        read_image(tmp_path / "absent.png", 3)


def test_corrupt_mat_file(tmp_path):
    synthesize("duke_mat", tmp_path / "Duke-DME-2015-mat")
    bad = tmp_path / "Duke-DME-2015-mat" / "Subject_09.mat"
    bad.write_bytes(b"MATLAB 5.0 nonsense")
    with pytest.raises(DatasetError, match="Subject_09.mat"):
        build_reader("duke_mat", "test", tmp_path)


def test_bad_split_name(synthetic_root):
    with pytest.raises(ValueError, match="drive has splits train, test"):
        build_reader("drive", "validation", synthetic_root)
