"""The command line, ``cenet`` (or ``python -m cenet_lib``): thin commands over the library.

    cenet train --dataset drive --model cenet --profile quick
    cenet train --dataset /path/to/my_folder --profile quick epochs=30 lr=1e-3
    cenet evaluate runs/drive-cenet-quick-scratch-seed0
    cenet predict runs/drive-cenet-quick-scratch-seed0/model.pt my_images/ --out predictions --overlay
    cenet export runs/drive-cenet-quick-scratch-seed0 --format onnx --out cenet.onnx  # or pt2, folder
    cenet section vessels ablation --profile paper --device cuda --data-root data   # tables without Jupyter
    cenet section vessels ablation --profile paper --seeds 3 --jobs 6 --gpus 0,1      # runs side by side
    cenet run-all --data-root ../shared/data                                         # what ./run_all.sh runs
    cenet claims results/quick                                                       # the paper's claims, checked
    cenet summary results/quick                                                      # the results index
    cenet archive results --out results.tar.gz                                       # results without weights
    cenet data status --data-root ../shared/data                                     # datasets (python -m cenet_lib.data)

Each command is a function of the parsed arguments (``set_defaults(func=...)``) returning the exit
status; messages come from the library through :mod:`logging` (:func:`~cenet_lib.messages.show_messages`).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from .config import PROFILES, RECIPES, RunConfig
from .data import READERS, DatasetError
from .data.commands import add_commands as add_data_commands
from .hardware import resolve_hardware
from .interrupts import TrainingInterrupted
from .messages import show_messages
from .models import EncoderWeightsError, list_models
from .predict import predict
from .reporting.archive import ArchiveTooLarge, write_archive
from .reporting.claims import write_ledger
from .reporting.figures import loss_curves
from .reporting.orchestrate import RunAllOptions, run_all
from .reporting.schedule import train_sections
from .reporting.section import run_section
from .reporting.sections import SECTIONS
from .reporting.summary import write_summary
from .runs import EXPORT_FORMATS, export_run, run_evaluation, training_config
from .training import TrainingDiverged, train


def _overrides(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"Settings are key=value pairs; got {pair!r}.")
        key, value = pair.split("=", 1)
        settings[key.strip()] = value.strip()
    return settings


def _print_summary(result: dict) -> None:
    label = " (SYNTHETIC DATA)" if result["provenance"]["synthetic"] else ""
    print(f"Scores on {result['provenance']['dataset']}/{result['provenance']['split']}{label}, mean ± std over images:")
    for name, value in result["summary"].items():
        print(f"  {name:<24} {value['mean']:.4f} ± {value['std']:.4f}")
    for name, value in result.get("human_observer", {}).items():
        print(f"  human observer {name:<9} {value['mean']:.4f}")
    if result.get("degenerate"):
        print(f"DEGENERATE: the thresholded predictions are {result['degenerate']} on every image (sensitivity or "
              "specificity 0 everywhere); the claims ledger does not judge claims on such a run.")


def train_command(args: argparse.Namespace) -> int:
    overrides = {"dataset": args.dataset, **({"model": args.model} if args.model else {}), **_overrides(args.settings)}
    overrides.update({key: value for key, value in (("device", args.device), ("data_root", args.data_root)) if value})
    config, run_dir = training_config(overrides, args.run_dir, args.resume, args.force, args.config, args.profile, args.recipe)
    started = time.perf_counter()
    train(config, run_dir, resume=args.resume)
    loss_curves({config.model: pd.read_csv(run_dir / "log.csv")}, run_dir / "loss_curve.png", f"{config.model} on {config.dataset}")
    print(f"Trained in {time.perf_counter() - started:.0f} s; run directory {run_dir}")
    if not args.no_evaluate:
        _print_summary(run_evaluation(run_dir))
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    _print_summary(run_evaluation(args.run_dir, args.split, False if args.no_tta else None, args.data_root, args.device,
                                  args.dataset))
    return 0


def section_command(args: argparse.Namespace) -> int:
    """Tables, figures and the results index of paper sections, as the notebooks write them. With
    ``--jobs N`` (or ``--gpus``) the runs are trained side by side first, and a section with a
    failed run gets no table."""
    written, seeds, names, force = [], tuple(range(args.seeds)), list(dict.fromkeys(args.sections)), args.force
    gpus = [gpu for gpu in args.gpus.split(",") if gpu]
    if args.jobs > 1 or gpus:
        failed = train_sections(dict.fromkeys(names, args.profile), max(args.jobs, len(gpus)), gpus, force, seeds,
                                data_root=args.data_root, device=args.device, out_root=args.out,
                                encoder_weights=args.encoder_weights)
        names, force = [name for name in names if name not in failed], False  # the tables reuse the runs just trained
    for name in names:
        result = run_section(name, profile=args.profile, data_root=args.data_root, device=args.device,
                             seeds=seeds, out_root=args.out, encoder_weights=args.encoder_weights, force=force)
        data = "synthetic stand-in" if result.synthetic else "real data"
        print(f"{name}: Table {SECTIONS[name].table} on {data} in {result.seconds:.0f} s: {result.table_files.markdown}")
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
    return 0


def archive_command(args: argparse.Namespace) -> int:
    print(write_archive(args.results, args.out, args.max_mib))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cenet", description="Train, evaluate and apply CE-Net and its baselines.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run_commands(commands)
    _add_section_commands(commands)
    _add_results_commands(commands)
    add_data_commands(commands)
    return parser


def _add_run_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet train``, ``evaluate``, ``predict`` and ``export``: one run, and the model taken elsewhere."""
    p = commands.add_parser("train", help="train a model on a dataset or a folder of images, then evaluate it")
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(READERS)}, or a folder with images/ and masks/")
    p.add_argument("--model", default=None, help=f"one of {', '.join(list_models())} (default cenet; --resume: the run's own)")
    p.add_argument("--profile", default=None, choices=list(PROFILES), help="quick (default); --resume takes the run's own")
    p.add_argument("--recipe", default=None, choices=list(RECIPES), help="paper (default), authors or scratch (cenet_lib/config.py)")
    p.add_argument("--config", type=Path, default=None, help="a YAML file of settings")
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --run-dir from its checkpoint, with the settings it was started with")
    p.add_argument("--force", action="store_true", help="start over in a run directory that holds an earlier run")
    p.add_argument("--device", default=None, help="auto (default: the GPU where there is one), cpu, cuda or cuda:N")
    p.add_argument("--data-root", default=None, help="where the datasets are (default: $CENET_DATA_ROOT or data/)")
    p.add_argument("--no-evaluate", action="store_true", help="skip the evaluation on the test split")
    p.add_argument("settings", nargs="*", metavar="key=value", help="overrides, e.g. epochs=30 lr=1e-3 device=cuda")
    p.set_defaults(func=train_command)

    p = commands.add_parser("evaluate", help="score a trained run on a split (writes CSVs and metrics JSON into it)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--split", default="test")
    p.add_argument("--no-tta", action="store_true", help="written beside the default scores, as metrics_<split>_no-tta*")
    p.add_argument("--data-root", default=None)
    p.add_argument("--dataset", default=None, help="the folder of images the run was trained on, where it has moved to")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: as the run was trained)")
    p.set_defaults(func=evaluate_command)

    p = commands.add_parser("predict", help="write probability maps and masks for images or folders")
    p.add_argument("model", type=Path, help="a run's folder or its model.pt, or a saved-model folder (cenet export --format folder)")
    p.add_argument("inputs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--overlay", action="store_true", help="also write the mask over the image")
    p.add_argument("--no-tta", action="store_true")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--keep-going", action="store_true", help="skip inputs that cannot be used and list them at the end")
    p.set_defaults(func=lambda a: predict(a.model, a.inputs, a.out, a.overlay, not a.no_tta, a.device, a.keep_going))

    p = commands.add_parser("export", help="export a trained run: ONNX, a torch.export program, or a saved-model folder")
    p.add_argument("run_dir", type=Path, help="a finished run's folder (it holds model.pt)")
    p.add_argument("--format", required=True, help=f"one of {', '.join(EXPORT_FORMATS)}")
    p.add_argument("--out", type=Path, required=True, help="the .onnx or .pt2 file, or the folder to write")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="pt2 only: the program's fixed height and width (ONNX takes any size)")
    p.set_defaults(func=lambda a: print(export_run(a.run_dir, a.format, a.out, a.input_size)) or 0)


def _add_results_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet claims``, ``summary`` and ``archive``: what a results folder says, and taking it elsewhere."""
    p = commands.add_parser("claims", help="check the paper's claims on a results folder: verdicts, effects, intervals")
    p.add_argument("results", type=Path, help="a results folder, e.g. results/quick")
    p.set_defaults(func=claims_command)

    p = commands.add_parser("summary", help="write a results folder's index (README.md) and one-page summary.md")
    p.add_argument("results", type=Path, help="a results folder, e.g. results/quick")
    p.set_defaults(func=summary_command)

    p = commands.add_parser("archive", help="pack a results folder, without weights, into one .tar.gz")
    p.add_argument("results", type=Path, help="the results folder, e.g. results")
    p.add_argument("--out", type=Path, required=True, help="the .tar.gz to write")
    p.add_argument("--max-mib", type=float, default=16.0, help="fail past this size (default 16)")
    p.set_defaults(func=archive_command)


def _add_section_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet section`` (tables without Jupyter) and ``cenet run-all`` (every notebook, what ``./run_all.sh`` runs)."""
    p = commands.add_parser("section", help="train the rows of paper sections and write their tables, as the notebooks do")
    p.add_argument("sections", nargs="+", choices=list(SECTIONS))
    p.add_argument("--profile", default="quick", choices=list(PROFILES))
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per trained row")
    p.add_argument("--jobs", type=int, default=1, help="train N runs (row x seed) side by side, then write the tables")
    p.add_argument("--force", action="store_true", help="retrain rows already finished")
    p.set_defaults(func=section_command)
    _add_where(p, Path("results"))

    p = commands.add_parser("run-all", help="every section's notebook through papermill: Tables I-VI and the figures",
                            description="Regenerate Tables I-VI and the figures of the paper: each section's notebook "
                            "through papermill, planned first, summarised at the end.")
    p.add_argument("--profile", default="auto", choices=["auto", *PROFILES],
                   help="auto (default): quick on the real data where found, else smoke on a synthetic stand-in")
    p.add_argument("--only", nargs="*", default=None, metavar="SECTION", help=f"some of: {' '.join(SECTIONS)} (default: all)")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per trained row (default 1)")
    p.add_argument("--jobs", type=int, default=None,
                   help="train N runs (row x seed) side by side first, then run the notebooks, which reuse them")
    p.add_argument("--force", action="store_true", help="redo sections (and rows) already finished")
    p.add_argument("--archive", type=Path, default=None, metavar="FILE.tar.gz", help="then pack the results, without weights")
    p.add_argument("--archive-max-mib", type=float, default=16.0, help="fail when the archive would pass M MiB (default 16)")
    p.set_defaults(func=run_all_command)
    _add_where(p, Path("results"))


def _add_where(p: argparse.ArgumentParser, out: Path) -> None:
    p.add_argument("--data-root", default=None, help="where the datasets are (default: $CENET_DATA_ROOT or data/)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--encoder-weights", default="random", help="random (scratch is an older name), imagenet or a ResNet-34 state-dict file")
    p.add_argument("--gpus", default="", help="comma-separated GPU ids for the --jobs workers, taken in turn (several per GPU allowed)")
    p.add_argument("--out", type=Path, default=out,
                   help="outputs go to OUT/<profile>/ (OUT/<profile>-synthetic/ on a synthetic stand-in)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    show_messages()
    try:
        return args.func(args)
    except (DatasetError, EncoderWeightsError, TrainingDiverged, ValueError, FileNotFoundError, ArchiveTooLarge) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if args.command == "run-all" else 1
    except torch.cuda.OutOfMemoryError:
        print("error: the GPU ran out of memory; lower the batch size (e.g. batch_size=4) or the input size.", file=sys.stderr)
        return 1
    except TrainingInterrupted as stop:
        dataset = shlex.quote(str(getattr(args, "dataset", "")))
        print(f"interrupted: {stop}; resume with: cenet train --dataset {dataset} --run-dir {shlex.quote(str(stop.run_dir))} "
              "--resume", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted before training began or while scoring: nothing new was saved.", file=sys.stderr)
        return 130
