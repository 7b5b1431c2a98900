"""A run's sample predictions, kept with its record so that a fresh checkout can show them.

The first :data:`SAMPLE_IMAGES` test images of a row's first seed are predicted (no test-time
augmentation) while the run's weights exist, and written to ``<run>/predictions/`` as 8-bit PNGs at
the image's own size: the foreground probability x 255 for one class, the label map (0 .. K-1)
for several. They are model outputs, not dataset images, and small (a few hundred kB a run), so
git keeps them beside the run's scores. ``predictions/index.json`` names each file's test image
and says how its values read. This module is the one place that writes and reads them.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SAMPLE_IMAGES = 3
FOLDER = "predictions"
INDEX = "index.json"


@dataclass(frozen=True)
class StoredPrediction:
    """One stored map: ``values`` is a probability in [0, 1] (one class, ``labels`` False) or a label map."""

    image_id: str
    values: np.ndarray
    labels: bool


def has_predictions(run_dir: Path) -> bool:
    return (Path(run_dir) / FOLDER / INDEX).is_file()


def save_predictions(run_dir: Path, ids: list[str], probabilities: list[np.ndarray]) -> Path:
    """Write each (K, H, W) probability array of ``probabilities`` as an 8-bit PNG. The folder is
    written aside and renamed, so an interrupted write leaves the previous one whole."""
    folder = Path(run_dir) / FOLDER
    partial = folder.with_name(f".{FOLDER}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    labels = probabilities[0].shape[0] > 1
    entries = []
    for index, (image_id, probs) in enumerate(zip(ids, probabilities)):
        values = probs.argmax(axis=0) if labels else np.round(np.clip(probs[0], 0, 1) * 255)
        name = f"{index}.png"
        if not cv2.imwrite(str(partial / name), values.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"could not write {partial / name}")
        entries.append({"id": str(image_id), "file": name})
    values = "label map (class index per pixel)" if labels else "foreground probability x 255, rounded"
    (partial / INDEX).write_text(
        json.dumps({"values": values, "labels": labels, "tta": False, "images": entries}, indent=1) + "\n"
    )
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(partial, folder)
    return folder


def load_predictions(run_dir: Path) -> list[StoredPrediction]:
    """The stored maps of a run, in the order of its test split (empty when it stored none)."""
    folder = Path(run_dir) / FOLDER
    if not has_predictions(run_dir):
        return []
    index = json.loads((folder / INDEX).read_text())
    stored = []
    for entry in index["images"]:
        values = cv2.imread(str(folder / entry["file"]), cv2.IMREAD_UNCHANGED)
        if values is None:
            raise OSError(f"{folder / entry['file']} is missing or not a PNG; retrain the run to store it again")
        stored.append(StoredPrediction(entry["id"], values if index["labels"] else values / 255.0, index["labels"]))
    return stored
