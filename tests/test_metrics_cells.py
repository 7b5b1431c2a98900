"""ISBI 2012 V_Rand / V_Info against scikit-image and hand-made segmentations."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import adapted_rand_error, variation_of_information

from cenet_lib.metrics import cell_contour_scores, ground_truth_segments, rand_info_scores, thin_borders


def grid_labels(size=60, cell=15, membrane=1):
    """An ISBI-style label image: square cells (255) separated by membrane lines (0)."""
    image = np.full((size, size), 255, np.uint8)
    for k in range(0, size, cell):
        image[k : k + membrane, :] = 0
        image[:, k : k + membrane] = 0
    return image


def test_perfect_membrane_map_scores_one():
    labels = grid_labels()
    membrane_prob = (labels == 0).astype(float)
    scores = cell_contour_scores(membrane_prob, labels)
    assert scores["v_rand"] == pytest.approx(1.0)
    assert scores["v_info"] == pytest.approx(1.0)


def test_thick_predicted_membranes_are_thinned_away():
    """Membranes predicted three pixels wide still separate the same cells: a perfect score after thinning."""
    labels = grid_labels()
    thick = np.zeros(labels.shape)
    for k in range(0, 60, 15):
        thick[max(k - 1, 0) : k + 2, :] = 1
        thick[:, max(k - 1, 0) : k + 2] = 1
    assert cell_contour_scores(thick, labels)["v_rand"] == pytest.approx(1.0)


def test_merged_cells_score_lower():
    labels = grid_labels()
    membrane_prob = (labels == 0).astype(float)
    membrane_prob[16:29, 30] = 0  # remove one wall: two cells merge
    scores = cell_contour_scores(membrane_prob, labels)
    assert scores["v_rand"] < 0.99 and scores["v_info"] < 0.99


def test_thinning_fills_borders_inside_foreground():
    segments = np.array([[1, 0, 0, 2], [1, 0, 0, 2]])
    thinned = thin_borders(segments, np.ones_like(segments, bool))
    assert (thinned > 0).all() and set(np.unique(thinned)) == {1, 2}
    assert (thin_borders(np.zeros((3, 3), int), np.ones((3, 3), bool)) == 1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_scikit_image(seed):
    """Same contingency table as scikit-image: its pair-counting F-score and conditional entropies
    follow from our joint distribution exactly (see the module docstring for the n term)."""
    rng = np.random.default_rng(seed)
    truth = ground_truth_segments(grid_labels(60, 12))
    proposed = rng.integers(1, 6, truth.shape) * (truth % 3 + 1)  # a noisy over/under-segmentation
    n = np.count_nonzero(truth)
    v_rand, v_info = rand_info_scores(proposed, truth)

    fg = truth > 0
    pairs = np.stack([proposed[fg], truth[fg]], 1)
    _, joint = np.unique(pairs, axis=0, return_counts=True)
    _, a = np.unique(truth[fg], return_counts=True)
    _, b = np.unique(proposed[fg], return_counts=True)
    s_joint, s_a, s_b = (joint**2).sum(), (a**2).sum(), (b**2).sum()
    assert v_rand == pytest.approx(2 * s_joint / (s_a + s_b))

    are, precision, recall = adapted_rand_error(truth, proposed, ignore_labels=(0,))
    assert 1 - are == pytest.approx(2 * (s_joint - n) / (s_a - n + s_b - n))

    # returns [H(proposed | truth), H(truth | proposed)]: false splits, false merges
    # in bits; ours in nats
    h_s_given_t, h_t_given_s = variation_of_information(truth, proposed, ignore_labels=(0,)) * np.log(2)
    h_t = -np.sum(a / n * np.log(a / n))
    h_s = -np.sum(b / n * np.log(b / n))
    mutual_information = h_t - h_t_given_s
    assert mutual_information == pytest.approx(h_s - h_s_given_t)
    assert v_info == pytest.approx(mutual_information / (0.5 * h_s + 0.5 * h_t))


def test_rand_scores_coincide_with_scikit_image_for_large_segments():
    """With few large segments the n term is negligible: the two F-scores agree to 1e-3."""
    truth = ground_truth_segments(grid_labels(120, 30))
    proposed = truth.copy()
    proposed[proposed == 2] = 1  # merge two cells
    v_rand, _ = rand_info_scores(proposed, truth)
    are, _, _ = adapted_rand_error(truth, proposed, ignore_labels=(0,))
    assert v_rand == pytest.approx(1 - are, abs=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        rand_info_scores(np.ones((3, 3), int), np.ones((4, 4), int))
    with pytest.raises(ValueError, match="no cell interior"):
        rand_info_scores(np.ones((3, 3), int), np.zeros((3, 3), int))
