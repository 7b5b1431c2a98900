"""Cell contour scores of the ISBI 2012 EM challenge (section III-E, Table IV).

V_Rand and V_Info are the final scores of the challenge, as defined by Arganda-Carreras et al.,
"Crowdsourcing the creation of image segmentation algorithms for connectomics", Front. Neuroanat.
2015, and computed by its Fiji script ("Segmentation evaluation after border thinning"):

1. Ground truth segments: connected components (4-connectivity) of the cell interior of the label
   image (ISBI labels: membrane = 0, interior = 255).
2. Proposed segments: the prediction is thresholded (pixels whose membrane probability is below
   the threshold are cell interior) and its interior split into connected components.
3. Border thinning: proposed segments grow into the membrane pixels, one pixel per step, each
   membrane pixel taking the largest label in its 3x3 neighbourhood, until no membrane pixel is left
   inside the ground-truth foreground.
4. Foreground restriction: only pixels inside ground-truth segments count. With p_ij the joint
   distribution of (proposed segment i, true segment j), s_i and t_j its marginals:
   V_Rand = sum p_ij^2 / (0.5 sum s_i^2 + 0.5 sum t_j^2)   (Eq. 3 of the challenge paper),
   V_Info = I(S; T) / (0.5 H(S) + 0.5 H(T))                 (Eq. 6).
5. The reported score is the maximum over thresholds (the Fiji script sweeps them too).

Relation to scikit-image: ``skimage.metrics.adapted_rand_error(true, test, ignore_labels=(0,))``
counts pairs of distinct pixels, subtracting n from every sum of squares, so its F-score is
2 (sum n_ij^2 - n) / (sum a^2 - n + sum b^2 - n) in pixel counts; V_Rand keeps the self-pairs. The
two agree up to that term (tests check the exact relation). ``variation_of_information(true, test)`` returns
the conditional entropies H(S|T) (false splits) and H(T|S) (false merges) on the same pixels,
in bits; V_Info follows from them
and the marginal entropies.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.measure import label

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(0.1, 1.0, 0.1), 1))


def ground_truth_segments(label_image: np.ndarray) -> np.ndarray:
    """Connected components of the cell interior (label > 0) of an ISBI label image; membrane = 0."""
    return label(np.asarray(label_image) > 0, connectivity=1)


def proposed_segments(membrane_prob: np.ndarray, threshold: float) -> np.ndarray:
    """Connected components of the pixels whose membrane probability is below ``threshold``."""
    return label(np.asarray(membrane_prob) < threshold, connectivity=1)


def thin_borders(segments: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """Grow ``segments`` into their zero (border) pixels until none is left inside ``foreground``.

    Each step gives every border pixel the largest label of its 3x3 neighbourhood. A proposal with no
    segment at all becomes one segment covering the image.
    """
    segments = np.array(segments, copy=True)
    if not segments.any():
        return np.ones_like(segments)
    while np.any(segments[foreground] == 0):
        border = segments == 0
        segments[border] = ndimage.maximum_filter(segments, size=3)[border]
    return segments


def _joint_distribution(segments: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint distribution p_ij (flat, nonzero entries) and marginals s_i, t_j over truth > 0."""
    foreground = truth > 0
    s, t = segments[foreground].astype(np.int64), truth[foreground].astype(np.int64)
    n = s.size
    _, joint = np.unique(s * (t.max() + 1) + t, return_counts=True)
    _, s_counts = np.unique(s, return_counts=True)
    _, t_counts = np.unique(t, return_counts=True)
    return joint / n, s_counts / n, t_counts / n


def _entropy(p: np.ndarray) -> float:
    return float(-np.sum(p * np.log(p)))


def rand_info_scores(proposed: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(V_Rand, V_Info) of a proposed segmentation (already thinned) against true segments.

    Both inputs are label images; truth label 0 (membrane) is excluded (foreground restriction).
    """
    proposed, truth = np.asarray(proposed), np.asarray(truth)
    if proposed.shape != truth.shape:
        raise ValueError(f"Proposed segmentation shape {proposed.shape} differs from ground truth {truth.shape}.")
    if not np.any(truth > 0):
        raise ValueError("The ground truth has no cell interior (all pixels are membrane).")
    joint, s, t = _joint_distribution(proposed, truth)
    v_rand = np.sum(joint**2) / (0.5 * np.sum(s**2) + 0.5 * np.sum(t**2))
    h_s, h_t = _entropy(s), _entropy(t)
    mutual_information = h_s + h_t - _entropy(joint)
    denominator = 0.5 * h_s + 0.5 * h_t
    v_info = mutual_information / denominator if denominator > 0 else 1.0
    return float(v_rand), float(v_info)


def cell_contour_scores(
    membrane_prob: np.ndarray, label_image: np.ndarray, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> dict[str, float]:
    """Maximal V_Rand and V_Info after border thinning over ``thresholds`` (Table IV).

    ``membrane_prob`` is the predicted probability of membrane in [0, 1]; ``label_image`` is the
    ISBI label slice (membrane = 0). Also returns the thresholds at which each maximum was reached.
    """
    truth = ground_truth_segments(label_image)
    foreground = truth > 0
    best = {"v_rand": -np.inf, "v_info": -np.inf, "v_rand_threshold": np.nan, "v_info_threshold": np.nan}
    for threshold in thresholds:
        thinned = thin_borders(proposed_segments(membrane_prob, threshold), foreground)
        v_rand, v_info = rand_info_scores(thinned, truth)
        if v_rand > best["v_rand"]:
            best["v_rand"], best["v_rand_threshold"] = v_rand, float(threshold)
        if v_info > best["v_info"]:
            best["v_info"], best["v_info_threshold"] = v_info, float(threshold)
    return best
