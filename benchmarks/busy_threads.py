"""Training speed by ``cpu_threads`` on a CPU that another process keeps busy.

Each setting is measured in a fresh process of this script (``--measure THREADS``: torch's thread
pool is fixed once used): the median of a few cenet training steps (batch 4, 256x256, Adam, Dice
loss, the automatic precision), alone and beside busy-looping processes (``--busy``). Writes
``results/busy_threads_cpu.{md,csv}``.

    python benchmarks/busy_threads.py                  # threads 1 and all cores, 0 and 1 busy processes
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "benchmarks" / "results"
sys.path.insert(0, str(REPOSITORY))
from speed import median_seconds  # noqa: E402

from cenet_lib.config import load_config  # noqa: E402
from cenet_lib.hardware import resolve_hardware  # noqa: E402
from cenet_lib.losses import build_loss  # noqa: E402
from cenet_lib.models import build_model  # noqa: E402
from cenet_lib.optim import make_optimizer  # noqa: E402
from cenet_lib.provenance import provenance  # noqa: E402


def measure(threads: int, repeats: int) -> dict:
    """Seconds a cenet training step takes here with ``threads`` threads (in this process)."""
    config = load_config("quick", overrides={"cpu_threads": threads})
    hardware = resolve_hardware(config)
    model = hardware.place(build_model("cenet")).train()
    images = torch.randn(4, 3, 256, 256).contiguous(memory_format=torch.channels_last)
    masks = (torch.rand(4, 1, 256, 256) > 0.5).float()
    loss_fn, optimizer = build_loss("dice"), make_optimizer(config, model)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=hardware.amp):
            logits = model(images)
        loss = loss_fn(logits.float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return {"seconds": median_seconds(step, repeats, hardware.device), "amp": hardware.amp}


def measure_beside_busy(threads: int, busy: int, repeats: int) -> dict:
    """:func:`measure` in a fresh process, with ``busy`` busy-looping processes running beside it."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        command = [sys.executable, __file__, "--measure", str(threads), "--repeats", str(repeats)]
        found = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    finally:
        for burner in burners:
            burner.kill()
    return {"cpu_threads": threads, "busy_processes": busy, "seconds_per_step": round(found["seconds"], 3),
            "precision": "bf16 autocast" if found["amp"] else "fp32"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}))
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--measure", type=int, default=None, help=argparse.SUPPRESS)  # one setting, in this process
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.repeats)))
        return
    record = "\n".join(f"- {key}: {value}" for key, value in provenance("cpu", repeats=args.repeats).items())
    rows = []
    for busy in args.busy:
        for threads in args.threads:
            rows.append(measure_beside_busy(threads, busy, args.repeats))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "busy_threads_cpu.csv", index=False)
    note = (f"# cenet training step (batch 4, 256x256) by cpu_threads, {os.cpu_count()} cores, "
            f"with busy-looping processes beside it\n\n{record}\n\n")
    (RESULTS / "busy_threads_cpu.md").write_text(note + table.to_markdown(index=False) + "\n")
    print(f"Written: {RESULTS / 'busy_threads_cpu.md'}")


if __name__ == "__main__":
    main()
