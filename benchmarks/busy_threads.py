"""Training speed by ``cpu_threads`` on a CPU that another process keeps busy.

Each setting is measured in a fresh process (torch's thread pool is fixed once used): the median of
a few cenet training steps (batch 4, 256x256, Adam, Dice loss, the automatic precision), alone and
with one busy-looping process beside it per ``--busy`` level. Writes ``results/busy_threads_cpu.{md,csv}``.

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

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "benchmarks" / "results"

STEPS = """
import json, sys, torch
sys.path.insert(0, {repo!r})
from cenet_lib.config import load_config
from cenet_lib.training import make_optimizer, resolve_hardware
from cenet_lib.losses import build_loss
from cenet_lib.models import build_model
sys.path.insert(0, {bench!r})
from speed import median_seconds
config = load_config("quick", overrides={{"cpu_threads": {threads}}})
hardware = resolve_hardware(config)
model = hardware.place(build_model("cenet")).train()
images = torch.randn(4, 3, 256, 256).contiguous(memory_format=torch.channels_last)
masks = (torch.rand(4, 1, 256, 256) > 0.5).float()
loss_fn, optimizer = build_loss("dice"), make_optimizer(config, model)
def step():
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=hardware.amp):
        logits = model(images)
    loss = loss_fn(logits.float(), masks)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
print(json.dumps({{"seconds": median_seconds(step, {repeats}, hardware.device), "amp": hardware.amp,
                   "threads": torch.get_num_threads()}}))
"""


def measure(threads: int, busy: int, repeats: int) -> dict:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        code = STEPS.format(repo=str(REPOSITORY), bench=str(REPOSITORY / "benchmarks"), threads=threads, repeats=repeats)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    finally:
        for burner in burners:
            burner.kill()
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return {"cpu_threads": threads, "busy_processes": busy, "seconds_per_step": round(found["seconds"], 3),
            "precision": "bf16 autocast" if found["amp"] else "fp32"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}))
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(REPOSITORY))
    from cenet_lib.provenance import provenance

    record = "\n".join(f"- {key}: {value}" for key, value in provenance("cpu", repeats=args.repeats).items())
    rows = []
    for busy in args.busy:
        for threads in args.threads:
            rows.append(measure(threads, busy, args.repeats))
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
