"""A run directory: where a trained model lives, and its evaluation written beside it."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .checkpoint import load_trained_model
from .config import RunConfig, config_from_checkpoint
from .data.base import ReaderSubset
from .data.policy import InputPolicy
from .evaluation import evaluate, human_observer
from .metrics import summarize
from .provenance import provenance
from .training import make_reader, resolve_hardware


def default_run_dir(config: RunConfig) -> Path:
    """``runs/<dataset>[-synthetic]-<model>-<profile>-<recipe>-seed<seed>`` under the current folder."""
    dataset = Path(config.dataset).name if Path(config.dataset).is_dir() else config.dataset
    tag = "-synthetic" if config.synthetic else ""
    return Path("runs") / f"{dataset}{tag}-{config.model}-{config.profile}-{config.recipe}-seed{config.seed}"


def evaluation_files(split: str, tta_changed: bool, tta: bool, data_root: str | None) -> str:
    """The stem of an evaluation's files: ``metrics_<split>`` for the run's own settings, with a tag
    for other ones (``metrics_test_no-tta``, ``metrics_test_data-<folder>``), so that an evaluation
    with other settings never overwrites another."""
    tags = (["tta" if tta else "no-tta"] if tta_changed else []) + ([f"data-{Path(data_root).name}"] if data_root else [])
    return "_".join([f"metrics_{split}", *(["-".join(tags)] if tags else [])])


def run_evaluation(
    run_dir: Path, split: str = "test", tta: bool | None = None, data_root: str | None = None, device: str | None = None
) -> dict:
    """Evaluate ``run_dir/model.pt`` on ``split``; writes per-image and summary CSVs and a JSON of
    the summary and its provenance, named by :func:`evaluation_files`."""
    run_dir = Path(run_dir)
    model, checkpoint = load_trained_model(run_dir / "model.pt")
    config = config_from_checkpoint(checkpoint)
    if data_root is not None:
        config.data_root = data_root
    if device is not None:
        config.device = device
    stem = evaluation_files(split, tta is not None and tta != config.tta, config.tta if tta is None else tta, data_root)
    hardware = resolve_hardware(config)
    hardware.place(model)
    reader = make_reader(config, split)
    if config.max_test_images:
        reader = ReaderSubset(reader, range(min(config.max_test_images, len(reader))), split)
    use_tta = config.tta if tta is None else tta
    started = time.perf_counter()
    policy = InputPolicy.from_config(config)
    per_image, _ = evaluate(model, reader, policy, use_tta, config.threshold, hardware.device, hardware.amp)
    seconds = time.perf_counter() - started
    per_image.to_csv(run_dir / f"{stem}_per_image.csv", index=False)
    summary = summarize(per_image)
    summary.to_csv(run_dir / f"{stem}_summary.csv")
    result = {
        "summary": {name: {"mean": row["mean"], "std": row["std"], "n": int(row["n"])} for name, row in summary.iterrows()},
        "provenance": provenance(
            hardware.device, precision="bf16 autocast" if hardware.amp else "fp32", model=config.model, dataset=config.dataset, split=split, fold=config.fold,
            synthetic=reader.synthetic, profile=config.profile, recipe=config.recipe, seed=config.seed,
            encoder_weights=checkpoint.get("encoder_weights"), tta=use_tta, **policy.describe(),
            evaluation_seconds=round(seconds, 1),
        ),
    }
    if reader.name == "drive" and split == "test":
        human = human_observer(reader)
        human.to_csv(run_dir / "human_observer_per_image.csv", index=False)
        result["human_observer"] = {name: {"mean": row["mean"], "std": row["std"]} for name, row in summarize(human).iterrows()}
    (run_dir / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    result["files"] = stem
    return result
