from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cenet_lib.config import PROFILES, RunConfig, load_config
from cenet_lib.data.policy import InputPolicy
from cenet_lib.reporting.sections import SECTIONS, section_config


def test_defaults_are_the_papers_recipe():
    config = RunConfig()
    assert (config.optimizer, config.lr, config.momentum, config.weight_decay) == ("sgd", 4e-3, 0.9, 1e-4)
    assert (config.batch_size, config.epochs, config.lr_policy, config.poly_power, config.loss) == (
        8,
        100,
        "poly",
        0.9,
        "dice",
    )
    assert config.input_size == (448, 448) and config.tta


def test_authors_recipe_and_profile_layering(tmp_path):
    authors = load_config("paper", "authors")
    assert (authors.optimizer, authors.lr, authors.loss, authors.lr_policy, authors.epochs) == (
        "adam",
        2e-4,
        "ce",
        "plateau",
        300,
    )
    quick = load_config("quick", "authors")
    assert (
        quick.optimizer == "adam"
        and quick.lr == 2e-4
        and quick.steps == PROFILES["quick"]["steps"]
        and quick.input_size == (256, 256)
    )
    assert quick.recipe == "authors" and quick.profile == "quick"
    default_quick = load_config("quick")
    assert default_quick.recipe == "scratch" and (default_quick.optimizer, default_quick.lr, default_quick.loss) == (
        "adam",
        1e-3,
        "dice",
    )
    settings = tmp_path / "run.yaml"
    settings.write_text("lr: 0.01\nepochs: 5\n")
    config = load_config(
        "smoke",
        yaml_file=settings,
        overrides={"epochs": "7", "input_size": "96", "amp": "false", "weight_decay": "1e-5"},
    )
    assert (
        config.weight_decay == 1e-5
        and config.lr == 0.01
        and config.epochs == 7
        and config.input_size == (96, 96)
        and config.amp is False
    )


def test_bad_names_are_reported():
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        load_config("huge")
    with pytest.raises(ValueError, match="paper, scratch, authors"):
        load_config("smoke", "mine")
    with pytest.raises(ValueError, match="Unknown setting.*learning_rate"):
        load_config("smoke", overrides={"learning_rate": 1})


def test_section_settings_are_the_measured_ones():
    """Every quick section setting comes from a file the input policy search wrote: its policy, its
    size, its tiling and the steps that fit the budget."""
    results = Path(__file__).parents[1] / "benchmarks" / "results"
    # Tables II and VI share one DRIVE setting: the crop size the vessels search chose, the steps
    # that fit the ablation budget (whose eight rows include Table II's three)
    sources = {"vessels": "input_policy_ablation_budget.csv", "cells": "input_policy_cells_budget.csv",
               "ablation": "input_policy_ablation_budget.csv", "oct": "input_policy_oct_resize_horizontal-flips.csv",
               "lung": "input_policy_lung_resize.csv", "optic_disc": "input_policy_optic_disc_resize.csv"}
    assert {name for name, section in SECTIONS.items() if "quick" in section.settings} == set(sources)
    for section, name in sources.items():
        settings = section_config(section, "quick")
        size = "x".join(str(side) for side in settings.input_size)
        measured = pd.read_csv(results / name).set_index(settings.input_policy).loc[size]
        assert settings.steps == measured["steps"], section
        assert (settings.tile_size == settings.input_size) == bool(measured.get("tiled", False)), section
    vessels = section_config("vessels", "quick")
    assert vessels == section_config("ablation", "quick")
    search = pd.read_csv(results / "input_policy_vessels.csv")
    assert search.loc[search["final_val_fov_auc"].idxmax(), "crop"] == "x".join(
        str(side) for side in vessels.input_size
    )


def test_expected_durations_are_the_committed_runs():
    """The duration ``run_all.sh`` announces for a quick section is the one its committed table took
    (the table's wall time, plus the notebook's start and figures), where that table trained its own
    runs in one go and shares none with an earlier section (Table VI shares three of Table II's,
    which ``run_all.sh`` trains first, so the ablations' announcement counts only their own rows).
    A table written from its runs' records (several seeds trained side by side, two at a time, one
    thread each) is checked against what one seed of its runs cost there: half the per-seed seconds,
    as two runs share the two cores. The announcement is one seed in one go at two threads, which
    uses the cores less well than two one-thread runs: Table V's one seed took 1794 s in one go
    (its table of commit c27c3b7) and 900 s per seed side by side (its three seeds' records), so the two may
    differ by up to 2.5 times either way."""
    tables = Path(__file__).parents[1] / "results" / "quick" / "tables"
    checked, earlier = 0, set()
    for name, section in SECTIONS.items():
        runs = {
            section_config(name, "quick", {"dataset": section.dataset, "model": row.model, "loss": row.loss}).run_name()
            for row in section.rows
        }
        shared, earlier = runs & earlier, earlier | runs
        meta = json.loads((tables / f"table_{section.table}.json").read_text())
        if shared:
            continue
        checked += 1
        if meta["wall_seconds"] >= meta.get("runs_seconds", 0):
            assert 0 <= section.expected_seconds["quick"] - meta["wall_seconds"] <= 120, name
        else:
            per_seed_side_by_side = meta["runs_seconds"] / len(meta["seeds"]) / 2
            assert 0.4 <= section.expected_seconds["quick"] / per_seed_side_by_side <= 2.5, name
    assert checked == len(SECTIONS) - 1  # all but the ablations, which share Table II's runs


def test_committed_quick_tables_follow_the_current_settings():
    """A committed quick table was trained with the input policy and steps its section has now: a
    change to a section's ``settings`` or the profile leaves no table silently stale."""
    tables = Path(__file__).parents[1] / "results" / "quick" / "tables"
    for name, section in SECTIONS.items():
        provenance = json.loads((tables / f"table_{section.table}.json").read_text())
        config = section_config(name, "quick")
        policy = InputPolicy.from_config(config).describe()
        assert {key: provenance.get(key) for key in policy} == policy, name
        assert provenance["epochs_or_steps"] == config.steps, name


def test_the_announcement_counts_the_runs_left_to_train():
    """A fresh clone reuses every committed quick run: the plan says so instead of half an hour; a
    seed the records lack is announced as one seed's time."""
    from cenet_lib.reporting.plan import SectionPlan, runs_left

    plan = SectionPlan("oct", "quick", False, Path(__file__).parents[1] / "results" / "quick", "oct")
    finished = "12 runs (4 rows x 3 seeds), all finished: the table from their records, in seconds"
    assert runs_left(plan, (0, 1, 2), None) == finished
    minutes = round(SECTIONS["oct"].expected_seconds["quick"] / 60)
    assert runs_left(plan, (0, 1, 2, 3), None).endswith(f"4 to train: about {minutes} min on a 2-core CPU")
    assert f"12 to train: about {3 * minutes} min" in runs_left(plan, (0, 1, 2), None, force=True)
