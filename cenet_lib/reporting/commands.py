"""``cenet section``, ``run-all``, ``claims``, ``summary`` and ``archive``: the paper's sections and
their results folders on the command line (registered by :func:`add_commands`, each with its function)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import PROFILES, RunConfig
from ..hardware import resolve_hardware
from .archive import write_archive
from .claims import write_ledger
from .notebook import section_seeds
from .orchestrate import RunAllOptions, run_all
from .schedule import train_sections
from .section import run_section
from .sections import SECTIONS
from .summary import write_readme_status, write_summary


def add_commands(commands: argparse._SubParsersAction) -> None:
    _add_section_commands(commands)
    _add_results_commands(commands)


def section_command(args: argparse.Namespace) -> int:
    """Tables, figures and the results index of paper sections, as the notebooks write them. With
    ``--jobs N`` (or ``--gpus``) the runs are trained side by side first, and a section with a
    failed run gets no table."""
    written, names, force = [], list(dict.fromkeys(args.sections)), args.force
    seeds = {name: section_seeds(name, args.profile, args.out, args.seeds) for name in names}
    gpus = [gpu for gpu in args.gpus.split(",") if gpu]
    if args.jobs > 1 or gpus:
        failed = train_sections(dict.fromkeys(names, args.profile), max(args.jobs, len(gpus)), gpus, force, seeds,
                                data_root=args.data_root, device=args.device, out_root=args.out,
                                encoder_weights=args.encoder_weights)
        names, force = [name for name in names if name not in failed], False  # the tables reuse the runs just trained
    for name in names:
        result = run_section(name, profile=args.profile, data_root=args.data_root, device=args.device,
                             seeds=seeds[name], out_root=args.out, encoder_weights=args.encoder_weights, force=force)
        data = "synthetic stand-in" if result.synthetic else "real data"
        print(
            f"{name}: Table {SECTIONS[name].table} on {data} in {result.seconds:.0f} s: {result.table_files.markdown}"
        )
        written.append(result.out_dir)
    for folder in dict.fromkeys(written):
        readme, _ = write_summary(folder)
        print(f"Index: {readme}")
    return 0 if len(names) == len(set(args.sections)) else 1


def run_all_command(args: argparse.Namespace) -> int:
    if args.only is not None and not args.only:
        print(f"error: --only needs section names: {' '.join(SECTIONS)}", file=sys.stderr)
        return 2
    unknown = [name for name in args.only or [] if name not in SECTIONS]
    if unknown:
        print(f"error: unknown section {' '.join(unknown)}; choose from {' '.join(SECTIONS)}", file=sys.stderr)
        return 2
    if args.data_root is not None and not Path(args.data_root).is_dir():
        print(f"error: --data-root {args.data_root} does not exist", file=sys.stderr)
        return 2
    resolve_hardware(RunConfig(device=args.device))  # a GPU asked for and missing: one line, before anything runs
    gpus = [gpu for gpu in args.gpus.split(",") if gpu]
    return run_all(RunAllOptions(
        args.only or list(SECTIONS), args.profile, str(Path(args.data_root).resolve()) if args.data_root else None,
        args.device, args.seeds, args.encoder_weights, args.jobs or max(1, len(gpus)), gpus, args.out, args.force,
        args.archive, args.archive_max_mib))


def claims_command(args: argparse.Namespace) -> int:
    if not (args.results / "tables").is_dir():
        raise FileNotFoundError(f"{args.results} holds no tables/ folder: pass a results folder such as results/quick.")
    csv_path, md_path = write_ledger(args.results)
    print(md_path.read_text())
    print(f"Written: {md_path}, {csv_path}")
    return 0


def summary_command(args: argparse.Namespace) -> int:
    for path in write_summary(args.results):
        print(f"wrote {path}")
    if args.readme:
        print(f"wrote the status in {write_readme_status(args.readme, args.results)}")
    return 0


def archive_command(args: argparse.Namespace) -> int:
    print(write_archive(args.results, args.out, args.max_mib))
    return 0


def _add_results_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet claims``, ``summary`` and ``archive``: what a results folder says, and taking it elsewhere."""
    p = commands.add_parser("claims", help="check the paper's claims on a results folder: verdicts, effects, intervals")
    p.add_argument("results", type=Path, help="a results folder, e.g. results/quick")
    p.set_defaults(func=claims_command)

    p = commands.add_parser("summary", help="write a results folder's index (README.md) and one-page summary.md")
    p.add_argument("results", type=Path, help="a results folder, e.g. results/quick")
    p.add_argument("--readme", type=Path, help="also write the status between this README's markers")
    p.set_defaults(func=summary_command)

    p = commands.add_parser("archive", help="pack a results folder, without weights, into one .tar.gz")
    p.add_argument("results", type=Path, help="the results folder, e.g. results")
    p.add_argument("--out", type=Path, required=True, help="the .tar.gz to write")
    p.add_argument("--max-mib", type=float, default=16.0, help="fail past this size (default 16)")
    p.set_defaults(func=archive_command)


def _add_section_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet section`` (tables without Jupyter) and ``cenet run-all`` (every notebook, what ``./run_all.sh`` runs)."""
    p = commands.add_parser(
        "section", help="train the rows of paper sections and write their tables, as the notebooks do"
    )
    p.add_argument("sections", nargs="+", choices=list(SECTIONS))
    p.add_argument("--profile", default="quick", choices=list(PROFILES))
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds 0..N-1 per trained row (default: the committed table's seeds, else seed 0)")
    p.add_argument("--jobs", type=int, default=1, help="train N runs (row x seed) side by side, then write the tables")
    p.add_argument("--force", action="store_true", help="retrain rows already finished")
    p.set_defaults(func=section_command)
    _add_where(p, Path("results"))

    p = commands.add_parser("run-all", help="every section's notebook through papermill: Tables I-VI and the figures",
                            description="Regenerate Tables I-VI and the figures of the paper: each section's notebook "
                            "through papermill, planned first, summarised at the end.")
    p.add_argument("--profile", default="auto", choices=["auto", *PROFILES],
                   help="auto (default): quick on the real data where found, else smoke on a synthetic stand-in")
    p.add_argument(
        "--only", nargs="*", default=None, metavar="SECTION", help=f"some of: {' '.join(SECTIONS)} (default: all)"
    )
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds 0..N-1 per trained row (default: each committed table's seeds, else seed 0)")
    p.add_argument("--jobs", type=int, default=None,
                   help="train N runs (row x seed) side by side first, then run the notebooks, which reuse them")
    p.add_argument("--force", action="store_true", help="redo sections (and rows) already finished")
    p.add_argument(
        "--archive", type=Path, default=None, metavar="FILE.tar.gz", help="then pack the results, without weights"
    )
    p.add_argument(
        "--archive-max-mib", type=float, default=16.0, help="fail when the archive would pass M MiB (default 16)"
    )
    p.set_defaults(func=run_all_command)
    _add_where(p, Path("results"))


def _add_where(p: argparse.ArgumentParser, out: Path) -> None:
    p.add_argument("--data-root", default=None, help="where the datasets are (default: $CENET_DATA_ROOT or data/)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--encoder-weights",
        default="random",
        help="random (scratch is an older name), imagenet or a ResNet-34 state-dict file",
    )
    p.add_argument(
        "--gpus",
        default="",
        help="comma-separated GPU ids for the --jobs workers, taken in turn (several per GPU allowed)",
    )
    p.add_argument("--out", type=Path, default=out,
                   help="outputs go to OUT/<profile>/ (OUT/<profile>-synthetic/ on a synthetic stand-in)")
