"""The claims ledger: verdicts on synthetic per-image scores, the bootstrap, and the files written."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cenet_lib.reporting.claims import (
    CLAIMS,
    Claim,
    bootstrap_interval,
    ledger,
    paired_differences,
    setup_differences,
    verdict,
    write_ledger,
)

CLAIM = Claim("II", "CE-Net", "U-Net", "fov_auc", "AUC (FOV)", True, "test")
ERROR_CLAIM = Claim("I", "CE-Net", "U-Net", "overlap_error", "overlap error", False, "test")


def scores(
    better_shift: float, noise: float = 0.01, images: int = 20, seeds: int = 1, column: str = "fov_auc", seed: int = 0
):
    """Per-image scores of U-Net and CE-Net on the same images; CE-Net shifted by ``better_shift``."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.85, 0.95, images)
    rows = []
    for s in range(seeds):
        for method, shift in (("U-Net", 0.0), ("CE-Net", better_shift)):
            values = base + shift + rng.normal(0, noise, images)
            rows += [{"method": method, "seed": s, "id": f"{k:02d}", column: v} for k, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_better_on_every_image_is_supported():
    d = paired_differences(scores(0.05), CLAIM)
    assert d.shape == (1, 20) and (d > 0).all()
    low, high = bootstrap_interval(d)
    assert verdict(low, high) == "supported" and low > 0.03


def test_equal_up_to_noise_is_inconclusive():
    low, high = bootstrap_interval(paired_differences(scores(0.0, noise=0.02), CLAIM))
    assert verdict(low, high) == "inconclusive" and low < 0 < high


def test_reversed_order_is_contradicted():
    low, high = bootstrap_interval(paired_differences(scores(-0.03), CLAIM))
    assert verdict(low, high) == "contradicted"


def test_lower_is_better_scores_are_signed_the_paper_s_way():
    d = paired_differences(
        scores(-0.05, noise=0.005, column="overlap_error"), ERROR_CLAIM
    )  # CE-Net has the lower error
    assert (d > 0).all()


def test_the_bootstrap_is_reproducible_from_its_seed_and_handles_seeds():
    d = paired_differences(scores(0.01, noise=0.02, seeds=3), CLAIM)
    assert d.shape == (3, 20)
    assert bootstrap_interval(d, seed=4) == bootstrap_interval(d, seed=4)
    assert bootstrap_interval(d, seed=4) != bootstrap_interval(d, seed=5)
    single = bootstrap_interval(d[:1])
    assert single != bootstrap_interval(d)


def test_pairs_only_images_both_rows_scored():
    frame = scores(0.05)
    frame = frame[~((frame["method"] == "U-Net") & (frame["id"] == "03"))]
    assert paired_differences(frame, CLAIM).shape == (1, 19)
    assert paired_differences(frame[frame["method"] == "CE-Net"], CLAIM).size == 0


def test_every_claim_names_rows_and_scores_of_its_table():
    from cenet_lib.reporting.sections import SECTIONS

    for claim in CLAIMS:
        section = SECTIONS[claim.section]
        methods = {row.method for row in section.rows}
        assert {claim.better, claim.worse} <= methods, claim
        assert claim.score in set(section.metrics.values()) | set(section.extra_columns.values()), claim
    assert len({claim.text for claim in CLAIMS}) == len(CLAIMS)


def test_ledger_files_and_not_run_tables(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    frame = scores(0.05, seeds=3)
    frame.assign(fov_sensitivity=frame["fov_auc"], fov_accuracy=frame["fov_auc"]).to_csv(
        tables / "table_II_per_image.csv", index=False
    )
    (tables / "table_II.json").write_text(
        json.dumps(
            {
                "dataset": "DRIVE (real), test split",
                "encoder_weights": "scratch",
                "profile": "quick",
                "seeds": [0, 1, 2],
            }
        )
    )
    result = ledger(tmp_path)
    chosen = result[result["claim"] == "Table II: CE-Net > U-Net in AUC (FOV)"].iloc[0]
    assert chosen["verdict"] == "supported" and chosen["n_images"] == 20
    assert "from scratch" in chosen["differs_from_paper"] and "seed" not in chosen["differs_from_paper"]
    assert "flips" not in chosen["differs_from_paper"]
    caveats = setup_differences({"profile": "quick", "flips": "horizontal"}, None)
    assert "horizontal flips only, not the paper's eight" in caveats
    assert set(result.loc[result["table"] == "III", "verdict"]) == {"not run"}
    backbone = result[result["claim"] == "Table II: CE-Net > Backbone in AUC (FOV)"].iloc[0]
    assert backbone["verdict"] == "not run"  # no Backbone scores in this file
    csv_path, md_path = write_ledger(tmp_path)
    assert pd.read_csv(csv_path).shape[0] == len(CLAIMS)
    text = md_path.read_text()
    assert "supported" in text and "supported means it lies above 0" in text


@pytest.mark.parametrize("shift, expected", [(0.05, "supported"), (-0.05, "contradicted")])
def test_a_section_run_feeds_the_ledger(shift, expected, tmp_path):
    """The per-image file a section writes is what the ledger reads: methods, seeds and ids."""
    from cenet_lib.reporting.sections import SECTIONS
    from cenet_lib.reporting.tables import write_per_image

    frame = scores(shift, seeds=3)
    per_method = {method: group.drop(columns="method") for method, group in frame.groupby("method")}
    (tmp_path / "tables").mkdir()
    write_per_image(per_method, SECTIONS["vessels"], tmp_path / "tables")
    result = ledger(tmp_path)
    assert result.loc[result["claim"] == "Table II: CE-Net > U-Net in AUC (FOV)", "verdict"].item() == expected


def test_claims_command(tmp_path, capsys):
    from cenet_lib.cli import main

    assert main(["claims", str(tmp_path)]) == 1
    assert "holds no tables/ folder" in capsys.readouterr().err
    (tmp_path / "tables").mkdir()
    scores(0.05, seeds=3).to_csv(tmp_path / "tables" / "table_II_per_image.csv", index=False)
    assert main(["claims", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 supported, 38 not run" in out and (tmp_path / "claims.csv").is_file()


def _ledger_of(frame: pd.DataFrame, tmp_path) -> pd.Series:
    (tmp_path / "tables").mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "tables" / "table_II_per_image.csv", index=False)
    result = ledger(tmp_path)
    return result[result["claim"] == "Table II: CE-Net > U-Net in AUC (FOV)"].iloc[0]


def test_an_effect_every_image_shows_but_one_seed_reverses_is_inconclusive(tmp_path):
    """CE-Net better on every image in seeds 0 and 1, worse on every image in seed 2: the images
    alone would call it supported; with the seed as the unit it is not."""
    frame = scores(0.02, noise=0.001, seeds=3)
    flipped = (frame["seed"] == 2) & (frame["method"] == "CE-Net")
    frame.loc[flipped, "fov_auc"] -= 0.04
    for seed in range(3):
        one = paired_differences(frame[frame["seed"] == seed], CLAIM)
        assert (one > 0).all() if seed < 2 else (one < 0).all()  # consistent over the images of each seed
    line = _ledger_of(frame, tmp_path)
    assert line["verdict"] == "inconclusive" and line["n_seeds"] == 3
    assert line["seed_std"] == pytest.approx(np.std([0.02, 0.02, -0.02], ddof=1), abs=2e-3)


def test_an_effect_consistent_over_seeds_and_images_is_supported(tmp_path):
    line = _ledger_of(scores(0.02, noise=0.001, seeds=3), tmp_path)
    assert line["verdict"] == "supported" and line["seed_std"] < 0.002


def test_one_seed_gives_one_run_with_the_effect_of_that_run(tmp_path):
    line = _ledger_of(scores(0.05), tmp_path)
    assert line["verdict"] == "one run" and line["ci_low"] > 0 and np.isnan(line["seed_std"])
    assert verdict(0.01, 0.02, seeds=2) == "2 runs"
    from cenet_lib.reporting.claims import markdown

    assert "(this run's images only)" in markdown(ledger(tmp_path))


def test_a_claim_on_a_degenerate_run_is_not_judged(tmp_path):
    frame = scores(-0.05, seeds=3).assign(fov_sensitivity=0.7)
    frame.loc[frame["method"] == "U-Net", "fov_sensitivity"] = 0.0  # U-Net predicts background everywhere
    line = _ledger_of(frame, tmp_path)
    assert line["verdict"] == "not judged: degenerate run"


def test_the_results_index_lists_what_git_holds_whatever_this_machine_drew(tmp_path):
    """Figures showing dataset images (``samples/``, git-ignored) must not change the tracked index."""
    import shutil
    from pathlib import Path

    from cenet_lib.reporting.summary import write_summary

    committed = Path(__file__).resolve().parents[1] / "results" / "quick"
    for folder in ("tables", "figures"):
        shutil.copytree(committed / folder, tmp_path / folder)
    readme, summary = write_summary(tmp_path)
    before = readme.read_text(), summary.read_text()
    (tmp_path / "samples").mkdir()
    shutil.copy(next((tmp_path / "figures").glob("*.png")), tmp_path / "samples" / "cells_data.png")
    write_summary(tmp_path)
    assert (readme.read_text(), summary.read_text()) == before
    assert "loss_curves_vessels" in before[0] and "samples/" in before[0]


def test_the_readme_status_is_the_one_written_from_the_committed_tables(tmp_path, monkeypatch):
    """No number of the README's status is typed by hand: it equals what the committed tables give."""
    import shutil
    from pathlib import Path

    from cenet_lib.reporting.summary import STATUS_BEGIN, STATUS_END, status_markdown, write_readme_status

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    text = Path("README.md").read_text()
    block = text[text.index(STATUS_BEGIN) + len(STATUS_BEGIN):text.index(STATUS_END)].strip()
    assert block == status_markdown(Path("results") / "quick"), "run: cenet summary results/quick --readme README.md"

    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{STATUS_BEGIN}\nold numbers\n{STATUS_END}\nafter\n")
    shutil.copytree(root / "results" / "quick" / "tables", tmp_path / "quick" / "tables")
    write_readme_status(readme, tmp_path / "quick")
    written = readme.read_text()
    assert written.startswith("before\n") and written.endswith("after\n") and "old numbers" not in written
    assert "| III |" in written and "Claims (" in written
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="no status markers"):
        write_readme_status(readme, tmp_path / "quick")


def test_a_section_s_claims_say_a_setup_they_share_once():
    """Table VI's 16 claims share one setup: said once above them, not on every line."""
    from pathlib import Path

    from cenet_lib.reporting.claims import section_claims

    text = section_claims(Path(__file__).resolve().parents[1] / "results" / "quick", "ablation")
    assert "differs_from_paper" not in text
    assert text.count("ResNet-34 encoder from scratch") == 1
    assert text.count("| Table VI:") == 16
