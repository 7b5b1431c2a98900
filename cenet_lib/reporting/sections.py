"""The paper's sections, each declared once: its table, dataset, rows, metrics, per-profile
settings, expected time and notebook. Everything else (the configuration of a section's runs, the
plan ``cenet run-all`` announces, the notebooks, the tables and the claims) asks this registry.

To add a section: a :class:`Section` in :data:`SECTIONS` (rows, metrics, settings), its notebook in
``notebooks/`` (a copy of another with its name changed), and its paper values in ``paper_tables.csv``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import RunConfig, load_config
from ..data.oct import DUKE_BOUNDARIES


@dataclass(frozen=True)
class TrainedRow:
    """A row of a table that this package trains: the paper's label, our model and loss."""

    method: str
    model: str
    loss: str = "dice"


@dataclass(frozen=True)
class Section:
    name: str
    table: str
    title: str
    dataset: str  # our reader
    paper_datasets: tuple[str, ...]  # the ``dataset`` values of the paper's rows in paper_tables.csv
    rows: tuple[TrainedRow, ...]
    metrics: dict[str, str]  # the paper's metric (or column) -> our per-image column
    notebook: str  # its notebook in notebooks/, without .ipynb
    #: profile -> the section's settings over the profile's own: how its images reach the network
    #: and how long its rows train (how the ``quick`` ones were chosen: :data:`QUICK_SETTINGS_CHOSEN`)
    settings: dict[str, dict[str, Any]]
    #: profile -> the section's wall time in seconds on the project's 2-core CPU, announced before
    #: it runs: ``quick`` on the real data (its committed table's, plus the notebook's start and
    #: figures), ``smoke`` on the synthetic stand-in; ``paper`` needs a GPU
    expected_seconds: dict[str, float]
    substitute: str | None = None  # why and how our data differs from the paper's
    extra_columns: dict[str, str] = field(default_factory=dict)  # reported beside, no paper value
    #: rows scored from the dataset itself, not trained: label -> the ``<stem>_per_image.csv`` a
    #: run's evaluation writes beside its own scores (its task's ``extras``)
    observer_rows: dict[str, str] = field(default_factory=dict)

    def settings_for(self, profile: str) -> dict[str, Any]:
        """The section's settings under ``profile`` (empty where the profile's own apply)."""
        return dict(self.settings.get(profile, {}))


#: The ``quick`` settings were each chosen by ``benchmarks/input_policy_search.py`` on a validation
#: split, never the test split, with every row of a table given the most steps that fit the
#: section's budget (30 minutes, 60 for the ablations); the measurements are in this file and in
#: ``benchmarks/results/input_policy_<section>*.md``, named beside each section. Tables II and VI
#: share one DRIVE setting, so their U-Net, Backbone and CE-Net runs are the same runs: the steps
#: that fit Table VI's eight rows in 60 minutes, which also fit Table II's three in its 30.
QUICK_SETTINGS_CHOSEN = "benchmarks/README.md, 'How the settings were chosen'"
_DRIVE_QUICK: dict[str, Any] = {"input_policy": "crop", "input_size": (192, 192), "input_scale": 1.0, "steps": 810}
BASELINES = (TrainedRow("U-Net", "unet"), TrainedRow("Backbone", "backbone"), TrainedRow("CE-Net", "cenet"))

SECTIONS: dict[str, Section] = {
    "optic_disc": Section(
        "optic_disc",
        "I",
        "Optic disc segmentation: overlap error",
        "drishti",
        ("ORIGA", "Messidor", "RIM-ONE-R1"),
        (TrainedRow("U-Net", "unet"), TrainedRow("CE-Net", "cenet")),
        {"overlap_error": "overlap_error"},
        notebook="01_optic_disc",
        # input_policy_optic_disc_resize.md
        settings={"quick": {"input_policy": "resize", "input_size": (256, 256), "steps": 676}},
        expected_seconds={"quick": 1655, "smoke": 15},
        substitute="DRISHTI-GS1 (official Training/Test split, disc = soft map >= 128) stands in for ORIGA, "
        "Messidor and RIM-ONE-R1, which cannot be redistributed; the paper's values are for those sets.",
        extra_columns={"Dice": "dice", "Acc": "accuracy", "Sen": "sensitivity", "Disc in crop (share)": "disc_in_crop"},
    ),
    "vessels": Section(
        "vessels",
        "II",
        "Retinal vessel detection on DRIVE (inside the field of view)",
        "drive",
        ("DRIVE",),
        BASELINES,
        {"Sen": "fov_sensitivity", "Acc": "fov_accuracy", "AUC": "fov_auc"},
        notebook="02_retinal_vessels",
        # input_policy_vessels.md (crops), input_policy_ablation_budget.md (steps); 1620 s for three
        # rows at 888 steps, scaled to 810
        settings={"quick": _DRIVE_QUICK},
        expected_seconds={"quick": 1480, "smoke": 15},
        extra_columns={
            "Sen (whole image)": "whole_sensitivity",
            "Acc (whole image)": "whole_accuracy",
            "AUC (whole image)": "whole_auc",
        },
        observer_rows={"Second observer": "human_observer"},
    ),
    "lung": Section(
        "lung",
        "III",
        "Lung segmentation (2D CT slices from LUNA)",
        "lung",
        ("LUNA-2D",),
        BASELINES,
        {"overlap_error": "overlap_error", "Acc": "accuracy", "Sen": "sensitivity"},
        notebook="03_lung",
        settings={
            "quick": {"input_policy": "resize", "input_size": (256, 256), "steps": 601}
        },  # input_policy_lung_resize.md
        expected_seconds={"quick": 1827, "smoke": 15},
    ),
    "cells": Section(
        "cells",
        "IV",
        "Cell contour segmentation (ISBI 2012 EM)",
        "isbi2012",
        ("ISBI2012-EM",),
        BASELINES,
        {"V_Rand": "v_rand", "V_Info": "v_info"},
        notebook="04_cell_contours",
        # input_policy_cells_budget.md
        settings={"quick": {"input_policy": "crop", "input_size": (192, 192), "input_scale": 1.0, "steps": 954}},
        expected_seconds={"quick": 1687, "smoke": 15},
        extra_columns={"V_Rand threshold": "v_rand_threshold", "V_Info threshold": "v_info_threshold"},
        substitute="The challenge's test labels are private: scores are on held-out training slices "
        "(5 contiguous folds of 6), not on the challenge test set the paper submitted to.",
    ),
    "oct": Section(
        "oct",
        "V",
        "Retinal OCT layer segmentation: mean absolute boundary error (pixels)",
        "duke",
        ("Topcon-OCT",),
        (
            TrainedRow("U-Net", "unet"),
            TrainedRow("Backbone", "backbone"),
            TrainedRow("CE-Net w/ CE", "cenet", "ce"),
            TrainedRow("CE-Net w/ Dice", "cenet", "dice"),
        ),
        {"Overall": "boundary_overall"},
        notebook="05_oct_layers",
        # input_policy_oct_resize_horizontal-flips.md
        settings={"quick": {"input_policy": "resize", "input_size": (256, 256), "flips": "horizontal", "steps": 474}},
        expected_seconds={"quick": 1810, "smoke": 20},
        substitute="The Duke DME set (8 boundaries, with fluid) stands in for the private Topcon set "
        "(10 boundaries); boundaries differ, so only the overall error is set beside the paper's.",
        extra_columns={
            **{name: f"boundary_{name}" for name in DUKE_BOUNDARIES},
            "Missing (share of A-scans)": "boundary_missing",
        },
    ),
    "ablation": Section(
        "ablation",
        "VI",
        "Ablation study on DRIVE",
        "drive",
        ("DRIVE",),
        (
            TrainedRow("U-Net", "unet"),
            TrainedRow("Backbone", "backbone"),
            TrainedRow("Backbone + Inception-block", "backbone_inception"),
            TrainedRow("Backbone + DAC w/o atrous", "backbone_dac_no_atrous"),
            TrainedRow("Backbone + DAC with atrous", "backbone_dac"),
            TrainedRow("Backbone + RMP", "backbone_rmp"),
            TrainedRow("Backbone + Inception-ResNet-block", "backbone_inception_resnet"),
            TrainedRow("CE-Net", "cenet"),
        ),
        {"Acc": "fov_accuracy", "AUC": "fov_auc"},
        notebook="06_ablations",
        # input_policy_ablation_budget.md; 3526 s for eight rows at 810 steps, of which Table II's
        # three run in the vessels section
        settings={"quick": _DRIVE_QUICK},
        expected_seconds={"quick": 2050, "smoke": 27},
    ),
}


def section_config(name: str, profile: str, overrides: dict[str, Any] | None = None) -> RunConfig:
    """The configuration of a run of section ``name``: the profile's settings, then the section's,
    then ``overrides``."""
    return load_config(profile, overrides=overrides, section_settings=SECTIONS[name].settings_for(profile))
