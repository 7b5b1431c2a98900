"""How many rows x seeds of each section fit one GPU job, from the last GPU runs' own figures.

The only GPU measurements so far are the ``paper``-profile Tables II and VI in ``results/paper``
(one NVIDIA H200, 448x448, batch 8, 300 steps a row): their wall time per row, setup and test
scoring included, is the cost model here. Assumptions, each stated in the output for a GPU run to
check: a row's time grows with its steps at that per-step cost (an upper bound: setup and scoring
are counted as steps), every model costs the same per step, a section's steps are the ``paper``
profile's (100 epochs of its training split, batch 8), and runs side by side on one GPU share its
throughput with a speed-up between none (1x) and perfect (k x for k runs)::

    python benchmarks/gpu_sizing.py --data-root ../shared/data    # results/gpu_sizing.md and README.md
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from cenet_lib.config import load_config
from cenet_lib.data.run_readers import make_reader
from cenet_lib.reporting.sections import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
JOB_SECONDS = 480  # one 8-minute job, leaving the rest of the 10-minute limit for start and copying
README = ROOT / "benchmarks" / "README.md"
BEGIN, END = "<!-- written by gpu_sizing.py: -->", "<!-- end of gpu_sizing.py's table -->"


def write_into_readme(table: str) -> None:
    """Put the sizing table into ``benchmarks/README.md``, between its markers."""
    text = README.read_text()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    README.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def seconds_per_step() -> float:
    """The dearest per-row-step cost of the committed GPU tables (wall time / rows / steps)."""
    costs = []
    for table in ("II", "VI"):
        meta = json.loads((ROOT / "results" / "paper" / "tables" / f"table_{table}.json").read_text())
        rows = len(next(section for section in SECTIONS.values() if section.table == table).rows)
        costs.append(meta["wall_seconds"] / rows / meta["steps_trained"])
    return max(costs)


def sizing(data_root: str | None) -> pd.DataFrame:
    per_step = seconds_per_step()
    lines = []
    for name, section in SECTIONS.items():
        config = load_config("paper", section=name, overrides={"dataset": section.dataset, "data_root": data_root})
        images = len(make_reader(config, "train"))
        steps = config.epochs * math.ceil(images / config.batch_size)
        row_seconds = steps * per_step
        line = {"section": name, "table": section.table, "rows": len(section.rows), "training images": images,
                "steps a row": steps, "s a row (est.)": round(row_seconds)}
        for k in (1, 2, 4):  # k runs side by side: no speed-up (k = 1) to a perfect one (k x)
            fit = int(k * JOB_SECONDS // row_seconds)
            line[f"runs a job, {k}x"] = fit
            line[f"jobs for rows x 3 seeds, {k}x"] = math.ceil(3 * len(section.rows) / fit) if fit else "-"
        lines.append(line)
    return pd.DataFrame(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    table = sizing(args.data_root)
    text = "\n".join([
        "# GPU job sizing (benchmarks/gpu_sizing.py)", "",
        f"Cost model: {seconds_per_step():.3f} s per row-step, the dearer of results/paper Tables II and VI "
        "(NVIDIA H200, 448x448, batch 8, bf16, setup and test scoring counted as steps); "
        f"one job = {JOB_SECONDS} s of training. A run is one row x seed. Unchecked assumptions: every model costs the "
        "same per step; k runs side by side give between 1x and k x the throughput of one (the columns give 1x, 2x "
        "and 4x).", "",
        table.to_markdown(index=False), ""])
    out = ROOT / "benchmarks" / "results" / "gpu_sizing.md"
    out.write_text(text)
    write_into_readme(text.split("\n", 2)[2].strip())
    print(text)


if __name__ == "__main__":
    main()
