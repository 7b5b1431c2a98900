"""Pixel scores against scikit-learn, on random and hand-made inputs and edge cases."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, jaccard_score, recall_score, roc_auc_score

from cenet_lib import metrics

rng = np.random.default_rng(0)
SHAPES = [(17, 23), (64, 64)]


def random_case(shape, p_fg=0.3):
    target = rng.random(shape) < p_fg
    prob = np.clip(target * 0.4 + rng.random(shape) * 0.6, 0, 1)  # informative but imperfect
    prob = np.round(prob, 2)  # ties, as in 8-bit probability maps
    region = rng.random(shape) < 0.8
    return prob, target, region


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_region", [False, True])
def test_against_sklearn(shape, use_region):
    prob, target, region = random_case(shape)
    region = region if use_region else None
    pred = prob >= 0.5
    sel = region if region is not None else np.ones(shape, bool)
    y, p, s = target[sel], pred[sel], prob[sel]
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[False, True]).ravel()
    assert metrics.confusion_counts(pred, target, region) == (tp, fp, fn, tn)
    assert metrics.sensitivity(pred, target, region) == pytest.approx(recall_score(y, p))
    assert metrics.specificity(pred, target, region) == pytest.approx(recall_score(~y, ~p))
    assert metrics.accuracy(pred, target, region) == pytest.approx(accuracy_score(y, p))
    assert metrics.overlap_error(pred, target, region) == pytest.approx(1 - jaccard_score(y, p))
    assert metrics.dice(pred, target, region) == pytest.approx(f1_score(y, p))
    assert metrics.auc(prob, target, region) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    scores = metrics.binary_scores(prob, target, region)
    assert scores["auc"] == pytest.approx(roc_auc_score(y, s))
    assert scores["dice"] == pytest.approx(f1_score(y, p))
    assert scores["overlap_error"] == pytest.approx(1 - jaccard_score(y, p))


def test_region_excludes_outside_pixels():
    target = np.zeros((4, 4), bool)
    pred = np.zeros((4, 4), bool)
    pred[0, 0] = True  # a false positive outside the region
    region = np.ones((4, 4), bool)
    region[0, 0] = False
    assert metrics.accuracy(pred, target) == pytest.approx(15 / 16)
    assert metrics.accuracy(pred, target, region) == 1.0


def test_hand_made_overlap_error():
    target = np.zeros((10, 10), bool)
    target[2:6, 2:6] = True  # 16 pixels
    pred = np.zeros((10, 10), bool)
    pred[4:8, 4:8] = True  # 16 pixels, 4 shared
    assert metrics.overlap_error(pred, target) == pytest.approx(1 - 4 / 28)
    assert metrics.dice(pred, target) == pytest.approx(8 / 32)


def test_edge_cases():
    empty = np.zeros((5, 5), bool)
    full = np.ones((5, 5), bool)
    assert metrics.overlap_error(empty, empty) == 0.0
    assert metrics.dice(empty, empty) == 1.0
    assert np.isnan(metrics.sensitivity(empty, empty))  # no positives: undefined
    assert metrics.specificity(empty, empty) == 1.0
    assert metrics.accuracy(full, full) == 1.0
    assert np.isnan(metrics.specificity(full, full))
    assert metrics.overlap_error(full, empty) == 1.0
    assert np.isnan(metrics.auc(np.full((5, 5), 0.3), full))  # a single class
    assert np.isnan(metrics.auc(np.full((5, 5), 0.3), empty))
    assert metrics.sensitivity(empty, full) == 0.0


def test_auc_of_constant_prediction_is_one_half():
    target = rng.random((8, 8)) < 0.5
    assert metrics.auc(np.full((8, 8), 0.7), target) == pytest.approx(0.5)


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(4, 4\)"):
        metrics.dice(np.zeros((3, 3), bool), np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="Region shape"):
        metrics.dice(np.zeros((3, 3), bool), np.zeros((3, 3), bool), np.zeros((2, 2), bool))
