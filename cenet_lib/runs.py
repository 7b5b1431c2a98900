"""A run directory: where a trained model lives, its evaluation written beside it, and its exports."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .checkpoint import load_checkpoint, load_trained_model
from .config import RunConfig, config_from_checkpoint, load_config, read_settings_file
from .data import READERS
from .data.base import ReaderSubset
from .data.policy import InputPolicy
from .data.run_readers import make_reader
from .data.synthetic import SYNTHESIZERS
from .evaluation import evaluate
from .metrics import summarize
from .metrics.degenerate import one_class
from .models import ResNet34Encoder, save_pretrained
from .models.encoder import is_random_init
from .models.export import ExportError, export_onnx, export_program
from .models.pretrained import NORMALIZATION
from .provenance import provenance
from .resolved import resolve_run
from .run_dir import hold_folder


def default_run_dir(config: RunConfig) -> Path:
    """``runs/<dataset>[-synthetic]-<model>-<profile>-<recipe>-seed<seed>`` under the current folder."""
    dataset = Path(config.dataset).name if Path(config.dataset).is_dir() else config.dataset
    tag = "-synthetic" if config.synthetic else ""
    return Path("runs") / f"{dataset}{tag}-{config.model}-{config.profile}-{config.recipe}-seed{config.seed}"


def evaluation_files(split: str, tta_changed: bool, tta: bool, data_root: str | None) -> str:
    """The stem of an evaluation's files: ``metrics_<split>`` for the run's own settings, with a tag
    for other ones (``metrics_test_no-tta``, ``metrics_test_data-<folder>``), so that an evaluation
    with other settings never overwrites another."""
    tags = (["tta" if tta else "no-tta"] if tta_changed else []) + (
        [f"data-{Path(data_root).name}"] if data_root else []
    )
    return "_".join([f"metrics_{split}", *(["-".join(tags)] if tags else [])])


def run_evaluation(
    run_dir: Path,
    split: str = "test",
    tta: bool | None = None,
    data_root: str | None = None,
    device: str | None = None,
    dataset: str | None = None,
) -> dict:
    """Evaluate ``run_dir/model.pt`` on ``split``; writes per-image and summary CSVs and a JSON of
    the summary and its provenance, named by :func:`evaluation_files`, and on the test split the
    dataset's own extra scores (its task's ``extras``: DRIVE's second observer). ``data_root`` and
    ``dataset`` (a folder of images) say where the run's data is now, when it has moved."""
    run_dir = Path(run_dir)
    with hold_folder(run_dir, "the run's folder"):  # one process scores a run at a time
        return _evaluate_held(run_dir, split, tta, data_root, device, dataset)


def _evaluate_held(run_dir: Path, split: str, tta: bool | None, data_root: str | None, device: str | None,
                   dataset: str | None) -> dict:
    """:func:`run_evaluation`'s work, in a folder this process holds."""
    model, checkpoint = load_trained_model(run_dir / "model.pt")
    config = config_from_checkpoint(checkpoint)
    if dataset is not None and not Path(dataset).expanduser().is_dir():
        raise FileNotFoundError(
            f"--dataset {dataset} does not exist; pass the folder the run's images have moved to."
        )
    moved = {"data_root": data_root, "dataset": dataset, "device": device}
    moved = {key: value for key, value in moved.items() if value is not None}
    run = resolve_run(dataclasses.replace(config, **moved))
    use_tta = run.config.tta if tta is None else tta
    stem = evaluation_files(split, use_tta != run.config.tta, use_tta, data_root)
    run.hardware.place(model)
    reader = make_reader(run.config, split)
    if run.config.max_test_images:
        reader = ReaderSubset(reader, range(min(run.config.max_test_images, len(reader))), split)
    started = time.perf_counter()
    per_image, _ = evaluate(
        model, reader, run.policy, use_tta, run.config.threshold, run.hardware.device, run.hardware.amp
    )
    seconds = time.perf_counter() - started
    per_image.to_csv(run_dir / f"{stem}_per_image.csv", index=False)
    summary = summarize(per_image)
    summary.to_csv(run_dir / f"{stem}_summary.csv")
    result = {
        "summary": _means(summary),
        "degenerate": one_class(per_image),  # "all background" or "all foreground" when one class everywhere
        "provenance": provenance(
            run.hardware.device,
            precision=run.hardware.precision,
            model=config.model,
            dataset=run.config.dataset,
            split=split,
            fold=config.fold,
            synthetic=reader.synthetic,
            profile=config.profile,
            recipe=config.recipe,
            seed=config.seed,
            encoder_weights=checkpoint.get("encoder_weights"),
            tta=use_tta,
            **run.policy.describe(),
            evaluation_seconds=round(seconds, 1),
        ),
    }
    for name, frame in (reader.task.extras(reader) if split == "test" else {}).items():
        frame.to_csv(run_dir / f"{name}_per_image.csv", index=False)
        result[name] = _means(summarize(frame))
    (run_dir / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    result["files"] = stem
    return result


def _means(summary) -> dict[str, dict[str, float]]:
    return {name: {"mean": row["mean"], "std": row["std"], "n": int(row["n"])} for name, row in summary.iterrows()}


EXPORT_FORMATS = ("onnx", "pt2", "folder")


def model_card(run_dir: Path, checkpoint: dict, config: RunConfig, resnet_encoder: bool) -> str:
    """A saved-model folder's README.md, from the run: data, profile, recipe, seed, test scores
    (where the run was evaluated) and provenance, and how the encoder started (``resnet_encoder``:
    the model has CE-Net's ResNet-34 encoder, which the paper starts from ImageNet)."""
    scored = run_dir / "metrics_test.json"
    result = json.loads(scored.read_text()) if scored.is_file() else {}
    synthetic = checkpoint.get("synthetic", config.synthetic)
    weights = str(checkpoint.get("encoder_weights", ""))
    lines = [
        f"# {config.model} trained on "
        f"{Path(config.dataset).name}{' (SYNTHETIC stand-in: the scores mean nothing)' if synthetic else ''}",
        "",
        (
            "CE-Net (Gu et al., IEEE TMI 2019) or one of its baselines, trained with cenet_lib. Load with "
            "`cenet_lib.models.from_pretrained(folder)` or apply with `cenet predict FOLDER images/ --out masks/`."
        ),
        "",
        (
            f"- data: {config.dataset}{', synthetic stand-in' if synthetic else ''}; profile {config.profile}, "
            f"recipe {config.recipe}, seed {config.seed}, {_trained(checkpoint, config)}"
        ),
        f"- encoder: {weights}",
    ]
    if resnet_encoder and is_random_init(weights):
        lines.append("- the ResNet-34 encoder was trained from random weights, not from ImageNet as in the paper")
    lines.append(f"- stopped: {checkpoint.get('stop_reason', 'unknown')}")
    if result:
        lines += ["", "## Test scores (mean ± std over images)", "", "| score | mean | std |", "|---|---|---|"]
        lines += [f"| {name} | {row['mean']:.4f} | {row['std']:.4f} |" for name, row in result["summary"].items()]
        lines += ["", "## Provenance", "", *[f"- {key}: {value}" for key, value in result["provenance"].items()]]
    else:
        lines += ["", "Not evaluated: `cenet evaluate RUN` scores it, and a new export includes the scores."]
    return "\n".join(lines) + "\n"


def _trained(checkpoint: dict, config: RunConfig) -> str:
    """What the run trained, from its history: "170 steps (10 epochs)"; ``steps`` are rounded up
    to whole epochs, so the steps asked for are not always the steps run."""
    history = checkpoint.get("history") or []
    if not history:
        return f"{config.steps} steps asked for" if config.steps else f"{config.epochs} epochs asked for"
    return f"{history[-1]['step']} steps ({history[-1]['epoch']} epochs)"


def onnx_metadata(config: RunConfig, class_names: list[str] | None) -> dict[str, str]:
    """What an ONNX file needs to be applied as ``cenet predict`` applies the run (its
    ``metadata_props``): the input policy, the normalisation, the class names and the threshold."""
    policy = InputPolicy.from_config(config)
    if policy.kind == "resize":
        rule = (f"resize the image to {policy.size[0]}x{policy.size[1]} (height x width, bilinear), normalise, "
                "run, resize the probabilities back to the image's size (bilinear)")
    else:
        rule = f"rescale the image by {policy.scale:g} (1 = native size), normalise, run on the whole image"
    return {
        "cenet.model": config.model,
        "cenet.preprocessing": rule,
        "cenet.input_policy": json.dumps(policy.describe()),
        "cenet.normalization": json.dumps(NORMALIZATION),
        "cenet.class_names": json.dumps(class_names),
        "cenet.threshold": str(config.threshold),
        "cenet.output": "logits (B, K, H, W): sigmoid for one class, softmax over K for several",
    }


def export_run(run_dir: str | Path, fmt: str, out: str | Path, input_size: tuple[int, int] | None = None) -> str:
    """Export the finished run ``run_dir`` as ``fmt`` (:data:`EXPORT_FORMATS`) to ``out``; returns a
    line saying what was written and, for ONNX and ``.pt2``, the checked differences."""
    run_dir, out = Path(run_dir), Path(out)
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"Unknown format {fmt!r} for {out}: choose one of {', '.join(EXPORT_FORMATS)}.")
    if not run_dir.exists():
        raise FileNotFoundError(
            f"Run not found: {run_dir}; pass a run folder written by `cenet train` (it holds model.pt)."
        )
    model, checkpoint = load_trained_model(run_dir)
    config = config_from_checkpoint(checkpoint)
    declared = getattr(READERS.get(config.dataset), "class_names", None)
    names = list(declared) if declared else None
    if fmt == "folder":
        save_pretrained(
            model,
            out,
            InputPolicy.from_config(config),
            config.threshold,
            names,
            model_card(run_dir, checkpoint, config, isinstance(getattr(model, "encoder", None), ResNet34Encoder)),
        )
        return f"Wrote {out}: config.json, model.safetensors and README.md (the model card)"
    if fmt == "onnx":
        return export_onnx(model, out, metadata=onnx_metadata(config, names)).line()
    if input_size is None:
        raise ExportError(f"{out}: a .pt2 program has a fixed height and width (see cenet_lib/models/export.py); "
                          f"pass --input-size H W, e.g. --input-size {config.input_size[0]} {config.input_size[1]}.")
    return export_program(model, out, tuple(input_size)).line()


#: Settings a resumed run may take from the command line: where it runs, not what it trains.
RESUME_MAY_CHANGE = ("device", "data_root", "num_workers", "cpu_threads")


def resumed_config(checkpoint_path: Path, overrides: dict[str, str], yaml_file: Path | None = None,
                   profile: str | None = None, recipe: str | None = None) -> RunConfig:
    """The configuration a run was started with, as its checkpoint saved it, for ``--resume``.

    Settings given again on the command line must equal the saved ones, except
    :data:`RESUME_MAY_CHANGE`; any other difference is refused with one line listing each
    (saved value, given value), so that a resumed run never continues with other settings."""
    saved = config_from_checkpoint(load_checkpoint(checkpoint_path))
    given = {key: value for key, value in overrides.items() if key not in RESUME_MAY_CHANGE}
    if yaml_file:
        given.update(read_settings_file(yaml_file))
    wanted = load_config(saved.profile, saved.recipe, overrides={**saved.to_dict(), **given})
    differences = [f"{key}: saved {getattr(saved, key)!r}, given {getattr(wanted, key)!r}"
                   for key in saved.to_dict() if getattr(saved, key) != getattr(wanted, key)]
    differences += [
        f"{key}: saved {getattr(saved, key)!r}, given {value!r}"
        for key, value in (("profile", profile), ("recipe", recipe))
        if value and value != getattr(saved, key)
    ]
    if differences:
        raise ValueError(
            f"--resume continues {checkpoint_path.parent} with its own settings; these differ: "
            f"{'; '.join(differences)}. Leave them out, or start a new run (--force or another --run-dir)."
        )
    changed = {key: value for key, value in overrides.items() if key in RESUME_MAY_CHANGE}
    return load_config(saved.profile, saved.recipe, overrides={**saved.to_dict(), **changed})




def training_config(
    overrides: dict[str, str],
    run_dir: Path | None,
    resume: bool,
    force: bool,
    yaml_file: Path | None = None,
    profile: str | None = None,
    recipe: str | None = None,
) -> tuple[RunConfig, Path]:
    """The configuration and folder of a ``cenet train``: a new run (``profile`` defaults to
    ``quick``), or with ``resume`` the run in ``run_dir`` with its own settings. A folder that holds
    an earlier run is refused unless ``resume`` or ``force`` says what to do with it."""
    config = load_config(profile or "quick", recipe, yaml_file, overrides)
    if config.synthetic and config.dataset not in SYNTHESIZERS:  # a folder of images is always real data
        config = dataclasses.replace(config, synthetic=False)
    run_dir = Path(run_dir or default_run_dir(config))
    earlier = [name for name in ("checkpoint.pt", "model.pt") if (run_dir / name).is_file()]
    if resume and not earlier:
        raise ValueError(
            f"Nothing to resume in {run_dir}: it holds no checkpoint.pt or model.pt. Leave out --resume to start a "
            "new run."
        )
    if earlier and not (resume or force):
        raise ValueError(f"{run_dir} holds an earlier run ({', '.join(earlier)}): pass --resume to continue it, "
                         "--force to start over, or another --run-dir.")
    if resume:
        config = resumed_config(run_dir / earlier[0], overrides, yaml_file, profile, recipe)
    return config, run_dir
