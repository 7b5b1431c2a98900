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
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..data.base import Reader
from ..data.policy import InputPolicy
from ..data.run_readers import make_reader
from ..models import MODELS, build_model
from .figures import score_distributions, training_curves
from .image_figures import input_views, predictions, training_samples
from .plan import real_data_found, results_dir
from .section import SectionResult
from .sections import SECTIONS, Section, section_config
from .stored_predictions import has_predictions, load_predictions

#: Parameters of the authors' released CE-Net (their PyTorch code; see cenet_lib/models/context.py).
AUTHORS_PARAMETERS = {"cenet": 29_003_093}


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
        self.config = section_config(self.name, self.profile, {
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
            rows.append(
                {
                    "split": split,
                    "images": len(reader),
                    "first image (width x height)": f"{width}x{height}",
                    "channels": reader.in_channels,
                    "classes": max(2, reader.num_classes),
                    "data": self.data_label,
                }
            )
        return pd.DataFrame(rows)

    def data_figure(self) -> Figure:
        reader = self.reader("train")
        return self._keep(
            training_samples(reader, f"Three training images of {reader.name} ({self.data_label})"), "samples", "data"
        )

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
        figure = training_curves(
            logs,
            f"val_{column}",
            label,
            f"Table {self.section.table}: training ({self.profile} profile, {self.data_label})",
        )
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
            figure.text(
                0.01,
                0.5,
                f"No predictions to show: the runs came from their records in {run_dir.parent}, which keep\n"
                "no weights or predictions. force=True trains them again.",
                va="center",
                fontsize=10,
            )
            return figure
        reader = self.reader("test")
        stored = load_predictions(run_dir)
        maps = [stored[k].values for k in images]
        title = f"{method} on test images ({self.profile} profile, {self.data_label}; no TTA)"
        return self._keep(
            predictions([reader[k] for k in images], maps, reader, title, self.config.threshold),
            "samples",
            "predictions",
        )

    def prediction_scores(self, result: SectionResult, images: tuple[int, ...] = (0, 1)) -> pd.DataFrame:
        """Those images' scores, as the table scores them (with TTA)."""
        _, run_dir = self._shown_run(result)
        ids = [self.reader("test").ids[k] for k in images]
        scores = pd.read_csv(run_dir / "metrics_test_per_image.csv", dtype={"id": str})
        return scores[scores["id"].isin(ids)].set_index("id")[list(self.section.metrics.values())]

    def score_figure(self, result: SectionResult) -> Figure:
        per_image = pd.read_csv(result.per_image, dtype={"id": str})
        title = (f"Table {self.section.table}: per-image scores ({self.profile} profile, {self.data_label}) "
                 "and the paper's value")
        return self._keep(score_distributions(per_image, result.table, self.section, title), "figures", "scores")


def section_note(result: SectionResult) -> str:
    """A short Markdown note for a notebook: what data the numbers come from, which rows were reused
    from finished runs, and where the outputs went."""
    if result.synthetic:
        lines = ["**Synthetic stand-in: these numbers are meaningless.** They show that the code runs end to end, "
                 "nothing about the paper. The real-data tables are committed in `results/quick/` (2-core CPU) and "
                 "`results/paper/` (GPU); `./run_all.sh --data-root DIR` runs on the real data."]
    else:
        lines = ["Real data."]
    if result.reused:
        lines.append(
            f"Reused finished runs, not trained again (`force=True` retrains them): {', '.join(result.reused)}."
        )
    lines.append(f"Outputs in `{result.out_dir}`; {result.seconds:.0f} s.")
    return "\n\n".join(lines)
