"""``cenet data`` (or ``python -m cenet_lib.data``): status of the datasets, checks of a folder or
a packed copy, packing, synthetic stand-ins, fetching, splits.

    cenet data status [--data-root DIR] [--quick]
    cenet data check FOLDER
    cenet data pack --data-root SRC --out DIR NAME...
    cenet data synth NAME --out DIR [--seed 0]
    cenet data fetch NAME
    cenet data split NAME [--data-root DIR] [--out FILE]

Each command prints what a person asked to see and returns an exit status.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import tifffile

from . import READERS, ImageFolder, build_reader
from .base import DatasetError, DatasetMissing, Reader
from .io import bit_depth, list_images
from .isbi2012 import contiguous_folds
from .pack import PackedReader, folder_mib, is_packed, pack_dataset, read_manifest, verify_packed
from .paths import dataset_dir
from .splits import SPLITS_DIR, kfold, make_split_file
from .synthetic import SYNTHESIZERS, synthesize
from .validate import check_reader

#: Images per split in the public distributions (used by ``status`` to check a copy).
EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "drive": {"train": 20, "test": 20},
    "isbi2012": {"train": 24, "test": 6, "challenge_test": 30},
    "lung": {"train": 213, "test": 54},
    "drishti": {"train": 50, "test": 51},
    "duke": {"train": 66, "val": 22, "test": 22},
    "duke_mat": {"train": 66, "val": 22, "test": 22},
}

#: Licence and citation notes printed by ``fetch``.
LICENCES: dict[str, str] = {
    "drive": "Free for research; cite Staal et al., IEEE TMI 2004.",
    "isbi2012": "Free for research; cite Arganda-Carreras et al., Front. Neuroanat. 2015 and Cardona et al. 2010.",
    "lung": "Kaggle dataset (kmader) derived from LUNA16 (CC BY 4.0); a Kaggle account is needed.",
    "drishti": "Free for research; cite Sivaswamy et al., ISBI 2014.",
    "origa": "Not redistributable; request from the owners (Zhang et al., EMBC 2010).",
    "messidor": "Messidor licence (research use after registration); disc masks by Aquino et al. 2010.",
    "rimone": "Free for research; cite Fumero et al., CBMS 2011.",
    "duke": "Free for research with citation of Chiu et al., Biomed. Opt. Express 2015.",
    "duke_mat": "Free for research with citation of Chiu et al., Biomed. Opt. Express 2015.",
    "oct_csv": "Your own data in the plain CSV layout.",
}


def _describe(reader: Reader) -> str:
    """Size and dtype of the first image."""
    sample = reader[0]
    return f"image {sample.image.shape} {sample.image.dtype}"


def status(data_root: str | None, full: bool) -> int:
    """Where each dataset was looked for, its images per split, and (``full``) the checks that
    training runs first (:mod:`cenet_lib.data.validate`); 1 if anything is wrong."""
    if data_root is not None and not Path(data_root).is_dir():
        print(f"error: the data root {data_root} does not exist.", file=sys.stderr)
        return 1
    problems = 0
    for name, reader_class in READERS.items():
        where = dataset_dir(name, reader_class.folder, data_root)
        if not where.exists():
            print(f"{name:<9} not found   (looked in {where})")
            continue
        packed = " (packed copy)" if is_packed(where) else ""  # a copy of another reader version: each split says so
        print(f"{name:<9} found       {where}{packed}")
        for split in reader_class.splits:
            try:
                reader = build_reader(name, split, data_root)
                expected = EXPECTED_COUNTS.get(name, {}).get(split)
                count_ok = reader.synthetic or expected is None or len(reader) == expected
                note = "" if count_ok else f"  EXPECTED {expected}"
                problems += not count_ok
                label = " (synthetic)" if reader.synthetic else ""
                print(f"    {split:<15}{len(reader):>5} images  {_describe(reader)}{label}{note}")
                found = check_reader(reader) if full else []
                for problem in found:
                    print(f"      PROBLEM: {problem}")
                problems += len(found)
            except (DatasetError, ValueError) as error:
                problems += 1
                print(f"    {split:<15}PROBLEM: {str(error).splitlines()[0]}")
    return 1 if problems else 0


def check(folder: Path) -> int:
    """Every problem of a folder of the user's own images, or of a packed copy, at once; 0 when it is
    ready to train."""
    if is_packed(folder):
        return check_packed(folder)
    problems = []
    for split in ImageFolder.splits:
        try:
            reader = ImageFolder(folder, split)
        except DatasetMissing as error:
            problems.append(str(error).splitlines()[0])
            break  # the folder is not there: the other split says the same
        except DatasetError as error:
            problems.append(str(error).splitlines()[0])
            continue
        found = check_reader(reader)
        problems += found
        depths = Counter(bit_depth(image) for image, _ in reader.pairs)
        depth = ", ".join(f"{name} x{count}" if len(depths) > 1 else name for name, count in sorted(depths.items()))
        state = "ok" if not found else f"{len(found)} problem(s)"
        names = f" ({', '.join(reader.class_names)})" if reader.class_names else ""
        names += ", a region of interest per image (scored inside it too)" if reader.regions else ""
        print(
            f"{split:<6}{len(reader):>5} images ({depth}), {reader.in_channels} channel(s), {reader.num_classes} "
            f"class(es){names}: {state}"
        )
    for problem in dict.fromkeys(problems):
        print(f"PROBLEM: {problem}")
    if not problems:
        print(f"{folder} is ready: cenet train --dataset {folder} --profile quick")
    return 1 if problems else 0


def check_packed(folder: Path) -> int:
    """A packed copy: every packed file against its checksum, then every sample of every split read
    and checked as training checks it."""
    manifest = read_manifest(folder)
    problems = verify_packed(folder)
    for split in manifest["splits"]:
        reader = PackedReader(folder, split)
        found = check_reader(reader)
        problems += found
        print(
            f"{split:<15}{len(reader):>5} images  {_describe(reader)}: "
            f"{'ok' if not found else f'{len(found)} problem(s)'}"
        )
    for problem in dict.fromkeys(problems):
        print(f"PROBLEM: {problem}")
    if not problems:
        print(f"{folder} is a sound packed copy of {manifest['dataset']} (reader version {manifest['reader_version']}, "
              f"packed {manifest['packed_utc']} UTC from {manifest['source']['folder']}).")
    return 1 if problems else 0


def pack(names: list[str], data_root: str | None, out: Path, max_mib: float | None) -> int:
    """Pack each named dataset into ``out`` (:mod:`cenet_lib.data.pack`); say each one's size and
    time, and fail when all of them together pass ``max_mib``."""
    total = 0.0
    for name in dict.fromkeys(names):
        started = time.perf_counter()
        target = pack_dataset(name, data_root, out)
        size, samples = folder_mib(target), sum(len(entries) for entries in read_manifest(target)["splits"].values())
        source = folder_mib(dataset_dir(name, READERS[name].folder, data_root))
        print(f"{name:<9} {samples:>4} samples: {size:6.1f} MiB (the originals {source:.1f} MiB) in "
              f"{time.perf_counter() - started:.0f} s -> {target}")
        total += size
    print(f"{out}: {total:.1f} MiB in all; use it as a data root (--data-root {out}).")
    if max_mib is not None and total > max_mib:
        print(
            f"error: the packed copies take {total:.1f} MiB, more than --max-mib {max_mib:g}; pack fewer datasets "
            "together.",
            file=sys.stderr,
        )
        return 1
    return 0


def fetch(name: str) -> int:
    if name not in READERS:
        print(f"Unknown dataset {name!r}; choose one of {', '.join(READERS)}.", file=sys.stderr)
        return 2
    # None of the sets has a direct download with a published checksum that could be verified here:
    # each needs a registration, an account or a request, so fetch explains the steps.
    print(READERS[name].instructions)
    print(f"Licence: {LICENCES[name]}")
    print("Then run `python -m cenet_lib.data status` to check the copy.")
    return 0


def split(name: str, data_root: str | None, out: Path | None) -> int:
    """Write the split file of ``name`` from the files found on disk."""
    root = dataset_dir(name, READERS[name].folder, data_root)
    if name == "isbi2012":
        volume, per_slice = root / "train-volume.tif", root / "train" / "images"
        if volume.is_file():
            with tifffile.TiffFile(volume) as tiff:
                slices = len(tiff.pages)
        elif per_slice.is_dir():
            slices = len(list_images(per_slice))
        else:
            raise DatasetError(f"isbi2012: neither {volume} nor {per_slice} exists.\n{READERS[name].instructions}")
        content = contiguous_folds([f"train-volume_{i:02d}" for i in range(slices)])
    elif name == "lung":
        folder = root / "2d_images"
        if not folder.is_dir():
            raise DatasetError(f"lung: {folder} not found.\n{READERS[name].instructions}")
        content = {"seed": 0, "folds": kfold([p.stem for p in folder.glob("*.tif")], 5, seed=0)}  # test = fold 0
    else:
        print(f"{name} has an official split in its folder layout; no split file is needed.", file=sys.stderr)
        return 2
    path = make_split_file(out or SPLITS_DIR / f"{name}.json", content)
    print(f"Wrote {path} ({', '.join(f'{len(f)}' for f in content['folds'])} ids per fold).")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet data ...``: the dataset commands, each with its function (``args.func``)."""
    data = commands.add_parser(
        "data", help="datasets: status, check a folder or packed copy, pack, synth, fetch, split"
    )
    sub = data.add_subparsers(dest="data_command", required=True)
    p = sub.add_parser("status", help="where each dataset was looked for, what was found, and every file checked")
    p.add_argument("--data-root", default=None)
    p.add_argument("--quick", action="store_true", help="read only the first image of each split")
    p.set_defaults(func=lambda args: status(args.data_root, not args.quick))
    p = sub.add_parser("check", help="check a folder of your own images (images/ and masks/), or a packed copy: "
                                     "every problem at once")
    p.add_argument("folder", type=Path)
    p.set_defaults(func=lambda args: check(args.folder))
    p = sub.add_parser("synth", help="write a synthetic stand-in in the dataset's real format")
    p.add_argument("name", choices=sorted(SYNTHESIZERS))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=synth)
    p = sub.add_parser("pack", help="write compact, lossless copies of datasets: the samples the readers return")
    p.add_argument(
        "names", nargs="+", choices=list(READERS), metavar="NAME", help=f"one or more of {', '.join(READERS)}"
    )
    p.add_argument("--data-root", default=None, help="where the originals are (default: $CENET_DATA_ROOT or data/)")
    p.add_argument("--out", type=Path, required=True, help="the packed data root to write")
    p.add_argument("--max-mib", type=float, default=None, help="fail when the packed copies together pass this size")
    p.set_defaults(func=lambda args: pack(args.names, args.data_root, args.out, args.max_mib))
    p = sub.add_parser("fetch", help="how to obtain a dataset, and its licence")
    p.add_argument("name")
    p.set_defaults(func=lambda args: fetch(args.name))
    p = sub.add_parser("split", help="write the split file of a dataset from the files on disk")
    p.add_argument("name", choices=["isbi2012", "lung"])
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", type=Path, default=None)
    p.set_defaults(func=lambda args: split(args.name, args.data_root, args.out))


def synth(args: argparse.Namespace) -> int:
    print(f"Wrote a synthetic {args.name} stand-in to {synthesize(args.name, args.out, args.seed)}")
    return 0
