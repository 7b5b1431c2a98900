"""Where datasets are looked for, and where what the package derives from them is kept.

One data root holds a folder per dataset. It is, in order: the ``data_root`` argument, the
environment variable ``CENET_DATA_ROOT``, or the repository's ``data/`` folder. Each dataset's
folder can be overridden on its own by ``CENET_<NAME>_ROOT`` (for example ``CENET_DRIVE_ROOT``).

Dataset folders are only ever read (they may be a shared, read-only copy): what the package derives
from them (a folder's drawn split, synthetic stand-ins) goes to the cache, ``$CENET_CACHE`` or
``~/.cache/cenet_lib``.
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "CENET_DATA_ROOT"
CACHE_ENV = "CENET_CACHE"
REPOSITORY_DATA = Path(__file__).resolve().parents[2] / "data"


def data_root(override: str | os.PathLike | None = None) -> Path:
    """The data root: ``override``, else ``$CENET_DATA_ROOT``, else the repository's ``data/``."""
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser()
    return REPOSITORY_DATA


def dataset_env_var(name: str) -> str:
    return f"CENET_{name.upper().replace('-', '_')}_ROOT"


def dataset_dir(name: str, folder: str, root: str | os.PathLike | None = None) -> Path:
    """Folder of dataset ``name``: ``$CENET_<NAME>_ROOT`` if set, else ``<data root>/<folder>``."""
    override = os.environ.get(dataset_env_var(name))
    if override:
        return Path(override).expanduser()
    return data_root(root) / folder


def cache_dir(kind: str) -> Path:
    """``$CENET_CACHE/<kind>`` (default ``~/.cache/cenet_lib/<kind>``): where derived files of ``kind`` go."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cenet_lib") / kind
