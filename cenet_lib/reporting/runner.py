"""Running a section's runs: each one trained (or resumed) and scored unless it is finished, under
its folder's lock, with progress a person can plan with.

A run is finished once it is scored (``metrics_test_per_image.csv``); a finished run is reused,
not trained again (``force=True`` retrains), and says so. An interrupted run resumes from its
checkpoint. A row's first seed also stores a few test predictions as small PNG maps
(:mod:`.stored_predictions`) while its weights are there. Runs whose profile keeps no weights
(``smoke``) delete ``model.pt`` once scored. A finished run's settings, training log, test scores
and sample predictions are its record: git keeps them, so a fresh checkout reuses the runs behind
the committed tables. Progress (row, step, total, time left) is written to a progress file for
``cenet run-all`` to show.
"""
from __future__ import annotations

import fcntl
import logging
import os
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
from .plan import RunJob
from .stored_predictions import SAMPLE_IMAGES, has_predictions, save_predictions

log = logging.getLogger(__name__)


class Progress:
    """Writes one line, ``<section>: <row> (i/n, seed s): step k/N, about M min left``, at most once
    a second, to a file that ``cenet run-all`` shows on the console."""

    def __init__(self, path: str | Path | None, section: str) -> None:
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


def run_finished(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` is trained and scored: its record holds its test scores."""
    return (run_dir / "metrics_test_per_image.csv").is_file()


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
    resolved run and whether the finished run was reused."""
    run, progress = job.resolve(), progress or Progress(None, job.section)
    with run_lock(job.run_dir):
        return run, _train_or_reuse(job, run, progress, force)


def _train_or_reuse(job: RunJob, run: ResolvedRun, progress: Progress, force: bool) -> bool:
    run_dir, model_file = job.run_dir, job.run_dir / "model.pt"
    must_train = force or not (model_file.is_file() or run_finished(run_dir))
    if must_train:
        progress.start(job.label)
        train(run, run_dir, resume=not force, on_step=progress.step)
        loss_curves({run.config.model: pd.read_csv(run_dir / "log.csv")}, run_dir / "loss_curve.png",
                    f"{run.config.model} on {run.config.dataset}")
    else:
        log.info("%s: %s: reusing the finished run in %s (force=True trains it again)", job.section, job.label, run_dir)
    if must_train or not run_finished(run_dir):
        progress.write(f"{job.section}: {job.label}: scoring the test split")
        run_evaluation(run_dir)
    if job.samples and model_file.is_file() and (must_train or not has_predictions(run_dir)):
        _store_sample_predictions(run_dir, run)
    if not run.config.keep_weights:
        model_file.unlink(missing_ok=True)
    return not must_train


def _store_sample_predictions(run_dir: Path, run: ResolvedRun) -> None:
    """The first test images' predictions (no TTA), kept with the run's record. Written while the weights exist."""
    reader = make_reader(run.config, "test")
    model, _ = load_trained_model(run_dir / "model.pt")
    count = min(SAMPLE_IMAGES, len(reader))
    probabilities = [predict_sample(model, reader[index].image, run.policy, tta=False) for index in range(count)]
    save_predictions(run_dir, reader.ids[:count], probabilities)
