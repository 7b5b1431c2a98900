from __future__ import annotations

import pytest

from cenet_lib.config import PROFILES, RunConfig, load_config


def test_defaults_are_the_papers_recipe():
    config = RunConfig()
    assert (config.optimizer, config.lr, config.momentum, config.weight_decay) == ("sgd", 4e-3, 0.9, 1e-4)
    assert (config.batch_size, config.epochs, config.lr_policy, config.poly_power, config.loss) == (8, 100, "poly", 0.9, "dice")
    assert config.input_size == (448, 448) and config.tta


def test_authors_recipe_and_profile_layering(tmp_path):
    authors = load_config("paper", "authors")
    assert (authors.optimizer, authors.lr, authors.loss, authors.lr_policy, authors.epochs) == ("adam", 2e-4, "ce", "plateau", 300)
    quick = load_config("quick", "authors")
    assert quick.optimizer == "adam" and quick.lr == 2e-4 and quick.steps == PROFILES["quick"]["steps"] and quick.input_size == (256, 256)
    assert quick.recipe == "authors" and quick.profile == "quick"
    default_quick = load_config("quick")
    assert default_quick.recipe == "scratch" and (default_quick.optimizer, default_quick.lr, default_quick.loss) == ("adam", 1e-3, "dice")
    settings = tmp_path / "run.yaml"
    settings.write_text("lr: 0.01\nepochs: 5\n")
    config = load_config("smoke", yaml_file=settings, overrides={"epochs": "7", "input_size": "96", "amp": "false", "weight_decay": "1e-5"})
    assert config.weight_decay == 1e-5 and config.lr == 0.01 and config.epochs == 7 and config.input_size == (96, 96) and config.amp is False


def test_bad_names_are_reported():
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        load_config("huge")
    with pytest.raises(ValueError, match="paper, scratch, authors"):
        load_config("smoke", "mine")
    with pytest.raises(ValueError, match="Unknown setting.*learning_rate"):
        load_config("smoke", overrides={"learning_rate": 1})
