"""Seconds to read and augment one training epoch of each dataset found under the data root.

    python benchmarks/data_epoch.py [--data-root ../shared/data] [--size 448]

Each epoch runs the training pipeline (read, HSV jitter, scale and shift, dihedral flip, resize to
``--size``, normalise) over the training split in one process, first with a cold cache (every file
decoded) and then warm (decoded samples kept in memory, as training does from epoch 2 on).
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from cenet_lib.data import Augmentation, DatasetError, SegmentationDataset, build_reader


def epoch_seconds(dataset: SegmentationDataset) -> float:
    start = time.perf_counter()
    for index in range(len(dataset)):
        dataset[index]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--size", type=int, default=448)
    args = parser.parse_args()
    print(f"One training epoch, one process, {platform.machine()}, torch {torch.__version__}, size {args.size}")
    print("| dataset | images | cold epoch s | warm epoch s | warm images/s |")
    print("|---|---:|---:|---:|---:|")
    for name in ("drive", "isbi2012", "lung", "drishti", "duke"):
        try:
            reader = build_reader(name, "train", args.data_root)
        except DatasetError:
            print(f"| {name} | not found | | | |")
            continue
        dataset = SegmentationDataset(reader, size=(args.size, args.size), augmentation=Augmentation(), seed=0)
        cold = epoch_seconds(dataset)
        dataset.set_epoch(1)
        warm = epoch_seconds(dataset)
        tag = " (synthetic)" if reader.synthetic else ""
        print(f"| {name}{tag} | {len(reader)} | {cold:.1f} | {warm:.1f} | {len(reader) / warm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
