"""Figures of numbers: training-loss curves (Fig. 8), training and validation curves, per-image
score distributions beside the paper's values, and the colours and legends of label maps. They hold
no image data (figures of images: :mod:`.image_figures`). Importing this module leaves
matplotlib's backend alone, so plots keep showing inline in Jupyter; without a display matplotlib
itself falls back to Agg.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .sections import Section

#: The smallest text on a figure, in points, and the widest figure, in inches. JupyterLab shows a
#: figure at the inline backend's 100 dpi and shrinks one wider than its output area (about 1000
#: pixels beside the file browser at a 1440-pixel window) to fit; up to this width a figure's 10 pt
#: text is shown at 10 pt.
TITLE_POINTS = 10
FIGURE_INCHES = 10.0


def show_labels(axis, label_map: np.ndarray, classes: int) -> None:
    """A label map in the colours :func:`class_legend` names (tab10, one colour per label)."""
    axis.imshow(label_map, cmap="tab10", vmin=0, vmax=max(9, classes - 1), interpolation="nearest")


def class_legend(figure, classes: int, names: tuple[str, ...] | None, **placement) -> None:
    """A legend of the classes' colours in :func:`show_labels`, named by ``names`` where given."""
    colours = plt.get_cmap("tab10")(np.arange(classes) / max(9, classes - 1))
    names = names or tuple(f"class {k}" for k in range(classes))
    handles = [Patch(color=colours[k]) for k in range(classes)]
    figure.legend(handles, names[:classes], fontsize=TITLE_POINTS, frameon=False, **placement)


def plot_losses(axis, logs: dict[str, pd.DataFrame]) -> None:
    """Each run's training loss per epoch on ``axis``, with whole-epoch ticks."""
    for name, log in logs.items():
        axis.plot(log["epoch"], log["train_loss"], label=name)
    axis.set(xlabel="epoch", ylabel="training loss")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.2, 1.4 ticks on short runs
    axis.grid(alpha=0.3)
    axis.legend(fontsize=TITLE_POINTS)


def loss_curves(logs: dict[str, pd.DataFrame], path: Path, title: str) -> Path:
    """Training loss per epoch of several runs on one plot (Fig. 8 compares pretrained and scratch)."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    plot_losses(axis, logs)
    axis.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def training_curves(logs: dict[str, pd.DataFrame], validation: str, label: str, title: str) -> Figure:
    """Each row's training loss per epoch and, where its dataset has a validation split, the
    ``validation`` score (a ``val_*`` column of its log, the paper's ``label``) at the epochs it was
    computed, in a second panel; without one, the loss alone, its title saying why."""
    scored = {name: log.dropna(subset=[validation]) for name, log in logs.items() if validation in log}
    scored = {name: log for name, log in scored.items() if len(log)}
    size = (FIGURE_INCHES, 3.8) if scored else (7.0, 3.8)
    figure, axes = plt.subplots(1, 2 if scored else 1, figsize=size, squeeze=False)
    plot_losses(axes[0, 0], logs)
    axes[0, 0].set_title("training loss" if scored else "training loss (this dataset has no validation split)")
    if scored:
        right = axes[0, 1]
        for name, log in scored.items():
            right.plot(log["epoch"], log[validation], marker="o", label=name)
        right.set(xlabel="epoch", ylabel=label, title=f"{label} on the validation split, no TTA")
        values = pd.concat([log[validation] for log in scored.values()])
        if values.min() > 0 and values.max() > 10 * values.min():  # an error falling from hundreds to one
            right.set_yscale("log")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.grid(alpha=0.3)
        right.legend(fontsize=TITLE_POINTS)
    figure.suptitle(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout()
    return figure


def score_distributions(per_image: pd.DataFrame, long: pd.DataFrame, section: Section, title: str) -> Figure:
    """Per-image scores of every trained row for each of the table's metrics (one dot per test
    image and seed, a box over them; rows read across, so their names stay horizontal), with the
    paper's value marked where it reports one."""
    metrics = list(section.metrics.items())
    methods = [row.method for row in section.rows if row.method in set(per_image["method"])]
    width = min(FIGURE_INCHES, 4.0 + 3.5 * len(metrics))
    figure, axes = plt.subplots(1, len(metrics), figsize=(width, 0.55 * len(methods) + 1.8), squeeze=False, sharey=True)
    rng = np.random.default_rng(0)
    for axis, (label, column) in zip(axes[0], metrics, strict=True):
        values = [per_image.loc[per_image["method"] == method, column].dropna().to_numpy() for method in methods]
        axis.boxplot(values, showfliers=False, widths=0.5, orientation="horizontal")
        for k, points in enumerate(values, start=1):
            axis.scatter(points, k + rng.uniform(-0.15, 0.15, points.size), s=10, alpha=0.6, color="tab:blue")
        paper = [long.loc[(long["method"] == method) & (long["metric"] == label), "paper_mean"] for method in methods]
        marked = [(float(p.iloc[0]), k) for k, p in enumerate(paper, start=1) if len(p) and not np.isnan(p.iloc[0])]
        if marked:
            axis.scatter(*zip(*marked, strict=True), marker="D", s=45, color="tab:red", zorder=3, label="paper")
            axis.legend(fontsize=TITLE_POINTS, scatterpoints=1, loc="best")
        axis.set_yticks(range(1, len(methods) + 1), methods, fontsize=TITLE_POINTS)
        axis.invert_yaxis()  # the table's order, top to bottom
        axis.set_xlabel(label, fontsize=TITLE_POINTS)
        axis.set_title(f"{label} per test image", fontsize=TITLE_POINTS + 1)
        axis.grid(alpha=0.3, axis="x")
    figure.suptitle(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout()
    return figure
