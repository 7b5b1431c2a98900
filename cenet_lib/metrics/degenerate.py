"""Degenerate runs: a run whose thresholded test predictions are one class everywhere.

Such a run scores a sensitivity of 0 on every image (all background) or a specificity of 0 (all
foreground), and its accuracy is then what the class shares alone give. Users of the authors' code
met the all-black output in their issue #22; here every ResNet-34 row of the paper-profile Tables II
and VI trained from random weights with SGD ended so (``results/paper``). Such a row is flagged in
its table, in ``cenet evaluate``'s output and in the claims ledger, which does not judge claims on
it: a comparison with a network that predicts nothing says nothing about the method.
"""
from __future__ import annotations

import pandas as pd

#: The per-image columns that tell a one-class prediction, by the class it predicts everywhere.
ONE_CLASS_COLUMNS = {"all background": ("fov_sensitivity", "sensitivity"),
                     "all foreground": ("fov_specificity", "specificity")}


def one_class(per_image: pd.DataFrame) -> str:
    """``all background`` or ``all foreground`` when one run's per-image scores say its thresholded
    predictions are one class on every image, else ``""`` (also for tasks scored without them)."""
    for label, columns in ONE_CLASS_COLUMNS.items():
        column = next((c for c in columns if c in per_image), None)
        values = per_image[column].dropna() if column else pd.Series(dtype=float)
        if len(values) and (values == 0).all():
            return label
    return ""


def degenerate_seeds(scores: pd.DataFrame) -> dict[int, str]:
    """The seeds of a row's per-image scores (``seed`` column; one run without it) whose run is degenerate."""
    runs = scores.groupby("seed") if "seed" in scores else [(0, scores)]
    return {int(seed): label for seed, frame in runs if (label := one_class(frame))}


def flag(scores: pd.DataFrame) -> str:
    """A table's flag for a row: ``DEGENERATE: all background in 2 of 3 runs``, or ``""``."""
    seeds = degenerate_seeds(scores)
    if not seeds:
        return ""
    runs = scores["seed"].nunique() if "seed" in scores else 1
    return (
        f"DEGENERATE: {', '.join(sorted(set(seeds.values())))} in {len(seeds)} of {runs} run{'s' if runs > 1 else ''}"
    )
