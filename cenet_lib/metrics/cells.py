"""Cell contour scores of the ISBI 2012 EM challenge (section III-E, Table IV).

V_Rand and V_Info are the final scores of the challenge, as defined by Arganda-Carreras et al.,
"Crowdsourcing the creation of image segmentation algorithms for connectomics", Front. Neuroanat.
2015, and computed by its Fiji script ("Segmentation evaluation after border thinning", which calls
``RandError.getMaximalVRandAfterThinning(0.0, 1.0, 0.1, true)`` and
``VariationOfInformation.getMaximalVInfoAfterThinning(0.0, 1.0, 0.1)`` of Trainable Segmentation):

1. Ground truth segments: connected components (4-connectivity) of the cell interior of the label
   image (ISBI labels: membrane = 0, interior = 255).
2. Proposed segments: the prediction is thresholded (pixels whose membrane probability is below
   the threshold are cell interior) and its interior split into connected components
   (4-connectivity).
3. Border thinning: a classic watershed (4-connected) of the thresholded proposal, flooded from the
   proposed segments, gives every membrane pixel to a segment except one-pixel dams where two
   segments meet. Dam pixels inside the ground-truth foreground are counted as singletons, each its
   own segment, as Fiji's foreground-restricted statistics do (their ``sum(p_i0) / n`` terms).
4. Foreground restriction: only pixels inside ground-truth segments count. With p_ij the joint
   distribution of (proposed segment i, true segment j), s_i and t_j its marginals:
   V_Rand = sum p_ij^2 / (0.5 sum s_i^2 + 0.5 sum t_j^2)   (Eq. 3 of the challenge paper),
   V_Info = I(S; T) / (0.5 H(S) + 0.5 H(T))                 (Eq. 6).
5. Stack scoring: for each threshold of the grid 0.0, 0.1, ..., 1.0 the scores are averaged over
   the slices of the stack; the reported score is the maximum of that mean over thresholds, with
   one threshold for the whole stack (each metric its own). Per-slice scores are reported at the
   stack's threshold, so their mean is the stack score.

Relation to scikit-image: ``skimage.metrics.adapted_rand_error(true, test, ignore_labels=(0,))``
counts pairs of distinct pixels, subtracting n from every sum of squares, so its F-score is
2 (sum n_ij^2 - n) / (sum a^2 - n + sum b^2 - n) in pixel counts; V_Rand keeps the self-pairs. The
two agree up to that term (tests check the exact relation). ``variation_of_information(true, test)``
returns the conditional entropies H(S|T) (false splits) and H(T|S) (false merges) on the same
pixels, in bits; V_Info follows from them and the marginal entropies.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.measure import label
from skimage.segmentation import watershed

#: The Fiji script's grid: 0.0 to 1.0 in steps of 0.1.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(0.0, 1.01, 0.1), 1))


def ground_truth_segments(label_image: np.ndarray) -> np.ndarray:
    """Connected components of the cell interior (label > 0) of an ISBI label image; membrane = 0."""
    return label(np.asarray(label_image) > 0, connectivity=1)


def proposed_segments(membrane_prob: np.ndarray, threshold: float) -> np.ndarray:
    """Connected components (4-connectivity) of the pixels whose membrane probability is below ``threshold``."""
    return label(np.asarray(membrane_prob) < threshold, connectivity=1)


def thin_borders(segments: np.ndarray) -> np.ndarray:
    """Border thinning as Fiji does it: a 4-connected watershed of the proposal (segments at 0,
    border pixels at 1) flooded from ``segments``; one-pixel dams between segments stay 0. A
    proposal without any segment stays all 0."""
    segments = np.asarray(segments)
    if not segments.any():
        return np.zeros_like(segments)
    return watershed((segments == 0).astype(np.uint8), markers=segments, connectivity=1, watershed_line=True)


def _with_singletons(proposed: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """``proposed`` with each unlabelled (0) pixel inside ``foreground`` made a segment of its own."""
    proposed = proposed.astype(np.int64, copy=True)
    unlabelled = (proposed == 0) & foreground
    proposed[unlabelled] = proposed.max() + 1 + np.arange(np.count_nonzero(unlabelled))
    return proposed


def _entropy(p: np.ndarray) -> float:
    return float(-np.sum(p * np.log(p)))


def rand_info_scores(proposed: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(V_Rand, V_Info) of a proposed segmentation (already thinned) against true segments.

    Both inputs are label images; truth label 0 (membrane) is excluded (foreground restriction) and
    proposed label 0 inside the foreground (dams) counts as singletons.
    """
    proposed, truth = np.asarray(proposed), np.asarray(truth)
    if proposed.shape != truth.shape:
        raise ValueError(f"Proposed segmentation shape {proposed.shape} differs from ground truth {truth.shape}.")
    foreground = truth > 0
    if not foreground.any():
        raise ValueError("The ground truth has no cell interior (all pixels are membrane).")
    s = _with_singletons(proposed, foreground)[foreground]
    t = truth[foreground].astype(np.int64)
    n = s.size
    _, joint = np.unique(s * (t.max() + 1) + t, return_counts=True)
    _, s_counts = np.unique(s, return_counts=True)
    _, t_counts = np.unique(t, return_counts=True)
    joint, s_p, t_p = joint / n, s_counts / n, t_counts / n
    v_rand = np.sum(joint**2) / (0.5 * np.sum(s_p**2) + 0.5 * np.sum(t_p**2))
    h_s, h_t = _entropy(s_p), _entropy(t_p)
    mutual_information = h_s + h_t - _entropy(joint)
    denominator = 0.5 * h_s + 0.5 * h_t
    v_info = mutual_information / denominator if denominator > 0 else 1.0
    return float(v_rand), float(v_info)


def cell_contour_scores(
    membrane_prob: np.ndarray, label_image: np.ndarray, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> dict[str, float | np.ndarray]:
    """Maximal V_Rand and V_Info after border thinning of one slice (H, W) or a stack (N, H, W).

    ``membrane_prob`` is the predicted probability of membrane in [0, 1]; ``label_image`` the ISBI
    label slices (membrane = 0). A stack is scored slice by slice, never in 3-D: for each threshold
    the mean over slices, then the maximum over thresholds (step 5 of the module docstring).
    Returns ``v_rand`` and ``v_info`` (the stack scores), ``v_rand_threshold`` and
    ``v_info_threshold`` (where each maximum was reached) and ``v_rand_per_slice`` and
    ``v_info_per_slice`` (N,) at those thresholds.
    """
    membrane_prob, label_image = np.asarray(membrane_prob), np.asarray(label_image)
    if membrane_prob.shape != label_image.shape or membrane_prob.ndim not in (2, 3):
        raise ValueError(
            f"Expected a membrane probability map and a label image of the same shape, (H, W) or (N, H, W); "
            f"got {membrane_prob.shape} and {label_image.shape}."
        )
    if membrane_prob.ndim == 2:
        membrane_prob, label_image = membrane_prob[None], label_image[None]
    truths = [ground_truth_segments(slice_labels) for slice_labels in label_image]
    scores = np.array(
        [  # (thresholds, slices, 2)
            [
                rand_info_scores(thin_borders(proposed_segments(prob, threshold)), truth)
                for prob, truth in zip(membrane_prob, truths, strict=True)
            ]
            for threshold in thresholds
        ]
    )
    result: dict[str, float | np.ndarray] = {}
    for position, name in enumerate(("v_rand", "v_info")):
        per_threshold = scores[:, :, position].mean(axis=1)
        best = int(np.argmax(per_threshold))
        result[name] = float(per_threshold[best])
        result[f"{name}_threshold"] = float(thresholds[best])
        result[f"{name}_per_slice"] = scores[best, :, position]
    return result
