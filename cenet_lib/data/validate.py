"""Check a dataset before anything is trained: every image and mask of the chosen splits, read in
full (the sets of the paper are small), so that a bad file stops a run at its start, not hours in.

Each problem names the file and the fix: an unreadable or truncated file, an image and mask of
different sizes, a mask whose values are not the expected labels, an image without a mask, an empty
split, a split whose masks are all background (nothing to learn: training ran to a loss of 1 and
scores of nan). A split where fewer than a quarter of the masks hold any foreground is trained, with
a warning naming those that do. ``cenet train``, ``run_all.sh`` and the notebooks (through training), and
``python -m cenet_lib.data status`` and ``check`` run the same checks.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from tqdm import tqdm

from .base import DatasetError, DatasetMissing, Reader

log = logging.getLogger(__name__)


def check_reader(reader: Reader) -> list[str]:
    """Every problem of ``reader``'s split, one line each; an empty list when all is well."""
    if not len(reader):
        return [
            f"{reader.name}: the {reader.split!r} split under {reader.root} holds no images; add images or fix the "
            "split."
        ]
    problems, with_foreground, masks = [], [], 0
    labels = max(2, reader.num_classes)
    for index in tqdm(range(len(reader)), desc=f"checking {reader.name}/{reader.split}", leave=False, delay=1):
        try:
            sample = reader[index]
        except DatasetError as error:
            problems.append(str(error).splitlines()[0])
            continue
        if sample.mask is not None and int(sample.mask.max()) >= labels:
            problems.append(
                f"{reader.name}/{sample.id}: the mask holds label {int(sample.mask.max())}, but {reader.num_classes} "
                f"class(es) are expected (labels 0..{labels - 1}); fix the mask or the number of classes."
            )
        if sample.mask is not None:
            masks += 1
            if sample.mask.any():
                with_foreground.append(sample.id)
    return problems + _foreground_problems(reader, masks, with_foreground)


def _foreground_problems(reader: Reader, masks: int, with_foreground: list[str]) -> list[str]:
    """A split whose masks are all background is a problem; one where fewer than a quarter hold
    foreground is worth a warning that names them."""
    where = f"{reader.name}/{reader.split} ({reader.root})"
    if masks and not with_foreground:
        return [
            f"{where}: {'its one mask is' if masks == 1 else f'all {masks} masks are'} background only (every pixel "
            "0), so there is nothing to learn or score; "
            "check that these are the right mask files and that objects are nonzero (255, or labels 1..K-1)."
        ]
    if masks and len(with_foreground) < masks / 4:
        shown = ", ".join(with_foreground[:5]) + (" ..." if len(with_foreground) > 5 else "")
        log.warning("%s: only %d of %d masks hold any foreground (%s); the others are background only.", where,
                    len(with_foreground), masks, shown)
    return []

def check_splits(attempts: Iterable[tuple[str, Reader | DatasetError | None]]) -> None:
    """Check the reader of each split, given as (split, its reader, or the error building it raised,
    or ``None`` where the dataset has no such split); raise one :class:`DatasetError` that lists
    every problem found (one line when there is one)."""
    problems = []
    for _, reader in attempts:
        if isinstance(reader, DatasetMissing):  # the dataset itself is missing: the other splits would say the same
            raise DatasetMissing(str(reader).splitlines()[0]) from None
        if isinstance(reader, DatasetError):
            problems.append(str(reader).splitlines()[0])
        elif reader is not None:
            problems += check_reader(reader)
    problems = list(dict.fromkeys(problems))
    if len(problems) == 1:
        raise DatasetError(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DatasetError(f"{len(problems)} problems in the data; nothing was trained:\n{listed}{more}")


__all__ = ["check_reader", "check_splits"]
