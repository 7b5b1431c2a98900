"""Planning a section: which runs it asks for, where they and its outputs go, and what a person is
told before anything starts.

Every trained row is a run folder under ``<results>/runs/<dataset>/``, named by what the run is
(:meth:`~cenet_lib.config.RunConfig.run_name`), so a run two tables ask for (Tables II and VI share
DRIVE's U-Net, Backbone and CE-Net) is one folder, trained once. Results go to :func:`results_dir`:
``<out_root>/<profile>`` for real data, ``<out_root>/<profile>-synthetic`` for a stand-in (``smoke``
is always synthetic and keeps ``<out_root>/smoke``), so a run on synthetic data can never
overwrite a real-data table. With the profile ``auto`` a section runs ``quick`` on its real data
where the data is found, and otherwise the seconds-long ``smoke`` on its synthetic stand-in, with a
line saying how to get the data: nothing runs for hours unless asked.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import PROFILES, RunConfig
from ..data import READERS, DatasetError, build_reader, dataset_dir
from ..resolved import ResolvedRun, resolve_run
from .sections import SECTIONS, Section, section_config


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
    #: a finished record elsewhere (the committed results) that this run is read from, never written
    #: to; or, when the run is trained again, the record its new scores are compared with
    record: Path | None = None
    read_only: bool = False  # reused from ``record`` as it is: nothing is trained or written

    @property
    def seed(self) -> int:
        return self.overrides["seed"]

    def config(self) -> RunConfig:
        return section_config(self.section, self.profile, self.overrides)

    def resolve(self) -> ResolvedRun:
        return resolve_run(self.config())


@dataclass(frozen=True)
class SectionRuns:
    """A section's runs, row by row and seed by seed, and where its outputs go."""

    section: Section
    profile: str
    synthetic: bool
    out_dir: Path
    common: dict[str, Any]  # the settings every run of the section shares
    jobs: list[RunJob]

    def config(self) -> RunConfig:
        """The settings every run of the section shares (the first row's model)."""
        return section_config(self.section.name, self.profile, self.common)


@dataclass(frozen=True)
class SectionPlan:
    """What ``cenet run-all`` will do for a section, said before it starts."""

    section: str
    profile: str
    synthetic: bool
    out_dir: Path
    message: str  # one line for the console
    get_data: str = ""  # where the data is missing: how to get it


def synthetic_only(profile: str) -> bool:
    """Whether ``profile`` always runs on synthetic stand-ins (``smoke``), as its settings say."""
    return bool(PROFILES.get(profile, {}).get("synthetic", False))


def real_data_found(section: Section, data_root: str | None) -> bool:
    try:
        build_reader(section.dataset, "test", data_root)
    except (DatasetError, ValueError):
        return False
    return True


def results_dir(out_root: str | Path, profile: str, synthetic: bool) -> Path:
    """``<out_root>/<profile>`` for real data, ``<out_root>/<profile>-synthetic`` for a synthetic
    stand-in (except ``smoke``, which only ever runs on stand-ins and is not committed)."""
    return Path(out_root) / (f"{profile}-synthetic" if synthetic and not synthetic_only(profile) else profile)


def run_finished(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` is trained and scored: its record holds its test scores."""
    return (run_dir / "metrics_test_per_image.csv").is_file()


def run_folder(out_dir: Path, config: RunConfig) -> Path:
    """``<out_dir>/runs/<dataset>/<run name>``: named by what the run is, so every table that asks for it finds it."""
    return out_dir / "runs" / config.identity()["dataset"] / config.run_name()


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
    reuse_from: Path | None = None,
    force: bool = False,
    synthetic: bool | None = None,
) -> SectionRuns:
    """The runs section ``name`` asks for (all its rows, or the paper labels in ``rows``), each in its
    folder under ``out_root``. A run already finished under ``reuse_from`` (the committed results) is
    read from there, never written to, unless ``force`` trains it again under ``out_root``.
    ``synthetic`` None looks for the real data under ``data_root``."""
    section = SECTIONS[name]
    if synthetic is None:
        synthetic = synthetic_only(profile) or not real_data_found(section, data_root)
    out_dir = results_dir(out_root, profile, synthetic)
    chosen = [row for row in section.rows if rows is None or row.method in rows]
    if not chosen:
        raise ValueError(
            f"No row of Table {section.table} is named {rows}; its rows are {[r.method for r in section.rows]}."
        )
    common = {
        "dataset": section.dataset,
        "device": device,
        "data_root": data_root,
        "synthetic": synthetic,
        **(settings or {}),
    }
    jobs = []
    for number, row in enumerate(chosen, start=1):
        for seed in seeds:
            # U-Net has no pretrained encoder: the paper trains it from scratch whatever the other rows use
            overrides = {**common, "model": row.model, "loss": row.loss, "seed": seed,
                         "encoder_weights": "random" if row.model == "unet" else encoder_weights}
            config = section_config(name, profile, overrides)
            run_dir, record = run_folder(out_dir, config), None
            if reuse_from is not None and run_finished(run_folder(reuse_from, config)):
                record = run_folder(reuse_from, config)
            label = f"{row.method} ({number}/{len(chosen)}, seed {seed})"
            jobs.append(RunJob(name, row.method, label, profile, overrides, record if record and not force else run_dir,
                               samples=seed == seeds[0], record=record, read_only=bool(record) and not force))
    return SectionRuns(section, profile, synthetic, out_dir, common, jobs)


def _duration(seconds: float) -> str:
    minutes = f"about {seconds / 60:.0f} min" if seconds >= 90 else f"about {seconds:.0f} s"
    return f"{minutes} on a 2-core CPU"


def runs_left(plan: SectionPlan, seeds: tuple[int, ...], data_root: str | None, force: bool = False) -> str:
    """How much of ``plan``'s section is left to train, and about how long it takes: the section's
    expected time is one seed of all its rows (:attr:`.Section.expected_seconds`), so it is scaled by
    the runs left over the rows; finished runs under the plan's results folder are reused."""
    section = SECTIONS[plan.section]
    jobs = section_runs(plan.section, plan.profile, data_root, seeds=seeds, out_root=plan.out_dir.parent,
                        synthetic=plan.synthetic).jobs
    left = len(jobs) if force else sum(not run_finished(job.run_dir) for job in jobs)
    runs = f"{len(jobs)} runs ({len(section.rows)} rows x {len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
    if not left:
        return f"{runs}, all finished: the table from their records, in seconds"
    seconds = section.expected_seconds.get(plan.profile)
    if seconds is None:
        return f"{runs}, {left} to train: " + ("a GPU's time (see the README)" if plan.profile == "paper"
                                                 else "unknown time")
    return f"{runs}, {left} to train: {_duration(seconds * left / len(section.rows))}"


def plan_section(name: str, profile: str, data_root: str | None, out_root: str | Path) -> SectionPlan:
    """The plan of one section; ``profile`` may be ``auto`` (see the module docstring)."""
    section = SECTIONS[name]
    real = real_data_found(section, data_root)
    chosen = ("quick" if real else "smoke") if profile == "auto" else profile
    synthetic = synthetic_only(chosen) or not real
    where = dataset_dir(section.dataset, READERS[section.dataset].folder, data_root)
    if real and not synthetic:
        message = f"{name}: {chosen} profile on the real data in {where}"
    elif real:
        message = f"{name}: {chosen} profile on the synthetic stand-in (asked for)"
    else:
        message = (
            f"{name}: no real data in {where} (python -m cenet_lib.data fetch {section.dataset} says how to get "
            f"it); {chosen} profile on the synthetic stand-in, numbers meaningless"
        )
    get_data = "" if real else f"python -m cenet_lib.data fetch {section.dataset}  (then put it in {where})"
    return SectionPlan(name, chosen, synthetic, results_dir(out_root, chosen, synthetic), message, get_data)
