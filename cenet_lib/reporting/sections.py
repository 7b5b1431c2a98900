"""The paper's result tables, section by section: which rows are trained here, on what data,
scored by which of our metrics. One place for what every notebook and table writer needs."""
from __future__ import annotations

from dataclasses import dataclass, field

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
    substitute: str | None = None  # why and how our data differs from the paper's
    extra_columns: dict[str, str] = field(default_factory=dict)  # reported beside, no paper value
    #: rows scored from the dataset itself, not trained: label -> the ``<stem>_per_image.csv`` a
    #: run's evaluation writes beside its own scores (its task's ``extras``)
    observer_rows: dict[str, str] = field(default_factory=dict)


BASELINES = (TrainedRow("U-Net", "unet"), TrainedRow("Backbone", "backbone"), TrainedRow("CE-Net", "cenet"))

SECTIONS: dict[str, Section] = {
    "optic_disc": Section(
        "optic_disc", "I", "Optic disc segmentation: overlap error", "drishti", ("ORIGA", "Messidor", "RIM-ONE-R1"),
        (TrainedRow("U-Net", "unet"), TrainedRow("CE-Net", "cenet")),
        {"overlap_error": "overlap_error"},
        substitute="DRISHTI-GS1 (official Training/Test split, disc = soft map >= 128) stands in for ORIGA, "
        "Messidor and RIM-ONE-R1, which cannot be redistributed; the paper's values are for those sets.",
        extra_columns={"Dice": "dice", "Acc": "accuracy", "Sen": "sensitivity", "Disc in crop (share)": "disc_in_crop"},
    ),
    "vessels": Section(
        "vessels", "II", "Retinal vessel detection on DRIVE (inside the field of view)", "drive", ("DRIVE",),
        BASELINES, {"Sen": "fov_sensitivity", "Acc": "fov_accuracy", "AUC": "fov_auc"},
        extra_columns={"Sen (whole image)": "whole_sensitivity", "Acc (whole image)": "whole_accuracy",
                       "AUC (whole image)": "whole_auc"},
        observer_rows={"Second observer": "human_observer"},
    ),
    "lung": Section(
        "lung", "III", "Lung segmentation (2D CT slices from LUNA)", "lung", ("LUNA-2D",),
        BASELINES, {"overlap_error": "overlap_error", "Acc": "accuracy", "Sen": "sensitivity"},
    ),
    "cells": Section(
        "cells", "IV", "Cell contour segmentation (ISBI 2012 EM)", "isbi2012", ("ISBI2012-EM",),
        BASELINES, {"V_Rand": "v_rand", "V_Info": "v_info"},
        extra_columns={"V_Rand threshold": "v_rand_threshold", "V_Info threshold": "v_info_threshold"},
        substitute="The challenge's test labels are private: scores are on held-out training slices "
        "(5 contiguous folds of 6), not on the challenge test set the paper submitted to.",
    ),
    "oct": Section(
        "oct", "V", "Retinal OCT layer segmentation: mean absolute boundary error (pixels)", "duke", ("Topcon-OCT",),
        (TrainedRow("U-Net", "unet"), TrainedRow("Backbone", "backbone"), TrainedRow("CE-Net w/ CE", "cenet", "ce"),
         TrainedRow("CE-Net w/ Dice", "cenet", "dice")),
        {"Overall": "boundary_overall"},
        substitute="The Duke DME set (8 boundaries, with fluid) stands in for the private Topcon set "
        "(10 boundaries); boundaries differ, so only the overall error is set beside the paper's.",
        extra_columns={**{name: f"boundary_{name}" for name in DUKE_BOUNDARIES},
                       "Missing (share of A-scans)": "boundary_missing"},
    ),
    "ablation": Section(
        "ablation", "VI", "Ablation study on DRIVE", "drive", ("DRIVE",),
        (TrainedRow("U-Net", "unet"), TrainedRow("Backbone", "backbone"),
         TrainedRow("Backbone + Inception-block", "backbone_inception"),
         TrainedRow("Backbone + DAC w/o atrous", "backbone_dac_no_atrous"),
         TrainedRow("Backbone + DAC with atrous", "backbone_dac"), TrainedRow("Backbone + RMP", "backbone_rmp"),
         TrainedRow("Backbone + Inception-ResNet-block", "backbone_inception_resnet"), TrainedRow("CE-Net", "cenet")),
        {"Acc": "fov_accuracy", "AUC": "fov_auc"},
    ),
}
