"""The package's messages go through :mod:`logging` (logger ``cenet_lib`` and its children); the
command line, the notebooks and the worker processes show them with :func:`show_messages`.

Library modules never print: they log, and whoever runs them decides where the lines go.
"""
from __future__ import annotations

import logging
import sys


class _CurrentStream(logging.StreamHandler):
    """Writes each line to ``sys.stdout`` (information) or ``sys.stderr`` (warnings and errors) as
    they are when the line is written: a notebook cell's output, a worker's redirected log, or a
    test's captured output."""

    def __init__(self, errors: bool) -> None:
        super().__init__()
        self.errors = errors
        self.setFormatter(logging.Formatter("%(message)s"))
        self.addFilter(lambda record: (record.levelno >= logging.WARNING) == errors)

    @property
    def stream(self):
        return sys.stderr if self.errors else sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def show_messages(level: int = logging.INFO) -> None:
    """Show the package's messages of ``level`` and above, one plain line each: information on
    standard output, warnings and errors on standard error."""
    logger = logging.getLogger("cenet_lib")
    if not any(isinstance(handler, _CurrentStream) for handler in logger.handlers):
        logger.addHandler(_CurrentStream(errors=False))
        logger.addHandler(_CurrentStream(errors=True))
    logger.setLevel(level)
