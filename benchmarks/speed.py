"""Speed, memory and cost of training, inference and evaluation, with a peer in the same run.

    python benchmarks/speed.py                 # every registered model and the peer (about 10 min on a 2-core CPU)
    python benchmarks/speed.py --quick         # cenet and the peer only (about 2 minutes)
    python benchmarks/speed.py --fp32          # without bf16 autocast and channels_last, for before/after figures
    python benchmarks/speed.py --compile       # with torch.compile

Prints and writes ``benchmarks/results/speed_<device>[_fp32][_compile][_quick].{md,csv}`` with the machine,
commit, library versions and date. What is measured, for each model at 448x448 (the authors' size)
and at the ``quick`` profile's size:

* trainable parameters, and forward GFLOPs per image counted by ``torch.utils.flop_counter``;
* training throughput: one full step at batch 8 (forward, Dice loss, backward, the engine's fused Adam), median of
  ``--repeats`` after a warm-up step, in images/s;
* inference throughput at batch 8 without test-time augmentation, and with the 8-fold TTA (one image
  and its 8 transforms as one batch, as :mod:`cenet_lib.tta` runs it), in images/s;
* the FLOP rate a training step achieves (forward + backward FLOPs counted the same way, times
  images/s), and its share of the device's matrix-product rate in the same precision, measured first;
* peak memory of the training step and of one TTA prediction: on CUDA, the allocator's peak; on the
  CPU, the model's weights plus the rise of the process's peak resident memory during the step (Linux);
* each of ours as a ratio to the peer, segmentation_models_pytorch's ``Unet`` with a ``resnet34``
  encoder (what most people would pick instead), on the same inputs.

Then the data pipeline (augmented samples per second of one loader worker, cold and warm, on each
dataset found, and the workers it takes to feed the measured ``cenet`` training rate), the end-to-end time to score
the DRIVE test set with TTA from a trained checkpoint, and the ``run_all.sh`` wall time per section of
every profile run under ``results/``. Precision and memory format are the engine's defaults for the
device (:func:`cenet_lib.training.resolve_hardware`) unless ``--fp32`` is given.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cenet_lib.config import PROFILES, RunConfig, load_config
from cenet_lib.data import Augmentation, DatasetError, SegmentationDataset, build_reader
from cenet_lib.hardware import Hardware, resolve_hardware
from cenet_lib.losses import build_loss
from cenet_lib.models import build_model, list_models
from cenet_lib.optim import make_optimizer
from cenet_lib.provenance import device_description, git_commit
from cenet_lib.reporting.sections import section_config
from cenet_lib.runs import run_evaluation
from cenet_lib.tta import predict_probabilities

REPOSITORY = Path(__file__).resolve().parents[1]
PEER = "smp_unet_resnet34"
TRAIN_BATCH = 8
#: The quick profile's CE-Net run on DRIVE (seed 0), named as run_section names it (RunConfig.run_name).
DEFAULT_CHECKPOINT = (REPOSITORY / "results/quick/runs/drive"
                      / section_config("vessels", "quick", {"model": "cenet"}).run_name() / "model.pt")


def build(name: str) -> nn.Module:
    """One of our registered models, or the peer (random weights, one output channel like ours)."""
    if name == PEER:
        import segmentation_models_pytorch as smp

        return smp.Unet("resnet34", encoder_weights=None, classes=1)
    return build_model(name)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(step: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Median wall time of ``step`` over ``repeats`` calls after one warm-up call."""
    step()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class PeakMemory:
    """Peak memory (MB) of what runs inside the ``with`` block, above what was in use before it:
    the CUDA allocator's peak, or on Linux the process's peak resident set. There, freed memory is
    first handed back to the system (glibc's ``malloc_trim``; otherwise an earlier model's freed
    pages would be reused without raising the peak) and the peak is reset through
    ``/proc/self/clear_refs``. ``None`` where neither can be read."""

    def __init__(self, device: torch.device):
        self.device = device
        self.rise_mb: float | None = None

    @staticmethod
    def _status_kb(field: str) -> int:
        return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.before = torch.cuda.memory_allocated(self.device)
        elif sys.platform == "linux":
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
            self.before = self._status_kb("VmRSS") * 1024
        return self

    def __exit__(self, *exc) -> None:
        synchronize(self.device)
        if self.device.type == "cuda":
            self.rise_mb = (torch.cuda.max_memory_allocated(self.device) - self.before) / 2**20
        elif sys.platform == "linux":
            self.rise_mb = (self._status_kb("VmHWM") * 1024 - self.before) / 2**20


def matmul_tflops(hardware: Hardware, repeats: int) -> float:
    """The device's matrix-product rate in TFLOP/s, in the precision training uses (bf16 with
    autocast, else fp32): the yardstick for the models' achieved rates."""
    n = 8192 if hardware.device.type == "cuda" else 2048
    dtype = torch.bfloat16 if hardware.amp else torch.float32
    a, b = (torch.randn(n, n, device=hardware.device, dtype=dtype) for _ in range(2))
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats, hardware.device) / 1e12


def model_row(name: str, size: int, config: RunConfig, hardware: Hardware, repeats: int, compile: bool) -> dict:
    device, memory_format = hardware.device, torch.channels_last if hardware.channels_last else torch.contiguous_format
    torch.manual_seed(0)
    model = hardware.place(build(name))
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    images = torch.randn(TRAIN_BATCH, 3, size, size, device=device).contiguous(memory_format=memory_format)
    masks = (torch.rand(TRAIN_BATCH, 1, size, size, device=device) > 0.5).float()
    loss_fn = build_loss(config.loss)
    optimizer = make_optimizer(config, model)  # the engine's: fused Adam for the quick profile's recipe

    # FLOPs per image, counted by the framework: the forward pass, and a training step's forward + backward
    with FlopCounterMode(display=False) as forward_counter, torch.no_grad():
        model.eval()(images[:1])
    with FlopCounterMode(display=False) as train_counter:
        loss_fn(model.train()(images[:1]), masks[:1]).backward()
    model.zero_grad(set_to_none=True)
    network = torch.compile(model) if compile else model

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=hardware.amp)

    def train_step() -> None:
        with autocast():
            logits = network(images)
        loss = loss_fn(logits.float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    with PeakMemory(device) as train_memory:
        train_seconds = median_seconds(train_step, repeats, device)
    model.eval()

    def infer() -> None:
        with torch.no_grad(), autocast():
            network(images)

    infer_seconds = median_seconds(infer, repeats, device)
    with PeakMemory(device) as tta_memory:
        with autocast():
            tta_seconds = median_seconds(lambda: predict_probabilities(network, images[:1], tta=True), repeats, device)

    def peak(memory: PeakMemory) -> float | None:
        # on CUDA the weights were already allocated before the block; on the CPU they were resident
        return None if memory.rise_mb is None else round(weights_mb + memory.rise_mb)

    train_rate = TRAIN_BATCH / train_seconds
    return {
        "model": name,
        "size": size,
        "parameters": parameters,
        "forward_gflops": round(forward_counter.get_total_flops() / 1e9, 1),
        "train_images_per_s": train_rate,
        "train_tflops": train_counter.get_total_flops() * train_rate / 1e12,
        "infer_images_per_s": TRAIN_BATCH / infer_seconds,
        "tta_images_per_s": 1 / tta_seconds,
        "train_peak_mb": peak(train_memory),
        "tta_peak_mb": peak(tta_memory),
    }


def with_peer_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Each throughput divided by the peer's at the same size (above 1: faster than the peer)."""
    peer = table[table.model == PEER].set_index("size")
    for column in ("train_images_per_s", "infer_images_per_s", "tta_images_per_s"):
        table[column.replace("_images_per_s", "_vs_peer")] = table[column] / table["size"].map(peer[column])
    return table


def data_pipeline(data_root: str | None, size: int, train_rate: float) -> pd.DataFrame:
    """One loader worker's augmented samples per second over a training epoch of each dataset found:
    cold (every file decoded, epoch 1) and warm (decoded images cached, as from epoch 2 on), and the
    workers needed to feed ``train_rate`` images/s from the warm cache."""
    rows = []
    for name in ("drive", "lung", "isbi2012", "drishti", "duke"):
        try:
            reader = build_reader(name, "train", data_root)
        except DatasetError as error:
            print(f"data pipeline: {name} skipped ({str(error).splitlines()[0]})")
            continue
        dataset = SegmentationDataset(reader, policy=(size, size), augmentation=Augmentation(), seed=0)
        rates = []
        for epoch in (0, 1):
            dataset.set_epoch(epoch)
            start = time.perf_counter()
            for index in range(len(dataset)):
                dataset[index]
            rates.append(len(dataset) / (time.perf_counter() - start))
        rows.append(
            {
                "dataset": name + (" (synthetic)" if reader.synthetic else ""),
                "images": len(dataset),
                "size": size,
                "cold_samples_per_s": rates[0],
                "warm_samples_per_s": rates[1],
                "cenet_train_images_per_s": train_rate,
                "workers_needed": math.ceil(train_rate / rates[1]),
            }
        )
    return pd.DataFrame(rows)


def drive_evaluation_seconds(checkpoint: Path, data_root: str | None) -> float | None:
    """Seconds to score the DRIVE test set from ``checkpoint`` end to end: load the model, read the
    20 images, predict with TTA, every Table II metric inside the FOV and on the whole image, the
    second observer, and write the metric files (into a scratch copy of the run folder)."""
    if not checkpoint.is_file():
        print(f"DRIVE evaluation skipped: no checkpoint at {checkpoint}; train one with "
              "`./run_all.sh --profile quick --only vessels --force` (the committed run records keep no weights) "
              "or pass --checkpoint")
        return None
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(checkpoint, Path(scratch) / "model.pt")
        start = time.perf_counter()
        try:
            run_evaluation(Path(scratch), tta=True, data_root=data_root)
        except DatasetError as error:
            print(f"DRIVE evaluation skipped: {str(error).splitlines()[0]}")
            return None
        return time.perf_counter() - start


def run_all_times(results: Path) -> pd.DataFrame:
    """``run_all.sh`` wall time of every finished section of every profile under ``results``."""
    rows = []
    for done in sorted(results.glob("*/executed/*.done")):
        match = re.search(r"(\d+) s", done.read_text())
        if match:
            rows.append({"profile": done.parents[1].name, "notebook": done.stem, "seconds": int(match.group(1))})
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    return frame.to_markdown(index=False, floatfmt=f".{digits}f") if len(frame) else "(nothing measured)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="cenet and the peer only")
    parser.add_argument("--models", nargs="+", default=None, help="our models to run (default: all registered)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[448, PROFILES["quick"]["input_size"][0]])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast, contiguous memory format")
    parser.add_argument("--compile", action="store_true", help="torch.compile every model first")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained DRIVE model.pt")
    parser.add_argument("--results", type=Path, default=REPOSITORY / "results", help="where run_all.sh wrote its runs")
    parser.add_argument("--out", type=Path, default=REPOSITORY / "benchmarks" / "results")
    args = parser.parse_args()

    overrides = {"device": args.device, **({"amp": False, "channels_last": False} if args.fp32 else {})}
    config = load_config("quick", overrides=overrides)
    hardware = resolve_hardware(config)
    peak_tflops = matmul_tflops(hardware, args.repeats)
    models = ["cenet"] if args.quick else (args.models or list_models())
    import segmentation_models_pytorch as smp

    header = (
        f"Benchmark on {device_description(hardware.device)}, {platform.processor() or platform.machine()}; "
        f"{'bf16 autocast' if hardware.amp else 'fp32'}, "
        f"{'channels_last' if hardware.channels_last else 'contiguous'}; "
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, segmentation_models_pytorch "
        f"{smp.__version__}; "
        f"{'torch.compile; ' if args.compile else ''}commit {git_commit()}; "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"median of {args.repeats} after a warm-up; matrix-product rate of this device in that precision: "
        f"{peak_tflops:.2f} TFLOP/s"
    )
    print(header, flush=True)
    rows = []
    for size in args.sizes:
        for name in [PEER, *models]:
            rows.append(model_row(name, size, config, hardware, args.repeats, args.compile))
            print(f"{name} at {size}: {rows[-1]['train_images_per_s']:.2f} train images/s, "
                  f"{rows[-1]['tta_images_per_s']:.2f} TTA images/s", flush=True)
    table = with_peer_ratios(pd.DataFrame(rows))
    table["train_share_of_matmul_rate"] = table["train_tflops"] / peak_tflops
    cenet = table[table.model == "cenet"].set_index("size")["train_images_per_s"]
    pipeline = pd.concat([data_pipeline(args.data_root, size, cenet[size]) for size in args.sizes], ignore_index=True)
    evaluation = drive_evaluation_seconds(args.checkpoint, args.data_root)
    wall = run_all_times(args.results)

    sections = [
        header,
        "",
        f"## Models (training at batch {TRAIN_BATCH}; `_vs_peer`: our throughput / the peer's at the same size)",
        "",
        markdown(table),
        "",
        "## Data pipeline (one loader worker, augmented; cold: files decoded, warm: decoded images cached)",
        "",
        markdown(pipeline, 1),
        "",
        "## Scoring the DRIVE test set end to end (20 images, TTA, Table II metrics in the FOV and whole image)",
        "",
        f"{evaluation:.1f} s from "
        f"{args.checkpoint.relative_to(REPOSITORY) if args.checkpoint.is_relative_to(REPOSITORY) else args.checkpoint}"
        if evaluation is not None
        else "not measured (no checkpoint or no DRIVE data)",
        "",
        f"## run_all.sh wall time per section (from {args.results.name}/*/executed/*.done)",
        "",
        markdown(wall, 0),
        "",
    ]
    report = "\n".join(sections)
    print("\n" + report)
    chosen = {"fp32": args.fp32, "compile": args.compile, "quick": args.quick}
    options = [name for name, on in chosen.items() if on]
    suffix = "_".join([hardware.device.type, *options])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"speed_{suffix}.md").write_text(report)
    table.assign(device=device_description(hardware.device), amp=hardware.amp, channels_last=hardware.channels_last,
                 commit=git_commit()).to_csv(args.out / f"speed_{suffix}.csv", index=False)
    print(f"written: {args.out / f'speed_{suffix}.md'} and .csv")


if __name__ == "__main__":
    main()
