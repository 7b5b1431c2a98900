"""What a section's notebook shows, step by step: the data, how an image reaches the network, the
model, training, predictions and the table, as tables and matplotlib figures.

>>> walk = SectionWalkthrough("vessels", profile="smoke")
>>> walk.data_table(); walk.data_figure(); walk.input_figure(); walk.model_table()
>>> result = run_section("vessels", profile="smoke")
>>> walk.training_figure(result); walk.prediction_figure(result); walk.score_figure(result)

Each figure is returned for a notebook to show inline and written as a PNG under the section's
results folder: those that show dataset images under ``samples/`` (never committed), the others
under ``figures/``. What a figure adds for a dataset (its field of view, the disc's crop box, the
class legend, neighbouring slices) follows from the samples and the reader's task, not its name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from ..config import load_config
from ..data import Augmentation, SegmentationDataset
from ..data.base import Reader, Sample
from ..data.policy import InputPolicy
from ..data.run_readers import make_reader
from ..metrics import boundary_positions
from ..models import MODELS, build_model
from ..tasks import CellStackTask, LayerBoundaryTask
from .experiments import SectionResult, real_data_found, results_dir
from .stored_predictions import has_predictions, load_predictions
from .figures import class_legend, plot_losses, show_labels
from .sections import SECTIONS, Section

#: Parameters of the authors' released CE-Net (their PyTorch code; see cenet_lib/models/context.py).
AUTHORS_PARAMETERS = {"cenet": 29_003_093}
#: True positive, false positive, false negative: the error maps' three colours.
ERROR_COLOURS = {"true positive": (0.1, 0.7, 0.2), "false positive": (0.9, 0.2, 0.2), "false negative": (0.2, 0.4, 0.95)}


def _plain(axis, title: str) -> None:
    axis.set_title(title, fontsize=8)
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
        _plain(axes[0, k], f"{'slice ' + str(k) + ' of the stack' if stack else sample.id}: {sample.image.shape[1]}x{sample.image.shape[0]}"
                           + (" (field of view in yellow)" if sample.roi is not None else ""))
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
        class_legend(figure, reader.num_classes, reader.class_names, loc="lower center", ncol=min(5, reader.num_classes))
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0.06 if reader.num_classes > 1 else 0, 1, 0.95), h_pad=1.5)
    return figure


def _shown(tensor: torch.Tensor) -> np.ndarray:
    """A normalised (C, H, W) network input back in [0, 1] for display (``normalize``'s inverse)."""
    return _grey(np.clip((tensor.numpy().transpose(1, 2, 0) + 1.6) / 3.2, 0, 1))


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
    views = [(_grey(sample.image), f"stored: {sample.image.shape[1]}x{sample.image.shape[0]}"),
             (_shown(plain["image"]), f"training view ({policy.kind}): {plain['image'].shape[2]}x{plain['image'].shape[1]}"),
             *[(_shown(augmented[(index, epoch)]["image"]), f"augmented, epoch {epoch}") for epoch in (0, 1)],
             (_grey(inference), f"inference: {inference.shape[1]}x{inference.shape[0]}, padded to {padded[1]}x{padded[0]}")]
    figure, axes = plt.subplots(1, len(views), figsize=(3 * len(views), 3.2))
    for axis, (image, title) in zip(axes, views, strict=True):
        axis.imshow(image, cmap="gray")
        _plain(axis, title)
    figure.suptitle(f"How {sample.id} reaches the network (width x height in pixels)", fontsize=10)
    figure.tight_layout()
    return figure


def part_shapes(model: torch.nn.Module, input_shape: tuple[int, ...]) -> pd.DataFrame:
    """Each top-level part of ``model`` (encoder, context extractor, decoder, head; U-Net's stages)
    with its parameters and the shape of its output for one forward pass of ``input_shape``."""
    shapes: dict[str, str] = {}

    def record(name):
        def hook(_module, _inputs, output):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            shapes[name] = ", ".join("x".join(str(side) for side in tensor.shape) for tensor in outputs)
        return hook

    parts = [(name, module) for name, module in model.named_children()]
    handles = [module.register_forward_hook(record(name)) for name, module in parts]
    with torch.no_grad():
        model.eval()(torch.zeros(input_shape))
    for handle in handles:
        handle.remove()
    return pd.DataFrame([{"part": name, "parameters": sum(p.numel() for p in module.parameters()),
                          "output (batch x channels x height x width)": shapes.get(name, "not called")}
                         for name, module in parts])


def training_curves(logs: dict[str, pd.DataFrame], validation: str, label: str, title: str) -> Figure:
    """Each row's training loss per epoch and, where its dataset has a validation split, the
    ``validation`` score (a ``val_*`` column of its log, the paper's ``label``) at the epochs it was computed."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    plot_losses(left, logs)
    left.set_title("training loss")
    for name, log in logs.items():
        if validation in log:
            scored = log.dropna(subset=[validation])
            right.plot(scored["epoch"], scored[validation], marker="o", label=name)
    right.set(xlabel="epoch", ylabel=label, title=f"{label} on the validation split, no TTA")
    if right.lines:
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.grid(alpha=0.3)
        right.legend(fontsize=7)
    else:
        right.text(0.5, 0.5, "this dataset has no validation split", ha="center", va="center", transform=right.transAxes)
        right.set_xticks([])
        right.set_yticks([])
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def _boundaries(axis, label_map: np.ndarray, task: LayerBoundaryTask, colour: str, label: str) -> None:
    rows = boundary_positions(label_map, len(task.boundaries), (task.ignore_label,))
    for k, row in enumerate(rows):
        axis.plot(np.arange(row.size), row, color=colour, linewidth=0.7, label=label if k == 0 else None)
    axis.set_xlim(-0.5, label_map.shape[1] - 0.5)  # the B-scan's own frame, whatever the lines reach
    axis.set_ylim(label_map.shape[0] - 0.5, -0.5)


def predictions(samples: list[Sample], maps: list[np.ndarray], reader: Reader, title: str, threshold: float = 0.5) -> Figure:
    """For each test sample: the image, the predicted probability (or label) map, the thresholded
    mask, the ground truth and an error map (true positives, false positives, false negatives in
    three colours); for layer boundaries, predicted and true boundaries drawn over the B-scan."""
    layers = isinstance(reader.task, LayerBoundaryTask)
    figure, axes = plt.subplots(len(samples), 5, figsize=(15, 3.1 * len(samples) + 0.5), squeeze=False)
    for row, (sample, predicted) in enumerate(zip(samples, maps, strict=True)):
        axes[row, 0].imshow(_grey(sample.image), cmap="gray")
        _plain(axes[row, 0], sample.id)
        if reader.num_classes > 1:
            labels = predicted
            show_labels(axes[row, 1], labels, reader.num_classes)
            _plain(axes[row, 1], "predicted label map")
            if layers:
                axes[row, 2].imshow(_grey(sample.image), cmap="gray")
                _boundaries(axes[row, 2], sample.mask, reader.task, "lime", "true boundaries")
                _boundaries(axes[row, 2], labels, reader.task, "magenta", "predicted boundaries")
                axes[row, 2].legend(fontsize=6, loc="lower right")
                _plain(axes[row, 2], "boundaries over the B-scan")
            else:
                axes[row, 2].imshow(labels == sample.mask, cmap="gray", vmin=0, vmax=1)
                _plain(axes[row, 2], "correct pixels (white)")
            show_labels(axes[row, 3], sample.mask, reader.num_classes)
            errors = error_map(labels > 0, sample.mask > 0)
        else:
            shown = axes[row, 1].imshow(predicted, cmap="magma", vmin=0, vmax=1)
            figure.colorbar(shown, ax=axes[row, 1], fraction=0.046, pad=0.02).set_label("probability", fontsize=7)
            _plain(axes[row, 1], "probability of the foreground")
            axes[row, 2].imshow(predicted >= threshold, cmap="gray", vmin=0, vmax=1)
            _plain(axes[row, 2], f"thresholded at {threshold}")
            axes[row, 3].imshow(sample.mask, cmap="gray", vmin=0, vmax=1)
            errors = error_map(predicted >= threshold, sample.mask.astype(bool))
        _plain(axes[row, 3], "ground truth")
        axes[row, 4].imshow(errors)
        _plain(axes[row, 4], "errors" + (" (foreground vs background)" if reader.num_classes > 1 else ""))
    figure.legend([Patch(color=colour) for colour in ERROR_COLOURS.values()], list(ERROR_COLOURS), loc="lower center",
                  ncol=3, fontsize=8, frameon=False)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    return figure


def score_distributions(per_image: pd.DataFrame, long: pd.DataFrame, section: Section, title: str) -> Figure:
    """Per-image scores of every trained row for each of the table's metrics (one dot per test
    image and seed, a box over them), with the paper's value marked where it reports one."""
    metrics = list(section.metrics.items())
    methods = [row.method for row in section.rows if row.method in set(per_image["method"])]
    figure, axes = plt.subplots(1, len(metrics), figsize=(max(5, 1.2 * len(methods)) * len(metrics), 4.2), squeeze=False)
    rng = np.random.default_rng(0)
    for axis, (label, column) in zip(axes[0], metrics, strict=True):
        values = [per_image.loc[per_image["method"] == method, column].dropna().to_numpy() for method in methods]
        axis.boxplot(values, showfliers=False, widths=0.5)
        for k, points in enumerate(values, start=1):
            axis.scatter(k + rng.uniform(-0.15, 0.15, points.size), points, s=8, alpha=0.6, color="tab:blue")
        paper = [long.loc[(long["method"] == method) & (long["metric"] == label), "paper_mean"] for method in methods]
        marked = [(k, float(p.iloc[0])) for k, p in enumerate(paper, start=1) if len(p) and not np.isnan(p.iloc[0])]
        if marked:
            axis.scatter(*zip(*marked, strict=True), marker="D", s=40, color="tab:red", zorder=3, label="paper")
            axis.legend(fontsize=7, scatterpoints=1)
        axis.set_xticks(range(1, len(methods) + 1), methods, rotation=30, ha="right", fontsize=7)
        axis.set(ylabel=label, title=f"{label} per test image")
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


@dataclass
class SectionWalkthrough:
    """The tables and figures of one section's notebook, for a profile and data root."""

    name: str
    profile: str = "smoke"
    data_root: str | None = None
    out_root: str | Path = "results"
    section: Section = field(init=False)
    synthetic: bool = field(init=False)

    def __post_init__(self) -> None:
        self.section = SECTIONS[self.name]
        self.synthetic = self.profile == "smoke" or not real_data_found(self.section, self.data_root)
        self.config = load_config(self.profile, section=self.name, overrides={
            "dataset": self.section.dataset, "data_root": self.data_root, "synthetic": self.synthetic})
        self.policy = InputPolicy.from_config(self.config)
        self.results = results_dir(self.out_root, self.profile, self.synthetic)

    @property
    def data_label(self) -> str:
        return "synthetic stand-in" if self.synthetic else "real data"

    def reader(self, split: str) -> Reader:
        return make_reader(self.config, split)

    def _keep(self, figure: Figure, folder: str, name: str) -> Figure:
        path = self.results / folder / f"{self.name}_{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        return figure

    def data_table(self) -> pd.DataFrame:
        """Images per split, the first image's size, channels and classes, and what is substituted."""
        rows = []
        for split in self.reader("train").splits:
            reader = self.reader(split)
            height, width = reader[0].image.shape[:2]
            rows.append({"split": split, "images": len(reader), "first image (width x height)": f"{width}x{height}",
                         "channels": reader.in_channels, "classes": max(2, reader.num_classes), "data": self.data_label})
        return pd.DataFrame(rows)

    def data_figure(self) -> Figure:
        reader = self.reader("train")
        return self._keep(training_samples(reader, f"Three training images of {reader.name} ({self.data_label})"), "samples", "data")

    def input_figure(self) -> Figure:
        return self._keep(input_views(self.reader("train"), self.policy, self.section.rows[-1].model, self.config.seed),
                          "samples", "input")

    def model_table(self) -> pd.DataFrame:
        """Each row's network: its parameters beside the authors' implementation's, and what it changes."""
        reader = self.reader("train")
        rows = []
        for row in self.section.rows:
            model = build_model(row.model, reader.num_classes, reader.in_channels)
            context = getattr(MODELS[row.model], "keywords", {}).get("context", "-")
            rows.append({"row": row.method, "model": row.model, "context extractor": context, "loss": row.loss,
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "authors' code": AUTHORS_PARAMETERS.get(row.model, "-")})
        return pd.DataFrame(rows)

    def model_parts(self) -> pd.DataFrame:
        """The last row's network (CE-Net) part by part, at this profile's input size."""
        reader = self.reader("train")
        model = build_model(self.section.rows[-1].model, reader.num_classes, reader.in_channels)
        return part_shapes(model, (1, reader.in_channels, *self.policy.size))

    def training_figure(self, result: SectionResult) -> Figure:
        logs = {method: pd.read_csv(dirs[0] / "log.csv") for method, dirs in result.run_dirs.items()}
        label, column = next(iter(self.section.metrics.items()))
        figure = training_curves(logs, f"val_{column}", label, f"Table {self.section.table}: training ({self.profile} profile, {self.data_label})")
        return self._keep(figure, "figures", "training")

    def _shown_run(self, result: SectionResult) -> tuple[str, Path]:
        """The last row (CE-Net) whose first run stored its sample predictions, else the last row."""
        trained = [row.method for row in reversed(self.section.rows) if row.method in result.run_dirs]
        stored = [method for method in trained if has_predictions(result.run_dirs[method][0])]
        method = (stored or trained)[0]
        return method, result.run_dirs[method][0]

    def prediction_figure(self, result: SectionResult, images: tuple[int, ...] = (0, 1)) -> Figure:
        """Two test images predicted by the section's last row (CE-Net), from its stored predictions."""
        method, run_dir = self._shown_run(result)
        if not has_predictions(run_dir):
            figure = plt.figure(figsize=(9, 0.8))
            figure.text(0.01, 0.5, f"No predictions to show: the runs came from their records in {run_dir.parent}, which keep\n"
                                   "no weights or predictions. force=True trains them again.", va="center", fontsize=10)
            return figure
        reader = self.reader("test")
        stored = load_predictions(run_dir)
        maps = [stored[k].values for k in images]
        title = f"{method} on test images ({self.profile} profile, {self.data_label}; no TTA)"
        return self._keep(predictions([reader[k] for k in images], maps, reader, title, self.config.threshold), "samples", "predictions")

    def prediction_scores(self, result: SectionResult, images: tuple[int, ...] = (0, 1)) -> pd.DataFrame:
        """Those images' scores, as the table scores them (with TTA)."""
        _, run_dir = self._shown_run(result)
        ids = [self.reader("test").ids[k] for k in images]
        scores = pd.read_csv(run_dir / "metrics_test_per_image.csv", dtype={"id": str})
        return scores[scores["id"].isin(ids)].set_index("id")[list(self.section.metrics.values())]

    def score_figure(self, result: SectionResult) -> Figure:
        per_image = pd.read_csv(result.per_image, dtype={"id": str})
        title = f"Table {self.section.table}: per-image scores ({self.profile} profile, {self.data_label}) and the paper's value"
        return self._keep(score_distributions(per_image, result.table, self.section, title), "figures", "scores")
