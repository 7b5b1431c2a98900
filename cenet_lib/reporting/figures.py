"""Figures like the paper's: sample results (Fig. 5-7) and training-loss curves (Fig. 8).

Sample-result figures show dataset images, so they are written on each run and never committed;
loss curves hold no image data. Importing this module leaves matplotlib's backend alone, so plots
keep showing inline in Jupyter; without a display matplotlib itself falls back to Agg.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator


def show_labels(axis, label_map: np.ndarray, classes: int) -> None:
    """A label map in the colours :func:`class_legend` names (tab10, one colour per label)."""
    axis.imshow(label_map, cmap="tab10", vmin=0, vmax=max(9, classes - 1), interpolation="nearest")


def class_legend(figure, classes: int, names: tuple[str, ...] | None, **placement) -> None:
    """A legend of the classes' colours in :func:`show_labels`, named by ``names`` where given."""
    colours = plt.get_cmap("tab10")(np.arange(classes) / max(9, classes - 1))
    names = names or tuple(f"class {k}" for k in range(classes))
    figure.legend([Patch(color=colours[k]) for k in range(classes)], names[:classes], fontsize=7, frameon=False, **placement)


def plot_losses(axis, logs: dict[str, pd.DataFrame]) -> None:
    """Each run's training loss per epoch on ``axis``, with whole-epoch ticks."""
    for name, log in logs.items():
        axis.plot(log["epoch"], log["train_loss"], label=name)
    axis.set(xlabel="epoch", ylabel="training loss")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 1.2, 1.4 ticks on short runs
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)


def _show(axis, array: np.ndarray, labels: bool, classes: int) -> None:
    if labels:
        show_labels(axis, array, classes)
    elif array.ndim == 3 and array.shape[2] == 3:
        axis.imshow(array)
    elif array.dtype.kind == "f":  # a probability map: black 0, white 1, whatever its range
        axis.imshow(np.squeeze(array), cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(np.squeeze(array), cmap="gray")
    axis.set_xticks([])
    axis.set_yticks([])


def sample_results(
    images: list[np.ndarray],
    predictions: dict[str, list[np.ndarray]],
    references: list[np.ndarray],
    path: Path,
    title: str,
    classes: int = 1,
    class_names: tuple[str, ...] | None = None,
) -> Path:
    """One row per image: the image, each model's prediction (a probability map, or a label map for
    several classes) and the ground truth, as in Figs. 5-7; a colour bar for the probabilities, a
    legend of the classes for label maps."""
    columns = ["image", *predictions, "ground truth"]
    labels = classes > 1
    figure, axes = plt.subplots(len(images), len(columns), figsize=(2.4 * len(columns) + 1.2, 2.4 * len(images)), squeeze=False)
    for row, image in enumerate(images):
        _show(axes[row, 0], image, False, classes)
        for column, name in enumerate(predictions, start=1):
            _show(axes[row, column], predictions[name][row], labels, classes)
        _show(axes[row, -1], references[row], labels, classes)
    for column, name in enumerate(columns):
        axes[0, column].set_title(name, fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1 - 1.2 / (2.4 * len(columns) + 1.2), 1))
    if labels:
        class_legend(figure, classes, class_names, loc="center right")
    else:
        bar = figure.colorbar(plt.cm.ScalarMappable(cmap="gray", norm=plt.Normalize(0, 1)), ax=axes[:, 1:].ravel().tolist(),
                              fraction=0.02, pad=0.02)
        bar.set_label("probability of the foreground (ground truth: 1)", fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


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
