"""A training run's folder and its lifecycle: a fresh start, a resume, a finished run kept as it is.

* ``config.yaml``: every setting, the recipe and the profile, with the hardware it ran on in a
  comment line (usable as ``--config`` for another run);
* ``checkpoint.pt``: what resuming needs (:class:`~cenet_lib.checkpoint.TrainState`); it exists
  only while a run is unfinished and is removed once ``model.pt`` is written;
* ``model.pt``: the final weights, what rebuilds the model, and the history; it exists only for
  a finished run, and a fresh start removes an old one before training begins;
* ``log.csv`` (one row per epoch); the caller draws ``loss_curve.png`` from it.

Every file is written atomically (to a temporary file, then renamed), by the ``save`` function the
folder is given (:func:`~cenet_lib.checkpoint.save_atomic` by default).
"""
from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .checkpoint import save_atomic
from .resolved import ResolvedRun


class RunDir:
    def __init__(self, path: str | Path, save: Callable[[Any, Path], Any] = save_atomic) -> None:
        self.path = Path(path)
        self.save = save
        self.checkpoint, self.final = self.path / "checkpoint.pt", self.path / "model.pt"
        self.log = self.path / "log.csv"
        self.last_saved = time.monotonic()

    @property
    def finished(self) -> bool:
        """A finished run: its ``model.pt`` is there and no checkpoint says it was restarted."""
        return self.final.is_file() and not self.checkpoint.is_file()

    @property
    def resumable(self) -> bool:
        return self.checkpoint.is_file()

    def start_fresh(self, run: ResolvedRun) -> None:
        """An empty start in this folder: the weights of an earlier run go, the settings are written."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.final.unlink(missing_ok=True)
        hardware = run.hardware
        used = f"# ran with: device {hardware.device}, amp {hardware.amp}, channels_last {hardware.channels_last}\n"
        settings = yaml.safe_dump({**run.config.to_dict(), "input_size": list(run.config.input_size)}, sort_keys=False)
        (self.path / "config.yaml").write_text(used + settings)

    def remove_partial_writes(self) -> None:
        """Delete temporary files of a save cut short by a kill; the file each would replace is intact."""
        for unfinished in self.path.glob(".*.tmp"):
            unfinished.unlink()

    def seconds_since_save(self) -> float:
        return time.monotonic() - self.last_saved

    def save_checkpoint(self, payload: dict[str, Any]) -> None:
        self.last_saved = time.monotonic()
        self.save(payload, self.checkpoint)

    def save_final(self, payload: dict[str, Any]) -> Path:
        """Write ``model.pt`` and remove the checkpoint, which only served to resume."""
        self.save(payload, self.final)
        self.checkpoint.unlink(missing_ok=True)
        return self.final

    def write_log(self, history: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(key for row in history for key in row))
        temporary = self.log.with_suffix(".tmp")
        with temporary.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(history)
        os.replace(temporary, self.log)
