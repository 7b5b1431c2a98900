"""What a section's notebook runs: the committed reproduction by default; training only when asked,
and never over the committed results.

* **The committed reproduction** (the default): when ``results/<profile>/`` holds the section's
  table and nothing else is asked for (the table's own seeds, all rows, no retrain), its table,
  per-image scores, claims, the runs' training logs and stored predictions are read as committed.
  Nothing is trained and nothing is written.
* **Anything else** (other seeds, rows or encoder weights, or ``retrain=True``): the section is run
  with :func:`~.section.run_section` into a results folder of its own, ``<out_dir>/local/``, reusing
  the committed runs it can (read, never written) and training the others there. Only
  ``replace_committed=True`` writes into ``<out_dir>/<profile>/``; a committed run retrained there is
  trained beside its record and replaces it once finished (:mod:`.runner`).
* **Interrupted** training stops with one line saying what was saved and how to resume
  (:class:`NotebookInterrupted`), not a traceback.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..config import canonical_encoder_weights
from ..interrupts import TrainingInterrupted
from .plan import results_dir, run_finished, section_runs, synthetic_only
from .section import SectionResult, run_section
from .sections import SECTIONS
from .tables import TableFiles, wide_layout

#: Where the results of a notebook that asked for something other than the committed ones go.
LOCAL = "local"


class NotebookInterrupted(KeyboardInterrupt):
    """Training stopped by the kernel's interrupt; Jupyter shows this one line instead of a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for how an exception is shown
        return [f"Interrupted: {self}"]


def committed_folder(out_dir: str | Path, profile: str, name: str) -> Path | None:
    """The committed results folder holding section ``name``'s table under ``profile``, if any
    (``smoke`` runs on synthetic stand-ins and is never committed)."""
    folder = results_dir(out_dir, profile, synthetic=False)
    table = folder / "tables" / f"table_{SECTIONS[name].table}.json"
    return folder if not synthetic_only(profile) and table.is_file() else None


def committed_provenance(folder: Path, name: str) -> dict:
    return json.loads((folder / "tables" / f"table_{SECTIONS[name].table}.json").read_text())


def section_seeds(name: str, profile: str, out_dir: str | Path, count: int | None = None) -> tuple[int, ...]:
    """Seeds 0 .. ``count`` - 1, or with ``count`` None those of section ``name``'s committed table
    under ``profile`` (seed 0 where there is none): a plain rerun regenerates the committed table
    as it is, never a table of fewer seeds in its place."""
    if count is not None:
        return tuple(range(count))
    committed = committed_folder(out_dir, profile, name)
    return tuple(committed_provenance(committed, name)["seeds"]) if committed else (0,)


def section_results(
    name: str,
    profile: str = "quick",
    seeds: list[int] | None = None,
    retrain: bool = False,
    replace_committed: bool = False,
    rows: list[str] | None = None,
    data_root: str | None = None,
    device: str = "auto",
    out_dir: str | Path = "../results",
    encoder_weights: str = "random",
) -> tuple[SectionResult, bool]:
    """The section's results as the module docstring says, and whether they are the committed ones.
    ``seeds`` None means the committed table's seeds (seed 0 where there is none)."""
    committed = committed_folder(out_dir, profile, name)
    provenance = committed_provenance(committed, name) if committed else {}
    wanted = tuple(seeds) if seeds is not None else tuple(provenance.get("seeds", [0]))
    committed_weights = canonical_encoder_weights(provenance.get("encoder_weights", encoder_weights))
    as_committed = (rows is None and wanted == tuple(provenance.get("seeds", ()))
                    and canonical_encoder_weights(encoder_weights) == committed_weights)
    if committed and as_committed and not (retrain or replace_committed):
        return committed_result(name, profile, committed, wanted, data_root), True
    target = Path(out_dir) if replace_committed or committed is None else Path(out_dir) / LOCAL
    try:
        result = run_section(name, profile, data_root, device, wanted, target, rows, encoder_weights, force=retrain,
                             reuse_from=committed if target != Path(out_dir) else None)
    except TrainingInterrupted as stop:
        raise NotebookInterrupted(f"{stop}. Run this cell again to resume from it; nothing committed was "
                                  "changed.") from None
    return result, False


def committed_result(name: str, profile: str, folder: Path, seeds: tuple[int, ...],
                     data_root: str | None) -> SectionResult:
    """The committed table of section ``name`` and its runs' records, read as they are."""
    section = SECTIONS[name]
    tables = folder / "tables"
    stem = tables / f"table_{section.table}"
    runs = section_runs(name, profile, data_root, seeds=seeds, out_root=folder.parent, synthetic=False)
    run_dirs: dict[str, list[Path]] = {}
    for job in runs.jobs:
        if run_finished(job.run_dir):
            run_dirs.setdefault(job.method, []).append(job.run_dir)
    provenance = json.loads(stem.with_suffix(".json").read_text())
    files = TableFiles(*(stem.with_suffix(suffix) for suffix in (".csv", ".md", ".tex", ".json")))
    return SectionResult(
        pd.read_csv(files.csv), files,
        tables / f"table_{section.table}_per_image.csv", folder / "figures" / f"loss_curves_{name}.png", None, False,
        float(provenance.get("wall_seconds", 0.0)), folder, [job.label for job in runs.jobs], run_dirs,
    )


def table_views(result: SectionResult, name: str) -> list[pd.DataFrame]:
    """The table as a person reads it: the paper's metrics (ours, the paper's, the difference) first,
    then, when there are any, the columns set beside them (per-boundary errors, whole-image scores)
    with the metrics down and the rows across, so that they fit the page: ours only, at 3 decimals."""
    section, long = SECTIONS[name], result.table
    views = [wide_layout(long[long["metric"].isin(list(section.metrics))])]
    extra = long[long["metric"].isin(list(section.extra_columns)) & long["ours_mean"].notna()]
    if len(extra):
        views.append(per_metric_layout(extra))
    return views


def per_metric_layout(long: pd.DataFrame) -> pd.DataFrame:
    """Metrics down, rows across: mean ± std over images, with several seeds the seeds' std in brackets."""
    def cell(line) -> str:
        text = f"{line.ours_mean:.3f} ± {line.ours_std:.3f}"
        return text + (f" ({line.seed_std:.3f})" if line.n_seeds > 1 else "")

    long = long.drop_duplicates(["method", "metric"])  # a boundary the paper also names is listed twice
    cells = long.assign(cell=[cell(line) for line in long.itertuples()])
    table = cells.pivot(index="metric", columns="method", values="cell")
    return table.loc[list(dict.fromkeys(long["metric"])), list(dict.fromkeys(long["method"]))].rename_axis(
        index=None, columns=None)
