"""Retinal OCT layer boundaries and their errors (section III-F, Table V).

A B-scan's label map gives each pixel the index of its layer, counted from the top: 0 above the
first boundary, k between boundary k and boundary k+1. Boundary k (k = 1..K) is the top edge of
layer k: the row that splits an A-scan (a column) into "above" (labels below k) and "at or below"
(labels k or more).

Each A-scan gets exactly one row per boundary, ordered top to bottom (r_1 <= r_2 <= ... <= r_K),
as in the published work on the Duke DME set (Chiu et al., Biomed. Opt. Express 2015, graph search;
He et al. 2019/2021, one ordered surface per A-scan):

* the cost of putting boundary k at row r of a column is the number of its pixels on the wrong
  side, ``#{rows < r with label >= k} + #{rows >= r with label < k}`` (from probability maps its
  expectation: ``P(label >= k)`` above r plus ``P(label < k)`` from r down);
* the K rows of a column minimise the summed cost under the ordering constraint, found exactly by
  dynamic programming over the rows (a shortest path through the K ordered boundaries).

On a clean label map this is the first row whose label is k or more. A stray pixel cannot move a
boundary: moving it would misclassify more pixels than it saves. Labels in ``ignore_labels`` (fluid
painted over the layers in the Duke DME set) weigh nothing; where they hide a boundary, it is put
at the first pixel below them, the convention of :mod:`cenet_lib.data.oct`.

Errors (:func:`boundary_errors`) are the mean absolute difference between the predicted and the
reference row over every A-scan where the reference has the boundary. A predicted boundary is never
dropped: where the prediction lacks the layer the fit places the boundary at the bottom of the
column, the error counts, and the share of such A-scans is reported as ``missing`` beside it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _label_evidence(
    label_map: np.ndarray, num_boundaries: int, ignore_labels: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(K, H, W) indicator of "label >= k" and (H, W) pixel weights (0 on ignored labels)."""
    weight = (~np.isin(label_map, list(ignore_labels))).astype(np.float64)
    levels = np.arange(1, num_boundaries + 1)[:, None, None]
    return (label_map[None] >= levels).astype(np.float64), weight


def _probability_evidence(
    probs: np.ndarray, num_boundaries: int, ignore_labels: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(K, H, W) probability of "label >= k" among the layer classes, and (H, W) their total mass."""
    layers = np.asarray(probs, dtype=np.float64).copy()
    layers[list(ignore_labels)] = 0.0
    weight = layers.sum(axis=0)
    at_or_below = np.cumsum(layers[::-1], axis=0)[::-1]  # at_or_below[k] = sum of classes >= k
    with np.errstate(invalid="ignore", divide="ignore"):
        evidence = np.where(weight > 0, at_or_below[1 : num_boundaries + 1] / weight, 0.0)
    return evidence, weight


def _bottommost_argmin(values: np.ndarray) -> np.ndarray:
    """Per column, the last row holding the column's minimum."""
    return values.shape[0] - 1 - np.argmin(values[::-1], axis=0)


def fit_boundaries(evidence: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Ordered boundary rows (K, W), integers in 0..H, from ``evidence`` (K, H, W) of "label >= k"
    and pixel ``weight`` (H, W): the minimum of the summed misclassification cost with
    r_1 <= ... <= r_K in every column (see the module docstring). Row H means below the last row."""
    num_boundaries, height, width = evidence.shape
    zeros = np.zeros((num_boundaries, 1, width))
    wrong_above = np.concatenate([zeros, np.cumsum(evidence * weight, axis=1)], axis=1)  # (K, H+1, W)
    right_above = np.concatenate([zeros, np.cumsum((1 - evidence) * weight, axis=1)], axis=1)
    cost = wrong_above + (right_above[:, -1:] - right_above)
    # totals[k][r] = least cost of boundaries 1..k with boundary k at row r
    totals = [cost[0]]
    for k in range(1, num_boundaries):
        totals.append(cost[k] + np.minimum.accumulate(totals[-1], axis=0))
    rows = np.empty((num_boundaries, width), dtype=np.int64)
    rows[-1] = _bottommost_argmin(totals[-1])
    for k in range(num_boundaries - 2, -1, -1):
        allowed = np.arange(height + 1)[:, None] <= rows[k + 1][None]
        rows[k] = _bottommost_argmin(np.where(allowed, totals[k], np.inf))
    return rows


def boundary_positions(label_map: np.ndarray, num_boundaries: int, ignore_labels: Sequence[int] = ()) -> np.ndarray:
    """Row of each boundary in each column: float array (num_boundaries, W), NaN where the column
    holds no (non-ignored) pixel of layer k or below, i.e. has no boundary k.

    Accepts one label map (H, W) or a stack (N, H, W), returning (N, num_boundaries, W) then.
    """
    label_map = np.asarray(label_map)
    if label_map.ndim == 3:
        return np.stack([boundary_positions(m, num_boundaries, ignore_labels) for m in label_map])
    if label_map.ndim != 2:
        raise ValueError(f"Expected a label map of shape (H, W) or (N, H, W), got {label_map.shape}.")
    evidence, weight = _label_evidence(label_map, num_boundaries, ignore_labels)
    rows = fit_boundaries(evidence, weight).astype(np.float64)
    rows[~(evidence * weight > 0).any(axis=1)] = np.nan
    return rows


def boundary_errors(
    pred_map: np.ndarray,
    ref_map: np.ndarray,
    num_boundaries: int,
    ignore_labels: Sequence[int] = (),
    pred_probs: np.ndarray | None = None,
) -> dict[str, np.ndarray | float]:
    """Mean absolute boundary error in pixels, per boundary and overall, as in Table V.

    ``pred_map`` and ``ref_map`` are predicted and reference label maps, (H, W) or (N, H, W). With
    ``pred_probs`` (C, H, W) or (N, C, H, W), the predicted boundaries are fitted to the
    probabilities instead of the label map. Returns ``per_boundary`` (num_boundaries,): the mean
    over the A-scans where the reference has the boundary; ``overall``: the mean of those; and
    ``missing`` (num_boundaries,): the share of those A-scans whose predicted label map has no pixel
    of layer k or below (their error is counted, at the fitted row).
    """
    pred_map, ref_map = np.asarray(pred_map), np.asarray(ref_map)
    if pred_map.shape != ref_map.shape:
        raise ValueError(f"Predicted label map shape {pred_map.shape} differs from reference {ref_map.shape}.")
    if pred_map.ndim == 2:
        pred_map, ref_map = pred_map[None], ref_map[None]
        pred_probs = None if pred_probs is None else np.asarray(pred_probs)[None]
    if pred_probs is not None and (pred_probs.ndim != 4 or pred_probs.shape[2:] != pred_map.shape[1:]):
        raise ValueError(f"Probability maps of shape {np.shape(pred_probs)} do not match label maps {pred_map.shape}.")
    errors, missing = [], []
    for index, (pred, ref) in enumerate(zip(pred_map, ref_map, strict=True)):
        evidence, weight = _label_evidence(pred, num_boundaries, ignore_labels)
        absent = ~(evidence * weight > 0).any(axis=1)  # the predicted label map has no layer k or below
        if pred_probs is not None:
            evidence, weight = _probability_evidence(pred_probs[index], num_boundaries, ignore_labels)
        predicted = fit_boundaries(evidence, weight)
        reference = boundary_positions(ref, num_boundaries, ignore_labels)
        errors.append(np.abs(predicted - reference))  # NaN where the reference lacks the boundary
        missing.append(np.where(np.isnan(reference), np.nan, absent))
    error = np.concatenate(errors, axis=1)  # (K, N * W)
    absent = np.concatenate(missing, axis=1)
    counted = (~np.isnan(error)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_boundary = np.nansum(error, axis=1) / counted
        missing_share = np.nansum(absent, axis=1) / counted
    defined = per_boundary[~np.isnan(per_boundary)]
    overall = float(defined.mean()) if defined.size else float("nan")
    return {"per_boundary": per_boundary, "overall": overall, "missing": missing_share}
