"""Sample predictions kept with a run's record: 8-bit PNG maps that read back as they were written."""
import numpy as np
import pytest

from cenet_lib.reporting.stored_predictions import has_predictions, load_predictions, save_predictions


def test_one_class_reads_back_as_a_probability_within_half_a_level(tmp_path):
    rng = np.random.default_rng(0)
    probs = [rng.random((1, 37, 53)), rng.random((1, 20, 11))]
    save_predictions(tmp_path, ["01_test", "02_test"], probs)
    stored = load_predictions(tmp_path)
    assert [s.image_id for s in stored] == ["01_test", "02_test"] and not stored[0].labels
    for written, read in zip(probs, stored):
        assert read.values.shape == written.shape[1:]
        assert np.abs(read.values - written[0]).max() <= 0.5 / 255 + 1e-12


def test_several_classes_read_back_as_the_label_map(tmp_path):
    probs = np.random.default_rng(1).random((4, 30, 40))
    save_predictions(tmp_path, ["a"], [probs])
    (stored,) = load_predictions(tmp_path)
    assert stored.labels and stored.values.dtype == np.uint8
    np.testing.assert_array_equal(stored.values, probs.argmax(axis=0))


def test_a_failed_write_leaves_the_earlier_maps_whole(tmp_path, monkeypatch):
    save_predictions(tmp_path, ["a"], [np.full((1, 8, 8), 0.25)])
    monkeypatch.setattr("cenet_lib.reporting.stored_predictions.cv2.imwrite", lambda *args: False)
    with pytest.raises(OSError):
        save_predictions(tmp_path, ["b"], [np.full((1, 8, 8), 0.75)])
    (stored,) = load_predictions(tmp_path)
    assert stored.image_id == "a" and np.allclose(stored.values, 64 / 255)


def test_a_run_without_maps_has_none(tmp_path):
    assert not has_predictions(tmp_path) and load_predictions(tmp_path) == []
