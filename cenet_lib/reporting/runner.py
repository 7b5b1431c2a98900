"""Running a section's runs: each one trained (or resumed) and scored unless it is finished, under
its folder's lock, with progress a person can plan with.

A run is finished once it is scored (``metrics_test_per_image.csv``); a finished run is reused,
not trained again, and says so. An interrupted run resumes from its checkpoint. A row's first seed
also stores a few test predictions as small PNG maps (:mod:`.stored_predictions`) while its
weights are there. Runs whose profile keeps no weights (``smoke``) delete ``model.pt`` once scored.
A finished run's settings, training log, test scores and sample predictions are its record: git
keeps them, so a fresh checkout reuses the runs behind the committed tables.

A finished record is never modified in place. A run read from the committed results
(``RunJob.read_only``) is only read. Training a finished run again (``force``) trains it in a
folder beside it (``<run>.retrain``) and replaces the old record only once the new run is trained
and scored, saying how far its test scores are from the record's; interrupted, it leaves the record
exactly as it was, and the next retrain resumes it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..checkpoint import load_trained_model
from ..data.run_readers import make_reader
from ..evaluation import predict_sample
from ..resolved import ResolvedRun
from ..runs import run_evaluation
from ..training import train
from .figures import loss_curves
from .plan import RunJob, run_finished
from .stored_predictions import SAMPLE_IMAGES, has_predictions, save_predictions

log = logging.getLogger(__name__)


class Progress:
    """A section's progress: the time left over its runs still to train (from the pace of the steps
    so far), shown beside each run's bar, and one line at most once a second in a progress file
    that ``cenet run-all`` shows on the console."""

    def __init__(self, path: str | Path | None, section: str, runs_to_train: int = 1) -> None:
        self.path = Path(path) if path else None
        self.section, self.label, self.written = section, "", 0.0
        self.runs_left, self.run_started, self.first_step = max(1, runs_to_train), time.monotonic(), 0

    def start(self, label: str, step: int = 0) -> None:
        self.label, self.run_started, self.first_step = label, time.monotonic(), step
        self.write(f"{self.section}: {label}: starting")

    def finish_run(self) -> None:
        self.runs_left = max(1, self.runs_left - 1)

    def step(self, step: int, total: int) -> str:
        """The section's time left, after ``step`` of this run's ``total``."""
        now = time.monotonic()
        per_step = (now - self.run_started) / max(1, step - self.first_step)
        left = per_step * ((total - step) + (self.runs_left - 1) * total)
        text = f"about {left / 60:.0f} min left"
        if now - self.written >= 1 or step >= total:
            self.write(f"{self.section}: {self.label}: step {step}/{total}, {text}")
        return text

    def write(self, line: str) -> None:
        self.written = time.monotonic()
        if self.path is not None:
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(line + "\n")
            os.replace(temporary, self.path)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock (a file beside its folder) while it is trained and scored: two sections
    run side by side that share a run train it once, the second waiting for the first and then
    reusing it."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with (run_dir.parent / f".{run_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def finish_run(job: RunJob, force: bool = False, progress: Progress | None = None) -> tuple[ResolvedRun, bool]:
    """Train (or resume) and score ``job``'s run unless it is finished, holding its lock; returns the
    resolved run and whether a finished run was reused."""
    run, progress = job.resolve(), progress or Progress(None, job.section)
    if job.read_only:
        log.info("%s: %s: the committed run in %s (retrain=True trains it again elsewhere)", job.section, job.label,
                 job.run_dir)
        return run, True
    with run_lock(job.run_dir):
        if force and run_finished(job.run_dir):
            _retrain_aside(job, run, progress)
            return run, False
        return run, _train_or_reuse(job, run, progress, force)


def _train_or_reuse(job: RunJob, run: ResolvedRun, progress: Progress, force: bool) -> bool:
    run_dir, model_file = job.run_dir, job.run_dir / "model.pt"
    must_train = force or not (model_file.is_file() or run_finished(run_dir))
    if must_train:  # an interrupted run resumes; ``force`` starts over only from finished weights
        _train(job, run, run_dir, progress, resume=not (force and model_file.is_file()))
    else:
        log.info("%s: %s: reusing the finished run in %s (force=True trains it again)", job.section, job.label, run_dir)
    if must_train or not run_finished(run_dir):
        progress.write(f"{job.section}: {job.label}: scoring the test split")
        run_evaluation(run_dir)
    _finish_record(job, run, run_dir, must_train)
    if must_train and job.record is not None:
        log.info("%s: %s: %s", job.section, job.label, compare_scores(run_dir, job.record))
    return not must_train


def _retrain_aside(job: RunJob, run: ResolvedRun, progress: Progress) -> None:
    """Train ``job``'s finished run again beside it, then put the new run in its place."""
    aside = job.run_dir.with_name(f"{job.run_dir.name}.retrain")
    _train(job, run, aside, progress, resume=True)  # resumes a retrain that was interrupted
    if not run_finished(aside):
        run_evaluation(aside)
    _finish_record(job, run, aside, True)
    log.info("%s: %s: %s", job.section, job.label, compare_scores(aside, job.record or job.run_dir))
    replaced = job.run_dir.with_name(f"{job.run_dir.name}.replaced")
    shutil.rmtree(replaced, ignore_errors=True)
    os.replace(job.run_dir, replaced)
    os.replace(aside, job.run_dir)
    shutil.rmtree(replaced)


def _train(job: RunJob, run: ResolvedRun, folder: Path, progress: Progress, resume: bool) -> None:
    progress.start(job.label)
    train(run, folder, resume=resume, on_step=progress.step, label=job.label)
    progress.finish_run()
    loss_curves({run.config.model: pd.read_csv(folder / "log.csv")}, folder / "loss_curve.png",
                f"{run.config.model} on {run.config.dataset}")


def _finish_record(job: RunJob, run: ResolvedRun, folder: Path, trained: bool) -> None:
    """Store the sample predictions of a row's first seed while the weights exist; drop the weights
    where the profile keeps none."""
    model_file = folder / "model.pt"
    if job.samples and model_file.is_file() and (trained or not has_predictions(folder)):
        _store_sample_predictions(folder, run)
    if not run.config.keep_weights:
        model_file.unlink(missing_ok=True)


def compare_scores(new: Path, record: Path) -> str:
    """How far a retrained run's per-image test scores are from a record's, in one line."""
    columns = "metrics_test_per_image.csv"
    before, after = (pd.read_csv(folder / columns, dtype={"id": str}).set_index("id") for folder in (record, new))
    numeric = [name for name in before.columns if name in after and pd.api.types.is_numeric_dtype(before[name])]
    differences = (after.loc[before.index, numeric] - before[numeric]).abs().max()
    if differences.fillna(0).max() == 0:
        return f"test scores equal to the record's in {record} (largest difference 0)"
    worst = differences.idxmax()
    return f"test scores differ from the record's in {record}: by up to {differences[worst]:.3g} ({worst})"


def _store_sample_predictions(run_dir: Path, run: ResolvedRun) -> None:
    """The first test images' predictions (no TTA), kept with the run's record. Written while the weights exist."""
    reader = make_reader(run.config, "test")
    model, _ = load_trained_model(run_dir / "model.pt")
    count = min(SAMPLE_IMAGES, len(reader))
    probabilities = [predict_sample(model, reader[index].image, run.policy, tta=False) for index in range(count)]
    save_predictions(run_dir, reader.ids[:count], probabilities)
