"""The kinds of problem the paper's sections pose: how a prediction is brought back to its ground
truth's frame and how it is scored. Each reader declares its task (``Reader.task``); evaluation,
run folders and reports ask the task, never a dataset's name.

* :class:`BinaryTask`: one foreground class; Sen, Spe, Acc, AUC, Dice and overlap error on the
  whole image (Table III, lung).
* :class:`FieldOfViewTask`: the same inside a field of view (``fov_*``, the literature's convention
  for DRIVE, Table II) and on the whole image (``whole_*``, as the authors' code scored), and the
  second observer scored against the first (:meth:`FieldOfViewTask.extras`).
* :class:`DiscCropTask`: the network sees a crop around the optic disc (section III-B); the
  prediction is pasted back into the full fundus frame and scored there, with ``disc_in_crop``
  flagging an image whose crop did not hold the whole disc (Table I).
* :class:`CellStackTask`: ISBI 2012's V_Rand and V_Info, scored over the whole test stack at the
  thresholds that maximise the stack's mean, as the challenge's Fiji script does (Table IV).
* :class:`LayerBoundaryTask`: the mean absolute error of each ordered layer boundary in pixels, one
  boundary per A-scan fitted to the probability maps (Table V).
* :class:`MultiClassTask`: per-class Dice and IoU of the argmax, named by the dataset's classes
  (a user's folder of label maps).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics


def paste_crop(crop: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int], fill: float = 0) -> np.ndarray:
    """Place a prediction for the crop ``box`` (top, left, height, width) back into a full frame of ``shape``."""
    top, left, height, width = box
    full = np.full(shape + crop.shape[2:], fill, dtype=crop.dtype)
    full[top : top + height, left : left + width] = crop
    return full


def _binary(
    prob: np.ndarray, mask: np.ndarray, roi: np.ndarray | None, threshold: float, prefix: str = ""
) -> dict[str, float]:
    scores = metrics.binary_scores(prob, mask.astype(bool), roi, threshold)
    return {f"{prefix}{key}": value for key, value in scores.items()}


@dataclass(frozen=True)
class Task:
    """Scoring of one kind of problem. ``probs`` are (K, H, W) probabilities at the image's size."""

    #: True where the scores need every test image's prediction at once (:meth:`score_together`).
    scored_together = False

    def to_frame(self, probs: np.ndarray, sample) -> np.ndarray:
        """The prediction in the frame of the sample's ground truth (unchanged, but for crops)."""
        return probs

    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        raise NotImplementedError

    def score_together(self, probs: list[np.ndarray], samples: list) -> list[dict[str, float]]:
        """Scores that only a whole test set defines, one dict per image (for ``scored_together``)."""
        return [{} for _ in samples]

    def extras(self, reader) -> dict[str, pd.DataFrame]:
        """Per-image scores that come with the dataset itself, by name (none but the second observer)."""
        return {}


@dataclass(frozen=True)
class BinaryTask(Task):
    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        return _binary(probs[0], sample.mask, sample.roi, threshold)


@dataclass(frozen=True)
class FieldOfViewTask(Task):
    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        return {**_binary(probs[0], sample.mask, sample.roi, threshold, "fov_"),
                **_binary(probs[0], sample.mask, None, threshold, "whole_")}

    def extras(self, reader) -> dict[str, pd.DataFrame]:
        """``human_observer``: the second observer's masks scored against the first's, where the
        split has them (DRIVE's test split)."""
        rows = [{"id": sample.id, **self.score(sample.extra["second_observer"][None].astype(np.float32), sample, 0.5)}
                for sample in reader if sample.extra.get("second_observer") is not None]
        return {"human_observer": pd.DataFrame(rows)} if rows else {}


@dataclass(frozen=True)
class DiscCropTask(Task):
    def to_frame(self, probs: np.ndarray, sample) -> np.ndarray:
        if "crop_box" not in sample.extra:  # the reader was asked for whole fundus images
            return probs
        return np.stack([paste_crop(p, sample.extra["crop_box"], sample.extra["full_mask"].shape) for p in probs])

    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        full_mask = sample.extra.get("full_mask", sample.mask)
        row = _binary(probs[0], full_mask, sample.roi, threshold)
        if "crop_box" in sample.extra:
            row["disc_in_crop"] = float(sample.mask.sum() == full_mask.sum())
        return row


@dataclass(frozen=True)
class CellStackTask(Task):
    scored_together = True

    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        return {"accuracy": metrics.accuracy(probs[0] >= threshold, sample.mask.astype(bool))}

    def score_together(self, probs: list[np.ndarray], samples: list) -> list[dict[str, float]]:
        """Per-slice V_Rand and V_Info of the stack at the thresholds that maximise its mean
        (:func:`cenet_lib.metrics.cell_contour_scores`), with those thresholds."""
        scores = metrics.cell_contour_scores(
            np.stack([p[0] for p in probs]), np.stack([s.extra["label_image"] for s in samples])
        )
        return [
            {"v_rand": float(v_rand), "v_info": float(v_info),
             "v_rand_threshold": scores["v_rand_threshold"], "v_info_threshold": scores["v_info_threshold"]}
            for v_rand, v_info in zip(scores["v_rand_per_slice"], scores["v_info_per_slice"], strict=True)
        ]


@dataclass(frozen=True)
class LayerBoundaryTask(Task):
    """Layers labelled 1..len(boundaries) from the top (0 above the first boundary), and
    ``ignore_label`` (fluid) scored as no layer."""

    boundaries: tuple[str, ...] = ()

    @property
    def ignore_label(self) -> int:
        return len(self.boundaries) + 1

    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        prediction = probs.argmax(axis=0)
        errors = metrics.boundary_errors(
            prediction, sample.mask, len(self.boundaries), ignore_labels=(self.ignore_label,), pred_probs=probs
        )
        row = {
            f"boundary_{name}": float(value)
            for name, value in zip(self.boundaries, errors["per_boundary"], strict=True)
        }
        row["boundary_overall"] = errors["overall"]
        row["boundary_missing"] = float(np.mean(errors["missing"]))
        row["pixel_accuracy"] = float((prediction == sample.mask).mean())
        return row


@dataclass(frozen=True)
class MultiClassTask(Task):
    class_names: tuple[str, ...] | None = None

    def score(self, probs: np.ndarray, sample, threshold: float) -> dict[str, float]:
        prediction = probs.argmax(axis=0)
        names = self.class_names or tuple(f"class{k}" for k in range(probs.shape[0]))
        row = {}
        for k in range(1, probs.shape[0]):
            row[f"dice_{names[k]}"] = metrics.dice(prediction == k, sample.mask == k)
            row[f"iou_{names[k]}"] = 1 - metrics.overlap_error(prediction == k, sample.mask == k)
        row["pixel_accuracy"] = float((prediction == sample.mask).mean())
        return row
