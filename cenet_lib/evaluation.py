"""Evaluation: predict each image at its native size and frame, then score it as its table does.

For every image: normalise, bring it to the network as the run's input policy says (resized, or
whole at its native scale, tiled if asked: :mod:`cenet_lib.data.policy`), predict (with 8-fold
test-time augmentation by default), resize the probabilities back to the image's size (bilinear), and for
optic-disc crops paste them back into the full fundus frame, so that every metric is computed on the
native ground truth. Binary tasks threshold the probability at 0.5 (AUC uses the probabilities);
multi-class tasks take the argmax.

Scores per task (one row per image; :func:`cenet_lib.metrics.summarize` gives mean +- std):

* vessels (DRIVE, Table II): Sen, Spe, Acc, AUC and Dice inside the field of view (``fov_*``, the
  literature's convention) and on the whole image (``whole_*``, as the authors' code scored);
  :func:`human_observer` scores the second observer the same way;
* lung (Table III) and optic disc (Table I): overlap error, accuracy, sensitivity, Dice, AUC;
* cell contours (ISBI 2012, Table IV): V_Rand and V_Info of each slice at the threshold chosen for
  the whole test stack (so their mean is the stack score of the challenge's script), pixel accuracy;
* OCT layers (Table V): mean absolute boundary error per boundary and overall, in pixels, with one
  ordered boundary per A-scan fitted to the probability maps, and the share of A-scans where the
  predicted label map lacks a boundary (``boundary_missing``);
* optic disc crops: ``disc_in_crop`` flags an image whose crop did not hold the whole disc (1 if it
  did), so that a localisation failure shows in the per-image scores;
* other folders: the binary scores, or per-class Dice and IoU for several classes, named by the
  folder's ``classes.json`` or ``classes.txt`` where it has one (:class:`~cenet_lib.data.ImageFolder`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from . import metrics
from .data.base import Reader, Sample
from .data.oct import DUKE_BOUNDARIES
from .data.optic_disc import paste_crop
from .data.policy import InputPolicy, as_policy
from .data.transforms import normalize
from .sliding_window import sliding_window_probabilities
from .tta import predict_probabilities

DISC_DATASETS = ("drishti", "origa", "messidor", "rimone")
OCT_DATASETS = ("duke", "duke_mat", "oct_csv")


def predict_sample(
    model: nn.Module,
    image: np.ndarray,
    policy: InputPolicy | tuple[int, int] | None,
    tta: bool = True,
    device: torch.device | str = "cpu",
    amp: bool = False,
) -> np.ndarray:
    """Probabilities (K, H, W) at the image's own size for one (H, W, C) image, the image reaching
    the network as ``policy`` says (:func:`as_policy`); with ``tta``, averaged over the policy's flips."""
    policy = as_policy(policy)
    height, width = image.shape[:2]
    network_input = policy.inference_view(image)
    x = torch.from_numpy(normalize(network_input).transpose(2, 0, 1).copy())[None].to(device)
    device_type = torch.device(device).type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=amp):
        flips = policy.flips if tta else False
        if policy.tile and (x.shape[-2] > policy.tile[0] or x.shape[-1] > policy.tile[1]):
            probs = sliding_window_probabilities(model, x, policy.tile, policy.overlap, tta=flips)
        else:
            probs = predict_probabilities(model, x, tta=flips)
    return policy.to_native(probs, (height, width))[0].float().cpu().numpy()


def _binary(prob: np.ndarray, mask: np.ndarray, roi: np.ndarray | None, threshold: float, prefix: str = "") -> dict:
    scores = metrics.binary_scores(prob, mask.astype(bool), roi, threshold)
    return {f"{prefix}{key}": value for key, value in scores.items()}


def score_sample(
    task: str, probs: np.ndarray, sample: Sample, threshold: float = 0.5, class_names: tuple[str, ...] | None = None
) -> dict[str, float]:
    """Scores of one prediction ``probs`` (K, H, W) in the full frame against ``sample``; for several
    classes, Dice and IoU of each class but the background, named by ``class_names`` where given."""
    mask = sample.extra.get("full_mask", sample.mask)
    if task == "vessels":
        return {**_binary(probs[0], mask, sample.roi, threshold, "fov_"), **_binary(probs[0], mask, None, threshold, "whole_")}
    if task == "cells":  # V_Rand and V_Info are scored over the whole stack: see cell_stack_scores
        return {"accuracy": metrics.accuracy(probs[0] >= threshold, mask.astype(bool))}
    if task == "oct":
        prediction = probs.argmax(axis=0)
        errors = metrics.boundary_errors(prediction, mask, len(DUKE_BOUNDARIES), ignore_labels=(len(DUKE_BOUNDARIES) + 1,), pred_probs=probs)
        row = {f"boundary_{name}": float(value) for name, value in zip(DUKE_BOUNDARIES, errors["per_boundary"], strict=True)}
        row["boundary_overall"] = errors["overall"]
        row["boundary_missing"] = float(np.mean(errors["missing"]))
        row["pixel_accuracy"] = float((prediction == mask).mean())
        return row
    if probs.shape[0] == 1:
        row = _binary(probs[0], mask, sample.roi, threshold)
        if "crop_box" in sample.extra:
            row["disc_in_crop"] = float(sample.mask.sum() == mask.sum())
        return row
    prediction = probs.argmax(axis=0)
    names = class_names or tuple(f"class{k}" for k in range(probs.shape[0]))
    row = {}
    for k in range(1, probs.shape[0]):
        row[f"dice_{names[k]}"] = metrics.dice(prediction == k, mask == k)
        row[f"iou_{names[k]}"] = 1 - metrics.overlap_error(prediction == k, mask == k)
    row["pixel_accuracy"] = float((prediction == mask).mean())
    return row


def cell_stack_scores(membrane_probs: list[np.ndarray], samples: list[Sample]) -> list[dict[str, float]]:
    """Per-slice V_Rand and V_Info of a test stack, at the thresholds that maximise the stack's mean
    (:func:`cenet_lib.metrics.cell_contour_scores`), with those thresholds."""
    scores = metrics.cell_contour_scores(np.stack(membrane_probs), np.stack([s.extra["label_image"] for s in samples]))
    return [
        {"v_rand": float(v_rand), "v_info": float(v_info),
         "v_rand_threshold": scores["v_rand_threshold"], "v_info_threshold": scores["v_info_threshold"]}
        for v_rand, v_info in zip(scores["v_rand_per_slice"], scores["v_info_per_slice"], strict=True)
    ]


def task_of(reader: Reader) -> str:
    if reader.name == "drive":
        return "vessels"
    if reader.name == "isbi2012":
        return "cells"
    if reader.name in OCT_DATASETS:
        return "oct"
    if reader.name in DISC_DATASETS:
        return "disc"
    return "lung" if reader.name == "lung" else "generic"


def evaluate(
    model: nn.Module,
    reader: Reader,
    policy: InputPolicy | tuple[int, int] | None,
    tta: bool = True,
    threshold: float = 0.5,
    device: torch.device | str = "cpu",
    amp: bool = False,
    keep_predictions: bool = False,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per-image scores of ``model`` on every labelled image of ``reader`` (one row each), and,
    with ``keep_predictions``, the probability maps by image id (for figures)."""
    model.eval()
    task = task_of(reader)
    rows, predictions = [], {}
    stack: tuple[list, list] = ([], [])  # cell contours: membrane probabilities and samples, scored together
    for sample in tqdm(reader, total=len(reader), desc=f"evaluating {reader.name}/{reader.split}", leave=False):
        if sample.mask is None:
            continue
        probs = predict_sample(model, sample.image, policy, tta, device, amp)
        if "crop_box" in sample.extra:
            full_shape = sample.extra["full_mask"].shape
            probs = np.stack([paste_crop(p, sample.extra["crop_box"], full_shape) for p in probs])
        rows.append({"id": sample.id, **score_sample(task, probs, sample, threshold, reader.class_names)})
        if task == "cells":
            stack[0].append(probs[0])
            stack[1].append(sample)
        if keep_predictions:
            predictions[sample.id] = probs
    if task == "cells" and rows:
        for row, scores in zip(rows, cell_stack_scores(*stack), strict=True):
            row.update(scores)
    return pd.DataFrame(rows), predictions


def human_observer(reader: Reader) -> pd.DataFrame:
    """DRIVE's second observer scored against the first, inside the FOV and on the whole image."""
    rows = []
    for sample in reader:
        second = sample.extra.get("second_observer")
        if second is not None:
            rows.append({"id": sample.id, **score_sample("vessels", second[None].astype(np.float32), sample)})
    return pd.DataFrame(rows)
