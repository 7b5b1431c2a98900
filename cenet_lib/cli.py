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
    cenet data status --data-root ../shared/data                                     # also python -m cenet_lib.data

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

from .config import PROFILES, RECIPES
from .data import READERS, DatasetError
from .data.commands import add_commands as add_data_commands
from .inferers import DEFAULT_BUDGET_GB
from .interrupts import TrainingInterrupted
from .messages import show_messages
from .models import EncoderWeightsError, list_models
from .predict import predict
from .reporting.archive import ArchiveTooLarge
from .reporting.commands import add_commands as add_reporting_commands
from .reporting.figures import loss_curves
from .run_dir import OutputFolderError
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
    print(
        f"Scores on {result['provenance']['dataset']}/{result['provenance']['split']}{label}, mean ± std over images:"
    )
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
    config, run_dir = training_config(
        overrides, args.run_dir, args.resume, args.force, args.config, args.profile, args.recipe
    )
    started = time.perf_counter()
    train(config, run_dir, resume=args.resume)
    loss_curves(
        {config.model: pd.read_csv(run_dir / "log.csv")},
        run_dir / "loss_curve.png",
        f"{config.model} on {config.dataset}",
    )
    print(f"Trained in {time.perf_counter() - started:.0f} s; run directory {run_dir}")
    if not args.no_evaluate:
        _print_summary(run_evaluation(run_dir))
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    _print_summary(run_evaluation(args.run_dir, args.split, False if args.no_tta else None, args.data_root, args.device,
                                  args.dataset))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cenet", description="Train, evaluate and apply CE-Net and its baselines.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_command(commands)
    _add_model_commands(commands)
    add_reporting_commands(commands)
    add_data_commands(commands)
    return parser


def _add_train_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("train", help="train a model on a dataset or a folder of images, then evaluate it")
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(READERS)}, or a folder with images/ and masks/")
    p.add_argument(
        "--model", default=None, help=f"one of {', '.join(list_models())} (default cenet; --resume: the run's own)"
    )
    p.add_argument(
        "--profile", default=None, choices=list(PROFILES), help="quick (default); --resume takes the run's own"
    )
    p.add_argument(
        "--recipe",
        default=None,
        choices=list(RECIPES),
        help="paper (default), authors or scratch (cenet_lib/config.py)",
    )
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


def _add_model_commands(commands: argparse._SubParsersAction) -> None:
    """``cenet evaluate``, ``predict`` and ``export``: a trained run scored, applied, taken elsewhere."""

    p = commands.add_parser("evaluate", help="score a trained run on a split (writes CSVs and metrics JSON into it)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--split", default="test")
    p.add_argument(
        "--no-tta", action="store_true", help="written beside the default scores, as metrics_<split>_no-tta*"
    )
    p.add_argument("--data-root", default=None)
    p.add_argument("--dataset", default=None, help="the folder of images the run was trained on, where it has moved to")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: as the run was trained)")
    p.set_defaults(func=evaluate_command)

    p = commands.add_parser("predict", help="write probability maps and masks for images or folders")
    p.add_argument(
        "model",
        type=Path,
        help="a run's folder or its model.pt, or a saved-model folder (cenet export --format folder)",
    )
    p.add_argument("inputs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--overlay", action="store_true", help="also write the mask over the image")
    p.add_argument("--no-tta", action="store_true")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--keep-going", action="store_true", help="skip inputs that cannot be used and list them at the end")
    p.add_argument("--tile", default="auto", metavar="SIZE",
                   help="auto (default: tiles where a whole image would pass --memory-gb), 0 (whole images), or a side")
    p.add_argument("--memory-gb", type=float, default=DEFAULT_BUDGET_GB,
                   help=f"the activation memory --tile auto keeps to (default {DEFAULT_BUDGET_GB:g})")
    p.add_argument("--probabilities", action="store_true",
                   help="also write each class's probabilities at full precision (NAME_probabilities.tif, float32)")
    p.add_argument("--threshold", type=float, default=None, help="the binary cut-off (default: the model's own)")
    p.set_defaults(func=lambda a: predict(a.model, a.inputs, a.out, a.overlay, not a.no_tta, a.device, a.keep_going,
                                          a.tile, a.memory_gb, a.probabilities, a.threshold))

    p = commands.add_parser(
        "export", help="export a trained run: ONNX, a torch.export program, or a saved-model folder"
    )
    p.add_argument("run_dir", type=Path, help="a finished run's folder (it holds model.pt)")
    p.add_argument("--format", required=True, help=f"one of {', '.join(EXPORT_FORMATS)}")
    p.add_argument("--out", type=Path, required=True, help="the .onnx or .pt2 file, or the folder to write")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="pt2 only: the program's fixed height and width (ONNX takes any size)")
    p.set_defaults(func=lambda a: print(export_run(a.run_dir, a.format, a.out, a.input_size)) or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    show_messages()
    try:
        return args.func(args)
    except (
        DatasetError,
        EncoderWeightsError,
        TrainingDiverged,
        ValueError,
        FileNotFoundError,
        ArchiveTooLarge,
        OutputFolderError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if args.command == "run-all" else 1
    except torch.cuda.OutOfMemoryError:
        print(
            "error: the GPU ran out of memory; lower the batch size (e.g. batch_size=4) or the input size.",
            file=sys.stderr,
        )
        return 1
    except TrainingInterrupted as stop:
        dataset = shlex.quote(str(getattr(args, "dataset", "")))
        print(
            f"interrupted: {stop}; resume with: cenet train --dataset {dataset} --run-dir "
            f"{shlex.quote(str(stop.run_dir))} "
            "--resume",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print("interrupted before training began or while scoring: nothing new was saved.", file=sys.stderr)
        return 130
