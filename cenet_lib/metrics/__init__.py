"""Evaluation metrics of Tables I-VI. numpy in, floats or numpy arrays out; no per-pixel loops."""
from .aggregate import format_mean_std, mean_std, summarize
from .cells import cell_contour_scores, ground_truth_segments, proposed_segments, rand_info_scores, thin_borders
from .layers import boundary_errors, boundary_positions
from .pixel import (
    ConfusionCounts,
    accuracy,
    auc,
    binary_scores,
    confusion_counts,
    dice,
    overlap_error,
    sensitivity,
    specificity,
)

__all__ = [
    "ConfusionCounts",
    "accuracy",
    "auc",
    "binary_scores",
    "boundary_errors",
    "boundary_positions",
    "cell_contour_scores",
    "confusion_counts",
    "dice",
    "format_mean_std",
    "ground_truth_segments",
    "mean_std",
    "overlap_error",
    "proposed_segments",
    "rand_info_scores",
    "sensitivity",
    "specificity",
    "summarize",
    "thin_borders",
]
