"""Command line: ``python -m cenet_lib`` or ``cenet``, with ``train``, ``evaluate``, ``predict``, ``export``, ``section`` and ``claims``.

    cenet train --dataset drive --model cenet --profile quick
    cenet train --dataset /path/to/my_folder --profile quick epochs=30 lr=1e-3
    cenet evaluate runs/drive-cenet-quick-scratch-seed0
    cenet predict runs/drive-cenet-quick-scratch-seed0/model.pt my_images/ --out predictions --overlay
    cenet section vessels ablation --profile paper --device cuda --data-root data   # tables without Jupyter
    cenet section vessels ablation --profile paper --seeds 3 --jobs 6 --gpus 0,1      # runs side by side
    cenet claims results/quick                                                       # the paper's claims, checked
    cenet export runs/drive-cenet-quick-scratch-seed0 --format onnx --out cenet.onnx  # or pt2, folder
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from .checkpoint import load_checkpoint, load_trained_model
from .config import PROFILES, RECIPES, RunConfig, config_from_checkpoint, load_config
from .data import READERS, DatasetError
from .data.io import IMAGE_SUFFIXES, read_array, read_image, write_image
from .data.policy import InputPolicy
from .data.synthetic import SYNTHESIZERS
from .evaluation import predict_sample
from .hardware import resolve_hardware
from .interrupts import TrainingInterrupted
from .models import EncoderWeightsError, SavedModelError, from_pretrained, list_models
from .reporting.claims import write_ledger
from .reporting.experiments import run_section
from .reporting.schedule import train_sections
from .reporting.sections import SECTIONS
from .reporting.summary import write_summary
from .runs import EXPORT_FORMATS, default_run_dir, export_run, run_evaluation
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


def load_predictor(path: Path) -> tuple[torch.nn.Module, InputPolicy, float, int]:
    """The model, input policy, threshold and input channels of a run (its folder or ``model.pt``)
    or of a saved-model folder (``config.json`` and ``model.safetensors``)."""
    if path.is_dir() and (path / "config.json").is_file() and not (path / "model.pt").is_file():
        model, saved = from_pretrained(path)
        return model, saved.policy(), saved.threshold, saved.in_channels
    if path.is_dir() and not (path / "model.pt").is_file():
        raise SavedModelError(f"{path} holds neither model.pt (a finished run) nor config.json (a saved-model folder): "
                              "pass a run folder, its model.pt, or a folder written by `cenet export RUN --format folder`.")
    model, checkpoint = load_trained_model(path)
    config = config_from_checkpoint(checkpoint)
    return model, InputPolicy.from_config(config), config.threshold, checkpoint["in_channels"]


def _readable_image(path: Path, channels: int, model_path: Path) -> np.ndarray:
    """``path`` as the model's input image, or a :class:`DatasetError` naming the file and the fix."""
    found = read_array(path)
    found_channels = 1 if found.ndim == 2 else found.shape[2]
    if found_channels != channels and not (channels == 3 and found_channels == 4):
        raise DatasetError(
            f"{path} has {found_channels} channel(s), but the model in {model_path} was trained on {channels}-channel "
            f"images: convert the image to {'RGB' if channels == 3 else 'greyscale'} first, or use a model trained on such images."
        )
    return read_image(path, channels)


def predict(model_path: Path, inputs: list[Path], out: Path, overlay: bool, tta: bool, device: str = "auto",
            keep_going: bool = False) -> int:
    """Write each input's probability map and mask (a label map, and its palette PNG, for several
    classes). Every input is read and checked before anything is written; with ``keep_going`` the
    bad ones are skipped and listed at the end instead."""
    model, policy, threshold, channels = load_predictor(model_path)
    hardware = resolve_hardware(RunConfig(device=device))
    hardware.place(model)
    files = []
    for item in inputs:
        files += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if item.is_dir() else [item]
    if not files:
        raise DatasetError(f"No images found in {', '.join(map(str, inputs))} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}).")
    bad = {}
    for path in files:
        try:
            _readable_image(path, channels, model_path)
        except DatasetError as error:
            bad[path] = str(error).splitlines()[0]
    if bad and not keep_going:
        listed = "; ".join(bad.values())
        raise DatasetError(f"{len(bad)} of {len(files)} inputs cannot be used, nothing was written: {listed} "
                           "(--keep-going predicts the others)")
    out.mkdir(parents=True, exist_ok=True)
    classes = 1
    for path in (p for p in files if p not in bad):
        image = _readable_image(path, channels, model_path)
        probs = predict_sample(model, image, policy, tta, hardware.device, hardware.amp)
        classes, palette = probs.shape[0], _palette(max(2, probs.shape[0]))
        if probs.shape[0] == 1:
            mask = (probs[0] >= threshold).astype(np.uint8)
            write_image(out / f"{path.stem}_prob.png", np.round(probs[0] * 255).astype(np.uint8))
            write_image(out / f"{path.stem}_mask.png", mask * 255)
        else:
            mask = probs.argmax(axis=0).astype(np.uint8)
            write_image(out / f"{path.stem}_labels.png", mask)
            coloured = Image.fromarray(mask, mode="P")
            coloured.putpalette([value for colour in palette[: probs.shape[0]] for value in colour])
            coloured.save(out / f"{path.stem}_labels_colour.png")
        if overlay:
            rgb = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
            colours = (np.array(palette)[mask]).astype(np.float32)
            blended = np.where(mask[..., None] > 0, 0.5 * rgb + 0.5 * colours, rgb).astype(np.uint8)
            write_image(out / f"{path.stem}_overlay.png", blended)
        print(f"{path} -> {out}")
    if classes > 1:
        print("Label colours in *_labels_colour.png: " + ", ".join(f"{k} = RGB{palette[k]}" for k in range(classes)))
    for path, problem in bad.items():
        print(f"skipped {path}: {problem}", file=sys.stderr)
    return 1 if bad else 0


def _palette(count: int) -> list[tuple[int, int, int]]:
    """Black for label 0 (background), then matplotlib's tab10 colours."""
    import matplotlib

    return [(0, 0, 0)] + [tuple(int(255 * c) for c in matplotlib.colormaps["tab10"](k % 10)[:3]) for k in range(count - 1)]


#: Settings a resumed run may take from the command line: where it runs, not what it trains.
RESUME_MAY_CHANGE = ("device", "data_root", "num_workers", "cpu_threads")


def resumed_config(checkpoint_path: Path, args: argparse.Namespace, overrides: dict[str, str]) -> RunConfig:
    """The configuration a run was started with, as its checkpoint saved it, for ``--resume``.

    Settings given again on the command line must equal the saved ones, except
    :data:`RESUME_MAY_CHANGE`; any other difference is refused with one line listing each
    (saved value, given value), so that a resumed run never continues with other settings."""
    saved = config_from_checkpoint(load_checkpoint(checkpoint_path))
    given = {key: value for key, value in overrides.items() if key not in RESUME_MAY_CHANGE}
    if args.config:
        given.update(yaml.safe_load(args.config.read_text()) or {})
    wanted = load_config(saved.profile, saved.recipe, overrides={**saved.to_dict(), **given})
    differences = [f"{key}: saved {getattr(saved, key)!r}, given {getattr(wanted, key)!r}"
                   for key in saved.to_dict() if getattr(saved, key) != getattr(wanted, key)]
    differences += [f"{key}: saved {getattr(saved, key)!r}, given {value!r}"
                    for key, value in (("profile", args.profile), ("recipe", args.recipe)) if value and value != getattr(saved, key)]
    if differences:
        raise ValueError(f"--resume continues {checkpoint_path.parent} with its own settings; these differ: "
                         f"{'; '.join(differences)}. Leave them out, or start a new run (--force or another --run-dir).")
    changed = {key: value for key, value in overrides.items() if key in RESUME_MAY_CHANGE}
    return load_config(saved.profile, saved.recipe, overrides={**saved.to_dict(), **changed})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cenet", description="Train, evaluate and apply CE-Net and its baselines.")
    commands = parser.add_subparsers(dest="command", required=True)

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

    p = commands.add_parser("evaluate", help="score a trained run on a split (writes CSVs and metrics JSON into it)")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--split", default="test")
    p.add_argument("--no-tta", action="store_true", help="written beside the default scores, as metrics_<split>_no-tta*")
    p.add_argument("--data-root", default=None)
    p.add_argument("--dataset", default=None, help="the folder of images the run was trained on, where it has moved to")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: as the run was trained)")

    p = commands.add_parser("predict", help="write probability maps and masks for images or folders")
    p.add_argument("model", type=Path, help="a run's folder or its model.pt, or a saved-model folder (cenet export --format folder)")
    p.add_argument("inputs", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--overlay", action="store_true", help="also write the mask over the image")
    p.add_argument("--no-tta", action="store_true")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--keep-going", action="store_true", help="skip inputs that cannot be used and list them at the end")

    p = commands.add_parser("export", help="export a trained run: ONNX, a torch.export program, or a saved-model folder")
    p.add_argument("run_dir", type=Path, help="a finished run's folder (it holds model.pt)")
    p.add_argument("--format", required=True, help=f"one of {', '.join(EXPORT_FORMATS)}")
    p.add_argument("--out", type=Path, required=True, help="the .onnx or .pt2 file, or the folder to write")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="pt2 only: the program's fixed height and width (ONNX takes any size)")

    p = commands.add_parser("claims", help="check the paper's claims on a results folder: verdicts, effects, intervals")
    p.add_argument("results", type=Path, help="a results folder, e.g. results/quick")

    p = commands.add_parser("section", help="train the rows of paper sections and write their tables, as the notebooks do")
    p.add_argument("sections", nargs="+", choices=list(SECTIONS))
    p.add_argument("--profile", default="quick", choices=list(PROFILES))
    p.add_argument("--data-root", default=None, help="where the datasets are (default: $CENET_DATA_ROOT or data/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per trained row")
    p.add_argument("--encoder-weights", default="random", help="random (scratch is an older name), imagenet or a ResNet-34 state-dict file")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help="outputs go to OUT/<profile>/ (OUT/<profile>-synthetic/ on a synthetic stand-in)")
    p.add_argument("--force", action="store_true", help="retrain rows already finished")
    p.add_argument("--jobs", type=int, default=1, help="train N runs (row x seed) side by side, then write the tables")
    p.add_argument("--gpus", default="", help="comma-separated GPU ids for the --jobs workers, taken in turn (several per GPU allowed)")
    return parser


def run_sections(args: argparse.Namespace) -> int:
    """What ``run_all.sh`` does for each section, minus papermill: tables, figures and the results index.
    With ``--jobs N`` (or ``--gpus``) the sections' runs are trained side by side first
    (:mod:`cenet_lib.reporting.schedule`), and a section with a failed run gets no table."""
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            if args.model is not None and args.model not in list_models():
                raise ValueError(f"Unknown model {args.model!r}. Registered models: {', '.join(list_models())}.")
            overrides = {"dataset": args.dataset, **({"model": args.model} if args.model else {}), **_overrides(args.settings)}
            if args.device:
                overrides["device"] = args.device
            if args.data_root:
                overrides["data_root"] = args.data_root
            config = load_config(args.profile or "quick", args.recipe, args.config, overrides)
            if config.synthetic and config.dataset not in SYNTHESIZERS:  # a folder of images is always real data
                config = dataclasses.replace(config, synthetic=False)
            run_dir = Path(args.run_dir or default_run_dir(config))
            earlier = [name for name in ("checkpoint.pt", "model.pt") if (run_dir / name).is_file()]
            if args.resume and not earlier:
                raise ValueError(f"Nothing to resume in {run_dir}: it holds no checkpoint.pt or model.pt. Leave out --resume to start a new run.")
            if earlier and not (args.resume or args.force):
                raise ValueError(f"{run_dir} holds an earlier run ({', '.join(earlier)}): pass --resume to continue it, "
                                 "--force to start over, or another --run-dir.")
            if args.resume:
                config = resumed_config(run_dir / earlier[0], args, overrides)
            started = time.perf_counter()
            train(config, run_dir, resume=args.resume)
            print(f"Trained in {time.perf_counter() - started:.0f} s; run directory {run_dir}")
            if not args.no_evaluate:
                _print_summary(run_evaluation(run_dir))
        elif args.command == "evaluate":
            _print_summary(run_evaluation(args.run_dir, args.split, False if args.no_tta else None, args.data_root, args.device,
                                          args.dataset))
        elif args.command == "export":
            print(export_run(args.run_dir, args.format, args.out, args.input_size))
        elif args.command == "section":
            return run_sections(args)
        elif args.command == "claims":
            if not (args.results / "tables").is_dir():
                raise FileNotFoundError(f"{args.results} holds no tables/ folder: pass a results folder such as results/quick.")
            csv_path, md_path = write_ledger(args.results)
            print(md_path.read_text())
            print(f"Written: {md_path}, {csv_path}")
        else:
            return predict(args.model, args.inputs, args.out, args.overlay, not args.no_tta, args.device, args.keep_going)
    except (DatasetError, EncoderWeightsError, TrainingDiverged, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except torch.cuda.OutOfMemoryError:
        print("error: the GPU ran out of memory; lower the batch size (e.g. batch_size=4) or the input size.", file=sys.stderr)
        return 1
    except TrainingInterrupted as stop:
        print(f"interrupted: {stop}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted before training began or while scoring: nothing new was saved.", file=sys.stderr)
        return 130
    return 0
