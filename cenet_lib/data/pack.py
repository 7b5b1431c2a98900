"""Compact, lossless copies of datasets: ``python -m cenet_lib.data pack``.

A packed copy stores what a reader returns rather than the files it reads: each sample's image,
mask, region of interest and extras as the reader hands them to the pipeline. The lung slices are
stored after the reader's HU windowing to uint8, DRISHTI-GS1 as the 800x800 disc crop with its
full-frame masks (the full fundus photograph is only ever used to find the crop), DRIVE's TIFFs as
lossless WebP. So packed, each group of datasets fits the 60 MiB a GPU job leaves for data (issue
#27); nnU-Net's plan-and-preprocess step is the precedent for such a copy.

The folder written for a dataset stands where its original folder would, so the output folder is
a data root: :func:`cenet_lib.data.build_reader` finds the manifest there and returns a
:class:`PackedReader`, whose samples equal the original reader's bit for bit (tested on every
sample of every split of the real datasets).

Storage, all lossless: 3-channel uint8 images as WebP in its lossless mode (on DRIVE's first
training image 0.31 MB, against 0.39 MB as PNG; on a DRISHTI-GS1 crop 0.39 MB against 0.57 MB) at
effort 2 of 6 (as small as effort 4 on that crop, in a sixth of the time);
one-channel uint8 and boolean arrays as PNG; any other array (the OCT boundary rows, floats with
NaN) as a compressed NumPy file; scalars and tuples in the manifest. The manifest also records the
reader, its version (:attr:`~cenet_lib.data.base.Reader.version`) and options, and a SHA-256 of
every source file and every packed file. A copy made by another version of a reader is refused,
since its samples may differ from what the reader now returns.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .base import SYNTHETIC_MARKER, DatasetError, Reader, Sample
from .paths import dataset_dir
from .splits import SPLITS_DIR

#: The layout of a packed copy; a copy in another layout is refused.
PACK_FORMAT = 1
MANIFEST = "cenet_pack.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reader_options(reader_class: type[Reader]) -> dict[str, Any]:
    """The keyword options of a reader (fold, crop size, ...) at their defaults: what a packed copy holds."""
    parameters = inspect.signature(reader_class.__init__).parameters
    return {name: p.default for name, p in parameters.items() if name not in ("self", "root", "split")}


def _write_field(value: Any, folder: Path, stem: str) -> dict[str, Any]:
    """Store one field of a sample losslessly; the record says how to read it back."""
    if isinstance(value, np.ndarray):
        one_channel = value.dtype in (np.uint8, np.bool_) and (
            value.ndim == 2 or (value.ndim == 3 and value.shape[2] == 1)
        )
        if value.dtype == np.uint8 and value.ndim == 3 and value.shape[2] == 3:
            name = f"{stem}.webp"
            Image.fromarray(value).save(folder / name, format="WEBP", lossless=True, quality=100, method=2)
        elif one_channel:
            name = f"{stem}.png"
            Image.fromarray(value.reshape(value.shape[:2]).astype(np.uint8)).save(
                folder / name, format="PNG", optimize=True
            )
        else:
            name = f"{stem}.npz"
            np.savez_compressed(folder / name, array=value)
        return {"file": f"{folder.name}/{name}", "dtype": str(value.dtype), "shape": list(value.shape)}
    if value is None:
        return {"none": True}
    if isinstance(value, tuple):
        return {"tuple": [v.item() if isinstance(v, np.generic) else v for v in value]}
    return {"value": value.item() if isinstance(value, np.generic) else value}


def _read_field(record: dict[str, Any], root: Path) -> Any:
    if "file" in record:
        path = root / record["file"]
        try:
            if path.suffix == ".npz":
                with np.load(path) as stored:
                    array = stored["array"]
            else:
                with Image.open(path) as image:
                    array = np.array(image)
            return array.reshape(record["shape"]).astype(record["dtype"], copy=False)
        except (OSError, ValueError, KeyError) as error:
            raise DatasetError(
                f"{path}: cannot read this packed file ({type(error).__name__}: {error}); pack the dataset again."
            ) from error
    if "none" in record:
        return None
    if "tuple" in record:
        return tuple(record["tuple"])
    return record["value"]


def _write_sample(sample: Sample, folder: Path, index: int) -> dict[str, Any]:
    stem = f"{index:04d}"
    return {
        "id": sample.id,
        **{part: _write_field(getattr(sample, part), folder, f"{stem}.{part}") for part in ("image", "mask", "roi")},
        "extra": {key: _write_field(value, folder, f"{stem}.extra-{key}") for key, value in sample.extra.items()},
    }


def _file_checksums(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): sha256(path) for path in sorted(folder.rglob("*")) if path.is_file()}


def folder_mib(folder: Path) -> float:
    return sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file()) / 2**20


def pack_dataset(name: str, source_root: str | os.PathLike | None, out_root: str | os.PathLike) -> Path:
    """Write the packed copy of dataset ``name`` (read from ``source_root``) to ``out_root/<its folder>``,
    every split, with the reader's default options. Written aside and renamed, so an interrupted pack
    leaves no half copy behind."""
    from . import READERS

    if name not in READERS:
        raise ValueError(f"Unknown dataset {name!r}; choose from {', '.join(READERS)}.")
    reader_class = READERS[name]
    source = dataset_dir(name, reader_class.folder, source_root)
    target = Path(out_root) / reader_class.folder
    if target.resolve() == source.resolve():
        raise ValueError(f"{name}: the packed copy would overwrite its source {source}; choose another --out.")
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        manifest = _write_copy(name, source, source_root, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _write_copy(name: str, source: Path, source_root: str | os.PathLike | None, partial: Path) -> dict[str, Any]:
    """Every sample of every split of ``name`` into ``partial``; returns the manifest."""
    from . import READERS, build_reader

    reader_class = READERS[name]
    splits: dict[str, list[dict[str, Any]]] = {}
    synthetic = False
    for split in reader_class.splits:
        reader = build_reader(name, split, source_root)
        synthetic = synthetic or reader.synthetic
        folder = partial / split
        folder.mkdir(parents=True)
        splits[split] = [_write_sample(reader[index], folder, index)
                         for index in tqdm(range(len(reader)), desc=f"packing {name}/{split}", leave=False)]
    if synthetic:
        (partial / SYNTHETIC_MARKER).write_text("A packed copy of a synthetic stand-in: its numbers mean nothing.\n")
    split_file = SPLITS_DIR / f"{name}.json"
    return {
        "format": PACK_FORMAT, "dataset": name, "reader": reader_class.__name__, "reader_version": reader_class.version,
        "options": reader_options(reader_class), "packed_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "source": {"folder": str(source), "files": _file_checksums(source),
                   "split_file": {str(split_file.name): sha256(split_file)} if split_file.is_file() else {}},
        "splits": splits, "files": _file_checksums(partial),
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the packed copy in ``folder``, refused when another layout or another
    version of its reader wrote it."""
    from . import READERS

    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: not a readable packed-copy manifest ({error}); pack the dataset again.") from error
    name = manifest.get("dataset")
    repack = ("pack it again from the originals: "
              f"python -m cenet_lib.data pack --data-root ORIGINALS --out {Path(folder).parent} {name}")
    if manifest.get("format") != PACK_FORMAT:
        raise DatasetError(
            f"{folder}: a packed copy in layout {manifest.get('format')}, this code reads layout {PACK_FORMAT}; "
            f"{repack}."
        )
    if name not in READERS:
        raise DatasetError(f"{folder}: a packed copy of {name!r}, which this code has no reader for; {repack}.")
    if manifest.get("reader_version") != READERS[name].version:
        raise DatasetError(
            f"{folder}: packed by version {manifest.get('reader_version')} of the {name} reader, but this code's "
            "reader is "
            f"version {READERS[name].version}, so its samples may differ; {repack}."
        )
    return manifest


def is_packed(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


class PackedReader(Reader):
    """A packed copy of a dataset, read as its own reader would read the original: the same ids in
    the same order and the same samples, with the reader's name, task, classes and splits."""

    def __init__(self, root: Path, split: str = "train", **options: Any) -> None:
        from . import READERS

        manifest = read_manifest(root)
        self.original = READERS[manifest["dataset"]]
        for attribute in (
            "name",
            "folder",
            "num_classes",
            "in_channels",
            "splits",
            "class_names",
            "instructions",
            "version",
        ):
            setattr(self, attribute, getattr(self.original, attribute))
        super().__init__(root, split)
        asked = {**manifest["options"], **options}
        if asked != manifest["options"]:
            changed = ", ".join(
                f"{key}={value!r}" for key, value in asked.items() if manifest["options"].get(key) != value
            )
            raise DatasetError(
                f"{self.name}: the packed copy in {root} holds the samples of the reader's defaults "
                f"({', '.join(f'{k}={v!r}' for k, v in manifest['options'].items())}); {changed} needs the original "
                f"dataset: point --data-root at it."
            )
        self.entries = manifest["splits"][split]
        self.ids = [entry["id"] for entry in self.entries]
        self.manifest = manifest
        self.require_nonempty()

    @property
    def task(self):
        task = self.original.task
        return task.fget(self) if isinstance(task, property) else task

    def load(self, index: int) -> Sample:
        entry = self.entries[index]
        parts = {part: _read_field(entry[part], self.root) for part in ("image", "mask", "roi")}
        extra = {key: _read_field(record, self.root) for key, record in entry["extra"].items()}
        return Sample(entry["id"], parts["image"], parts["mask"], parts["roi"], extra)


def verify_packed(folder: Path) -> list[str]:
    """Every packed file whose checksum differs from the manifest's, or that is missing."""
    manifest = read_manifest(folder)
    problems = []
    for relative, expected in manifest["files"].items():
        path = Path(folder) / relative
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256(path) != expected:
            problems.append(f"{path} differs from the file packed (checksum); pack the dataset again")
    return problems
