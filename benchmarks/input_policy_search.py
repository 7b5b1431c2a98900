"""The quick budget, spent well: which training crop size (and so how many steps) gives the best
held-out quality for a section, within the section's time on this CPU. Settings are chosen on a
validation split, never on the test split.

    python benchmarks/input_policy_search.py --section vessels --sizes 128 192 256 --data-root ../shared/data

For each crop size (native scale, the ``crop`` input policy; with ``--policy resize`` each size is
instead the size every image is resized to, the ``resize`` policy of the profiles; a size is a side,
``192``, or height x width, ``384x192``):

1. the cost of a training step of every row of the section's table (U-Net, Backbone, CE-Net ...,
   batch 4, the engine's defaults) as the engine takes it, data loading and augmentation included
   (40 steps of real training and at least two epochs, the first left out), and of predicting one
   test image at its native size with test-time augmentation over the run's flips, each measured
   on this machine. A first version timed a step on one fixed batch and missed 10-37% of the real
   cost (Table IV's regeneration: U-Net 0.90 s a step against 0.82, CE-Net 0.49 against 0.36),
   which took that section to 2005 s. This CPU's speed varies by about 10% from hour to hour, and
   some full runs took up to 24% longer a step than this measured (``cenet_lib/config.py``); the
   steps carry no margin for it;
2. the steps every row can train so that the section fits its budget (``--budget``, 30 minutes;
   every row gets the same steps): (budget - test images x prediction time - rows x overhead) /
   summed step time, rounded down to whole epochs (the engine rounds a step count up to them; the
   lung's 601 steps became 648 and took Table III 12 s over its budget), where ``--overhead`` (60 s
   a row) covers reading and checking the data, validation, checkpoints and figures (Table IV's
   regeneration: 2005 s wall time, of which 1900 s training steps and about 33 s prediction, so
   about 24 s a row, rounded up for sections with a validation split);
3. CE-Net trained for that many steps on the training split minus a held-out validation split
   (``val_holdout``: the last training images where the dataset has no validation split), validated
   (no TTA, at native size) about every ``--every`` seconds: a learning curve;
4. the final model validated both ways: whole images at once, and in tiles of the training crop
   (overlap 0.5, Gaussian blending), the context the network was trained on (crops only: a
   resized image is always predicted whole).

With ``--tile`` the prediction cost of step 1 and the learning curve use tiles of the crop size;
``--flips horizontal`` trains with left-right flips only (``cenet_lib.data.transforms.FLIPS``);
``--cost-only`` stops after step 2 and writes
``input_policy_<section>[_resize][_tiled][_horizontal-flips]_budget.{csv,md}``: the steps a
section's rows get at a size already chosen, the number a section's ``settings`` take
(``cenet_lib/reporting/sections.py``).

Writes ``benchmarks/results/input_policy_<section>[_resize][_tiled][_horizontal-flips].{csv,md,png}``:
the cost, the steps and the validation score reached for each size, and the curves. The measurement
is specific to the machine and the precision used, which the output records.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from speed import median_seconds  # noqa: E402  (benchmarks/speed.py, beside this script)

from cenet_lib.checkpoint import load_trained_model  # noqa: E402
from cenet_lib.config import load_config  # noqa: E402
from cenet_lib.data.policy import InputPolicy, parse_size  # noqa: E402
from cenet_lib.data.run_readers import make_reader  # noqa: E402
from cenet_lib.data.transforms import FLIPS  # noqa: E402
from cenet_lib.evaluation import evaluate, predict_sample  # noqa: E402
from cenet_lib.hardware import resolve_hardware  # noqa: E402
from cenet_lib.metrics import summarize  # noqa: E402
from cenet_lib.models import build_model  # noqa: E402
from cenet_lib.provenance import device_description, git_commit  # noqa: E402
from cenet_lib.reporting.sections import SECTIONS  # noqa: E402
from cenet_lib.training import train  # noqa: E402

RESULTS = Path(__file__).with_name("results")
#: The validation score each section is judged by, and whether higher is better.
VALIDATION_SCORE = {
    "vessels": ("val_fov_auc", True),
    "ablation": ("val_fov_auc", True),
    "oct": ("val_boundary_overall", False),
    "lung": ("val_overlap_error", False),
    "optic_disc": ("val_overlap_error", False),
    "cells": ("val_v_rand", True),
}


def seconds_per_step(model_name: str, config, policy: InputPolicy, train_images: int, steps: int = 40) -> float:
    """Seconds a training step takes in the engine (loading, augmentation, forward, loss, backward,
    optimizer) at ``policy``'s input size: ``steps`` steps of real training (rounded up to whole epochs,
    and at least two of ``train_images`` images), the first epoch left out as warm-up."""
    steps = max(steps, 2 * math.ceil(train_images / config.batch_size))
    trial = dataclasses.replace(
        config,
        model=model_name,
        input_policy=policy.kind,
        input_size=policy.size,
        tile_size=None,
        steps=steps,
        checkpoint_seconds=math.inf,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        train(trial, run_dir)
        log = pd.read_csv(Path(run_dir) / "log.csv")
    timed = log.iloc[1:]
    return float(timed["seconds"].sum() / (timed["step"].iloc[-1] - log["step"].iloc[0]))


def seconds_per_test_image(model_name: str, reader, policy: InputPolicy, amp: bool) -> float:
    """Time to predict one test image at its native size, test-time augmentation over ``policy``'s flips."""
    model = build_model(model_name, reader.num_classes, reader.in_channels).eval().to(memory_format=torch.channels_last)
    image = reader[0].image
    return median_seconds(lambda: predict_sample(model, image, policy, tta=True, amp=amp), 1, torch.device("cpu"))


def steps_within_budget(budget: float, evaluation: float, overhead: float, row_step_seconds: list[float],
                        epoch_steps: int) -> int:
    """The steps every row of a table can train within ``budget`` seconds: what is left after
    predicting the test images (``evaluation``) and each row's ``overhead``, over the rows' summed
    step time, rounded down to whole epochs of ``epoch_steps`` (the engine rounds up to them); at
    least one epoch."""
    steps = math.floor((budget - evaluation - overhead * len(row_step_seconds)) / sum(row_step_seconds))
    return max(epoch_steps, steps // epoch_steps * epoch_steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", default="vessels", choices=list(SECTIONS))
    parser.add_argument("--policy", default="crop", choices=["crop", "resize"], help="how images reach the network")
    parser.add_argument("--sizes", "--crops", type=parse_size, nargs="+", default=[(128, 128), (192, 192), (256, 256)],
                        help="crop sizes, or resize sizes with --policy resize: a side (192) or height x width")
    parser.add_argument("--full-height", action="store_true", help="crops span the image's full height (OCT B-scans)")
    parser.add_argument("--flips", default="dihedral", choices=list(FLIPS),
                        help="the flips training draws from and TTA averages (transforms.FLIPS)")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds for the section's rows (30 min)")
    parser.add_argument(
        "--val-holdout", type=int, default=4, help="training images held out where there is no val split"
    )
    parser.add_argument("--every", type=float, default=30.0, help="seconds between validations")
    parser.add_argument(
        "--tile", action="store_true", help="predict in tiles of the crop size (cost and learning curve)"
    )
    parser.add_argument(
        "--overhead", type=float, default=60.0, help="seconds a row spends outside training steps and testing"
    )
    parser.add_argument("--cost-only", action="store_true", help="measure costs and steps, train nothing")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    if args.policy == "resize" and (args.tile or args.full_height):
        parser.error("--tile and --full-height describe crops; the resize policy predicts the resized image whole")

    section = SECTIONS[args.section]
    score, higher_is_better = VALIDATION_SCORE[args.section]
    base = load_config("quick", overrides={"dataset": section.dataset, "data_root": args.data_root,
                                           "val_holdout": args.val_holdout, "flips": args.flips})
    train_reader, test_reader = make_reader(base, "train"), make_reader(base, "test")
    # a table's rows train on the whole training split (no held-out images), in epochs of this many steps
    full_train = make_reader(dataclasses.replace(base, val_holdout=0), "train")
    epoch_steps = math.ceil(len(full_train) / base.batch_size)
    height = train_reader[0].image.shape[0]
    rows, curves = [], {}
    for crop in args.sizes:
        size = (height if args.full_height else crop[0], crop[1])
        policy = InputPolicy(args.policy, size, tile=size if args.tile else None, flips=FLIPS[args.flips])
        models = sorted({row.model for row in section.rows})
        step_cost = {model: seconds_per_step(model, base, policy, len(train_reader)) for model in models}
        predict_cost = {
            model: seconds_per_test_image(model, test_reader, policy, resolve_hardware(base).amp) for model in models
        }
        # every row counts, also two rows of one model (CE-Net with Dice and with CE in Table V)
        evaluation = len(test_reader) * sum(predict_cost[row.model] for row in section.rows)
        steps = steps_within_budget(args.budget, evaluation, args.overhead,
                                    [step_cost[row.model] for row in section.rows], epoch_steps)
        costs = {
            args.policy: f"{size[0]}x{size[1]}",
            "tiled": args.tile,
            "steps": steps,
            "evaluation_s": round(evaluation),
            **{f"s_per_step_{k}": round(v, 3) for k, v in step_cost.items()},
        }
        if args.cost_only:
            rows.append(costs)
            print(costs, flush=True)
            continue
        config = load_config("quick", overrides={
            "dataset": section.dataset, "data_root": args.data_root, "model": "cenet", "val_holdout": args.val_holdout,
            "input_policy": args.policy, "input_size": list(size), "steps": steps, "checkpoint_seconds": args.every,
            "tile_size": list(size) if args.tile else None, "flips": args.flips})
        with tempfile.TemporaryDirectory() as run_dir:
            started = time.perf_counter()
            model_path = train(config, run_dir)
            seconds = time.perf_counter() - started
            log = pd.read_csv(Path(run_dir) / "log.csv")
            model, _ = load_trained_model(model_path)
            val_reader = make_reader(config, "val")
            final = {}
            modes = (("whole", None), ("tiled", size)) if args.policy == "crop" else (("whole", None),)
            for mode, tile in modes:
                table, _ = evaluate(
                    model,
                    val_reader,
                    InputPolicy(args.policy, size, tile=tile),
                    tta=False,
                    amp=resolve_hardware(config).amp,
                )
                final[f"final_{score}_{mode}"] = float(summarize(table).loc[score.removeprefix("val_"), "mean"])
        curve = log.dropna(subset=[score])[["step", score]]
        curves[f"{args.policy} {size[0]}x{size[1]}"] = curve
        rows.append({**costs, f"final_{score}": float(curve[score].iloc[-1]),
                     f"best_{score}": float(curve[score].max() if higher_is_better else curve[score].min()),
                     **final, "cenet_train_s": round(seconds)})
        print(rows[-1], flush=True)

    RESULTS.mkdir(exist_ok=True)
    suffix = ("_resize" if args.policy == "resize" else "") + ("_tiled" if args.tile else "") + \
        (f"_{args.flips}-flips" if args.flips != "dihedral" else "") + ("_budget" if args.cost_only else "")
    stem = RESULTS / f"input_policy_{args.section}{suffix}"
    table = pd.DataFrame(rows)
    table.to_csv(stem.with_suffix(".csv"), index=False)
    hardware = resolve_hardware(base)
    header = (
        f"# Input policy {'budget' if args.cost_only else 'search'}: {args.section} (Table {section.table})\n\n"
        f"Device: {device_description(hardware.device)}, precision {'bf16 autocast' if hardware.amp else 'fp32'}; "
        f"commit {git_commit()}; budget {args.budget:.0f} s for {len(section.rows)} rows ({args.overhead:.0f} s a row "
        f"outside steps and testing), test images predicted {'in tiles of the crop size' if args.tile else 'whole'}; "
        f"training flips: {args.flips} ({len(FLIPS[args.flips])})"
    )
    if args.cost_only:
        stem.with_suffix(".md").write_text(header + ".\n\n" + table.to_markdown(index=False) + "\n")
        print(f"Wrote {stem}.md and .csv")
        return
    validation = f"the last {args.val_holdout} training images"
    if "val" in train_reader.splits:
        validation = "the dataset's own val split"
    header += (
        f"; validation: {validation}; "
        f"CE-Net from scratch, seed 0, `scratch` recipe (Adam 1e-3, poly), batch 4. The learning curve predicts "
        f"{'in tiles' if args.tile else 'whole images'}; "
        + (
            "`final_*_whole` and `final_*_tiled` score the final model both ways (tiles of the crop size, overlap "
            "0.5, no TTA).\n\n"
            if args.policy == "crop"
            else "`final_*_whole` scores the final model (no TTA).\n\n"
        )
    )
    stem.with_suffix(".md").write_text(header + table.to_markdown(index=False) + "\n")
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        axis.plot(curve["step"], curve[score], marker="o", label=label)
    axis.set(
        xlabel="training step",
        ylabel=score.replace("val_", "validation "),
        title=f"{args.section}: CE-Net, {args.policy} policy",
    )
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(stem.with_suffix(".png"), dpi=100)
    print(f"Wrote {stem}.md, .csv and .png")


if __name__ == "__main__":
    main()
