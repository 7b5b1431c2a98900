"""Every setting of a run, in one place: recipes, profiles, YAML files and overrides.

A run's configuration is built in layers, later ones winning:

1. the defaults of :class:`RunConfig` (the paper's recipe, section III-A);
2. a named **recipe** (:data:`RECIPES`): how to train — ``paper`` (SGD, poly schedule, Dice loss),
   ``authors`` (what the authors' released code does: Adam, BCE, plateau halving) or ``scratch``
   (the paper's recipe with Adam at 1e-3, for short runs from scratch, see below);
3. a named **profile** (:data:`PROFILES`): how big a run is — ``smoke`` (seconds on a CPU,
   synthetic data), ``quick`` (a real-data run that fits a 2-core CPU: every trained row of a
   section's table within 30 minutes, the ablations within 60) or ``paper`` (the paper's size, for a
   GPU). Profiles set sizes (input, epochs,
   batch), never the optimizer or loss, so any recipe can run at any size; a profile names the
   recipe it uses when none is asked for;
4. the settings of the paper section a run belongs to, under that profile (its entry in the
   section registry, ``cenet_lib/reporting/sections.py``);
5. a YAML file of settings, then explicit overrides (``key=value`` on the command line).

The chosen profile and recipe are recorded with every result.

``scratch`` exists because the ImageNet weights the paper starts from cannot be downloaded on the
project's machines, and from random weights SGD barely moves in a CPU budget (measured:
``benchmarks/README.md``, "How the settings were chosen"); ``--recipe paper`` restores the paper's optimizer.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config_checks import SettingError, coerce_and_check


@dataclass
class RunConfig:
    # what is trained, on what
    model: str = "cenet"
    dataset: str = "drive"
    data_root: str | None = None
    fold: int | None = None  # cross-validation fold for the datasets that have folds
    encoder_weights: str = "random"  # "random", "imagenet" or a path to a ResNet-34 state dict
    synthetic: bool = False  # train on the dataset's synthetic stand-in instead of the real data
    max_images: int | None = None  # use only the first N training images (smoke runs)
    val_holdout: int = 0  # N > 0: the last N training images form the validation split, where there is none

    # the recipe (section III-A by default)
    recipe: str = "paper"
    # how an image reaches the network (cenet_lib/data/policy.py): "resize" to input_size, or "crop":
    # rescale by input_scale (1.0 = native), train on random input_size crops, predict whole images
    input_policy: str = "resize"
    input_size: tuple[int, int] = (448, 448)
    input_scale: float = 1.0
    tile_size: tuple[int, int] | None = (
        None  # crop policy: predict in tiles of this (height, width) (None: whole images)
    )
    tile_overlap: float = 0.5
    flips: str = (
        "dihedral"  # training and test-time flips: "dihedral" (8, section III-A) or "horizontal" (transforms.FLIPS)
    )
    epochs: int = 100
    steps: int | None = None  # if set, train this many optimizer steps (rounded up to whole epochs) instead
    batch_size: int = 8
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 4e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4  # Eq. (3)'s L_reg
    lr_policy: str = "poly"  # "poly": lr * (1 - iter / max_iter) ** power; "plateau": the authors' code
    poly_power: float = 0.9
    loss: str = "dice"  # "dice" (Eq. 2), "ce", "dice_ce"
    plateau_patience: int = 10  # epochs without a lower training loss before the lr is halved
    stop_patience: int = 20  # epochs without a lower training loss before the run stops
    min_lr: float = 5e-7  # the run stops when the plateau policy takes the lr below this
    augment: bool = True
    tta: bool = True  # 8-fold test-time augmentation (section III-A 2)
    threshold: float = 0.5

    # reproducibility and hardware
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    num_workers: int | None = None  # None: min(4, CPU count - 1) on CUDA, 0 on the CPU
    amp: bool | None = None  # bf16 autocast; None: on where the device computes bf16 natively
    channels_last: bool | None = None  # None: on
    compile: bool = False
    cpu_threads: int | None = None  # None: torch's default (one per core)

    # bookkeeping
    checkpoint_seconds: float = (
        60.0  # checkpoint and validate at an epoch end this long after the last save (0: every epoch)
    )
    checkpoint_every: int = 0  # also checkpoint every N optimizer steps (0: at epoch ends only)
    keep_weights: bool = True  # False: a section's run deletes model.pt once it is scored (smoke runs)
    max_test_images: int | None = None  # score only the first N test images (smoke runs)
    profile: str = "paper"

    def __post_init__(self) -> None:
        """Every setting given its type and checked (:mod:`cenet_lib.config_checks`)."""
        coerce_and_check(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """What this run is: the settings that change its weights or its stored scores, without the
        seed (:data:`NOT_IDENTITY` lists the settings left out, and why), where they differ from
        :class:`RunConfig`'s defaults, so that a setting added later leaves older runs' names as they are."""
        defaults = RunConfig().to_dict()
        settings = {
            key: value
            for key, value in self.to_dict().items()
            if key not in NOT_IDENTITY
            and key != "seed"
            and (value != defaults[key] or key in ("model", "dataset", "loss"))
        }
        settings["dataset"] = Path(self.dataset).name if Path(self.dataset).is_dir() else self.dataset
        settings["encoder_weights"] = canonical_encoder_weights(self.encoder_weights)
        return settings

    def run_name(self) -> str:
        """``<model>-<loss>-<digest>-seed<seed>``, the digest of :meth:`identity`: two tables that ask
        for the same run (Tables II and VI both train U-Net, Backbone and CE-Net on DRIVE) get the
        same folder, so it is trained once and serves both."""
        digest = hashlib.sha1(json.dumps(self.identity(), sort_keys=True, default=list).encode()).hexdigest()[:8]
        return f"{self.model}-{self.loss}-{digest}-seed{self.seed}"


#: Settings that say where, how fast or under which label a run computes, not what it computes:
#: runs that differ only in these are the same run. ``profile`` and ``recipe`` are names for
#: settings that are themselves part of the identity; ``data_root`` may point at a packed copy of
#: the same data.
NOT_IDENTITY = frozenset({
    "data_root", "device", "num_workers", "compile", "cpu_threads", "deterministic",
    "checkpoint_seconds", "checkpoint_every", "keep_weights", "profile", "recipe",
})


#: The spellings of a randomly initialised encoder: ``random``, and the older ``scratch`` and ``none``.
RANDOM_SPELLINGS = frozenset({"random", "scratch", "none"})


def canonical_encoder_weights(value: str | None) -> str:
    """``random`` for a randomly initialised encoder (``scratch``, ``none`` and ``None`` are older
    spellings of it), ``imagenet``, or the path of a weights file."""
    if value is None or str(value).lower() in RANDOM_SPELLINGS:
        return "random"
    return str(value)


RECIPES: dict[str, dict[str, Any]] = {
    "paper": {
        "optimizer": "sgd", "lr": 4e-3, "momentum": 0.9, "weight_decay": 1e-4, "lr_policy": "poly",
        "poly_power": 0.9, "loss": "dice", "batch_size": 8, "epochs": 100,
    },
    "scratch": {
        "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4, "lr_policy": "poly", "poly_power": 0.9,
        "loss": "dice", "batch_size": 8, "epochs": 100,
    },
    "authors": {
        "optimizer": "adam", "lr": 2e-4, "weight_decay": 0.0, "lr_policy": "plateau", "loss": "ce",
        "input_size": (448, 448), "plateau_patience": 10, "stop_patience": 20, "min_lr": 5e-7, "epochs": 300,
    },
}

PROFILES: dict[str, dict[str, Any]] = {
    # The real networks at a tiny size, on 4 synthetic images, scoring 2; a section's runs keep no
    # weights once scored (29 M parameters are 117 MB a model), and are shorter than one checkpoint.
    "smoke": {
        "synthetic": True, "input_size": (64, 64), "epochs": 2, "batch_size": 2, "max_images": 4,
        "max_test_images": 2, "tta": True, "device": "cpu", "keep_weights": False,
    },
    # Each paper section's own sizes and steps are in its registry (reporting/sections.py); 300 steps
    # is the default for other datasets (benchmarks/README.md, "How the settings were chosen").
    "quick": {
        "recipe": "scratch", "input_size": (256, 256), "steps": 300, "batch_size": 4,
    },
    "paper": {},  # the recipe as it stands: 448x448, 100 epochs (300 for the authors' recipe), batch 8
}


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The settings in a YAML file: a mapping of ``key: value``; a file that does not parse, or holds
    something else, is refused naming the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"settings file {path} does not exist.")
    try:
        found = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SettingError(f"settings file {path}{where}: not valid YAML ({problem}).") from None
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise SettingError(f"settings file {path} holds a {type(found).__name__}, not a mapping of settings; "
                           "write one `key: value` per line (e.g. `epochs: 30`).")
    return found


def load_config(
    profile: str = "paper",
    recipe: str | None = None,
    yaml_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    section_settings: dict[str, Any] | None = None,
) -> RunConfig:
    """The configuration of a run: defaults, then recipe, profile, the settings of the paper section
    the run belongs to under that profile (``Section.settings_for``), YAML file and overrides."""
    if profile not in PROFILES:
        raise SettingError(f"setting profile={profile!r} is not valid; choose one of: {', '.join(PROFILES)}.")
    from_file = read_settings_file(yaml_file) if yaml_file else {}
    recipe = (
        recipe or (overrides or {}).get("recipe") or from_file.get("recipe") or PROFILES[profile].get("recipe", "paper")
    )
    if recipe not in RECIPES:
        raise SettingError(f"setting recipe={recipe!r} is not valid; choose one of: {', '.join(RECIPES)}.")
    settings: dict[str, Any] = {**RECIPES[recipe], **PROFILES[profile], **(section_settings or {}), **from_file,
                                **(overrides or {})}
    settings.update(recipe=recipe, profile=profile)
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise SettingError(f"Unknown setting(s) {', '.join(unknown)}; valid settings: {', '.join(sorted(known))}.")
    return RunConfig(**settings)


def config_from_checkpoint(checkpoint: dict[str, Any]) -> RunConfig:
    """The :class:`RunConfig` a checkpoint was trained with (settings added since take their defaults)."""
    saved = dict(checkpoint["config"])
    known = {f.name for f in dataclasses.fields(RunConfig)}
    return RunConfig(**{name: value for name, value in saved.items() if name in known})
