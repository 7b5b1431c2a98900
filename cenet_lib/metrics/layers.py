"""Retinal OCT layer boundaries and their errors (section III-F, Table V).

A B-scan's label map gives each pixel the index of its layer, counted from the top: 0 above the
first boundary, k between boundary k and boundary k+1. Boundary k (k = 1..K) in an A-scan (column)
is the row of the top edge of layer k: the first row, from the top, whose label is k or more.
A layer of zero thickness makes two boundaries coincide. Labels in ``ignore_labels`` (for example
fluid painted over the layers in the Duke DME set) are skipped when looking for the edge. A column
with no such row has no boundary k there (NaN); errors are averaged over the columns where both the
prediction and the reference have the boundary, and the share of columns where the prediction lacks
a boundary the reference has is reported beside.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def boundary_positions(label_map: np.ndarray, num_boundaries: int, ignore_labels: Sequence[int] = ()) -> np.ndarray:
    """Row of each boundary in each column: float array (num_boundaries, W), NaN where absent.

    Accepts one label map (H, W) or a stack (N, H, W), returning (N, num_boundaries, W) then.
    """
    label_map = np.asarray(label_map)
    if label_map.ndim == 3:
        return np.stack([boundary_positions(m, num_boundaries, ignore_labels) for m in label_map])
    if label_map.ndim != 2:
        raise ValueError(f"Expected a label map of shape (H, W) or (N, H, W), got {label_map.shape}.")
    valid = ~np.isin(label_map, list(ignore_labels))
    levels = np.arange(1, num_boundaries + 1)[:, None, None]
    at_or_below = (label_map[None] >= levels) & valid[None]  # (K, H, W)
    rows = np.argmax(at_or_below, axis=1).astype(np.float64)  # first True per column
    rows[~at_or_below.any(axis=1)] = np.nan
    return rows


def boundary_errors(
    pred_map: np.ndarray, ref_map: np.ndarray, num_boundaries: int, ignore_labels: Sequence[int] = ()
) -> dict[str, np.ndarray | float]:
    """Mean absolute boundary error in pixels, per boundary and overall, as in Table V.

    Inputs are predicted and reference label maps, (H, W) or (N, H, W). Returns ``per_boundary``
    (num_boundaries,), ``overall`` (mean of the per-boundary errors) and ``missing`` (per boundary,
    the share of reference columns where the prediction has no such boundary).
    """
    pred_map, ref_map = np.asarray(pred_map), np.asarray(ref_map)
    if pred_map.shape != ref_map.shape:
        raise ValueError(f"Predicted label map shape {pred_map.shape} differs from reference {ref_map.shape}.")
    pred = boundary_positions(pred_map, num_boundaries, ignore_labels)
    ref = boundary_positions(ref_map, num_boundaries, ignore_labels)
    if pred.ndim == 2:
        pred, ref = pred[None], ref[None]
    # (N, K, W) -> (K, N * W)
    pred = pred.transpose(1, 0, 2).reshape(num_boundaries, -1)
    ref = ref.transpose(1, 0, 2).reshape(num_boundaries, -1)
    error = np.abs(pred - ref)
    counted = ~np.isnan(error)
    has_ref = ~np.isnan(ref)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_boundary = np.where(counted, error, 0).sum(axis=1) / counted.sum(axis=1)
        missing = (has_ref & np.isnan(pred)).sum(axis=1) / has_ref.sum(axis=1)
    defined = per_boundary[~np.isnan(per_boundary)]
    overall = float(defined.mean()) if defined.size else float("nan")
    return {"per_boundary": per_boundary, "overall": overall, "missing": missing}
