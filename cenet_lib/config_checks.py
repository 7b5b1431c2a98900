"""Every setting of a :class:`~cenet_lib.config.RunConfig` checked where it is made: its type, its
valid values, its range.

Settings reach a run as text (``key=value`` on the command line, a YAML file, a notebook's
parameters) or as Python values (the API); all of them pass through :func:`coerce_and_check`,
called by ``RunConfig.__post_init__``, so a wrong value is refused in one line that names the key,
what it got and what it accepts, before any data is read. Without it ``lr_policy=foo`` trained at
a constant rate and ``epochs=0`` ended in a division by zero.

The valid names come from the modules that use them (the model registry, :data:`~cenet_lib.losses.LOSSES`,
:data:`~cenet_lib.data.policy.POLICIES`, :data:`~cenet_lib.data.transforms.FLIPS`,
:data:`~cenet_lib.optim.OPTIMIZERS` and ``LR_POLICIES``), so a name added there is accepted here.
Written as dataclass checks rather than with a validation library: the GPU machines run the package
on their own PyTorch image, which has no pydantic, and the rules are one table (:data:`RANGES`)
and one type switch.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

import yaml


class SettingError(ValueError):
    """A setting with a wrong type, name or value; the message names the key and the fix."""


#: The inclusive lower bound and (where there is one) the exclusive upper bound of numeric settings.
RANGES: dict[str, tuple[float, float | None]] = {
    "epochs": (1, None), "steps": (1, None), "batch_size": (1, None), "momentum": (0, 1), "weight_decay": (0, None),
    "poly_power": (0, None), "plateau_patience": (0, None), "stop_patience": (1, None), "min_lr": (0, None),
    "tile_overlap": (0, 1), "max_images": (1, None), "max_test_images": (1, None), "val_holdout": (0, None),
    "fold": (0, None), "seed": (0, None), "num_workers": (0, None), "cpu_threads": (1, None),
    "checkpoint_seconds": (0, None), "checkpoint_every": (0, None),
}
#: Settings that must be above 0 (and, for the threshold, below 1).
POSITIVE: dict[str, float | None] = {"lr": None, "input_scale": None, "threshold": 1}


@functools.cache
def choices() -> dict[str, tuple[str, ...]]:
    """The valid values of each enumerated setting, read from the registries that use them."""
    from .config import PROFILES, RECIPES
    from .data.policy import POLICIES
    from .data.transforms import FLIPS
    from .losses import LOSSES
    from .models import list_models
    from .optim import LR_POLICIES, OPTIMIZERS

    return {
        "model": tuple(list_models()), "loss": tuple(LOSSES), "optimizer": OPTIMIZERS, "lr_policy": LR_POLICIES,
        "input_policy": POLICIES, "flips": tuple(FLIPS), "recipe": tuple(RECIPES), "profile": tuple(PROFILES),
    }


@functools.cache
def smallest_input(model: str) -> int:
    """The smallest input side ``model`` takes: its encoder's total downsampling (32 for the ResNet-34
    encoder, 16 for U-Net), below which its deepest feature map holds less than one pixel of the
    image. The model is built on the meta device, which allocates no memory."""
    import torch

    from .models import build_model

    with torch.device("meta"):
        return build_model(model).size_divisor


def _describe(hint: Any) -> str:
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "a text"}
    if hint in names:
        return names[hint]
    return "a size (an integer, or [height, width])"


def _one_value(key: str, value: Any, hint: Any) -> Any:
    """``value`` as type ``hint`` (int, float, bool, str or tuple[int, int]); text is read as YAML."""
    if isinstance(value, str) and hint is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    wrong = SettingError(f"setting {key}={value!r}: expected {_describe(hint)}.")
    if hint is bool:
        if not isinstance(value, bool):
            raise wrong
    elif hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif hint is float:
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as text
            try:
                value = float(value)
            except ValueError:
                raise wrong from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        value = float(value)
    elif hint is str:
        if isinstance(value, (dict, list, tuple)):
            raise wrong
        value = str(value)
    else:  # tuple[int, int]: a side, or height and width
        if isinstance(value, str) and "x" in value:
            value = value.lower().split("x")
        sides = [value, value] if not isinstance(value, (list, tuple)) else list(value)
        try:
            value = tuple(_one_value(key, side, int) for side in sides)
        except SettingError:
            raise wrong from None
        if len(value) != 2:
            raise wrong
    return value


def coerce(key: str, value: Any, hint: Any) -> Any:
    """``value`` as the declared type ``hint`` of setting ``key`` (``X | None`` takes None, "none" and "null")."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if type(None) in options:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
            return None
        options = tuple(option for option in options if option is not type(None))
    base = typing.get_origin(options[0]) or options[0]
    return _one_value(key, value, base)


def check_value(config: Any, key: str, value: Any) -> None:
    """Refuse ``value`` of setting ``key`` outside its valid names or range."""
    valid = choices().get(key)
    if valid is not None and value not in valid:
        raise SettingError(f"setting {key}={value!r} is not valid; choose one of: {', '.join(valid)}.")
    if key in RANGES and value is not None:
        low, high = RANGES[key]
        if value < low or (high is not None and value >= high):
            bound = f"at least {low:g}" + (f" and below {high:g}" if high is not None else "")
            raise SettingError(f"setting {key}={value!r} is out of range; it must be {bound}.")
    if key in POSITIVE and not (value > 0 and (POSITIVE[key] is None or value < POSITIVE[key])):
        bound = "above 0" + (f" and below {POSITIVE[key]:g}" if POSITIVE[key] is not None else "")
        raise SettingError(f"setting {key}={value!r} is out of range; it must be {bound}.")
    if key in ("input_size", "tile_size") and value is not None:
        smallest = smallest_input(config.model)
        if min(value) < smallest:
            nearest = tuple(max(side, smallest) for side in value)
            raise SettingError(
                f"setting {key}={value[0]}x{value[1]} is smaller than {config.model}'s smallest input, "
                f"{smallest}x{smallest} (its encoder halves the image {smallest.bit_length() - 1} times); "
                f"the nearest valid size is {key}={nearest[0]}x{nearest[1]}."
            )


def coerce_and_check(config: Any) -> None:
    """Give every field of ``config`` its declared type, then check its value (the module docstring)."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        setattr(config, field.name, coerce(field.name, getattr(config, field.name), hints[field.name]))
    for field in dataclasses.fields(config):
        check_value(config, field.name, getattr(config, field.name))
