"""One archive of a results folder, to bring a run's results back from another machine.

Everything the folder holds goes in (tables, per-image scores, claims, figures, samples, logs,
executed notebooks, each run's settings, log and scores, provenance), except weights and
checkpoints: they are large, and a run's results do not need them. The archive says its size and
refuses to stand past ``max_mib`` (a batch GPU job returns files of at most 16 MiB)::

    cenet archive results --out results.tar.gz --max-mib 16
"""
from __future__ import annotations

import tarfile
from pathlib import Path

#: What never goes into an archive: model weights, checkpoints and exported models (and earlier archives).
WEIGHTS = (".pt", ".pt2", ".pth", ".ckpt", ".onnx", ".safetensors")
DEFAULT_MAX_MIB = 16.0


class ArchiveTooLarge(RuntimeError):
    """The archive came out larger than allowed; it has been removed."""


def archived_files(results: Path) -> list[Path]:
    """The files of ``results`` that an archive holds, in a stable order."""
    return sorted(path for path in Path(results).rglob("*") if path.is_file() and path.suffix not in WEIGHTS
                  and not path.name.startswith(".") and not path.name.endswith((".tmp", ".tar.gz")))


def write_archive(results: str | Path, out: str | Path, max_mib: float = DEFAULT_MAX_MIB) -> str:
    """Write ``out`` (.tar.gz) with :func:`archived_files`, paths relative to ``results``' parent;
    returns a line saying what it holds. Raises :class:`ArchiveTooLarge` past ``max_mib``."""
    results, out = Path(results), Path(out)
    if not results.is_dir():
        raise FileNotFoundError(f"{results} is not a results folder; pass the folder run_all.sh wrote (e.g. results).")
    files = archived_files(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as archive:
        for path in files:
            archive.add(path, arcname=str(path.relative_to(results.parent)), recursive=False)
    mib = out.stat().st_size / 2**20
    if mib > max_mib:
        largest = sorted(files, key=lambda path: path.stat().st_size, reverse=True)[:3]
        named = ", ".join(f"{path.relative_to(results)} ({path.stat().st_size / 2**20:.1f} MiB)" for path in largest)
        out.unlink()
        raise ArchiveTooLarge(
            f"{out} would be {mib:.1f} MiB, over the limit of {max_mib:g} MiB; the largest files: {named}. "
            "Archive fewer sections, or raise --max-mib where the transfer allows it."
        )
    return f"Wrote {out}: {len(files)} files, {mib:.2f} MiB (no weights)"

