"""The paper's comparative claims, as data, and a verdict on each from the runs of this package.

Each :class:`Claim` names a table, two of its rows, a per-image score and the direction the paper
reports (section III's text and Tables I-VI). Its test uses the per-image scores the runs write
(``tables/table_<N>_per_image.csv``):

* the paired difference ``d`` per test image (the better row's score minus the worse row's, with
  the sign turned for scores where lower is better, so that ``d > 0`` always means "as the paper
  says"), averaged over images (and seeds): the **effect**;
* its 95% bootstrap interval (percentiles of 10,000 resamples, seed 0): over images; with several
  seeds a two-stage (hierarchical) bootstrap, seeds drawn with replacement, then images;
* the **verdict**, only from :data:`MIN_SEEDS` or more training seeds: ``supported`` when the
  interval lies above 0, ``contradicted`` when it lies below, ``inconclusive`` when it spans 0. The
  two-stage bootstrap treats the seed as the unit (Bouthillier et al., MLSys 2021): with three
  seeds a resample of three copies of the worst seed has probability 1/27, more than 2.5%, so a
  claim is supported only if every seed's effect goes the paper's way. With fewer seeds the
  status is ``one run`` (or ``2 runs``): the effect and its interval over images are shown, but they
  describe that run only, and a row trained again moves by as much as the effects judged here
  (Table II's Backbone AUC moved 0.0037 between seeds 0 and 1);
* ``not judged: degenerate run`` when a run of either row predicts one class everywhere
  (:mod:`cenet_lib.metrics.degenerate`); ``not run`` when the rows have no per-image scores.
* beside each, the **seed std**: the standard deviation of the per-seed effects.

A verdict says what the runs here show, not whether the paper was right: the ledger lists beside it
every way the run differs from the paper's setup (substituted or synthetic data, an encoder trained
from scratch rather than from ImageNet, a short CPU profile, a single seed), any of which could
explain a claim that does not hold here. Claims against methods whose numbers are only cited are
not tested.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import canonical_encoder_weights
from ..metrics.degenerate import degenerate_seeds
from .sections import SECTIONS

BOOTSTRAP_SAMPLES = 10_000
#: The fewest training seeds a verdict rests on.
MIN_SEEDS = 3
STATUSES = ("supported", "contradicted", "inconclusive", "one run", "2 runs", "not judged: degenerate run", "not run")


@dataclass(frozen=True)
class Claim:
    table: str  # "II"
    better: str  # the row the paper reports as better (its label in our tables)
    worse: str
    score: str  # per-image column
    label: str  # the score's name in the paper
    higher_is_better: bool
    source: str  # where the paper says it

    @property
    def section(self) -> str:
        return next(name for name, section in SECTIONS.items() if section.table == self.table)

    @property
    def text(self) -> str:
        relation = ">" if self.higher_is_better else "<"
        return f"Table {self.table}: {self.better} {relation} {self.worse} in {self.label}"


def _pairs(table: str, rows: list[tuple[str, str]], scores: list[tuple[str, str, bool]], source: str) -> list[Claim]:
    return [
        Claim(table, better, worse, column, label, higher, source)
        for better, worse in rows
        for column, label, higher in scores
    ]


_VESSELS = [("fov_sensitivity", "Sen (FOV)", True), ("fov_accuracy", "Acc (FOV)", True), ("fov_auc", "AUC (FOV)", True)]
_ABLATION = [("fov_accuracy", "Acc (FOV)", True), ("fov_auc", "AUC (FOV)", True)]

#: Every comparative claim between rows this package trains, in the order of the paper.
CLAIMS: tuple[Claim, ...] = tuple(
    _pairs("I", [("CE-Net", "U-Net")], [("overlap_error", "overlap error", False)], "III-B, Table I")
    + _pairs("II", [("CE-Net", "Backbone"), ("Backbone", "U-Net"), ("CE-Net", "U-Net")], _VESSELS, "III-C, Table II")
    + _pairs(
        "III",
        [("CE-Net", "Backbone"), ("CE-Net", "U-Net")],
        [("overlap_error", "overlap error", False), ("accuracy", "Acc", True), ("sensitivity", "Sen", True)],
        "III-D, Table III",
    )
    + _pairs(
        "IV",
        [("CE-Net", "U-Net"), ("CE-Net", "Backbone")],
        [("v_rand", "V_Rand", True), ("v_info", "V_Info", True)],
        "III-E, Table IV",
    )
    + _pairs(
        "V",
        [("CE-Net w/ Dice", "U-Net"), ("CE-Net w/ Dice", "Backbone"), ("CE-Net w/ Dice", "CE-Net w/ CE")],
        [("boundary_overall", "overall boundary error", False)],
        "III-F, Table V",
    )
    + _pairs(
        "VI",
        [
            ("Backbone", "U-Net"),
            ("Backbone + DAC with atrous", "Backbone + DAC w/o atrous"),
            ("Backbone + DAC with atrous", "Backbone + Inception-block"),
            ("Backbone + DAC with atrous", "Backbone"),
            ("Backbone + RMP", "Backbone"),
            ("CE-Net", "Backbone + Inception-ResNet-block"),
            ("CE-Net", "Backbone + DAC with atrous"),
            ("CE-Net", "Backbone + RMP"),
        ],
        _ABLATION,
        "III-G, Table VI",
    )
)


def paired_differences(per_image: pd.DataFrame, claim: Claim) -> np.ndarray:
    """(seeds, images) array of ``d`` (module docstring), paired on (seed, id); empty when a row is missing."""
    if "seed" not in per_image:
        per_image = per_image.assign(seed=0)
    rows = {}
    for method in (claim.better, claim.worse):
        selected = per_image[per_image["method"] == method]
        if selected.empty or claim.score not in selected:
            return np.empty((0, 0))
        rows[method] = selected.set_index(["seed", "id"])[claim.score]
    joined = pd.concat(rows, axis=1, join="inner").dropna()
    difference = joined[claim.better] - joined[claim.worse]
    if not claim.higher_is_better:
        difference = -difference
    grid = difference.unstack("id").dropna(axis=1)  # seeds x images, images scored for every seed
    return grid.to_numpy(dtype=np.float64)


def bootstrap_interval(differences: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of ``differences`` (seeds, images): images resampled with
    replacement, and with several seeds the seeds first (a two-stage bootstrap)."""
    rng = np.random.default_rng(seed)
    n_seeds, n_images = differences.shape
    seeds = rng.integers(0, n_seeds, size=(samples, n_seeds)) if n_seeds > 1 else np.zeros((samples, 1), int)
    images = rng.integers(0, n_images, size=(samples, n_images))
    means = differences[seeds[:, :, None], images[:, None, :]].mean(axis=(1, 2))
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def verdict(low: float, high: float, seeds: int = MIN_SEEDS) -> str:
    """The verdict on an interval from ``seeds`` training seeds (module docstring)."""
    if seeds < MIN_SEEDS:
        return "one run" if seeds == 1 else f"{seeds} runs"
    if low > 0:
        return "supported"
    if high < 0:
        return "contradicted"
    return "inconclusive"


def setup_differences(meta: dict, substitute: str | None) -> list[str]:
    """How a table's run differs from the paper's setup, from its provenance."""
    differences = []
    if "synthetic" in str(meta.get("dataset", "")):
        differences.append("synthetic stand-in data")
    elif substitute:
        differences.append("substituted data")
    if canonical_encoder_weights(meta.get("encoder_weights")) == "random":
        differences.append("ResNet-34 encoder from scratch, not ImageNet")
    if meta.get("profile") != "paper":
        differences.append(f"{meta.get('profile')} profile, not the paper's training length and size")
    if meta.get("flips"):  # recorded only where they are not the paper's eight (InputPolicy.describe)
        differences.append(f"{meta['flips']} flips only, not the paper's eight")
    seeds = len(meta.get("seeds", [0]))
    if seeds < MIN_SEEDS:
        differences.append("one seed" if seeds == 1 else f"{seeds} seeds")
    return differences


def ledger(results: str | Path) -> pd.DataFrame:
    """One line per claim for the tables under ``results/tables``: verdict, effect, interval, seed std, n, setup."""
    tables = Path(results) / "tables"
    lines = []
    for claim in CLAIMS:
        per_image_file = tables / f"table_{claim.table}_per_image.csv"
        line = {"table": claim.table, "claim": claim.text, "score": claim.score, "source": claim.source}
        per_image = pd.read_csv(per_image_file) if per_image_file.is_file() else pd.DataFrame(columns=["method"])
        differences = paired_differences(per_image, claim) if len(per_image) else np.empty((0, 0))
        if differences.size == 0:
            lines.append({**line, "verdict": "not run"})
            continue
        meta_file = tables / f"table_{claim.table}.json"
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        low, high = bootstrap_interval(differences)
        degenerate = any(
            degenerate_seeds(per_image[per_image["method"] == method]) for method in (claim.better, claim.worse)
        )
        per_seed = differences.mean(axis=1)
        lines.append({
            **line, "effect": float(differences.mean()), "ci_low": low, "ci_high": high,
            "seed_std": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else np.nan,
            "verdict": "not judged: degenerate run" if degenerate else verdict(low, high, differences.shape[0]),
            "n_images": differences.shape[1], "n_seeds": differences.shape[0],
            "differs_from_paper": "; ".join(setup_differences(meta, SECTIONS[claim.section].substitute)),
        })
    columns = [
        "table",
        "claim",
        "verdict",
        "effect",
        "ci_low",
        "ci_high",
        "seed_std",
        "n_images",
        "n_seeds",
        "score",
        "source",
        "differs_from_paper",
    ]
    return pd.DataFrame(lines).reindex(columns=columns)


#: How to read a verdict: the ledger's Markdown, the notebooks' "What this shows" and the README say this.
READING_GUIDE = (
    "The effect is the mean paired difference per test image, signed so that a positive value goes the "
    "paper's way, with its 95% bootstrap interval. A verdict needs at least three training seeds: then the "
    "interval resamples seeds, then images, and supported means it lies above 0, contradicted below 0, "
    "inconclusive that it spans 0. With fewer seeds the status reads \"one run\" (or \"2 runs\"): the "
    "interval is over that run's test images only and says nothing about how far the row moves when trained "
    "again. The seed std is the standard deviation of the per-seed effects. A claim on a row whose run predicts "
    "one class everywhere is not judged. A verdict holds for this run's setup; the last column lists how it "
    "differs from the paper's."
)


def markdown(frame: pd.DataFrame, heading: str = "## The paper's claims, checked", guide: str = READING_GUIDE) -> str:
    """The ledger as a Markdown table, with how to read it (``guide``)."""
    shown = frame.copy()
    judged = frame["n_seeds"].fillna(0) >= MIN_SEEDS
    shown["effect (95% CI)"] = [
        "-"
        if pd.isna(row.effect)
        else f"{row.effect:+.4f} [{row.ci_low:+.4f}, {row.ci_high:+.4f}]"
        + ("" if is_judged else " (this run's images only)")
        for row, is_judged in zip(frame.itertuples(), judged, strict=True)
    ]
    shown["seed std"] = ["-" if pd.isna(value) else f"{value:.4f}" for value in frame["seed_std"]]
    for column in ("n_images", "n_seeds"):
        shown[column] = frame[column].astype("Int64")
    columns = ["claim", "verdict", "effect (95% CI)", "seed std", "n_images", "n_seeds", "differs_from_paper"]
    setups = frame["differs_from_paper"].dropna().unique()
    common = f" Every claim here was tested on a setup that differs from the paper's: {setups[0]}." if (
        len(frame) > 1 and len(setups) == 1 and frame["differs_from_paper"].notna().all()) else ""
    shown = shown[columns[:-1] if common else columns]
    counts = frame["verdict"].value_counts()
    tally = ", ".join(f"{counts[name]} {name}" for name in STATUSES if name in counts) or "no claims"
    return "\n".join(
        [heading, "", f"{tally}. {guide}{common}", "", shown.astype(object).fillna("-").to_markdown(index=False), ""]
    )


def write_ledger(results: str | Path) -> tuple[Path, Path]:
    """``claims.csv`` and ``claims.md`` in ``results``."""
    results = Path(results)
    frame = ledger(results)
    csv_path, md_path = results / "claims.csv", results / "claims.md"
    frame.to_csv(csv_path, index=False)
    md_path.write_text(markdown(frame, f"# The paper's claims, checked ({results.name})") + "\n")
    return csv_path, md_path


def section_claims(results: str | Path, section: str) -> str:
    """The "What this shows" paragraph of a section's notebook: its claims and their verdicts."""
    frame = ledger(results)
    table = SECTIONS[section].table
    guide = "How to read a verdict: [the README](../README.md#the-papers-claims-checked)."
    frame = frame[frame["table"] == table].reset_index(drop=True)
    return markdown(frame, f"### What this shows (Table {table})", guide)
