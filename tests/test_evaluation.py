"""Evaluation: predictions mapped back to the native frame, scored per task as the tables do."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cenet_lib.data import build_reader
from cenet_lib.data.base import Sample
from cenet_lib.evaluation import evaluate, predict_sample
from cenet_lib.metrics import binary_scores
from cenet_lib.tasks import CellStackTask, DiscCropTask, FieldOfViewTask, LayerBoundaryTask, MultiClassTask


class Oracle(nn.Module):
    """Returns large logits of the sign of (first input channel - threshold): a perfect segmenter
    for stand-ins whose foreground is brighter (or darker, with ``invert``) than the background."""

    def __init__(self, threshold: float = 0.0, invert: bool = False, classes: int = 1) -> None:
        super().__init__()
        self.threshold, self.sign, self.classes = threshold, -1.0 if invert else 1.0, classes

    def forward(self, x):
        logit = 40 * self.sign * (x[:, :1] - self.threshold)
        return logit if self.classes == 1 else torch.cat([-logit, logit], dim=1)


def test_predictions_come_back_at_native_size():
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    probs = predict_sample(Oracle(), image, (64, 64), tta=True)
    assert probs.shape == (1, 37, 53) and 0 <= probs.min() and probs.max() <= 1
    assert predict_sample(Oracle(classes=2), image, None, tta=False).shape == (2, 37, 53)


def test_drive_scores_inside_fov_and_whole_image(synthetic_root):
    reader = build_reader("drive", "test", synthetic_root)
    table, predictions = evaluate(Oracle(threshold=0.0, invert=True), reader, None, tta=True, keep_predictions=True)
    assert len(table) == len(reader) and {"fov_auc", "whole_auc", "fov_sensitivity", "whole_accuracy"} <= set(table)
    sample = reader[0]
    expected = binary_scores(predictions[sample.id][0], sample.mask.astype(bool), sample.roi)
    assert table.loc[0, "fov_accuracy"] == pytest.approx(expected["accuracy"])
    # this oracle marks everything dark as vessel, the black surround too: only the FOV score ignores it
    assert (table["whole_accuracy"] < table["fov_accuracy"]).all() and (table["fov_auc"] > 0.8).all()
    human = reader.task.extras(reader)["human_observer"]
    assert len(human) == len(reader) and (human["fov_sensitivity"] > 0.9).all()


def test_optic_disc_is_scored_in_the_full_frame(synthetic_root):
    reader = build_reader("drishti", "test", synthetic_root, crop_size=100)
    table, predictions = evaluate(Oracle(threshold=1.2), reader, (64, 64), tta=False, keep_predictions=True)
    sample = reader[0]
    assert predictions[sample.id].shape[1:] == sample.extra["full_mask"].shape
    assert set(table.columns) >= {"overlap_error", "dice", "accuracy", "sensitivity", "disc_in_crop"}
    assert set(table["disc_in_crop"]) <= {0.0, 1.0}


def test_a_crop_that_misses_the_disc_is_flagged(synthetic_root):
    reader = build_reader("drishti", "test", synthetic_root, crop_size=100)
    sample = reader[0]
    probs = np.zeros((1, *sample.extra["full_mask"].shape), np.float32)
    assert reader.task.score(probs, sample, 0.5)["disc_in_crop"] == 1.0
    cut = Sample(sample.id, sample.image, np.zeros_like(sample.mask), None, sample.extra)  # the crop holds none of it
    assert reader.task.score(probs, cut, 0.5)["disc_in_crop"] == 0.0


def test_cells_and_oct_tasks(synthetic_root):
    isbi = build_reader("isbi2012", "test", synthetic_root)
    assert isinstance(isbi.task, CellStackTask)
    table, _ = evaluate(Oracle(threshold=-0.3, invert=True), isbi, None, tta=False)
    assert (table["v_rand"] > 0.9).all() and (table["v_info"] > 0.9).all()
    assert table["v_rand_threshold"].nunique() == 1  # one threshold for the whole test stack

    duke = build_reader("duke", "test", synthetic_root)
    sample = duke[0]
    perfect = np.eye(duke.num_classes)[sample.mask].transpose(2, 0, 1)
    row = duke.task.score(perfect, sample, 0.5)
    assert row["boundary_overall"] == 0 and row["pixel_accuracy"] == 1
    down_two = np.vstack([sample.mask[:1], sample.mask[:1], sample.mask[:-2]])  # every boundary 2 rows lower
    shifted = np.eye(duke.num_classes)[down_two].transpose(2, 0, 1)
    assert duke.task.score(shifted, sample, 0.5)["boundary_ILM"] == pytest.approx(2)


def test_generic_multiclass_scores():
    mask = np.array([[0, 1], [2, 2]], np.uint8)
    probs = np.eye(3)[mask].transpose(2, 0, 1)
    row = MultiClassTask().score(probs, Sample("x", np.zeros((2, 2, 1), np.uint8), mask), 0.5)
    assert row == {"dice_class1": 1.0, "iou_class1": 1.0, "dice_class2": 1.0, "iou_class2": 1.0, "pixel_accuracy": 1.0}


def test_multiclass_iou_and_dice_per_named_class_match_scikit_learn():
    from sklearn.metrics import f1_score, jaccard_score

    rng = np.random.default_rng(0)
    mask = rng.integers(0, 3, (20, 20)).astype(np.uint8)
    prediction = np.where(rng.random((20, 20)) < 0.7, mask, rng.integers(0, 3, (20, 20))).astype(np.uint8)
    probs = np.eye(3)[prediction].transpose(2, 0, 1)
    row = MultiClassTask(("background", "cyst", "fluid")).score(
        probs, Sample("x", np.zeros((20, 20, 1), np.uint8), mask), 0.5
    )
    jaccard = jaccard_score(mask.ravel(), prediction.ravel(), labels=[1, 2], average=None)
    f1 = f1_score(mask.ravel(), prediction.ravel(), labels=[1, 2], average=None)
    assert row["iou_cyst"] == pytest.approx(jaccard[0]) and row["iou_fluid"] == pytest.approx(jaccard[1])
    assert row["dice_cyst"] == pytest.approx(f1[0]) and row["dice_fluid"] == pytest.approx(f1[1])


def test_each_reader_declares_its_task(synthetic_root):
    """Evaluation asks the reader's task, never its name: each section's reader names its own."""
    expected = {"drive": FieldOfViewTask, "drishti": DiscCropTask, "isbi2012": CellStackTask, "duke": LayerBoundaryTask}
    for name, task in expected.items():
        assert type(build_reader(name, "test", synthetic_root).task) is task, name
    assert build_reader("duke", "test", synthetic_root).task.boundaries[0] == "ILM"
