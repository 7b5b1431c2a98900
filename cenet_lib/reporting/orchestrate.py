"""Every section of the paper in one go, what ``./run_all.sh`` (``cenet run-all``) does.

1. **Plan**: each section's profile, results folder and expected time, said before anything runs
   (:func:`~.plan.plan_section`; ``auto`` runs ``quick`` where the real data is found and the
   seconds-long ``smoke`` on a synthetic stand-in where it is not).
2. **Train side by side** (``--jobs N``, ``--gpus``): every run (row x seed) of every section first
   (:mod:`.schedule`); the notebooks then reuse them.
3. **Notebooks**: each section's notebook through papermill's Python API, its log and executed copy
   under ``<results>/executed/``, a ``.done`` or ``.failed`` marker beside them; a finished section
   is skipped unless ``force``. A failed section does not stop the others. While a notebook runs,
   its progress line (row, step, total, time left) is shown when it changes.
4. **Summary**: what ran, with which profile on which data, how long, where the outputs and the log
   of a failure are, how to get missing data; each results folder's index and one-page summary
   (:mod:`.summary`); optionally one archive without weights (:mod:`.archive`).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .archive import write_archive
from .notebook import section_seeds
from .plan import SectionPlan, plan_section, runs_left
from .schedule import train_sections
from .sections import SECTIONS
from .summary import write_summary

log = logging.getLogger(__name__)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass
class RunAllOptions:
    sections: list[str]
    profile: str = "auto"  # auto, or a profile for every section
    data_root: str | None = None
    device: str = "auto"
    seeds: int | None = None  # None: each section's committed seeds (seed 0 where none are committed)
    encoder_weights: str = "random"
    jobs: int = 1
    gpus: list[str] = field(default_factory=list)
    out: Path = Path("results")
    force: bool = False
    archive: Path | None = None
    archive_max_mib: float = 16.0


def run_all(options: RunAllOptions) -> int:
    """Plan, train side by side where asked, run every section's notebook, summarise: 0 when every section finished."""
    out_root = options.out.resolve()
    plans = {name: plan_section(name, options.profile, options.data_root, out_root) for name in options.sections}
    seeds = {name: section_seeds(name, plan.profile, out_root, options.seeds) for name, plan in plans.items()}
    log.info("Plan:\n%s\n", "\n".join(
        f"  {plan.message}; {runs_left(plan, seeds[name], options.data_root, options.force)}"
        for name, plan in plans.items()))
    failed: dict[str, str] = {}
    force = options.force
    if options.jobs > 1 or options.gpus:
        log.info("Training the sections' runs, %d side by side; then the notebooks, which reuse them.", options.jobs)
        broken = train_sections({name: plan.profile for name, plan in plans.items()}, options.jobs, options.gpus, force,
                                seeds, data_root=options.data_root, device=options.device,
                                out_root=out_root, encoder_weights=options.encoder_weights)
        failed = {
            name: "a run failed while training side by side (its log is beside its folder in runs/)" for name in broken
        }
        force = False  # the runs were just trained (again, with force)
    for name, plan in plans.items():
        _run_notebook(plan, options, out_root, seeds[name], force, failed.get(name))
    return _summarise(plans, options)


def _executed(plan: SectionPlan) -> tuple[Path, str]:
    return plan.out_dir / "executed", SECTIONS[plan.section].notebook


def _run_notebook(plan: SectionPlan, options: RunAllOptions, out_root: Path, seeds: tuple[int, ...], force: bool,
                  failure: str | None) -> None:
    """Run one section's notebook through papermill, leaving a ``.done`` or ``.failed`` marker. It
    writes the section's results into ``out_root`` (the notebook's ``replace_committed``), reusing
    the finished runs there and training the others (all of them again with ``force``)."""
    import papermill

    executed, notebook = _executed(plan)
    executed.mkdir(parents=True, exist_ok=True)
    done, failed, log_file = (executed / f"{notebook}{suffix}" for suffix in (".done", ".failed", ".log"))
    failed.unlink(missing_ok=True)
    if failure:
        failed.write_text(failure + "\n")
        log.info("%s: FAILED: %s; no table", plan.section, failure)
        return
    if done.is_file() and not options.force:
        log.info("%s: finished earlier (%s); --force redoes it", plan.section, done.read_text().strip())
        return
    parameters = {
        "profile": plan.profile,
        "device": options.device,
        "out_dir": str(out_root),
        "data_root": options.data_root,
        "encoder_weights": options.encoder_weights,
        "seeds": list(seeds), "retrain": force, "replace_committed": True,
    }
    progress = executed / f"{notebook}.progress"
    os.environ["CENET_PROGRESS_FILE"] = str(progress)
    if options.gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = options.gpus[0]
    log.info("%s: running notebooks/%s.ipynb (log: %s)", plan.section, notebook, log_file)
    started = time.monotonic()
    with log_file.open("w") as output, _ShowProgress(progress):
        try:
            papermill.execute_notebook(
                NOTEBOOKS / f"{notebook}.ipynb",
                executed / f"{notebook}.ipynb",
                parameters=parameters,
                cwd=str(NOTEBOOKS),
                progress_bar=False,
                log_output=True,
                stdout_file=output,
                stderr_file=output,
            )
        except Exception as error:  # the notebook's error, written to its log; the other sections go on
            output.write(f"\n{type(error).__name__}: {error}\n")
            failed.write_text(f"failed after {time.monotonic() - started:.0f} s\n")
            log.info(
                "%s: FAILED after %.0f s; the error is at the end of %s",
                plan.section,
                time.monotonic() - started,
                log_file,
            )
            return
    done.write_text(f"ok {time.monotonic() - started:.0f} s\n")
    progress.unlink(missing_ok=True)
    log.info("%s: done in %.0f s", plan.section, time.monotonic() - started)


class _ShowProgress:
    """While a notebook runs, show its progress file's line every 10 s when it changed."""

    def __init__(self, path: Path) -> None:
        self.path, self.stop = path, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _ShowProgress:
        self.path.unlink(missing_ok=True)
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

    def _watch(self) -> None:
        last = ""
        while not self.stop.wait(10):
            line = self.path.read_text().strip() if self.path.is_file() else ""
            if line and line != last:
                log.info("  %s", line)
                last = line


def _summarise(plans: dict[str, SectionPlan], options: RunAllOptions) -> int:
    """The summary lines, each results folder's index, the missing data and the archive; the exit status."""
    lines, status = ["", "Summary:"], 0
    for name, plan in plans.items():
        executed, notebook = _executed(plan)
        if (executed / f"{notebook}.failed").is_file():
            status = 1
            lines.append(f"  {name:<11} FAILED  {(executed / f'{notebook}.failed').read_text().strip()}  "
                         f"log: {executed / f'{notebook}.log'}")
            continue
        meta = plan.out_dir / "tables" / f"table_{SECTIONS[name].table}.json"
        data = json.loads(meta.read_text())["dataset"] if meta.is_file() else "?"
        done = executed / f"{notebook}.done"
        lines.append(
            f"  {name:<11} {plan.profile:<6} {done.read_text().strip() if done.is_file() else '':<14} data: {data}  "
            f"-> {_shown_path(plan.out_dir)}"
        )
    for folder in dict.fromkeys(plan.out_dir for plan in plans.values()):
        if (folder / "tables").is_dir():
            write_summary(folder)
            lines.append(f"Index: {folder}/README.md; all tables and figures on one page: {folder}/summary.md")
    missing = [plan for plan in plans.values() if plan.get_data]
    if missing:
        lines.append(
            "Sections without their real data ran on synthetic stand-ins: their numbers mean nothing. To get the data:"
        )
        lines += [f"  {plan.section}: {plan.get_data}" for plan in missing]
    log.info("\n".join(lines))
    if options.archive is not None:
        try:
            log.info(write_archive(options.out, options.archive, options.archive_max_mib))
        except (RuntimeError, FileNotFoundError) as error:
            log.error("%s", error)
            status = 1
    return status


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
