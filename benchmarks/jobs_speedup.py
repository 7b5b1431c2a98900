"""Wall time of a section's runs trained one after another and side by side (``--jobs N``).

Trains the smoke-profile runs of Tables II and VI (8 distinct runs: the three Table II rows serve
both tables) with ``cenet section vessels ablation --jobs N`` for each N, in a fresh results folder
each time (the synthetic stand-ins are written once beforehand), and prints the wall time, the
speed-up over N = 1, and the threads each run had (one process takes all the cores; N workers share
them). Writes ``results/jobs_speedup_<device>.md``::

    python benchmarks/jobs_speedup.py --jobs 1 2 3
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from cenet_lib.hardware import native_bf16

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "cenet_lib", "section", "vessels", "ablation", "--profile", "smoke"]


def timed(jobs: int, out: Path, environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([*COMMAND, "--out", str(out), "--jobs", str(jobs)], env=environment, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as work:
        environment = {**os.environ, "CENET_CACHE": str(Path(work) / "cache")}
        timed(1, Path(work) / "warm-up", environment)  # writes the stand-ins and fills the file cache
        rows = []
        for jobs in args.jobs:
            seconds = timed(jobs, Path(work) / f"jobs{jobs}", environment)
            rows.append({"jobs": jobs, "threads a run": cores if jobs == 1 else max(1, cores // jobs),
                         "wall s": round(seconds, 1)})
    table = pd.DataFrame(rows)
    table["speed-up"] = (table["wall s"].iloc[0] / table["wall s"]).round(2)
    precision = "bf16 autocast" if native_bf16(torch.device("cpu")) else "fp32"
    text = "\n".join([
        "# Runs side by side (benchmarks/jobs_speedup.py)", "",
        f"`{' '.join(COMMAND[1:])} --jobs N`: the 8 smoke runs of Tables II and VI (synthetic stand-ins), trained "
        f"and scored, then both tables written. CPU, {cores} cores, {precision}, torch {torch.__version__}.", "",
        table.to_markdown(index=False), ""])
    (ROOT / "benchmarks" / "results" / "jobs_speedup_cpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
