"""Tables I-VI: our scores beside the paper's, cited rows, substituted and synthetic data, files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cenet_lib.reporting import SECTIONS, build_table, paper_values, wide_layout, write_table


def per_image(values: dict[str, list[float]], seeds: list[int] | None = None) -> pd.DataFrame:
    table = pd.DataFrame(values)
    if seeds is not None:
        table["seed"] = seeds
    return table


def test_paper_values_for_every_section():
    counts = {name: len(paper_values(section)) for name, section in SECTIONS.items()}
    assert counts == {"optic_disc": 48, "vessels": 24, "lung": 9, "cells": 6, "oct": 77, "ablation": 16}
    drive = paper_values(SECTIONS["vessels"])
    cenet = drive[(drive["method"] == "CE-Net") & (drive["metric"] == "Sen")]
    assert cenet["mean"].iloc[0] == pytest.approx(0.8309)


def test_vessel_table_ours_beside_paper():
    section = SECTIONS["vessels"]
    cenet = per_image({"fov_sensitivity": [0.8, 0.82, 0.84], "fov_accuracy": [0.95] * 3, "fov_auc": [0.97] * 3,
                       "whole_sensitivity": [0.8] * 3, "whole_accuracy": [0.96] * 3, "whole_auc": [0.98] * 3})
    long = build_table(section, {"CE-Net": cenet}, "DRIVE (real)", synthetic=False)
    line = long[(long["method"] == "CE-Net") & (long["metric"] == "Sen")].iloc[0]
    assert line["ours_mean"] == pytest.approx(0.82) and line["ours_std"] == pytest.approx(
        np.std([0.8, 0.82, 0.84], ddof=1)
    )
    assert line["paper_mean"] == pytest.approx(0.8309) and line["difference"] == pytest.approx(0.82 - 0.8309)
    assert line["status"] == "trained here" and line["n_images"] == 3 and bool(line["comparable"])
    cited = long[long["method"] == "Azzopardi"]
    assert set(cited["status"]) == {"cited, not trained here"} and cited["ours_mean"].isna().all()
    assert set(long[long["method"] == "U-Net"]["status"]) == {"not run"}
    whole = long[(long["method"] == "CE-Net") & (long["metric"] == "AUC (whole image)")].iloc[0]
    assert whole["ours_mean"] == pytest.approx(0.98) and np.isnan(whole["paper_mean"])
    human = build_table(section, {"Second observer": cenet}, "DRIVE (real)", False)
    assert set(human[human["method"] == "Second observer"]["status"]) == {"measured here"}


def test_seeds_are_pooled_and_their_spread_reported():
    section = SECTIONS["lung"]
    scores = per_image(
        {"overlap_error": [0.1, 0.2, 0.3, 0.5], "accuracy": [0.9] * 4, "sensitivity": [0.9] * 4}, [0, 0, 1, 1]
    )
    line = (
        build_table(section, {"CE-Net": scores}, "lung (real)", False)
        .query("method == 'CE-Net' and metric == 'overlap_error'")
        .iloc[0]
    )
    assert line["ours_mean"] == pytest.approx(0.275) and line["n_seeds"] == 2
    assert line["seed_std"] == pytest.approx(np.std([0.15, 0.4], ddof=1))
    long = build_table(section, {"CE-Net": scores}, "lung (real)", False)
    assert wide_layout(long).loc["CE-Net", ("overlap_error", "ours")] == "0.2750 ± 0.1708 (seeds ± 0.1768)"


@pytest.mark.parametrize("name,synthetic", [("optic_disc", False), ("vessels", True)])
def test_substituted_or_synthetic_data_is_not_compared(name, synthetic, tmp_path):
    section = SECTIONS[name]
    column = next(iter(section.metrics.values()))
    long = build_table(section, {"CE-Net": per_image({column: [0.1, 0.2]})}, "stand-in", synthetic)
    ours = long[long["method"] == "CE-Net"]
    assert not ours["comparable"].any() and ours["difference"].isna().all()
    files = write_table(long, section, tmp_path, {"git_commit": "abc", "profile": "smoke"}, synthetic)
    markdown = files[1].read_text()
    assert ("SYNTHETIC" if synthetic else "SUBSTITUTED") in markdown.splitlines()[0]
    assert "git_commit: abc" in markdown and "profile: smoke" in files[2].read_text()
    assert json.loads(files[3].read_text())["git_commit"] == "abc"
    assert pd.read_csv(files[0])["method"].tolist() == long["method"].tolist()


def test_wide_layout_has_a_row_per_method_in_paper_order(tmp_path):
    section = SECTIONS["ablation"]
    long = build_table(section, {}, "DRIVE (real)", False)
    files = write_table(long, section, tmp_path, {}, False)
    body = files[1].read_text()
    order = [body.index(row.method + " ") for row in section.rows]
    assert order == sorted(order)
    assert "\\begin{table}" in files[2].read_text()


def test_run_section_rejects_unknown_rows(tmp_path):
    from cenet_lib.reporting.section import run_section

    with pytest.raises(ValueError, match="its rows are \\['U-Net', 'Backbone', 'CE-Net'\\]"):
        run_section("lung", out_root=tmp_path, rows=["CE-Net v2"])


def test_wide_layout_shows_only_sub_columns_that_hold_values():
    from cenet_lib.reporting import wide_layout

    section = SECTIONS["optic_disc"]
    long = build_table(
        section, {"CE-Net": per_image({"overlap_error": [0.1, 0.2], "dice": [0.9, 0.8]})}, "DRISHTI-GS1", False
    )
    columns = set(wide_layout(long).columns)
    assert ("ORIGA", "paper") in columns and ("ORIGA", "ours") not in columns
    assert ("overlap_error", "ours") in columns and ("overlap_error", "paper") not in columns
    assert not any(kind == "Δ" for _, kind in columns)  # substituted data: never a difference
    comparable = build_table(
        SECTIONS["lung"],
        {"CE-Net": per_image({"overlap_error": [0.1], "accuracy": [0.9], "sensitivity": [0.9]})},
        "lung",
        False,
    )
    assert ("overlap_error", "Δ") in set(wide_layout(comparable).columns)


def test_a_synthetic_run_cannot_overwrite_a_real_data_table(tmp_path, synthetic_cache, monkeypatch):
    """The quick profile without the real data runs on the stand-in, into results/quick-synthetic."""
    from cenet_lib.reporting.section import run_section

    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    committed = tmp_path / "quick" / "tables" / "table_III.md"
    committed.parent.mkdir(parents=True)
    committed.write_text("the committed real-data table")
    tiny = {
        "steps": 1,
        "input_size": (64, 64),
        "batch_size": 2,
        "max_images": 2,
        "max_test_images": 1,
        "keep_weights": False,
    }
    result = run_section("lung", profile="quick", data_root=str(tmp_path / "no-data"), out_root=tmp_path,
                         rows=["CE-Net"], settings=tiny)
    assert result.synthetic and result.out_dir == tmp_path / "quick-synthetic"
    assert (tmp_path / "quick-synthetic" / "tables" / "table_III.md").is_file()
    assert committed.read_text() == "the committed real-data table"


def test_the_notebook_shows_the_columns_beside_the_paper_s_metrics_down_and_the_rows_across():
    """Table V's per-boundary errors: one line per boundary, one column per row, ours only."""
    from pathlib import Path

    from cenet_lib.reporting.notebook import per_metric_layout

    long = pd.read_csv(Path(__file__).resolve().parents[1] / "results" / "quick" / "tables" / "table_V.csv")
    extra = long[long["metric"].isin(["ILM", "BM"]) & long["ours_mean"].notna()]
    view = per_metric_layout(extra)
    assert list(view.index) == ["ILM", "BM"]
    assert list(view.columns) == ["U-Net", "Backbone", "CE-Net w/ CE", "CE-Net w/ Dice"]
    row = extra[(extra["method"] == "U-Net") & (extra["metric"] == "ILM")].iloc[0]
    assert view.loc["ILM", "U-Net"] == f"{row.ours_mean:.3f} ± {row.ours_std:.3f} ({row.seed_std:.3f})"
