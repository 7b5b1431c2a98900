"""Ctrl-C and SIGTERM during training, as PyTorch Lightning handles them: the first signal lets the
current optimizer step finish, a checkpoint is written and :class:`TrainingInterrupted` says what
was saved (the caller adds how it resumes: a command, or a notebook parameter); a second Ctrl-C
stops at once (``KeyboardInterrupt``)."""
from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after writing a checkpoint in ``run_dir``."""

    def __init__(self, signal_name: str, run_dir: Path, epoch: int, step: int) -> None:
        super().__init__(f"{signal_name}: saved {Path(run_dir) / 'checkpoint.pt'} at epoch {epoch}, step {step}")
        self.run_dir, self.epoch, self.step = Path(run_dir), epoch, step


class StopOnSignal:
    """While active (a ``with`` block in the main thread), SIGINT and SIGTERM set :attr:`requested`
    to the signal's name instead of stopping the program; a second SIGINT raises ``KeyboardInterrupt``."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(number).name

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
