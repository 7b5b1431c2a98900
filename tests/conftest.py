"""Shared fixtures: synthetic stand-ins of every dataset, and the real data when present."""
from __future__ import annotations

from pathlib import Path

import pytest

from cenet_lib.data.synthetic import SYNTHESIZERS, synthesize

#: The team's read-only copies of the real datasets, beside the repository (CI has them).
REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A data root holding every synthetic stand-in, in the real datasets' folder names."""
    from cenet_lib.data import READERS

    root = tmp_path_factory.mktemp("synthetic-data")
    for name in SYNTHESIZERS:
        folder = READERS[name].folder if name in READERS else name
        synthesize(name, root / folder, seed=0)
    return root


@pytest.fixture(scope="session")
def real_root() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real datasets not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def synthetic_cache(tmp_path_factory) -> Path:
    """The folder where training writes its synthetic stand-ins during the tests ($CENET_CACHE)."""
    return tmp_path_factory.mktemp("cenet-cache")


@pytest.fixture(autouse=True)
def cache_in_tmp(synthetic_cache, monkeypatch) -> None:
    """Derived files (drawn splits, stand-ins) go to the session's cache, never the user's."""
    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
