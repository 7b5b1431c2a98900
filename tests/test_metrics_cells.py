"""ISBI 2012 V_Rand / V_Info against scikit-image and hand-made segmentations."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import adapted_rand_error, variation_of_information

from cenet_lib.data import build_reader
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


def test_thinning_leaves_one_pixel_dams():
    segments = np.array([[1, 0, 0, 0, 2], [1, 0, 0, 0, 2]])
    np.testing.assert_array_equal(thin_borders(segments), [[1, 1, 0, 2, 2], [1, 1, 0, 2, 2]])
    segments = np.array([[1, 0, 0, 2]] * 2)  # an even gap: the dam is one pixel, on either side
    thinned = thin_borders(segments)
    assert (thinned == 0).sum(axis=1).tolist() == [1, 1] and set(np.unique(thinned)) == {0, 1, 2}
    assert (thin_borders(np.zeros((3, 3), int)) == 0).all()  # no segment: everything stays unlabelled


def test_dams_inside_the_foreground_count_as_singletons():
    """Fiji's foreground-restricted statistics add sum(p_i0) / n to both sum p_ij^2 and sum s_i^2."""
    truth = np.array([[1, 1, 1, 1, 1, 1]])
    proposed = np.array([[1, 1, 0, 0, 2, 2]])
    n = truth.size
    p_i0 = 2 / n
    sum_ab = (2 / n) ** 2 * 2 + p_i0 / n  # two segments of 2, two singletons
    sum_b = sum_ab
    sum_a = 1.0
    assert rand_info_scores(proposed, truth)[0] == pytest.approx(2 * sum_ab / (sum_a + sum_b))


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


# --- A small, independent port of the Fiji logic (Trainable Segmentation's RandError and
# VariationOfInformation after thinning), in plain loops, for the stack-level checks below.

def _fiji_components(binary):
    """4-connected components of True pixels, by breadth-first search."""
    labels = np.zeros(binary.shape, int)
    count = 0
    for start in zip(*np.nonzero(binary)):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = [start]
        while queue:
            r, c = queue.pop()
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < binary.shape[0] and 0 <= cc < binary.shape[1] and binary[rr, cc] and not labels[rr, cc]:
                    labels[rr, cc] = count
                    queue.append((rr, cc))
    return labels


def _fiji_thinning(labels):
    """MorphoLibJ's watershed with dams on a binary image, as a first-in first-out flood: the pixels
    next to a segment are queued in raster order; a popped pixel takes the label of its labelled
    neighbours, or becomes a dam (0, never flooded further) when they carry two labels."""
    labels = labels.copy()
    height, width = labels.shape
    neighbours = ((1, 0), (-1, 0), (0, 1), (0, -1))

    def around(r, c):
        return [(r + dr, c + dc) for dr, dc in neighbours if 0 <= r + dr < height and 0 <= c + dc < width]

    queued = np.zeros(labels.shape, bool)
    queue = []
    for r, c in zip(*np.nonzero(labels == 0)):
        if any(labels[p] for p in around(r, c)):
            queue.append((r, c))
            queued[r, c] = True
    head = 0
    while head < len(queue):
        r, c = queue[head]
        head += 1
        seen = {labels[p] for p in around(r, c)} - {0}
        if len(seen) != 1:
            continue  # a dam
        labels[r, c] = seen.pop()
        for p in around(r, c):
            if labels[p] == 0 and not queued[p]:
                queue.append(p)
                queued[p] = True
    return labels


def _fiji_slice_scores(truth_labels, proposal, threshold):
    """Fiji binarises both images with '> threshold' (interior = 1) and scores after thinning."""
    truth = _fiji_components(truth_labels > 0.5)
    thinned = _fiji_thinning(_fiji_components(proposal > threshold))
    inside = truth > 0
    n = inside.sum()
    pairs, sizes_a, sizes_b = {}, {}, {}
    singletons = 0
    for i, j in zip(truth[inside], thinned[inside]):
        sizes_a[i] = sizes_a.get(i, 0) + 1
        if j == 0:
            singletons += 1
            continue
        pairs[i, j] = pairs.get((i, j), 0) + 1
        sizes_b[j] = sizes_b.get(j, 0) + 1
    p_ij = np.array(list(pairs.values())) / n
    a_i = np.array(list(sizes_a.values())) / n
    b_j = np.array(list(sizes_b.values())) / n
    p_i0 = singletons / n
    sum_ab = (p_ij**2).sum() + p_i0 / n  # RandError.foregroundRestrictedStatsN2
    sum_a, sum_b = (a_i**2).sum(), (b_j**2).sum() + p_i0 / n
    v_rand = 2 * sum_ab / (sum_a + sum_b)
    # entropies with every dam pixel its own segment of probability 1/n
    h_a = -(a_i * np.log(a_i)).sum()
    h_b = -(b_j * np.log(b_j)).sum() + p_i0 * np.log(n)
    h_ab = -(p_ij * np.log(p_ij)).sum() + p_i0 * np.log(n)
    v_info = (h_a + h_b - h_ab) / (0.5 * h_a + 0.5 * h_b)
    return v_rand, v_info


def _fiji_stack_scores(truth_labels, membrane_prob):
    """getMaximalVRand/VInfoAfterThinning(0.0, 1.0, 0.1): per threshold the mean over slices, then the maximum."""
    proposal = 1 - membrane_prob  # Fiji reads the proposal as interior probability
    thresholds = [k / 10 for k in range(11)]
    table = np.array([[_fiji_slice_scores(t, p, th) for t, p in zip(truth_labels, proposal)] for th in thresholds])
    means = table.mean(axis=1)
    return means[:, 0].max(), means[:, 1].max(), table


def calibrated_stack(offsets=(-0.25, 0.0, 0.25), size=96, seed=0):
    """Cells separated by membranes, and membrane probabilities whose calibration differs by slice.
    (At 96x96 one dam pixel moves V_Rand by about 1e-4; the two floods place a few differently.)"""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    labels, probs = [], []
    for offset in offsets:
        image = grid_labels(size, 16)
        image[rng.integers(0, size, 6), rng.integers(0, size, 6)] = 0  # a few specks of membrane
        noise = ndimage.gaussian_filter(rng.normal(0, 0.25, image.shape), 1.0)
        prob = np.clip(np.where(image == 0, 0.75, 0.25) + offset + noise, 0, 1)
        labels.append(image)
        probs.append(prob)
    return np.stack(labels), np.stack(probs)


def test_stack_scoring_matches_the_fiji_logic():
    """The issue's case: three slices with calibration offsets of -0.25, 0 and +0.25."""
    labels, probs = calibrated_stack()
    fiji_rand, fiji_info, table = _fiji_stack_scores(labels, probs)
    ours = cell_contour_scores(probs, labels)
    assert ours["v_rand"] == pytest.approx(fiji_rand, abs=2e-3)
    assert ours["v_info"] == pytest.approx(fiji_info, abs=2e-3)
    assert np.mean(ours["v_rand_per_slice"]) == pytest.approx(ours["v_rand"])
    # the slices want different thresholds, so averaging per-slice maxima (the old rule) scores higher
    best_per_slice = table[:, :, 0].argmax(axis=0)
    assert len(set(best_per_slice)) > 1
    assert table[:, :, 0].max(axis=0).mean() > fiji_rand + 1e-3


def test_a_stack_is_scored_slice_by_slice_not_in_3d():
    labels, probs = calibrated_stack(offsets=(0.0, 0.0))
    stack = cell_contour_scores(probs, labels)
    singles = [
        cell_contour_scores(p, t, thresholds=[stack["v_rand_threshold"]])["v_rand"] for p, t in zip(probs, labels)
    ]
    np.testing.assert_allclose(stack["v_rand_per_slice"], singles)
    with pytest.raises(ValueError, match="same shape"):
        cell_contour_scores(probs[0], labels)


@pytest.mark.real_data
def test_real_isbi_labels_score_one_against_themselves(real_root):
    reader = build_reader("isbi2012", "test", real_root)
    labels = np.stack([reader[i].extra["label_image"] for i in range(2)])
    scores = cell_contour_scores((labels == 0).astype(float), labels)
    assert scores["v_rand"] == pytest.approx(1.0) and scores["v_info"] == pytest.approx(1.0)
