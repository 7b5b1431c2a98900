"""Pixel-wise scores of binary segmentations (sections III-B to III-D, Tables I-III and VI).

Every function takes numpy arrays of equal shape: a prediction (boolean mask, or probabilities
for :func:`auc`), a boolean ground truth and an optional boolean ``region`` (for DRIVE its field of
view, the convention of the literature since Staal et al. 2004; pass ``None`` to score the whole
image as the authors' released code did). Only pixels inside the region are counted.

Undefined ratios (a denominator of zero) are NaN, except overlap error and Dice, where an empty
prediction of an empty ground truth is a perfect score (0 and 1).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata


class ConfusionCounts(NamedTuple):
    """Pixel counts of a binary prediction; each score of this module is a property, defined once."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def overlap_error(self) -> float:
        union = self.tp + self.fp + self.fn
        return 1.0 - self.tp / union if union else 0.0

    @property
    def dice(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 1.0

    @property
    def sensitivity(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn)


def _select(values: np.ndarray, target: np.ndarray, region: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    values, target = np.asarray(values), np.asarray(target)
    if values.shape != target.shape:
        raise ValueError(f"Prediction shape {values.shape} differs from ground-truth shape {target.shape}.")
    if region is None:
        return values.ravel(), target.ravel().astype(bool)
    region = np.asarray(region, dtype=bool)
    if region.shape != target.shape:
        raise ValueError(f"Region shape {region.shape} differs from ground-truth shape {target.shape}.")
    return values[region], target[region].astype(bool)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def confusion_counts(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> ConfusionCounts:
    """True/false positives and negatives of a boolean prediction, inside ``region``."""
    pred, target = _select(pred, target, region)
    pred = pred.astype(bool)
    tp = int(np.count_nonzero(pred & target))
    fp = int(np.count_nonzero(pred & ~target))
    fn = int(np.count_nonzero(~pred & target))
    return ConfusionCounts(tp, fp, fn, pred.size - tp - fp - fn)


def overlap_error(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Overlap error E = 1 - |S and G| / |S or G|, Eq. (4) (one minus the Jaccard index)."""
    return confusion_counts(pred, target, region).overlap_error


def dice(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Dice coefficient 2|S and G| / (|S| + |G|) (the F1 score)."""
    return confusion_counts(pred, target, region).dice


def sensitivity(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Sen = TP / (TP + FN), Eq. (5) (recall, true positive rate)."""
    return confusion_counts(pred, target, region).sensitivity


def specificity(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Spe = TN / (TN + FP) (true negative rate)."""
    return confusion_counts(pred, target, region).specificity


def accuracy(pred: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Acc = (TP + TN) / (TP + TN + FP + FN), Eq. (6)."""
    return confusion_counts(pred, target, region).accuracy


def auc(prob: np.ndarray, target: np.ndarray, region: np.ndarray | None = None) -> float:
    """Area under the ROC curve of the probabilities (section III-C).

    Computed as the Mann-Whitney U statistic with average ranks for ties, which equals the
    trapezoidal area under the ROC curve (scikit-learn's ``roc_auc_score``). NaN when the ground
    truth inside the region holds a single class.
    """
    prob, target = _select(prob, target, region)
    positives = int(np.count_nonzero(target))
    negatives = target.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(prob.astype(np.float64))
    rank_sum = ranks[target].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def binary_scores(
    prob: np.ndarray, target: np.ndarray, region: np.ndarray | None = None, threshold: float = 0.5
) -> dict[str, float]:
    """All scores of Tables I-III for one image: the mask is ``prob >= threshold``."""
    pred = np.asarray(prob) >= threshold
    c = confusion_counts(pred, target, region)
    return {
        "overlap_error": c.overlap_error,
        "dice": c.dice,
        "sensitivity": c.sensitivity,
        "specificity": c.specificity,
        "accuracy": c.accuracy,
        "auc": auc(prob, target, region),
    }
