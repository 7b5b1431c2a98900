"""Evaluation: predict each image at its native size and frame, then score it as its table does.

For every image: normalise, bring it to the network as the run's input policy says (resized, or
whole at its native scale, tiled if asked: :mod:`cenet_lib.data.policy`), predict (with 8-fold
test-time augmentation by default), resize the probabilities back to the image's size (bilinear), and for
optic-disc crops paste them back into the full fundus frame, so that every metric is computed on the
native ground truth. Binary tasks threshold the probability at 0.5 (AUC uses the probabilities);
multi-class tasks take the argmax.

Each reader's task (:mod:`cenet_lib.tasks`) brings the prediction to its ground truth's frame and
scores it; one row per image (:func:`cenet_lib.metrics.summarize` gives mean +- std):

* vessels (DRIVE, Table II): Sen, Spe, Acc, AUC and Dice inside the field of view (``fov_*``, the
  literature's convention) and on the whole image (``whole_*``, as the authors' code scored);
  the second observer is scored the same way (``FieldOfViewTask.extras``);
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
from tqdm.auto import tqdm

from .data.base import Reader
from .data.policy import InputPolicy, as_policy
from .data.transforms import normalize
from .inferers import DEFAULT_BUDGET_GB, Inferer, inferer_for


def predict_sample(
    model: nn.Module,
    image: np.ndarray,
    policy: InputPolicy | tuple[int, int] | None,
    tta: bool = True,
    device: torch.device | str = "cpu",
    amp: bool = False,
    inferer: Inferer | None = None,
) -> np.ndarray:
    """Probabilities (K, H, W) at the image's own size for one (H, W, C) image, the image reaching
    the network as ``policy`` says (:func:`as_policy`) and predicted by ``inferer`` (by default the
    policy's own, :func:`~cenet_lib.inferers.inferer_for`, with test-time augmentation if ``tta``,
    in tiles where the whole image would need more than the default memory budget)."""
    policy = as_policy(policy)
    height, width = image.shape[:2]
    inferer = inferer or inferer_for(policy, tta, (height, width), DEFAULT_BUDGET_GB)
    x = torch.from_numpy(normalize(policy.inference_view(image)).transpose(2, 0, 1).copy())[None].to(device)
    with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=amp):
        probs = inferer(model, x)
    return policy.to_native(probs, (height, width))[0].float().cpu().numpy()


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
    """Per-image scores of ``model`` on every labelled image of ``reader`` (one row each), as the
    reader's task scores them, and, with ``keep_predictions``, the probability maps by image id."""
    model.eval()
    policy, task = as_policy(policy), reader.task
    rows, predictions, kept = [], {}, ([], [])
    for sample in tqdm(reader, total=len(reader), desc=f"evaluating {reader.name}/{reader.split}", leave=False):
        if sample.mask is None:
            continue
        probs = task.to_frame(predict_sample(model, sample.image, policy, tta, device, amp), sample)
        rows.append({"id": sample.id, **task.score(probs, sample, threshold)})
        if task.scored_together:
            kept[0].append(probs)
            kept[1].append(sample)
        if keep_predictions:
            predictions[sample.id] = probs
    if task.scored_together and rows:
        for row, scores in zip(rows, task.score_together(*kept), strict=True):
            row.update(scores)
    return pd.DataFrame(rows), predictions
