"""Bring a results folder written by an older version up to today's status words, and flag its
degenerate rows, without touching its numbers.

Older tables said "reproduced" for a row this package trained and "cited, not reproduced" for one
it only cites; today's words (:mod:`cenet_lib.reporting.tables`) say what was done without
suggesting a claim holds. Their per-image scores were not kept, so a row is flagged degenerate when
each of its thresholded scores (sensitivity, accuracy) equals, to the four decimals the table
shows, what an all-background prediction scores on the same test split: the row predicted no
foreground anywhere (:mod:`cenet_lib.metrics.degenerate`)::

    python -m cenet_lib.reporting.relabel results/paper --data-root ../shared/data
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import build_reader
from ..metrics import mean_std
from .sections import SECTIONS
from .tables import TableFiles, write_table

OLD_STATUSES = {"reproduced": "trained here", "cited, not reproduced": "cited, not trained here"}
THRESHOLDED = ("sensitivity", "accuracy", "specificity", "dice", "overlap_error")


def all_background_scores(dataset: str, data_root: str | None) -> pd.DataFrame:
    """Per-image scores of a prediction of background everywhere on ``dataset``'s test split."""
    reader = build_reader(dataset, "test", data_root)
    task, rows = reader.task, []
    for sample in reader:
        if sample.mask is not None:
            nothing = task.to_frame(np.zeros((1, *sample.mask.shape), np.float32), sample)
            rows.append(task.score(nothing, sample, 0.5))
    return pd.DataFrame(rows)


def relabel_table(tables: Path, table: str, data_root: str | None) -> TableFiles:
    """Rewrite ``table_<table>`` in ``tables`` with today's status words and degenerate flags."""
    section = next(s for s in SECTIONS.values() if s.table == table)
    long = pd.read_csv(tables / f"table_{table}.csv", dtype={"table": str})
    long["status"] = long["status"].replace(OLD_STATUSES)
    reference = all_background_scores(section.dataset, data_root)
    columns = {**section.metrics, **section.extra_columns}
    long["flag"] = ""
    for method in (row.method for row in section.rows):
        lines = long[(long["method"] == method) & long["ours_mean"].notna()]
        checked = [line for _, line in lines.iterrows() if columns.get(line["metric"], "").endswith(THRESHOLDED)]
        if checked and all(np.allclose(mean_std(reference[columns[line["metric"]]].to_numpy()), (line["ours_mean"], line["ours_std"]),
                                       atol=5e-5) for line in checked):
            long.loc[long["method"] == method, "flag"] = "DEGENERATE: all background in 1 of 1 runs"
    meta = json.loads((tables / f"table_{table}.json").read_text())
    provenance = {key: value for key, value in meta.items() if key not in ("title", "notes")}
    return write_table(long, section, tables, provenance, synthetic=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results folder, e.g. results/paper")
    parser.add_argument("--data-root", default=None, help="where the datasets are, to score an all-background prediction")
    args = parser.parse_args(argv)
    for path in sorted((args.results / "tables").glob("table_*.json")):
        files = relabel_table(path.parent, path.stem.removeprefix("table_"), args.data_root)
        print(f"Relabelled {files.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
