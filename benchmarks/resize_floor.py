"""The error a resize costs before any training: a perfect network at the resized size.

    python benchmarks/resize_floor.py --section oct --sizes 256 448 384x192 --data-root ../shared/data

For each image of a split, the reference mask is resized to the network's input size the way
training sees it (nearest neighbour, the ``resize`` policy of :mod:`cenet_lib.data.policy`), turned
into one-hot "probabilities", brought back to the native size the way predictions are
(:meth:`~cenet_lib.data.policy.InputPolicy.to_native`, which
:func:`~cenet_lib.evaluation.predict_sample` calls) and scored against the native reference with
the section's own metric (its reader's task, :mod:`cenet_lib.tasks`). The result is the floor the
``resize`` policy puts under a table's numbers: no network trained at that size can be scored
better than the targets it was trained on, on average.

Writes ``benchmarks/results/resize_floor_<section>.{csv,md}``. Uses the validation split where the
dataset has one (the test split is for the tables), else the training split.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cenet_lib.data.policy import InputPolicy, parse_size
from cenet_lib.data.run_readers import make_reader
from cenet_lib.provenance import git_commit
from cenet_lib.reporting.sections import SECTIONS, section_config

RESULTS = Path(__file__).with_name("results")


def oracle_probabilities(mask: np.ndarray, size: tuple[int, int], num_classes: int) -> np.ndarray:
    """(K, H, W) probabilities of a network that reproduces ``mask`` resized to ``size`` exactly,
    brought back to the mask's native (H, W)."""
    policy = InputPolicy("resize", size)
    # the training target exactly as training makes it (the image slot is not used here)
    _, target, _ = policy.training_view(mask, mask, np.ones(mask.shape, bool), np.random.default_rng(0))
    one_hot = np.eye(num_classes, dtype=np.float32)[target.astype(np.int64)]  # (h, w, K)
    probs = torch.from_numpy(one_hot.transpose(2, 0, 1))[None]
    return policy.to_native(probs, mask.shape)[0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", default="oct", choices=["oct"], help="sections scored from label maps")
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(256, 256), (448, 448)],
                        help="resize sizes: a side (256) or height x width (384x192)")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    section = SECTIONS[args.section]
    config = section_config(args.section, "quick", {"dataset": section.dataset, "data_root": args.data_root})
    reader = make_reader(config, "train")
    split = "val" if "val" in reader.splits else "train"
    reader = make_reader(config, split)
    rows = []
    for size in args.sizes:
        scores = pd.DataFrame(
            [
                reader.task.score(oracle_probabilities(sample.mask, size, reader.num_classes), sample, 0.5)
                for sample in reader
            ]
        )
        rows.append(
            {
                "resize": f"{size[0]}x{size[1]}",
                "images": len(scores),
                **{
                    column: round(float(scores[column].mean()), 3)
                    for column in scores
                    if column.startswith("boundary_")
                },
            }
        )
        print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"resize_floor_{args.section}"
    table = pd.DataFrame(rows)
    table.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(
        f"# The resize policy's floor: {args.section} (Table {section.table}), {reader.name} (real data), {split} "
        "split\n\n"
        f"A perfect network at the resized size (the training targets, resized by nearest neighbour, "
        f"brought back bilinearly), scored at native size with the table's metric (pixels); commit {git_commit()}.\n\n"
        + table.to_markdown(index=False)
        + "\n"
    )
    print(f"Wrote {stem}.md and .csv")


if __name__ == "__main__":
    main()
