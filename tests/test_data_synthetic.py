"""Every reader on its synthetic stand-in; the stand-ins keep the real on-disk conventions."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from cenet_lib.data import READERS, build_reader
from cenet_lib.data.oct import boundaries_from_label_map, label_map_from_boundaries
from cenet_lib.data.optic_disc import brightest_point, crop_box
from cenet_lib.data.splits import LOCAL_SPLIT_FILE
from cenet_lib.tasks import paste_crop

CASES = [(name, split) for name, reader in READERS.items() for split in reader.splits]


@pytest.mark.parametrize("name,split", CASES)
def test_reader_on_stand_in(synthetic_root, name, split):
    reader = build_reader(name, split, synthetic_root)
    assert reader.synthetic and len(reader) > 0
    assert len(set(reader.ids)) == len(reader.ids)
    assert reader.ids == build_reader(name, split, synthetic_root).ids  # stable order
    for sample in reader:
        assert sample.image.ndim == 3 and sample.image.shape[2] == reader.in_channels
        assert sample.image.dtype == np.uint8
        if sample.mask is None:
            assert split == "challenge_test"
            continue
        assert sample.mask.shape == sample.image.shape[:2] and sample.mask.dtype == np.uint8
        top = 1 if reader.num_classes == 1 else reader.num_classes - 1
        assert 0 <= sample.mask.min() and sample.mask.max() <= top
        assert sample.mask.any()


def test_splits_are_disjoint_and_complete(synthetic_root):
    for name in ("isbi2012", "lung", "rimone"):
        train = set(build_reader(name, "train", synthetic_root).ids)
        test = set(build_reader(name, "test", synthetic_root).ids)
        assert train and test and not train & test
        folds = json.loads((synthetic_root / READERS[name].folder / LOCAL_SPLIT_FILE).read_text())["folds"]
        assert test == set(folds[0])
        assert train | test == {i for fold in folds for i in fold}


def test_drive_stand_in_format(synthetic_root):
    root = synthetic_root / "DRIVE"
    with tifffile.TiffFile(root / "training/images/21_training.tif") as tiff:
        assert tiff.pages[0].compression == tifffile.COMPRESSION.LZW
        assert tiff.asarray().dtype == np.uint8 and tiff.asarray().shape[2] == 3
    second = Image.open(root / "test/2nd_manual/01_manual2.gif")
    assert second.mode == "P" and set(np.unique(np.asarray(second))) == {0, 1}  # stored 0/1, as the real one
    assert set(np.unique(np.asarray(Image.open(root / "test/1st_manual/01_manual1.gif")))) == {0, 255}
    assert not (root / "training" / "mask").exists()
    train = build_reader("drive", "train", synthetic_root)[0]
    assert train.extra["fov_source"] == "derived" and 0.5 < train.roi.mean() < 0.9
    test = build_reader("drive", "test", synthetic_root)[0]
    assert test.extra["fov_source"] == "provided" and test.extra["second_observer"].max() == 1


def test_isbi_and_lung_stand_in_formats(synthetic_root):
    with tifffile.TiffFile(synthetic_root / "ISBI2012/train-labels.tif") as tiff:
        labels = tiff.asarray()
        assert tiff.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
    assert labels.ndim == 3 and set(np.unique(labels)) == {0, 255}
    sample = build_reader("isbi2012", "train", synthetic_root)[0]
    np.testing.assert_array_equal(sample.mask, sample.extra["label_image"] == 0)  # membrane is the target
    hu = tifffile.imread(next((synthetic_root / "finding-lungs-in-ct-data/2d_images").glob("*.tif")))
    assert hu.dtype == np.int16 and hu.min() < -900 and hu.max() > 300


def test_lung_float_window(synthetic_root):
    as_float = build_reader("lung", "test", synthetic_root, as_uint8=False)[0].image
    as_uint8 = build_reader("lung", "test", synthetic_root)[0].image
    assert as_float.dtype == np.float32 and 0 <= as_float.min() and as_float.max() <= 1
    np.testing.assert_allclose(as_float * 255, as_uint8, atol=0.5 + 1e-4)


def test_drishti_soft_map_majority(synthetic_root):
    sample = build_reader("drishti", "train", synthetic_root, crop_size=None)[0]
    assert set(np.unique(sample.extra["soft_map"])) <= {0, 64, 128, 191, 255}
    np.testing.assert_array_equal(sample.mask, sample.extra["soft_map"] >= 128)


def test_optic_disc_crop_and_paste_back(synthetic_root):
    reader = build_reader("drishti", "train", synthetic_root, crop_size=120)
    for sample in reader:
        assert sample.image.shape[:2] == (120, 120)
        full = sample.extra["full_mask"]
        assert sample.mask.sum() == full.sum()  # the whole disc is inside the crop
        np.testing.assert_array_equal(paste_crop(sample.mask, sample.extra["crop_box"], full.shape), full)


def test_brightest_point_ignores_a_hot_pixel():
    image = np.zeros((300, 400, 3), np.uint8)
    image[150:190, 280:320] = 200  # the disc
    image[20, 20] = 255  # a hot pixel
    row, column = brightest_point(image)
    assert 150 <= row < 190 and 280 <= column < 320


def test_brightest_point_ignores_glare_at_the_rim_of_the_field_of_view():
    rows, columns = np.mgrid[:400, :500]
    image = np.zeros((400, 500, 3), np.uint8)
    image[(rows - 200) ** 2 + (columns - 250) ** 2 < 190**2] = 90  # the field of view
    image[(rows - 200) ** 2 + (columns - 300) ** 2 < 25**2] = 200  # the disc
    image[(rows - 200) ** 2 + (columns - 250) ** 2 > 175**2] //= 2  # dim rim ...
    image[15:40, 200:300] = 250  # ... but for a broad glare at its top
    row, column = brightest_point(image)
    assert (row - 200) ** 2 + (column - 300) ** 2 < 25**2
    assert brightest_point(image, margin_fraction=0)[0] < 45  # without the erosion the glare wins
    assert crop_box((5, 395), 100, (300, 400)) == (0, 300, 100, 100)  # shifted inside the image
    assert crop_box((150, 200), 800, (300, 400)) == (0, 0, 300, 400)  # smaller than the crop


def test_oct_label_maps_and_boundaries_convert_both_ways(synthetic_root):
    boundaries = np.array([[10, 11, 12], [20, np.nan, 22], [30, 31, 32]], float)
    labels = label_map_from_boundaries(boundaries, 40)
    # the missing boundary takes the position of the next one: layer 2 has zero thickness there
    np.testing.assert_array_equal(boundaries_from_label_map(labels, 3), [[10, 11, 12], [20, 31, 22], [30, 31, 32]])
    for sample in build_reader("duke", "train", synthetic_root):
        relabelled = label_map_from_boundaries(sample.extra["boundaries"], sample.mask.shape[0], sample.mask == 9)
        np.testing.assert_array_equal(relabelled[sample.mask != 9], sample.mask[sample.mask != 9])


def test_duke_mat_reader_crops_to_annotated_columns(synthetic_root):
    reader = build_reader("duke_mat", "test", synthetic_root)
    assert reader.ids == ["Subject_09_00", "Subject_09_01", "Subject_10_00", "Subject_10_01"]
    sample = reader[0]
    assert sample.image.shape[1] == 112 - 20  # the stand-in annotates all but 10 columns on each side
    assert (sample.mask == 9).any() and np.isfinite(sample.extra["boundaries"]).all()


def test_csv_reader_reads_boundaries(synthetic_root):
    sample = build_reader("oct_csv", "val", synthetic_root)[0]
    csv = np.genfromtxt(synthetic_root / "OCT-boundaries/val/boundaries" / f"{sample.id}.csv", delimiter=",")
    np.testing.assert_array_equal(sample.extra["boundaries"], csv)


def test_user_folder_split_created_once_and_reused(tmp_path, caplog):
    from cenet_lib.data.folder import split_cache_file
    from cenet_lib.data.synthetic import synth_folder

    caplog.set_level("INFO", logger="cenet_lib")
    root = synth_folder(tmp_path / "mine")
    train = build_reader(str(root), "train")
    assert "Drew a split" in caplog.text
    assert split_cache_file(root).is_file() and not (root / LOCAL_SPLIT_FILE).exists()  # the dataset is only read
    caplog.clear()
    again = build_reader(str(root), "train")
    assert "Drew" not in caplog.text and again.ids == train.ids
    assert train.num_classes == 1 and train.in_channels == 3


def test_user_folder_multiclass(tmp_path):
    from cenet_lib.data.io import write_image

    for split in ("train", "test"):
        for k in range(2):
            labels = np.zeros((32, 40), np.uint8)
            labels[:, 10:20], labels[:, 20:] = 1, 3
            write_image(tmp_path / split / "images" / f"a{k}.png", np.full((32, 40), 100, np.uint8))
            write_image(tmp_path / split / "masks" / f"a{k}.png", labels)
    reader = build_reader(str(tmp_path), "test")
    assert reader.num_classes == 4 and reader.in_channels == 1
    assert set(np.unique(reader[0].mask)) == {0, 1, 3}
