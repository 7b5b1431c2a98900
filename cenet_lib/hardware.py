"""Where and how a run computes: device, precision, memory format, loader workers and threads.

The defaults are measured, not assumed: bf16 autocast where the device computes bf16 natively
(:func:`native_bf16`), channels_last memory format, and on CUDA pinned, persistent loader workers.
One training step of cenet (batch 4, 256x256, Adam, this project's 2-core AVX512-BF16 CPU) took
1.28 s in fp32, 1.05 s with channels_last and 0.59 s with channels_last and bf16 autocast; U-Net
7.67, 6.75 and 3.29 s (``benchmarks/speed.py``). Under torchrun each process takes the GPU of its rank.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from .config import RunConfig


@dataclass
class Hardware:
    device: torch.device
    amp: bool
    channels_last: bool
    num_workers: int
    rank: int = 0
    world_size: int = 1

    @property
    def precision(self) -> str:
        """What provenance records: ``bf16 autocast`` or ``fp32``."""
        return "bf16 autocast" if self.amp else "fp32"

    def place(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` on this device, in this memory format."""
        return model.to(
            self.device, memory_format=torch.channels_last if self.channels_last else torch.contiguous_format
        )


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally require deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (elsewhere autocast would emulate bf16 and run slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def _device(config: RunConfig, world_size: int) -> torch.device:
    if config.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(config.device)
        except RuntimeError as error:
            raise ValueError(
                f"device={config.device!r} is not a device: use auto, cpu, cuda or cuda:N ({error})."
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={config.device} was asked for, but this machine has no CUDA GPU; use device=auto "
                             "(the GPU where there is one) or device=cpu.")
    if world_size > 1 and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())  # set_device needs an index
    return device


def resolve_hardware(config: RunConfig) -> Hardware:
    """The device, precision and loader settings ``config`` asks for, with the defaults above for
    those it leaves to ``None`` or ``auto``; sets torch's thread count and current GPU accordingly."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = _device(config, world_size)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = not config.deterministic
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    amp = config.amp if config.amp is not None else native_bf16(device)
    channels_last = config.channels_last if config.channels_last is not None else True
    workers = (
        config.num_workers
        if config.num_workers is not None
        else (min(4, max(0, (os.cpu_count() or 1) - 1)) if cuda else 0)
    )
    return Hardware(device, amp, channels_last, workers, int(os.environ.get("RANK", "0")), world_size)
