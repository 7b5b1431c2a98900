"""Fixed splits and cross-validation folds, stored as JSON and never re-drawn silently.

A split file maps names to lists of image ids, for example ``{"train": [...], "test": [...],
"folds": [[...], [...], ...]}``. It is looked for first inside the dataset's own folder
(``cenet_splits.json``, which the synthetic stand-ins carry), then in the repository's
``data/splits/<dataset>.json`` (committed, made once from the real files with
:func:`make_split_file`). If the ids in the split file and the files on disk disagree the reader
stops and says which ids differ, rather than drawing a new split.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import DatasetError
from .paths import REPOSITORY_DATA

SPLITS_DIR = REPOSITORY_DATA / "splits"
LOCAL_SPLIT_FILE = "cenet_splits.json"


def kfold(ids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """``k`` folds of near-equal size: the sorted ids shuffled by ``numpy.random.default_rng(seed)``."""
    if k < 2 or k > len(ids):
        raise ValueError(f"Cannot make {k} folds of {len(ids)} ids.")
    order = np.random.default_rng(seed).permutation(sorted(ids))
    return [sorted(fold.tolist()) for fold in np.array_split(order, k)]


def holdout_and_folds(ids: Sequence[str], test_fraction: float, k: int, seed: int) -> dict[str, list]:
    """A train/test split (``test_fraction`` held out) and ``k`` cross-validation folds of all ids."""
    order = np.random.default_rng(seed).permutation(sorted(ids)).tolist()
    n_test = int(round(len(order) * test_fraction))
    return {
        "seed": seed,
        "train": sorted(order[n_test:]),
        "test": sorted(order[:n_test]),
        "folds": kfold(ids, k, seed),
    }


def make_split_file(path: Path, split: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(split, indent=1) + "\n")
    return path


def load_split(dataset: str, dataset_root: Path, ids_on_disk: Sequence[str], split_file: Path | None = None) -> dict:
    """The split of ``dataset``, checked against the ids found on disk."""
    candidates = [split_file] if split_file else [Path(dataset_root) / LOCAL_SPLIT_FILE, SPLITS_DIR / f"{dataset}.json"]
    path = next((p for p in candidates if p is not None and p.is_file()), None)
    if path is None:
        raise DatasetError(
            f"{dataset}: no split file found (looked for {', '.join(str(p) for p in candidates)}). "
            "Write one as data/README.md describes (python -m cenet_lib.data split NAME writes it for isbi2012 and "
            "lung)."
        )
    split = json.loads(path.read_text())
    listed = (
        set(split.get("train", [])) | set(split.get("test", [])) | {i for fold in split.get("folds", []) for i in fold}
    )
    on_disk = set(ids_on_disk)
    if listed != on_disk:
        missing, extra = sorted(listed - on_disk), sorted(on_disk - listed)
        if path.parent != SPLITS_DIR:
            fix = (f"If the files changed on purpose, delete {path} and a new split is drawn (a folder of your own "
                   "images), or edit it; otherwise restore the files.")
        else:
            fix = (f"{path} lists the files of the public distribution: check that this copy is complete "
                   "(python -m cenet_lib.data status). For another copy, put its own cenet_splits.json in "
                   f"{dataset_root} (python -m cenet_lib.data split NAME --out FILE writes one for isbi2012 and lung).")
        raise DatasetError(
            f"{dataset}: the split file {path} does not match the files under {dataset_root}: "
            f"{len(missing)} listed but absent (e.g. {missing[:3]}), {len(extra)} present but unlisted "
            f"(e.g. {extra[:3]}). {fix}"
        )
    return split
