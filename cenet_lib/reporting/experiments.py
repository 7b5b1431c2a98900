"""Run one section of the paper: train its table's rows, evaluate them, write its table and figures.

This is what each notebook calls (``run_section("vessels", profile=...)``). Every trained row is a
run directory under ``<out_dir>/runs/<section>/``; a row whose ``model.pt`` exists is not trained
again (``force=True`` retrains) and is evaluated only if its test metrics are missing, and an
interrupted row resumes from its checkpoint.
The real dataset is used when it is found under the data root; otherwise (and always with the
``smoke`` profile) its synthetic stand-in, and the table says so.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..checkpoint import load_trained_model
from ..config import load_config
from ..data import DatasetError, build_reader
from ..evaluation import predict_sample
from ..provenance import provenance
from ..runs import run_evaluation
from ..training import make_reader, resolve_hardware, train
from .figures import loss_curves, sample_results
from .sections import SECTIONS, Section
from .tables import build_table, write_table

SAMPLE_IMAGES = 3


@dataclass
class SectionResult:
    table: pd.DataFrame  # the long table (see cenet_lib.reporting.tables)
    files: list[Path]
    synthetic: bool
    seconds: float


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def real_data_found(section: Section, data_root: str | None) -> bool:
    try:
        build_reader(section.dataset, "test", data_root)
    except (DatasetError, ValueError):
        return False
    return True


def run_section(
    name: str,
    profile: str = "smoke",
    data_root: str | None = None,
    device: str = "auto",
    seeds: tuple[int, ...] = (0,),
    out_dir: str | Path = "results",
    rows: list[str] | None = None,
    encoder_weights: str = "scratch",
    force: bool = False,
    settings: dict[str, Any] | None = None,
) -> SectionResult:
    """Train and evaluate the rows of section ``name`` (all, or the paper labels in ``rows``)."""
    started = time.perf_counter()
    section = SECTIONS[name]
    out_dir = Path(out_dir)
    synthetic = profile == "smoke" or not real_data_found(section, data_root)
    chosen = [row for row in section.rows if rows is None or row.method in rows]
    if not chosen:
        raise ValueError(f"No row of Table {section.table} is named {rows}; its rows are {[r.method for r in section.rows]}.")
    scores: dict[str, pd.DataFrame] = {}
    logs: dict[str, pd.DataFrame] = {}
    details: dict[str, Any] = {}
    steps_trained: dict[str, int] = {}
    for row in chosen:
        frames = []
        for seed in seeds:
            # U-Net has no pretrained encoder: the paper trains it from scratch whatever the other rows use
            weights = "scratch" if row.model == "unet" else encoder_weights
            overrides = {"dataset": section.dataset, "model": row.model, "loss": row.loss, "seed": seed, "device": device,
                         "data_root": data_root, "synthetic": synthetic, "encoder_weights": weights, **(settings or {})}
            config = load_config(profile, overrides=overrides)
            run_dir = out_dir / "runs" / name / f"{_slug(row.method)}-seed{seed}"
            metrics_file = run_dir / "metrics_test_per_image.csv"
            must_train = force or not (run_dir / "model.pt").is_file()
            if must_train:
                train(config, run_dir, resume=not force)
            if must_train or not metrics_file.is_file():
                run_evaluation(run_dir)
            frame = pd.read_csv(metrics_file)
            frame["seed"] = seed
            frames.append(frame)
            details = {"profile": config.profile, "recipe": config.recipe, "input_size": list(config.input_size),
                       "epochs_or_steps": config.steps or config.epochs, "tta": config.tta}
        scores[row.method] = pd.concat(frames, ignore_index=True)
        logs[row.method] = pd.read_csv(out_dir / "runs" / name / f"{_slug(row.method)}-seed{seeds[0]}" / "log.csv")
        # a step budget is rounded up to whole epochs, so the steps trained can exceed ``epochs_or_steps``
        if "step" in logs[row.method]:  # logs written before the column existed lack it
            steps_trained[row.method] = int(logs[row.method]["step"].iloc[-1])
    human_file = out_dir / "runs" / name / f"{_slug(chosen[-1].method)}-seed{seeds[0]}" / "human_observer_per_image.csv"
    if section.name == "vessels" and human_file.is_file():
        scores["Second observer"] = pd.read_csv(human_file)

    distinct_steps = set(steps_trained.values())
    reader = make_reader(load_config(profile, overrides={"dataset": section.dataset, "data_root": data_root, "synthetic": synthetic}), "test")
    dataset_name = f"synthetic {reader.name} stand-in" if synthetic else f"{reader.root.name} (real)"
    data_label = f"{dataset_name}, test split"
    table = build_table(section, scores, data_label, synthetic)
    hardware = resolve_hardware(load_config(profile, overrides={"device": device, **(settings or {})}))
    record = provenance(
        hardware.device, precision="bf16 autocast" if hardware.amp else "fp32",
        section=name, dataset=data_label, seeds=list(seeds), encoder_weights=encoder_weights,
        wall_seconds=round(time.perf_counter() - started, 1), **details,
        steps_trained=distinct_steps.pop() if len(distinct_steps) == 1 else steps_trained,
    )
    files = write_table(table, section, out_dir / "tables", record, synthetic)
    files.append(loss_curves(logs, out_dir / "figures" / f"loss_curves_{name}.png", f"Table {section.table}: training loss ({dataset_name}, training split)"))
    files.append(_samples(section, scores, out_dir, name, seeds[0], reader, device, profile))
    return SectionResult(table, files, synthetic, time.perf_counter() - started)


def _samples(section: Section, scores: dict, out_dir: Path, name: str, seed: int, reader, device: str, profile: str) -> Path:
    """Fig. 5-7 style: a few test images, each trained row's prediction, the ground truth."""
    samples = [reader[index] for index in range(min(SAMPLE_IMAGES, len(reader)))]
    predictions: dict[str, list] = {}
    for row in section.rows:
        run_dir = out_dir / "runs" / name / f"{_slug(row.method)}-seed{seed}"
        if row.method not in scores or not (run_dir / "model.pt").is_file():
            continue
        model, checkpoint = load_trained_model(run_dir / "model.pt")
        size = tuple(checkpoint["config"]["input_size"])
        maps = [predict_sample(model, s.image, size, tta=False) for s in samples]
        predictions[row.method] = [m.argmax(axis=0) if m.shape[0] > 1 else m[0] for m in maps]
    path = out_dir / "samples" / f"samples_{name}.png"
    return sample_results([s.image for s in samples], predictions, [s.mask for s in samples], path,
                          f"Table {section.table} sample results ({reader.root.name}{', synthetic' if reader.synthetic else ''})",
                          classes=reader.num_classes)
