"""Runs side by side: every run (row x seed) of the chosen sections, in N worker processes.

A table needs all its runs, and the runs are independent, so they are what is scheduled: one
big GPU that a batch of 8 leaves mostly idle trains several at once, and so do several GPUs.
:class:`concurrent.futures.ProcessPoolExecutor` (``spawn`` start, so no worker inherits a CUDA
context) runs them; each worker takes a slot that fixes its GPU (``gpus``, several workers per GPU
allowed) and its share of the CPU threads. A run two sections share (Table II's and Table VI's
DRIVE runs) is trained once. Finished runs are skipped, interrupted ones resume from their
checkpoint, and a failed run is reported with its error and its log while the others go on. The
sections' tables are then written from the finished runs (:func:`~cenet_lib.reporting.section.run_section`
reuses them, in seconds); a section with a failed run gets no table. ``cenet section ... --jobs N``
and ``cenet run-all --jobs N`` train this way first.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..messages import show_messages
from .plan import RunJob, run_finished, section_runs
from .runner import finish_run
from .sections import SECTIONS

log = logging.getLogger(__name__)


def run_log(job: RunJob) -> Path:
    """Where a run trained by a worker writes its output: beside its folder."""
    return job.run_dir.with_name(f"{job.run_dir.name}.log")


def start_worker(slots, gpus: list[str], threads: int) -> None:
    """A worker's slot: its GPU where ``gpus`` are given (before CUDA starts), its CPU threads."""
    import torch

    show_messages()
    slot = slots.get()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    torch.set_num_threads(threads)


def _train(job: RunJob, force: bool) -> tuple[str | None, float]:
    """Train and score one run in a worker, its output in :func:`run_log`: the error if it failed,
    and the seconds it took."""
    started = time.perf_counter()
    job.run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run_log(job), "a") as log, redirect_stdout(log), redirect_stderr(log):
        try:
            finish_run(job, force)
        except Exception as error:  # reported by the parent; the other runs go on
            traceback.print_exc()
            return (
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                time.perf_counter() - started,
            )
    return None, time.perf_counter() - started


def train_side_by_side(
    jobs: list[RunJob], workers: int, gpus: list[str] | None = None, force: bool = False
) -> dict[Path, str]:
    """Train every unfinished run of ``jobs`` (each folder once) in ``workers`` processes; returns
    the failed runs' folders with their errors."""
    unique = list({job.run_dir: job for job in jobs}.values())
    pending = [job for job in unique if not job.read_only and (force or not run_finished(job.run_dir))]
    log.info(
        "%d runs: %d finished earlier, %d to train with %d side by side%s",
        len(unique),
        len(unique) - len(pending),
        len(pending),
        workers,
        " on GPUs " + ",".join(gpus) if gpus else "",
    )
    if not pending:
        return {}
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in range(workers):
        slots.put(slot)
    threads = max(1, (os.cpu_count() or 1) // workers)
    failures: dict[Path, str] = {}
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker, initargs=(slots, gpus or [], threads)
    ) as pool:
        futures = {pool.submit(_train, job, force): job for job in pending}
        with tqdm(total=len(futures), desc="runs", unit="run") as bar:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    error, seconds = future.result()
                except Exception as crash:  # the worker process itself died (out of memory, killed)
                    error, seconds = f"the worker stopped: {type(crash).__name__}: {crash}", float("nan")
                if error:
                    failures[job.run_dir] = error
                    tqdm.write(f"FAILED {job.section}: {job.label} after {seconds:.0f} s: {error}; log: {run_log(job)}")
                else:
                    tqdm.write(f"done {job.section}: {job.label} in {seconds:.0f} s")
                bar.update()
    return failures


def train_sections(profiles: dict[str, str], workers: int, gpus: list[str] | None = None, force: bool = False,
                   seeds: tuple[int, ...] | dict[str, tuple[int, ...]] = (0,), **where: Any) -> dict[str, list[RunJob]]:
    """Train every run of the sections (name -> profile) side by side; ``where`` holds
    :func:`section_runs`' ``data_root``, ``device``, ``out_root`` and ``encoder_weights``. Returns each
    section with a failed run, and those runs (it gets no table), after saying so."""
    chosen = seeds if isinstance(seeds, dict) else dict.fromkeys(profiles, seeds)
    plans = {name: section_runs(name, profile, seeds=chosen[name], **where).jobs for name, profile in profiles.items()}
    failures = train_side_by_side([job for jobs in plans.values() for job in jobs], workers, gpus, force)
    failed = {name: [job for job in jobs if job.run_dir in failures] for name, jobs in plans.items()}
    for name, jobs in failed.items():
        if jobs:
            log.error(
                "%s: Table %s not written: %d of %d runs failed (%s); logs: %s",
                name,
                SECTIONS[name].table,
                len(jobs),
                len(plans[name]),
                ", ".join(job.label for job in jobs),
                ", ".join(str(run_log(job)) for job in jobs),
            )
    return {name: jobs for name, jobs in failed.items() if jobs}
