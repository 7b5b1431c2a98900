"""The readers a run trains, validates and is scored on, from its configuration: the real data, or
its synthetic stand-in written once to a cache, with a validation split held out where asked."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..config import RunConfig
from . import READERS, build_reader
from .base import DatasetError, Reader, ReaderSubset
from .paths import cache_dir
from .synthetic import SYNTHESIZERS, synthesize


def synthetic_cache_dir() -> Path:
    """Where synthetic stand-ins are written for training (:func:`~cenet_lib.data.paths.cache_dir`)."""
    return cache_dir("synthetic")


def make_reader(config: RunConfig, split: str, cache_dir: Path | None = None) -> Reader:
    """The reader of ``config.dataset``: the real data, or with ``config.synthetic`` its stand-in,
    written once to ``cache_dir`` (default :func:`synthetic_cache_dir`). A folder of the user's own
    images is read as it is, whatever ``config.synthetic`` says (``--profile smoke`` on a folder), and a
    path that does not exist is reported as such.

    With ``config.val_holdout = N`` on a dataset without a validation split, the last N training
    images become the ``val`` split and leave ``train``: settings are chosen on them, never on the
    test split."""
    if config.val_holdout and split in ("train", "val"):
        reader = _make_reader(config, "train", cache_dir)
        if "val" in reader.splits:
            return reader if split == "train" else _make_reader(config, "val", cache_dir)
        if not 0 < config.val_holdout < len(reader):
            raise ValueError(
                f"val_holdout={config.val_holdout} must leave training images: the training split holds {len(reader)}."
            )
        cut = len(reader) - config.val_holdout
        return ReaderSubset(reader, range(cut, len(reader)) if split == "val" else range(cut), split)
    return _make_reader(config, split, cache_dir)


def split_readers(config: RunConfig, cache_dir: Path | None = None,
                  splits: tuple[str, ...] = ("train", "val", "test")) -> list[tuple[str, Reader | DatasetError | None]]:
    """Each split with its reader, or the :class:`DatasetError` building it raised, or ``None``
    where the dataset has no such split: what :func:`~cenet_lib.data.validate.check_splits` checks."""
    attempts: list[tuple[str, Reader | DatasetError | None]] = []
    for split in splits:
        try:
            attempts.append((split, make_reader(config, split, cache_dir)))
        except ValueError:  # no such split (a validation split, say)
            attempts.append((split, None))
        except DatasetError as error:
            attempts.append((split, error))
    return attempts


def training_readers(config: RunConfig, cache_dir: Path | None = None) -> tuple[Reader, Reader | None]:
    """The training split (its first ``max_images`` for a smoke run) and the validation split,
    where the dataset has one or ``val_holdout`` makes one."""
    reader = make_reader(config, "train", cache_dir)
    if config.max_images:
        reader = ReaderSubset(reader, range(min(config.max_images, len(reader))), "train")
    val_reader = make_reader(config, "val", cache_dir) if "val" in reader.splits or config.val_holdout else None
    return reader, val_reader


def _make_reader(config: RunConfig, split: str, cache_dir: Path | None) -> Reader:
    options: dict[str, Any] = {}
    if config.fold is not None:
        options["fold"] = config.fold
    if config.synthetic and config.dataset in SYNTHESIZERS:
        root = Path(cache_dir or synthetic_cache_dir()) / f"{config.dataset}-seed{config.seed}"
        if not root.is_dir():  # written aside, then renamed: processes starting together never see half of it
            partial = synthesize(config.dataset, root.with_name(f"{root.name}.partial-{os.getpid()}"), seed=config.seed)
            try:
                partial.rename(root)
            except OSError:  # another process finished first
                shutil.rmtree(partial)
        return READERS[config.dataset](root, split, **options)
    return build_reader(config.dataset, split, config.data_root, **options)
