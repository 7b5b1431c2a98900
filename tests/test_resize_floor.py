"""benchmarks/resize_floor.py: the error of a perfect network at a resized size."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from cenet_lib import metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from resize_floor import oracle_probabilities


def layered_mask(height: int = 60, width: int = 40, boundaries: int = 8) -> np.ndarray:
    """Label k below boundary k, boundaries that slope across the columns."""
    rows = np.arange(height)[:, None]
    tops = np.array([6 + 6 * k + np.arange(width) * 0.1 for k in range(boundaries)])  # (K, W)
    return (rows >= tops[:, None, :].round()).sum(axis=0).astype(np.uint8)


def test_the_floor_is_zero_at_native_size_and_grows_when_resized():
    mask = layered_mask()
    floors = {}
    for size in ((60, 40), (30, 40), (15, 40)):
        probs = oracle_probabilities(mask, size, num_classes=9)
        assert probs.shape == (9, 60, 40)
        np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
        floors[size] = metrics.boundary_errors(probs.argmax(axis=0), mask, 8, pred_probs=probs)["overall"]
    assert floors[(60, 40)] == 0.0
    # each resized row spans 2 and 4 native rows: on average a boundary lands within half of that
    assert 0.0 < floors[(30, 40)] <= 1.0 and floors[(30, 40)] < floors[(15, 40)] <= 2.0
