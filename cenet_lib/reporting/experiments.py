"""Run one section of the paper: train its table's rows, evaluate them, write its table and figures.

This is what each notebook calls (``run_section("vessels", profile=...)``). The real dataset is used
when it is found under the data root; otherwise (and always with the ``smoke`` profile) its
synthetic stand-in, and the table says so. Results go to :func:`results_dir`: ``<out_root>/<profile>``
for real data, ``<out_root>/<profile>-synthetic`` for a stand-in (``smoke`` is always synthetic and
keeps ``<out_root>/smoke``), so a run on synthetic data can never overwrite a real-data table.

Every trained row is a run directory under ``<results>/runs/<dataset>/``, named by what it is
(:func:`run_folder`), so a run two tables ask for is trained once. A run is finished once it is
scored (``metrics_test_per_image.csv``); a finished run is reused, not trained again (``force=True``
retrains), and says so. An interrupted run resumes from its checkpoint. The first seed of each row
also stores a few test predictions as small PNG maps (:mod:`.stored_predictions`) while its weights
are there. Runs whose profile keeps no weights (``smoke``) delete ``model.pt`` once scored. A
finished run's settings, training log, test scores and sample predictions are its record: git keeps
them (not its weights or plots), so a fresh checkout reuses the runs behind the committed tables.
:func:`section_runs` lists a section's runs without training them, for
:mod:`cenet_lib.reporting.schedule` to train side by side. Progress (row, step, total, time left)
is written to ``progress_file`` (default ``$CENET_PROGRESS_FILE``) for ``run_all.sh`` to show.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..checkpoint import load_trained_model
from ..config import RunConfig, config_from_checkpoint, load_config
from ..data import DatasetError, build_reader
from ..data.base import Reader
from ..data.run_readers import make_reader
from ..evaluation import predict_sample
from ..provenance import provenance
from ..resolved import ResolvedRun, load_run
from ..runs import run_evaluation
from ..training import train
from .figures import loss_curves, sample_results
from .sections import SECTIONS, Section
from .stored_predictions import SAMPLE_IMAGES, has_predictions, load_predictions, save_predictions
from .tables import TableFiles, build_table, write_per_image, write_table



@dataclass
class SectionResult:
    table: pd.DataFrame  # the long table (see cenet_lib.reporting.tables)
    table_files: TableFiles  # the table as CSV, Markdown, LaTeX and its provenance JSON
    per_image: Path  # every trained row's per-image scores, the claims ledger's evidence
    loss_curves: Path
    samples: Path
    synthetic: bool
    seconds: float
    out_dir: Path  # where the table and figures went (see results_dir)
    reused: list[str]  # the rows (with seeds) taken from finished runs rather than trained
    run_dirs: dict[str, list[Path]]  # each trained row's run folders, one per seed


@dataclass
class _Scored:
    """What the rows of a section left: their per-image scores (all seeds), the first seed's
    training log and run folder, and which runs were reused."""

    scores: dict[str, pd.DataFrame]
    logs: dict[str, pd.DataFrame]
    run_dirs: dict[str, list[Path]]
    reused: list[str]
    last_run: ResolvedRun
    run_seconds: float = 0.0  # training epochs and test scoring of every run, reused ones included


@dataclass(frozen=True)
class RunJob:
    """One run a section asks for: one row with one seed, its settings and its folder. Picklable,
    so a worker process resolves its own hardware (:meth:`resolve`)."""

    section: str
    method: str  # the row's label in the table
    label: str  # the row, its place and its seed, for progress lines
    profile: str
    overrides: dict[str, Any]
    run_dir: Path
    samples: bool  # the row's first seed: store its sample predictions

    def resolve(self) -> ResolvedRun:
        return load_run(self.profile, overrides=self.overrides, section=self.section)

    def finish(self, force: bool = False, progress: _Progress | None = None) -> tuple[ResolvedRun, bool]:
        """Train (or resume) and score this run unless it is finished: the resolved run, and whether
        it was reused."""
        run = self.resolve()
        _, reused = _finished_run(run, self.run_dir, self.label, progress or _Progress(None, self.section), force, self.samples)
        return run, reused


@dataclass(frozen=True)
class SectionRuns:
    """A section's runs, row by row and seed by seed, and where its outputs go."""

    section: Section
    synthetic: bool
    out_dir: Path
    common: dict[str, Any]  # the settings every run of the section shares
    jobs: list[RunJob]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def real_data_found(section: Section, data_root: str | None) -> bool:
    try:
        build_reader(section.dataset, "test", data_root)
    except (DatasetError, ValueError):
        return False
    return True


def results_dir(out_root: str | Path, profile: str, synthetic: bool) -> Path:
    """``<out_root>/<profile>`` for real data, ``<out_root>/<profile>-synthetic`` for a synthetic
    stand-in (except ``smoke``, which only ever runs on stand-ins and is not committed)."""
    return Path(out_root) / (f"{profile}-synthetic" if synthetic and profile != "smoke" else profile)


class _Progress:
    """Writes one line, ``<section>: <row> (i/n, seed s): step k/N, about M min left``, at most once
    a second, to a file that ``run_all.sh`` shows on the console."""

    def __init__(self, path: str | None, section: str) -> None:
        self.path = Path(path) if path else None
        self.section, self.label, self.started, self.written = section, "", time.monotonic(), 0.0

    def start(self, label: str) -> None:
        self.label, self.started = label, time.monotonic()
        self.write(f"{self.section}: {label}: starting")

    def step(self, step: int, total: int) -> None:
        now = time.monotonic()
        if now - self.written < 1 and step < total:
            return
        left = (now - self.started) / max(step, 1) * (total - step)
        self.write(f"{self.section}: {self.label}: step {step}/{total}, about {left / 60:.0f} min left")

    def write(self, line: str) -> None:
        self.written = time.monotonic()
        if self.path is not None:
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(line + "\n")
            os.replace(temporary, self.path)


def section_runs(
    name: str,
    profile: str = "smoke",
    data_root: str | None = None,
    device: str = "auto",
    seeds: tuple[int, ...] = (0,),
    out_root: str | Path = "results",
    rows: list[str] | None = None,
    encoder_weights: str = "random",
    settings: dict[str, Any] | None = None,
) -> SectionRuns:
    """The runs section ``name`` asks for (all its rows, or the paper labels in ``rows``), each in its folder."""
    section = SECTIONS[name]
    synthetic = profile == "smoke" or not real_data_found(section, data_root)
    out_dir = results_dir(out_root, profile, synthetic)
    chosen = [row for row in section.rows if rows is None or row.method in rows]
    if not chosen:
        raise ValueError(f"No row of Table {section.table} is named {rows}; its rows are {[r.method for r in section.rows]}.")
    common = {"dataset": section.dataset, "device": device, "data_root": data_root, "synthetic": synthetic, **(settings or {})}
    jobs = []
    for number, row in enumerate(chosen, start=1):
        for seed in seeds:
            # U-Net has no pretrained encoder: the paper trains it from scratch whatever the other rows use
            overrides = {**common, "model": row.model, "loss": row.loss, "seed": seed,
                         "encoder_weights": "random" if row.model == "unet" else encoder_weights}
            legacy = out_dir / "runs" / section.name / f"{_slug(row.method)}-seed{seed}"
            run_dir = run_folder(out_dir, load_config(profile, overrides=overrides, section=name), legacy)
            jobs.append(RunJob(name, row.method, f"{row.method} ({number}/{len(chosen)}, seed {seed})", profile, overrides,
                               run_dir, samples=seed == seeds[0]))
    return SectionRuns(section, synthetic, out_dir, common, jobs)


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
) -> SectionResult:
    """Train and evaluate the rows of section ``name`` (all, or the paper labels in ``rows``)."""
    started = time.perf_counter()
    runs = section_runs(name, profile, data_root, device, seeds, out_root, rows, encoder_weights, settings)
    section, synthetic, out_dir = runs.section, runs.synthetic, runs.out_dir
    progress = _Progress(progress_file or os.environ.get("CENET_PROGRESS_FILE"), name)
    scored = _score_rows(section, runs.jobs, progress, force)
    progress.write(f"{name}: writing Table {section.table} and its figures")
    reader = make_reader(load_config(profile, overrides=runs.common), "test")
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
        _samples(section, {m: dirs[0] for m, dirs in scored.run_dirs.items()}, out_dir, name, reader),
        synthetic, time.perf_counter() - started, out_dir, scored.reused, scored.run_dirs,
    )


def _score_rows(section: Section, jobs: list[RunJob], progress: _Progress, force: bool) -> _Scored:
    """Train (or reuse) and score every run of the section, row by row.
    The section's observer rows (DRIVE's second observer) are read from the last row's first run."""
    scored = _Scored({}, {}, {}, [], None)
    frames: dict[str, list[pd.DataFrame]] = {}
    for job in jobs:
        scored.last_run, was_reused = job.finish(force, progress)
        run_dir = job.run_dir
        scored.reused += [job.label] if was_reused else []
        seed = job.overrides["seed"]
        frames.setdefault(job.method, []).append(pd.read_csv(run_dir / "metrics_test_per_image.csv").assign(seed=seed))
        scored.run_seconds += _run_seconds(run_dir)
        scored.run_dirs.setdefault(job.method, []).append(run_dir)
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
    evaluation = json.loads(scoring.read_text())["provenance"].get("evaluation_seconds", 0.0) if scoring.is_file() else 0.0
    return float(pd.read_csv(run_dir / "log.csv")["seconds"].sum()) + float(evaluation)


def _steps_trained(logs: dict[str, pd.DataFrame]) -> int | dict[str, int]:
    """The optimizer steps each row trained: one number when all agree. A step budget is rounded up
    to whole epochs, so the steps trained can exceed ``epochs_or_steps``."""
    steps = {method: int(log["step"].iloc[-1]) for method, log in logs.items() if "step" in log}
    return next(iter(steps.values())) if len(set(steps.values())) == 1 else steps


def run_folder(out_dir: Path, config: RunConfig, legacy: Path | None = None) -> Path:
    """``<out_dir>/runs/<dataset>/<run name>`` (:meth:`RunConfig.run_name`): named by what the run
    is, so every table that asks for it finds it. A finished or interrupted run in the folder an
    older version named after its table (``legacy``) is moved here, with a message, when its
    settings are this run's."""
    folder = out_dir / "runs" / config.identity()["dataset"] / config.run_name()
    if folder.exists() or legacy is None or not (legacy / "config.yaml").is_file():
        return folder
    saved = config_from_checkpoint({"config": yaml.safe_load((legacy / "config.yaml").read_text())})
    if saved.identity() == config.identity() and saved.seed == config.seed:
        folder.parent.mkdir(parents=True, exist_ok=True)
        legacy.rename(folder)
        print(f"Moved the run in {legacy} to {folder}: runs are now named by what they are, not by their table.")
    else:
        print(f"{legacy} holds a run with other settings than {folder}; it is left where it is.")
    return folder


@contextmanager
def _only_here(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock (a file beside its folder) while it is trained and scored: two sections
    run side by side (``run_all.sh --jobs``) that share a run train it once, the second waiting
    for the first and then reusing it."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with (run_dir.parent / f".{run_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _finished_run(run: ResolvedRun, run_dir: Path, label: str, progress: _Progress, force: bool, samples: bool) -> tuple[Path, bool]:
    """Train (or resume) and score the run in ``run_dir`` unless it is finished, holding its lock;
    store its sample predictions when ``samples``. Returns the folder and whether the run was reused."""
    with _only_here(run_dir):
        return _train_or_reuse(run, run_dir, label, progress, force, samples)


def run_finished(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` is trained and scored: its record holds its test scores."""
    return (run_dir / "metrics_test_per_image.csv").is_file()


def _train_or_reuse(run: ResolvedRun, run_dir: Path, label: str, progress: _Progress, force: bool, samples: bool) -> tuple[Path, bool]:
    metrics_file, model_file = run_dir / "metrics_test_per_image.csv", run_dir / "model.pt"
    must_train = force or not (model_file.is_file() or run_finished(run_dir))
    if must_train:
        progress.start(label)
        train(run, run_dir, resume=not force, on_step=progress.step)
    else:
        print(f"{progress.section}: {label}: reusing the finished run in {run_dir} (force=True trains it again)")
    if must_train or not metrics_file.is_file():
        progress.write(f"{progress.section}: {label}: scoring the test split")
        run_evaluation(run_dir)
    if samples and model_file.is_file() and (must_train or not has_predictions(run_dir)):
        _store_sample_predictions(run_dir, make_reader(run.config, "test"), run)
    if not run.config.keep_weights:
        model_file.unlink(missing_ok=True)
    return run_dir, not must_train


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
        lines.append(f"Reused finished runs, not trained again (`force=True` retrains them): {', '.join(result.reused)}.")
    lines.append(f"Outputs in `{result.out_dir}`; {result.seconds:.0f} s.")
    return "\n\n".join(lines)


def _store_sample_predictions(run_dir: Path, reader: Reader, run: ResolvedRun) -> None:
    """The first test images' predictions (no TTA), kept with the run's record. Written while the weights exist."""
    model, _ = load_trained_model(run_dir / "model.pt")
    count = min(SAMPLE_IMAGES, len(reader))
    probabilities = [predict_sample(model, reader[index].image, run.policy, tta=False) for index in range(count)]
    save_predictions(run_dir, reader.ids[:count], probabilities)


def _samples(section: Section, runs: dict[str, Path], out_dir: Path, name: str, reader) -> Path:
    """Fig. 5-7 style: a few test images, each trained row's prediction, the ground truth."""
    samples = [reader[index] for index in range(min(SAMPLE_IMAGES, len(reader)))]
    predictions: dict[str, list] = {}
    for row in section.rows:
        stored = load_predictions(runs[row.method]) if row.method in runs else []
        if len(stored) >= len(samples):
            predictions[row.method] = [prediction.values for prediction in stored[:len(samples)]]
    path = out_dir / "samples" / f"samples_{name}.png"
    return sample_results([s.image for s in samples], predictions, [s.mask for s in samples], path,
                          f"Table {section.table} sample results ({reader.root.name}{', synthetic' if reader.synthetic else ''})",
                          classes=reader.num_classes, class_names=reader.class_names)
