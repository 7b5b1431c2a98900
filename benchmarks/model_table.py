"""Parameters, forward GFLOPs and one forward+backward time of every registered model.

    python benchmarks/model_table.py [--size 448] [--repeats 3] [--out benchmarks/model_table.md]

Times are the median of ``--repeats`` forward+backward passes (after one warm-up) at batch 1 on the
CPU in fp32, with torch's default thread count; FLOPs are counted by ``torch.utils.flop_counter``.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from cenet_lib.models import build_model, list_models
from cenet_lib.provenance import git_commit


def forward_backward_seconds(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first pass is a warm-up
        start = time.perf_counter()
        model(x).mean().backward()
        times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write the table as Markdown here")
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(1, 3, args.size, args.size)
    lines = [
        f"Models at 1x3x{args.size}x{args.size}, fp32, CPU ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads), torch {torch.__version__}, commit {git_commit()}, "
        f"{datetime.now(timezone.utc):%Y-%m-%d}",
        "",
        "| model | trainable parameters | forward GFLOPs | forward+backward s (median) |",
        "|---|---:|---:|---:|",
    ]
    for name in list_models():
        model = build_model(name).train()
        parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        seconds = forward_backward_seconds(model, x, args.repeats)
        lines.append(f"| {name} | {parameters:,} | {counter.get_total_flops() / 1e9:.1f} | {seconds:.2f} |")
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
