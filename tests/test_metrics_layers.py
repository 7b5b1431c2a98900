"""OCT layer boundaries (Table V) on hand-made label maps."""
from __future__ import annotations

import numpy as np
import pytest

from cenet_lib.metrics import boundary_errors, boundary_positions


def layered(height=40, width=6, tops=(5, 10, 18, 30)):
    """Label map with layer k starting at row tops[k-1] in every column."""
    rows = np.arange(height)[:, None]
    return (rows >= np.array(tops)[:, None, None]).sum(0).astype(np.uint8) * np.ones((1, width), np.uint8)


def test_positions_of_flat_layers():
    positions = boundary_positions(layered(), 4)
    assert positions.shape == (4, 6)
    np.testing.assert_array_equal(positions[:, 0], [5, 10, 18, 30])


def test_zero_thickness_layer_and_missing_boundary():
    label_map = layered(tops=(5, 10, 10, 30))  # layer 2 has zero thickness
    positions = boundary_positions(label_map, 5)
    np.testing.assert_array_equal(positions[:4, 0], [5, 10, 10, 30])
    assert np.isnan(positions[4]).all()  # no layer 5 at all


def test_ignored_label_is_skipped():
    label_map = layered()
    label_map[8:12, 2] = 9  # fluid painted across boundary 2 in column 2
    positions = boundary_positions(label_map, 4, ignore_labels=(9,))
    assert positions[1, 2] == 12  # first non-fluid pixel of layer >= 2
    assert positions[0, 2] == 5


def test_errors_of_a_shifted_prediction():
    ref = layered()
    pred = layered(tops=(6, 10, 16, 30))
    result = boundary_errors(np.stack([pred, pred]), np.stack([ref, ref]), 4)
    np.testing.assert_allclose(result["per_boundary"], [1, 0, 2, 0])
    assert result["overall"] == pytest.approx(0.75)
    np.testing.assert_array_equal(result["missing"], 0)


def test_missing_predicted_boundary_is_reported():
    ref = layered()
    pred = layered(tops=(5, 10, 18, 99))  # the prediction never reaches layer 4
    result = boundary_errors(pred, ref, 4)
    assert np.isnan(result["per_boundary"][3]) and result["missing"][3] == 1.0
    assert result["overall"] == pytest.approx(0.0)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="differs"):
        boundary_errors(np.zeros((4, 4)), np.zeros((5, 4)), 2)
