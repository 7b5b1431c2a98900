"""One section of the paper, end to end: its runs trained (or reused) and scored, its table beside
the paper's, its per-image scores and its figures. What ``cenet section`` and each notebook call::

    result = run_section("vessels", profile="quick", data_root="../shared/data", seeds=(0, 1, 2))

The real dataset is used when it is found under the data root; otherwise (and always with the
``smoke`` profile) its synthetic stand-in, and the table says so (:mod:`.plan`).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..data.run_readers import make_reader
from ..provenance import provenance
from ..resolved import ResolvedRun
from .figures import loss_curves
from .image_figures import sample_results
from .plan import RunJob, run_finished, section_runs
from .runner import Progress, finish_run
from .sections import Section
from .stored_predictions import SAMPLE_IMAGES, load_predictions
from .tables import TableFiles, build_table, write_per_image, write_table


@dataclass
class SectionResult:
    table: pd.DataFrame  # the long table (see cenet_lib.reporting.tables)
    table_files: TableFiles  # the table as CSV, Markdown, LaTeX and its provenance JSON
    per_image: Path  # every trained row's per-image scores, the claims ledger's evidence
    loss_curves: Path
    samples: Path | None  # Figs. 5-7 beside the table (None where the committed results are only read)
    synthetic: bool
    seconds: float
    out_dir: Path  # where the table and figures went (see plan.results_dir)
    reused: list[str]  # the rows (with seeds) taken from finished runs rather than trained
    run_dirs: dict[str, list[Path]]  # each trained row's run folders, one per seed


@dataclass
class _Scored:
    """What the rows of a section left: their per-image scores (all seeds), the first seed's
    training log and run folder, and which runs were reused."""

    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    logs: dict[str, pd.DataFrame] = field(default_factory=dict)
    run_dirs: dict[str, list[Path]] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    last_run: ResolvedRun | None = None
    run_seconds: float = 0.0  # training epochs and test scoring of every run, reused ones included


def run_section(
    name: str,
    profile: str = "smoke",
    data_root: str | None = None,
    device: str = "auto",
    seeds: tuple[int, ...] = (0,),
    out_root: str | Path = "results",
    rows: list[str] | None = None,
    encoder_weights: str = "random",
    force: bool = False,
    settings: dict[str, Any] | None = None,
    progress_file: str | None = None,
    reuse_from: Path | None = None,
) -> SectionResult:
    """Train and evaluate the rows of section ``name`` (all, or the paper labels in ``rows``), its
    outputs under ``out_root``; runs finished under ``reuse_from`` (the committed results) are read
    from there unless ``force`` trains them again (:func:`~.plan.section_runs`)."""
    started = time.perf_counter()
    runs = section_runs(name, profile, data_root, device, seeds, out_root, rows, encoder_weights, settings, reuse_from,
                        force)
    section, synthetic, out_dir = runs.section, runs.synthetic, runs.out_dir
    to_train = [job for job in runs.jobs if not job.read_only and (force or not run_finished(job.run_dir))]
    progress = Progress(progress_file or os.environ.get("CENET_PROGRESS_FILE"), name, len(to_train))
    scored = _score_rows(section, runs.jobs, progress, force)
    progress.write(f"{name}: writing Table {section.table} and its figures")
    reader = make_reader(runs.config(), "test")
    dataset_name = f"synthetic {reader.name} stand-in" if synthetic else f"{reader.root.name} (real)"
    data_label = f"{dataset_name}, test split"
    table = build_table(section, scored.scores, data_label, synthetic)
    record = provenance(
        scored.last_run.hardware.device, precision=scored.last_run.hardware.precision, section=name, dataset=data_label,
        seeds=list(seeds), encoder_weights=encoder_weights, wall_seconds=round(time.perf_counter() - started, 1),
        runs_seconds=round(scored.run_seconds, 1),
        **scored.last_run.describe(), steps_trained=_steps_trained(scored.logs),
    )
    return SectionResult(
        table, write_table(table, section, out_dir / "tables", record, synthetic),
        write_per_image(scored.scores, section, out_dir / "tables"),
        loss_curves(scored.logs, out_dir / "figures" / f"loss_curves_{name}.png",
                    f"Table {section.table}: training loss ({dataset_name}, training split)"),
        _samples(section, {m: dirs[0] for m, dirs in scored.run_dirs.items()}, out_dir, reader),
        synthetic, time.perf_counter() - started, out_dir, scored.reused, scored.run_dirs,
    )


def _score_rows(section: Section, jobs: list[RunJob], progress: Progress, force: bool) -> _Scored:
    """Train (or reuse) and score every run of the section, row by row.
    The section's observer rows (DRIVE's second observer) are read from the last row's first run."""
    scored = _Scored()
    frames: dict[str, list[pd.DataFrame]] = {}
    for job in jobs:
        scored.last_run, was_reused = finish_run(job, force, progress)
        scored.reused += [job.label] if was_reused else []
        frames.setdefault(job.method, []).append(
            pd.read_csv(job.run_dir / "metrics_test_per_image.csv").assign(seed=job.seed)
        )
        scored.run_seconds += _run_seconds(job.run_dir)
        scored.run_dirs.setdefault(job.method, []).append(job.run_dir)
    for method, parts in frames.items():
        scored.scores[method] = pd.concat(parts, ignore_index=True)
        scored.logs[method] = pd.read_csv(scored.run_dirs[method][0] / "log.csv")
    for label, stem in section.observer_rows.items():
        observed = scored.run_dirs[jobs[-1].method][0] / f"{stem}_per_image.csv"
        if observed.is_file():
            scored.scores[label] = pd.read_csv(observed)
    return scored


def _run_seconds(run_dir: Path) -> float:
    """What a run cost when it ran: its training epochs (``log.csv``) and its test scoring."""
    scoring = run_dir / "metrics_test.json"
    evaluation = (
        json.loads(scoring.read_text())["provenance"].get("evaluation_seconds", 0.0) if scoring.is_file() else 0.0
    )
    return float(pd.read_csv(run_dir / "log.csv")["seconds"].sum()) + float(evaluation)


def _steps_trained(logs: dict[str, pd.DataFrame]) -> int | dict[str, int]:
    """The optimizer steps each row trained: one number when all agree. A step budget is rounded up
    to whole epochs, so the steps trained can exceed ``epochs_or_steps``."""
    steps = {method: int(log["step"].iloc[-1]) for method, log in logs.items() if "step" in log}
    return next(iter(steps.values())) if len(set(steps.values())) == 1 else steps


def sample_figure(section: Section, runs: dict[str, Path], reader, title: str) -> Figure | None:
    """Figs. 5-7: the first test images, each row's stored prediction (its first run's, ``runs``),
    the ground truth; None when no row stored its predictions."""
    samples = [reader[index] for index in range(min(SAMPLE_IMAGES, len(reader)))]
    predictions: dict[str, list] = {}
    for row in section.rows:
        stored = load_predictions(runs[row.method]) if row.method in runs else []
        if len(stored) >= len(samples):
            predictions[row.method] = [prediction.values for prediction in stored[: len(samples)]]
    if not predictions:
        return None
    return sample_results([s.image for s in samples], predictions, [s.mask for s in samples], title,
                          classes=reader.num_classes, class_names=reader.class_names)


def _samples(section: Section, runs: dict[str, Path], out_dir: Path, reader) -> Path | None:
    """The sample figure beside the section's table, in ``samples/`` (it shows dataset images)."""
    title = f"Table {section.table} sample results ({reader.root.name}{', synthetic' if reader.synthetic else ''})"
    figure = sample_figure(section, runs, reader, title)
    if figure is None:
        return None
    path = out_dir / "samples" / f"samples_{section.name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

