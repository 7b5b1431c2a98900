"""A training run's folder and its lifecycle: a fresh start, a resume, a finished run kept as it is.

* ``config.yaml``: every setting, the recipe and the profile, with the hardware it ran on in a
  comment line (usable as ``--config`` for another run);
* ``checkpoint.pt``: what resuming needs (:class:`~cenet_lib.checkpoint.TrainState`); it exists
  only while a run is unfinished and is removed once ``model.pt`` is written;
* ``model.pt``: the final weights, what rebuilds the model, and the history; it exists only for
  a finished run, and a fresh start removes an old one before training begins;
* ``log.csv`` (one row per epoch); the caller draws ``loss_curve.png`` from it;
* ``.cenet.lock``: held (``flock``) by the one process that trains or scores the run
  (:meth:`RunDir.hold`), with that process's id in it. Two trainings into one folder used to both
  finish, leaving one's ``config.yaml`` beside the other's ``log.csv``; the second is now refused in
  one line naming the first. The kernel releases the lock when its process dies, so a killed run
  leaves nothing that blocks the next.

Every file is written atomically (to a temporary file, then renamed), by the ``save`` function the
folder is given (:func:`~cenet_lib.checkpoint.save_atomic` by default).
"""
from __future__ import annotations

import csv
import fcntl
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from .checkpoint import save_atomic
from .resolved import ResolvedRun

LOCK_FILE = ".cenet.lock"


class OutputFolderError(RuntimeError):
    """A run or output folder that cannot be used: not writable, or in use by another process."""


def writable_folder(path: Path, option: str) -> Path:
    """``path``, created if need be, once a file could be written in it; otherwise one line naming
    the folder and the option that chooses another (``option``), before any work is done."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise OutputFolderError(
            f"cannot write to {path} ({error.strerror or error}); choose a writable folder ({option})."
        ) from None
    return path


@contextmanager
def hold_folder(path: Path, option: str = "--run-dir") -> Iterator[None]:
    """Hold ``path``'s lock for the duration: refused in one line when the folder cannot be written
    (before any work) or another process holds it (naming that process). A folder made here for
    work that then failed before writing anything (bad data, say) is removed again."""
    made = not path.exists()
    handle = (writable_folder(path, option) / LOCK_FILE).open("a+")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputFolderError(
                f"{path} is in use by {holder}; wait for it to finish, or choose another folder ({option})."
            ) from None
        handle.truncate(0)
        command = " ".join(sys.argv)[:120]
        handle.write(f"process {os.getpid()} on {socket.gethostname()} ({command})\n")
        handle.flush()
        try:
            yield
        except BaseException:
            if made and [entry.name for entry in path.iterdir()] == [LOCK_FILE]:
                (path / LOCK_FILE).unlink()
                path.rmdir()
            raise
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
