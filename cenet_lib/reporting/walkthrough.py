"""What a section's notebook shows, step by step: what CE-Net is, the data, how an image reaches
the network, the model, training, predictions and the table, as tables and matplotlib figures.

>>> walk = SectionWalkthrough("vessels", profile="quick", data_root="../shared/data")
>>> result = walk.results()            # the committed reproduction: nothing trained or written
>>> walk.architecture_figure(); walk.data_figure(); walk.training_figure(result)

Each figure is returned for a notebook to show inline, legible at JupyterLab's default width (no
text under 10 points). When the notebook computed its own results, each
is also written as a PNG under that results folder (those that show dataset images under
``samples/``, never committed, the others under ``figures/``); the committed results are only read.
Figures that need the dataset's images say so in one line when it is not on the machine
(:attr:`SectionWalkthrough.missing_data`); what needs no data is drawn from the committed records.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..data import READERS
from ..data.base import Reader
from ..data.policy import InputPolicy
from ..data.run_readers import make_reader
from ..models import MODELS, build_model
from .architecture import architecture_figure, part_shapes
from .figures import score_distributions, training_curves
from .image_figures import input_views, predictions, stored_maps, training_samples
from .notebook import section_results
from .plan import real_data_found, results_dir, synthetic_only
from .section import SectionResult, sample_figure
from .sections import SECTIONS, Section, section_config
from .stored_predictions import has_predictions, load_predictions

log = logging.getLogger(__name__)
#: Parameters of the authors' released CE-Net (their PyTorch code; see cenet_lib/models/context.py).
AUTHORS_PARAMETERS = {"cenet": 29_003_093}
def show(*tables: pd.DataFrame | None) -> None:
    """Display each table that is there (a missing one has said why in one line)."""
    from IPython.display import display

    for table in tables:
        if table is not None:
            display(table)


@dataclass
class SectionWalkthrough:
    """The tables and figures of one section's notebook, for a profile and data root."""

    name: str
    profile: str = "quick"
    data_root: str | None = None
    out_root: str | Path = "../results"
    section: Section = field(init=False)
    synthetic: bool = field(init=False)
    committed: bool = field(init=False, default=False)  # showing the committed results: write nothing

    def __post_init__(self) -> None:
        self.section = SECTIONS[self.name]
        found = real_data_found(self.section, self.data_root)
        self.synthetic = synthetic_only(self.profile) or not found
        #: the real dataset is not on this machine: figures of its images are left out, with one line saying so
        self.missing_data = not synthetic_only(self.profile) and not found
        self.config = section_config(self.name, self.profile, {
            "dataset": self.section.dataset, "data_root": self.data_root, "synthetic": self.synthetic})
        self.policy = InputPolicy.from_config(self.config)
        self.results_folder = results_dir(self.out_root, self.profile, self.synthetic)

    def results(self, seeds: list[int] | None = None, retrain: bool = False, replace_committed: bool = False,
                rows: list[str] | None = None, device: str = "auto", encoder_weights: str = "random") -> SectionResult:
        """The section's results: the committed ones unless something else is asked for
        (:func:`~.notebook.section_results`)."""
        result, self.committed = section_results(self.name, self.profile, seeds, retrain, replace_committed, rows,
                                                 self.data_root, device, self.out_root, encoder_weights)
        self.results_folder = result.out_dir
        return result

    def data_note(self) -> str:
        """One line on where the data comes from, and how to get it when it is missing."""
        dataset = self.section.dataset
        if self.missing_data:
            return (f"The {dataset} dataset is not on this machine, so the figures of its images are left out; "
                    f"`python -m cenet_lib.data fetch {dataset}` says how to get it (then pass `data_root`). "
                    "Everything else below comes from the committed records.")
        return f"Data: {self.data_label} ({self.reader('test').root})."

    @property
    def data_label(self) -> str:
        return "synthetic stand-in" if self.synthetic else "real data"

    def reader(self, split: str) -> Reader:
        return make_reader(self.config, split)

    def _keep(self, figure: Figure, folder: str, name: str) -> Figure:
        """Write the figure beside the notebook's own results; the committed results are only read."""
        if not self.committed:
            path = self.results_folder / folder / f"{self.name}_{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(path, dpi=100)
        return figure

    def architecture_figure(self) -> Figure:
        """CE-Net as the paper's Fig. 1 draws it, from the model itself, for one input of this profile's size."""
        channels, classes = self._channels_and_classes()
        model = build_model("cenet", classes, channels)
        height, width = self.policy.size
        title = (f"CE-Net for one {width}x{height} input ({self.profile} profile), drawn from this package's "
                 "model (the paper's Fig. 1)")
        return architecture_figure(model, (1, channels, height, width), title)

    def data_table(self) -> pd.DataFrame | None:
        """Images per split, the first image's size, channels and classes, and what is substituted."""
        if self.missing_data:
            log.info("The data and input views need the %s dataset on this machine (see the first cell).",
                     self.section.dataset)
            return None
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

    def data_figure(self) -> Figure | None:
        if self.missing_data:
            return None
        reader = self.reader("train")
        figure = training_samples(reader, f"Three training images of {reader.name} ({self.data_label})")
        return self._keep(figure, "samples", "data")

    def input_figure(self) -> Figure | None:
        if self.missing_data:
            return None
        figure = input_views(self.reader("train"), self.policy, self.section.rows[-1].model, self.config.seed)
        return self._keep(figure, "samples", "input")

    def _channels_and_classes(self) -> tuple[int, int]:
        """What the section's reader declares, so the networks are built without its files."""
        reader = READERS[self.section.dataset]
        return reader.in_channels, reader.num_classes

    def model_table(self) -> pd.DataFrame:
        """Each row's network: its parameters beside the authors' implementation's, and what it changes."""
        channels, classes = self._channels_and_classes()
        rows = []
        for row in self.section.rows:
            model = build_model(row.model, classes, channels)
            context = getattr(MODELS[row.model], "keywords", {}).get("context", "-")
            rows.append({"row": row.method, "model": row.model, "context extractor": context, "loss": row.loss,
                         "parameters": sum(p.numel() for p in model.parameters()),
                         "authors' code": AUTHORS_PARAMETERS.get(row.model, "-")})
        return pd.DataFrame(rows)

    def model_parts(self) -> pd.DataFrame:
        """The last row's network (CE-Net) part by part, at this profile's input size."""
        channels, classes = self._channels_and_classes()
        model = build_model(self.section.rows[-1].model, classes, channels)
        return part_shapes(model, (1, channels, *self.policy.size))

    def training_figure(self, result: SectionResult) -> Figure | None:
        """Each row's training loss per epoch and its validation score, from its first seed's log."""
        logs = {method: pd.read_csv(dirs[0] / "log.csv") for method, dirs in result.run_dirs.items()}
        if not logs:
            log.info("No training curves: git holds no run records for Table %s yet (its table was written before "
                     "records were kept); retrain=True trains the runs.", self.section.table)
            return None
        label, column = next(iter(self.section.metrics.items()))
        title = f"Table {self.section.table}: training ({self.profile} profile, {self.data_label})"
        figure = training_curves(logs, f"val_{column}", label, title)
        return self._keep(figure, "figures", "training")

    def _shown_run(self, result: SectionResult) -> tuple[str, Path] | None:
        """The last row (CE-Net) whose first run stored its sample predictions."""
        for row in reversed(self.section.rows):
            if row.method in result.run_dirs and has_predictions(result.run_dirs[row.method][0]):
                return row.method, result.run_dirs[row.method][0]
        return None

    def prediction_figure(self, result: SectionResult, images: tuple[int, ...] = (0, 1)) -> Figure | None:
        """Two test images predicted by the section's last row (CE-Net), from its stored predictions:
        over the images with their errors where the data is here, the maps alone where it is not."""
        shown = self._shown_run(result)
        if shown is None:
            log.info("No predictions to show: no run of Table %s stored its sample predictions (a row's first seed "
                     "keeps them once trained with this version); retrain=True trains the runs.", self.section.table)
            return None
        method, run_dir = shown
        stored = [load_predictions(run_dir)[k] for k in images]
        title = f"{method} on test images ({self.profile} profile, {self.data_label}; no TTA)"
        if self.missing_data:
            figure = stored_maps(stored, READERS[self.section.dataset].num_classes, title)
        else:
            reader = self.reader("test")
            figure = predictions([reader[k] for k in images], [p.values for p in stored], reader, title,
                                 self.config.threshold)
        return self._keep(figure, "samples", "predictions")

    def prediction_scores(self, result: SectionResult, images: tuple[int, ...] = (0, 1)) -> pd.DataFrame | None:
        """Those images' scores, as the table scores them (with TTA)."""
        shown = self._shown_run(result)
        if shown is None:
            return None
        ids = [prediction.image_id for prediction in load_predictions(shown[1])[: max(images) + 1]]
        scores = pd.read_csv(shown[1] / "metrics_test_per_image.csv", dtype={"id": str})
        return scores[scores["id"].isin(ids)].set_index("id")[list(self.section.metrics.values())]

    def score_figure(self, result: SectionResult) -> Figure | None:
        if not Path(result.per_image).is_file():
            return None
        per_image = pd.read_csv(result.per_image, dtype={"id": str})
        title = (f"Table {self.section.table}: per-image scores ({self.profile} profile, {self.data_label}) "
                 "and the paper's value")
        figure = score_distributions(per_image, result.table, self.section, title)
        return self._keep(figure, "figures", "scores")

    def samples_figure(self, result: SectionResult) -> Figure | None:
        """Figs. 5-7: a few test images, each row's stored prediction, the ground truth (needs the data)."""
        if self.missing_data:
            return None
        title = f"Table {self.section.table}: sample results ({self.profile} profile, {self.data_label}; no TTA)"
        runs = {method: dirs[0] for method, dirs in result.run_dirs.items()}
        figure = sample_figure(self.section, runs, self.reader("test"), title)
        if figure is None:
            return None  # prediction_figure has said why
        return self._keep(figure, "samples", "samples")


def run_devices(result: SectionResult) -> str:
    """The devices the section's runs were scored on, from their records (not the machine showing them)."""
    devices = set()
    for folders in result.run_dirs.values():
        for folder in folders:
            record = folder / "metrics_test.json"
            if record.is_file():
                devices.add(json.loads(record.read_text()).get("provenance", {}).get("device"))
    return "; ".join(sorted(filter(None, devices))) or "devices not recorded"


def section_note(result: SectionResult, committed: bool) -> str:
    """A short Markdown note for a notebook: whose results these are, which runs were reused, where
    the outputs went."""
    if result.synthetic:
        return ("**Synthetic stand-in: these numbers are meaningless.** They show that the code runs end to end, "
                "nothing about the paper. The notebook's default (`profile = \"quick\"`) shows the committed "
                f"real-data reproduction. Outputs in `{result.out_dir}`; {result.seconds:.0f} s.")
    provenance = json.loads(result.table_files.json.read_text())
    seeds = ", ".join(str(seed) for seed in provenance.get("seeds", []))
    if committed:
        how = f"profile {provenance.get('profile')}, runs on {run_devices(result)}, {provenance.get('precision')}"
        return (f"**The committed reproduction** (`{result.out_dir}`): seeds {seeds}, {how}, trained from scratch. "
                "Nothing was trained or written; `retrain = True` trains the runs again into a results folder of "
                "their own.")
    reused = f" Reused finished runs: {', '.join(result.reused)}." if result.reused else ""
    return f"Computed here: seeds {seeds}, written to `{result.out_dir}` in {result.seconds:.0f} s.{reused}"
