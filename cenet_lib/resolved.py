"""A run resolved once: its configuration, the input policy it implies and the hardware it runs
on, built together and handed, as one object, to training, checkpointing, evaluation and reports,
so that none of them derives these again from the settings.

>>> run = load_run("quick", overrides={"model": "cenet", "dataset": "drive"})
>>> run.policy, run.hardware.precision, run.name
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig, load_config
from .data.policy import InputPolicy
from .hardware import Hardware, resolve_hardware


@dataclass(frozen=True)
class ResolvedRun:
    config: RunConfig
    policy: InputPolicy
    hardware: Hardware

    @property
    def name(self) -> str:
        """The run's folder name: what it is (:meth:`RunConfig.run_name`), not which table asked for it."""
        return self.config.run_name()

    def describe(self) -> dict[str, Any]:
        """What a table's provenance records about how its runs were trained."""
        return {"profile": self.config.profile, "recipe": self.config.recipe, **self.policy.describe(),
                "epochs_or_steps": self.config.steps or self.config.epochs, "tta": self.config.tta}


def resolve_run(config: RunConfig) -> ResolvedRun:
    """``config`` with its input policy and hardware (:func:`~cenet_lib.hardware.resolve_hardware`)."""
    return ResolvedRun(config, InputPolicy.from_config(config), resolve_hardware(config))


def load_run(
    profile: str = "paper",
    recipe: str | None = None,
    yaml_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    section_settings: dict[str, Any] | None = None,
) -> ResolvedRun:
    """:func:`~cenet_lib.config.load_config`, resolved: its settings, input policy and hardware."""
    return resolve_run(load_config(profile, recipe, yaml_file, overrides, section_settings))
