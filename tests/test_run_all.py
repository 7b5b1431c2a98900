"""./run_all.sh end to end as a newcomer runs it with no data: every section falls back to the smoke
profile on its synthetic stand-in and says how to get the data; every notebook through papermill,
all six tables and the figures with their provenance, the index pages, under 300 MB left on disk,
and no rerun of finished sections."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def run_all_environment(synthetic_cache: Path) -> dict[str, str]:
    """This interpreter's environment for run_all.sh, with the tests' synthetic stand-ins."""
    return {
        **os.environ,
        "VIRTUAL_ENV": sys.prefix,
        "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "CENET_CACHE": str(synthetic_cache),
    }


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory, synthetic_cache):
    out = tmp_path_factory.mktemp("results")
    env = {**run_all_environment(synthetic_cache), "CENET_DATA_ROOT": str(tmp_path_factory.mktemp("no-data"))}
    first = subprocess.run(["./run_all.sh", "--out", str(out)], cwd=REPOSITORY, env=env,  # the default profile: auto
                           capture_output=True, text=True, timeout=1800)
    second = subprocess.run(["./run_all.sh", "--profile", "smoke", "--out", str(out), "--only", "lung",
                             "--archive", str(out / "results.tar.gz")], cwd=REPOSITORY,
                            env=env, capture_output=True, text=True, timeout=600)
    yield out / "smoke", first, second
    shutil.rmtree(out)  # the trained models of all six sections


def test_run_all_succeeds_and_summarises(smoke_results):
    results, first, _ = smoke_results
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Summary:" in first.stdout
    for section, dataset in (("optic_disc", "drishti"), ("vessels", "drive"), ("lung", "lung"), ("cells", "isbi2012"),
                             ("oct", "duke"), ("ablation", "drive")):
        assert f"{section}: done in" in first.stdout
        assert (
            f"{section}: no real data in " in first.stdout
            and f"python -m cenet_lib.data fetch {dataset}" in first.stdout
        )
    assert first.stdout.count("smoke profile on the synthetic stand-in") == 6
    assert "their numbers mean nothing" in first.stdout


def test_smoke_leaves_little_on_disk(smoke_results):
    results, _, _ = smoke_results
    size = sum(path.stat().st_size for path in results.rglob("*") if path.is_file())
    assert size < 300e6, f"{size / 1e6:.0f} MB"
    assert not list(results.rglob("*.pt"))


def test_all_six_tables_with_provenance(smoke_results):
    results, _, _ = smoke_results
    for table in ("I", "II", "III", "IV", "V", "VI"):
        for suffix in (".csv", ".md", ".tex", ".json"):
            assert (results / "tables" / f"table_{table}{suffix}").is_file(), (table, suffix)
        meta = json.loads((results / "tables" / f"table_{table}.json").read_text())
        assert meta["profile"] == "smoke" and "SYNTHETIC" in meta["title"] and "synthetic" in meta["dataset"]
        for key in ("git_commit", "device", "seeds", "encoder_weights", "wall_seconds", "recipe", "date_utc"):
            assert key in meta, (table, key)
        assert meta["steps_trained"] == 4, table  # smoke: 2 epochs of 4 images in batches of 2
    index = (results / "README.md").read_text()
    assert index.count("\n- [Table ") == 6 and index.count(", commit ") == 6
    assert (results / "summary.md").read_text().count("## Table") == 6


def test_figures_are_written(smoke_results):
    results, _, _ = smoke_results
    assert len(list((results / "figures").glob("loss_curves_*.png"))) == 6
    assert len(list((results / "samples").glob("samples_*.png"))) == 6
    assert len(list((results / "executed").glob("*.ipynb"))) == 6
    for name in ("data", "input", "predictions"):  # the walkthrough's figures of dataset images
        assert len(list((results / "samples").glob(f"*_{name}.png"))) == 6, name
    for name in ("training", "scores"):
        assert len(list((results / "figures").glob(f"*_{name}.png"))) == 6, name


def test_each_executed_notebook_tells_its_section_in_steps_with_inline_figures(smoke_results):
    """Every section notebook, executed with its defaults: at least 7 markdown cells (the steps)
    and at least 5 figures shown inline."""
    import nbformat

    results, _, _ = smoke_results
    for path in sorted((results / "executed").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
        images = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
                  if "image/png" in output.get("data", {})]
        assert len(markdown) >= 7 and len(images) >= 5, (path.name, len(markdown), len(images))


def test_the_archive_holds_the_results_and_no_weights(smoke_results):
    import tarfile

    results, _, second = smoke_results
    archive = results.parent / "results.tar.gz"
    assert f"Wrote {archive}:" in second.stdout and "MiB (no weights)" in second.stdout
    with tarfile.open(archive) as packed:
        names = packed.getnames()
    assert any(name.endswith("tables/table_III.md") for name in names)
    assert any(name.endswith("executed/03_lung.ipynb") for name in names)
    assert not [name for name in names if name.endswith((".pt", ".pt2", ".onnx"))]
    assert archive.stat().st_size < 16 * 2**20


def test_finished_sections_are_not_redone(smoke_results):
    _, _, second = smoke_results
    assert second.returncode == 0 and "lung: finished earlier" in second.stdout


def test_only_without_names_and_cuda_without_a_gpu_are_refused(synthetic_cache):
    env = run_all_environment(synthetic_cache)
    result = subprocess.run(
        ["./run_all.sh", "--only"], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--only needs section names" in result.stderr
    if not __import__("torch").cuda.is_available():
        result = subprocess.run(["./run_all.sh", "--device", "cuda", "--only", "lung"], cwd=REPOSITORY, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
        assert "no CUDA GPU" in result.stderr and "device=cpu" in result.stderr


def test_encoder_weights_reach_the_notebook_and_a_failure_is_reported(tmp_path, synthetic_cache):
    env = run_all_environment(synthetic_cache)
    missing = tmp_path / "resnet34.pth"
    result = subprocess.run(
        [
            "./run_all.sh",
            "--profile",
            "smoke",
            "--out",
            str(tmp_path),
            "--only",
            "lung",
            "--encoder-weights",
            str(missing),
        ],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0 and "lung: FAILED" in result.stdout
    log = (tmp_path / "smoke" / "executed" / "03_lung.log").read_text()
    assert str(missing) in log  # the weights file the user named, in the error of the section's log
