"""Where a result came from: commit, versions, device, date. Stored beside every metric file."""
from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

REPOSITORY = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The repository's commit, with '+changes' when the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPOSITORY, capture_output=True, text=True
        ).stdout.strip()
        return commit + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def bf16_instructions() -> str:
    """The CPU's native bf16 instructions (AMX, AVX-512 BF16, or none), and a limit set on oneDNN's.

    They decide which kernels oneDNN runs under bf16 autocast, and so a run's exact numbers: the
    same run, code and seed gave a training loss of 0.6786 after its first epoch on a CPU limited to
    AVX-512 without bf16 instructions, and 0.6789 with AMX (Backbone on DRIVE, quick; the note of
    issue 36)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "bf16 instructions unknown"
    found = [name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16")) if flag in flags]
    limit = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return (" + ".join(found) or "no bf16 instructions") + (f", oneDNN limited to {limit}" if limit else "")


def device_description(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({platform.machine()}, {threads} thread{'' if threads == 1 else 's'}, {bf16_instructions()})"


def provenance(device: torch.device | str, **details: Any) -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "device": device_description(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        **details,
    }
