"""Figures of dataset images and the predictions over them: training samples with their ground
truth, how an image reaches the network, a row's predictions with error maps (or OCT boundaries),
and the sample results of every row side by side (Figs. 5-7).

They show dataset images, so they are written on each run and never committed. What a figure adds
for a dataset (its field of view, the disc's crop box, the class legend, neighbouring slices)
follows from the samples and the reader's task, not its name.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..data import Augmentation, SegmentationDataset
from ..data.base import Reader, Sample
from ..data.policy import InputPolicy
from ..data.transforms import denormalize
from ..metrics import boundary_positions
from ..models import build_model
from ..tasks import CellStackTask, LayerBoundaryTask
from .figures import FIGURE_INCHES, TITLE_POINTS, class_legend, show_labels
from .stored_predictions import StoredPrediction

TRUE_BOUNDARY, PREDICTED_BOUNDARY = "lime", "magenta"
#: True positive, false positive, false negative: the error maps' three colours.
ERROR_COLOURS = {
    "true positive": (0.1, 0.7, 0.2),
    "false positive": (0.9, 0.2, 0.2),
    "false negative": (0.2, 0.4, 0.95),
}


def _wrapped(text: str, inches: float) -> str:
    """``text`` broken into lines that fit ``inches`` at :data:`TITLE_POINTS` (a character is about
    0.58 of the font's size wide)."""
    return textwrap.fill(text, max(8, int(inches * 72 / (0.58 * TITLE_POINTS))), break_long_words=False)


def _plain(axis, title: str) -> None:
    """An image panel: its title wrapped to its width, no ticks."""
    inches = axis.get_position().width * axis.figure.get_figwidth()
    axis.set_title(_wrapped(title, inches), fontsize=TITLE_POINTS)
    axis.set_xticks([])
    axis.set_yticks([])


def _grey(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def error_map(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(H, W, 3) colours of true positives, false positives and false negatives (black: true negatives)."""
    colours = np.zeros((*truth.shape, 3))
    for name, where in (("true positive", predicted & truth), ("false positive", predicted & ~truth),
                        ("false negative", ~predicted & truth)):
        colours[where] = ERROR_COLOURS[name]
    return colours


def training_samples(reader: Reader, title: str, count: int = 3) -> Figure:
    """The first ``count`` training images with their ground truth, the field of view outlined where
    the dataset has one, the crop box in the full frame where the network sees a crop, a class
    legend for label maps, and for a stack of slices the slices' positions."""
    samples = [reader[k] for k in range(min(count, len(reader)))]
    cropped = "crop_box" in samples[0].extra
    columns = 3 if cropped else 2
    figure, axes = plt.subplots(columns, len(samples), figsize=(3 * len(samples), 2.8 * columns + 0.6), squeeze=False)
    stack = isinstance(reader.task, CellStackTask)
    for k, sample in enumerate(samples):
        axes[0, k].imshow(_grey(sample.image), cmap="gray")
        if sample.roi is not None:
            axes[0, k].contour(sample.roi, levels=[0.5], colors="yellow", linewidths=0.8)
        _plain(
            axes[0, k],
            f"{'slice ' + str(k) + ' of the stack' if stack else sample.id}: "
            f"{sample.image.shape[1]}x{sample.image.shape[0]}"
            + (" (field of view in yellow)" if sample.roi is not None else ""),
        )
        if reader.num_classes > 1:
            show_labels(axes[1, k], sample.mask, reader.num_classes)
        else:
            axes[1, k].imshow(sample.mask, cmap="gray", vmin=0, vmax=1)
        _plain(axes[1, k], "ground truth")
        if cropped:
            top, left, height, width = sample.extra["crop_box"]
            axes[2, k].imshow(sample.extra["full_mask"], cmap="gray", vmin=0, vmax=1)
            axes[2, k].add_patch(Rectangle((left, top), width, height, fill=False, edgecolor="orange", linewidth=1.5))
            _plain(axes[2, k], f"full frame, {width}x{height} crop box in orange")
    if reader.num_classes > 1:
        class_legend(
            figure, reader.num_classes, reader.class_names, loc="lower center", ncol=min(5, reader.num_classes)
        )
    figure.suptitle(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout(rect=(0, 0.06 if reader.num_classes > 1 else 0, 1, 0.95), h_pad=1.5)
    return figure


def _shown(tensor: torch.Tensor) -> np.ndarray:
    """A normalised (C, H, W) network input back in [0, 1] for display."""
    return _grey(denormalize(tensor.numpy().transpose(1, 2, 0)))


def input_views(reader: Reader, policy: InputPolicy, model_name: str, seed: int = 0, index: int = 0) -> Figure:
    """One training image on its way to the network: as stored, the policy's view without
    augmentation, two augmented views (two epochs), and the whole image at inference with the size
    the network sees once the model pads it."""
    sample = reader[index]
    plain = SegmentationDataset(reader, policy, None, seed)[(index, 0)]
    augmented = SegmentationDataset(reader, policy, Augmentation(flips=policy.flips), seed)
    inference = policy.inference_view(sample.image)
    model = build_model(model_name, max(1, reader.num_classes), reader.in_channels)
    padded = tuple(int(model.padded_size(side)) for side in inference.shape[:2])
    views = [
        (_grey(sample.image), f"stored: {sample.image.shape[1]}x{sample.image.shape[0]}"),
        (_shown(plain["image"]), f"training view ({policy.kind}): {plain['image'].shape[2]}x{plain['image'].shape[1]}"),
        *[(_shown(augmented[(index, epoch)]["image"]), f"augmented, epoch {epoch}") for epoch in (0, 1)],
        (_grey(inference), f"inference: {inference.shape[1]}x{inference.shape[0]}, padded to {padded[1]}x{padded[0]}"),
    ]
    figure, axes = plt.subplots(1, len(views), figsize=(FIGURE_INCHES, 3.2))
    for axis, (image, title) in zip(axes, views, strict=True):
        axis.imshow(image, cmap="gray")
        _plain(axis, title)
    figure.suptitle(f"How {sample.id} reaches the network (width x height in pixels)", fontsize=TITLE_POINTS + 1)
    figure.tight_layout()
    return figure


def _boundaries(axis, label_map: np.ndarray, task: LayerBoundaryTask, colour: str) -> None:
    rows = boundary_positions(label_map, len(task.boundaries), (task.ignore_label,))
    for row in rows:
        axis.plot(np.arange(row.size), row, color=colour, linewidth=0.7)
    axis.set_xlim(-0.5, label_map.shape[1] - 0.5)  # the B-scan's own frame, whatever the lines reach
    axis.set_ylim(label_map.shape[0] - 0.5, -0.5)


def _foreground(label_map: np.ndarray, task) -> np.ndarray:
    """What the error map of a label map counts as foreground: for retinal layers the retina (the
    layers between the first and the last boundary, and the fluid inside them), else any label but 0."""
    if isinstance(task, LayerBoundaryTask):
        return ((label_map >= 1) & (label_map < len(task.boundaries))) | (label_map == task.ignore_label)
    return label_map > 0


def predictions(
    samples: list[Sample], maps: list[np.ndarray], reader: Reader, title: str, threshold: float = 0.5
) -> Figure:
    """For each test sample: the image, the predicted probability (or label) map, the thresholded
    mask, the ground truth and an error map (true positives, false positives, false negatives in
    three colours); for layer boundaries, predicted and true boundaries drawn over the B-scan and
    the error map of the retina (what lies between the first and the last boundary)."""
    layers = isinstance(reader.task, LayerBoundaryTask)
    figure, axes = plt.subplots(len(samples), 5, figsize=(FIGURE_INCHES, 2.6 * len(samples) + 0.7), squeeze=False)
    for row, (sample, predicted) in enumerate(zip(samples, maps, strict=True)):
        axes[row, 0].imshow(_grey(sample.image), cmap="gray")
        _plain(axes[row, 0], sample.id)
        if reader.num_classes > 1:
            labels = predicted
            show_labels(axes[row, 1], labels, reader.num_classes)
            _plain(axes[row, 1], "predicted label map")
            if layers:
                axes[row, 2].imshow(_grey(sample.image), cmap="gray")
                _boundaries(axes[row, 2], sample.mask, reader.task, TRUE_BOUNDARY)
                _boundaries(axes[row, 2], labels, reader.task, PREDICTED_BOUNDARY)
                _plain(axes[row, 2], "boundaries over the B-scan")
            else:
                axes[row, 2].imshow(labels == sample.mask, cmap="gray", vmin=0, vmax=1)
                _plain(axes[row, 2], "correct pixels (white)")
            show_labels(axes[row, 3], sample.mask, reader.num_classes)
            errors = error_map(_foreground(labels, reader.task), _foreground(sample.mask, reader.task))
        else:
            shown = axes[row, 1].imshow(predicted, cmap="magma", vmin=0, vmax=1)
            bar = figure.colorbar(shown, ax=axes[row, 1], fraction=0.046, pad=0.02)
            bar.set_label("probability", fontsize=TITLE_POINTS)
            _plain(axes[row, 1], "foreground probability")
            axes[row, 2].imshow(predicted >= threshold, cmap="gray", vmin=0, vmax=1)
            _plain(axes[row, 2], f"thresholded at {threshold}")
            axes[row, 3].imshow(sample.mask, cmap="gray", vmin=0, vmax=1)
            errors = error_map(predicted >= threshold, sample.mask.astype(bool))
        _plain(axes[row, 3], "ground truth")
        axes[row, 4].imshow(errors)
        _plain(axes[row, 4], "errors" + (" (retina)" if layers else "" if reader.num_classes == 1 else " (foreground)"))
    handles = [Patch(color=colour) for colour in ERROR_COLOURS.values()]
    names = list(ERROR_COLOURS)
    if layers:
        handles += [Line2D([], [], color=TRUE_BOUNDARY), Line2D([], [], color=PREDICTED_BOUNDARY)]
        names += ["true boundaries", "predicted boundaries"]
    figure.legend(handles, names, loc="lower center", ncol=len(names), fontsize=TITLE_POINTS, frameon=False)
    figure.suptitle(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    return figure


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
    title: str,
    classes: int = 1,
    class_names: tuple[str, ...] | None = None,
) -> Figure:
    """One row per image: the image, each model's prediction (a probability map, or a label map for
    several classes) and the ground truth, as in Figs. 5-7; a colour bar for the probabilities, a
    legend of the classes for label maps."""
    columns = ["image", *predictions, "ground truth"]
    labels = classes > 1
    width = min(FIGURE_INCHES, 2.4 * len(columns) + 1.2)
    panel = (width - 1.2) / len(columns)
    figure, axes = plt.subplots(len(images), len(columns), figsize=(width, panel * len(images) + 1.0), squeeze=False)
    for row, image in enumerate(images):
        _show(axes[row, 0], image, False, classes)
        for column, name in enumerate(predictions, start=1):
            _show(axes[row, column], predictions[name][row], labels, classes)
        _show(axes[row, -1], references[row], labels, classes)
    for column, name in enumerate(columns):
        # an ablation's "Backbone + RMP" after the "Backbone" column reads "+ RMP", so that it fits
        base = next((other for other in columns if name.startswith(f"{other} + ")), None)
        shown = name if base is None else name.replace(f"{base} + ", "+ ", 1)
        axes[0, column].set_title(_wrapped(shown, panel), fontsize=TITLE_POINTS)
    figure.suptitle(_wrapped(title, width), fontsize=TITLE_POINTS + 1)
    figure.tight_layout(rect=(0, 0, 1 - 1.2 / width, 1))
    if labels:
        class_legend(figure, classes, class_names, loc="center right")
    else:
        bar = figure.colorbar(
            plt.cm.ScalarMappable(cmap="gray", norm=plt.Normalize(0, 1)),
            ax=axes[:, 1:].ravel().tolist(),
            fraction=0.02,
            pad=0.02,
        )
        bar.set_label("probability of the foreground (ground truth: 1)", fontsize=TITLE_POINTS)
    return figure


def stored_maps(stored: list[StoredPrediction], classes: int, title: str) -> Figure:
    """Stored predictions on their own, where the dataset's images are not on the machine: each
    test image's probability map (a label map for several classes), named by its id."""
    figure, axes = plt.subplots(1, len(stored), figsize=(min(FIGURE_INCHES, 5 * len(stored)), 4.4), squeeze=False)
    for axis, prediction in zip(axes[0], stored, strict=True):
        if prediction.labels:
            show_labels(axis, prediction.values, classes)
        else:
            shown = axis.imshow(prediction.values, cmap="magma", vmin=0, vmax=1)
            figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.02).set_label("probability", fontsize=TITLE_POINTS)
        _plain(axis, f"{prediction.image_id}: {prediction.values.shape[1]}x{prediction.values.shape[0]}")
    if stored and stored[0].labels:
        class_legend(figure, classes, None, loc="lower center", ncol=min(5, classes))
    figure.suptitle(title, fontsize=TITLE_POINTS + 1)
    figure.tight_layout(rect=(0, 0.06 if stored and stored[0].labels else 0, 1, 0.95))
    return figure


