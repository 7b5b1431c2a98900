"""The notebooks as committed: clean (no outputs, no run metadata) and safe to run as they are
(their parameters show the committed results: nothing trained, nothing overwritten)."""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from test_figures import assert_legible

from cenet_lib.reporting.sections import SECTIONS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SAFE = {"profile": "quick", "seeds": None, "retrain": False, "replace_committed": False, "rows": None}


@pytest.mark.parametrize("name", [section.notebook for section in SECTIONS.values()])
def test_a_committed_notebook_holds_no_outputs_and_safe_parameters(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [cell for cell in code if cell.get("outputs") or cell.get("execution_count")], "saved with outputs"
    assert "papermill" not in notebook.metadata and not [cell for cell in code if "papermill" in cell.metadata]
    (parameters,) = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(parameters.source).body
              if isinstance(node, ast.Assign)}
    assert {key: values.get(key) for key in SAFE} == SAFE


def test_staging_a_notebook_strips_its_outputs(tmp_path):
    """What JupyterLab saves (outputs, run metadata) never reaches git: the filter scripts/ensure_env.sh
    configures, used in a scratch repository with this project's .gitattributes."""
    repository = NOTEBOOKS.parent
    clean = subprocess.run(["git", "config", "--get", "filter.nbstripout.clean"], cwd=repository, capture_output=True,
                           text=True).stdout.strip()
    if not clean:
        pytest.skip("the nbstripout filter is not configured here: ./test.sh (scripts/ensure_env.sh) sets it up")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "filter.nbstripout.clean", clean], cwd=tmp_path, check=True)
    shutil.copy(repository / ".gitattributes", tmp_path)
    notebook = nbformat.read(NOTEBOOKS / f"{SECTIONS['lung'].notebook}.ipynb", as_version=4)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="a figure, a table")]
    notebook.cells[2].execution_count = 3
    notebook.metadata["papermill"] = {"duration": 1.0}
    nbformat.write(notebook, tmp_path / "saved.ipynb")
    subprocess.run(["git", "add", "saved.ipynb"], cwd=tmp_path, check=True)
    staged = nbformat.reads(subprocess.run(["git", "show", ":saved.ipynb"], cwd=tmp_path, capture_output=True,
                                           text=True, check=True).stdout, as_version=4)
    assert not staged.cells[2].outputs and staged.cells[2].execution_count is None
    assert "papermill" not in staged.metadata and staged.cells[1].source == notebook.cells[1].source


REPOSITORY = NOTEBOOKS.parent


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_default_shows_the_committed_reproduction_and_trains_and_writes_nothing(tmp_path, monkeypatch):
    """A notebook's defaults on the repository's committed results, with no data on the machine:
    the committed table and its runs' records, nothing trained, not one file written."""
    import cenet_lib.reporting.runner as runner
    from cenet_lib.reporting.walkthrough import SectionWalkthrough, section_note

    monkeypatch.setenv("CENET_DATA_ROOT", str(tmp_path / "no-data"))
    monkeypatch.setattr(runner, "train", None)  # any training would fail
    results = shutil.copytree(REPOSITORY / "results", tmp_path / "results")
    before = _snapshot(results)
    walk = SectionWalkthrough("vessels", "quick", None, results)
    result = walk.results()
    assert walk.committed and walk.missing_data and "not on this machine" in walk.data_note()
    assert result.table_files.csv == results / "quick" / "tables" / "table_II.csv"
    assert len(result.run_dirs["CE-Net"]) == 3  # the committed records of seeds 0, 1 and 2
    note = section_note(result, walk.committed)
    assert "runs on CPU (x86_64, 1 thread)" in note  # the runs' own device, not the machine showing them
    figures = [walk.architecture_figure(), walk.training_figure(result), walk.prediction_figure(result),
               walk.score_figure(result)]
    assert None not in figures
    assert_legible(figures)
    assert walk.data_figure() is None
    assert _snapshot(results) == before


def test_every_figure_of_the_widest_table_is_legible_with_the_data(real_root, tmp_path):
    """Table VI: eight rows beside the image and its ground truth, drawn over DRIVE's images."""
    from cenet_lib.reporting.walkthrough import SectionWalkthrough

    results = shutil.copytree(REPOSITORY / "results", tmp_path / "results")
    walk = SectionWalkthrough("ablation", "quick", str(real_root), results)
    result = walk.results()
    figures = [walk.architecture_figure(), walk.data_figure(), walk.input_figure(), walk.training_figure(result),
               walk.prediction_figure(result), walk.score_figure(result), walk.samples_figure(result)]
    assert None not in figures
    assert_legible(figures)


def test_the_interrupt_shows_one_line():
    from cenet_lib.reporting.notebook import NotebookInterrupted

    assert NotebookInterrupted("SIGINT: saved x at epoch 2, step 9")._render_traceback_() == [
        "Interrupted: SIGINT: saved x at epoch 2, step 9"]


def test_an_interrupted_retrain_leaves_the_record_as_it_was_and_a_finished_one_replaces_it(
        tmp_path, synthetic_cache, monkeypatch, caplog):
    """A finished run trained again (``force``) trains beside its record: interrupted, every file
    of the record is unchanged byte for byte; finished and scored, it takes the record's place and
    says how far its scores are from the record's (the same settings on the same CPU: equal)."""
    import cenet_lib.reporting.runner as runner
    from cenet_lib.interrupts import TrainingInterrupted
    from cenet_lib.reporting.section import run_section

    monkeypatch.setenv("CENET_CACHE", str(synthetic_cache))
    (run_dir,) = run_section("lung", out_root=tmp_path, rows=["U-Net"]).run_dirs["U-Net"]
    record = _snapshot(run_dir)
    real_train = runner.train

    def interrupted(run, folder, **options):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "checkpoint.pt").write_bytes(b"half a run")
        raise TrainingInterrupted("SIGINT", Path(folder), 1, 1)

    monkeypatch.setattr(runner, "train", interrupted)
    with pytest.raises(TrainingInterrupted):
        run_section("lung", out_root=tmp_path, rows=["U-Net"], force=True)
    assert _snapshot(run_dir) == record
    assert (run_dir.with_name(f"{run_dir.name}.retrain") / "checkpoint.pt").is_file()

    monkeypatch.setattr(runner, "train", real_train)
    caplog.set_level("INFO", logger="cenet_lib")
    (run_dir.with_name(f"{run_dir.name}.retrain") / "checkpoint.pt").unlink()
    run_section("lung", out_root=tmp_path, rows=["U-Net"], force=True)
    assert not run_dir.with_name(f"{run_dir.name}.retrain").exists()
    assert (run_dir / "metrics_test_per_image.csv").read_bytes() == record["metrics_test_per_image.csv"]
    assert "test scores equal to the record's" in caplog.text


@pytest.mark.real_data
def test_other_seeds_compute_a_table_of_their_own_and_leave_the_committed_ones(real_root, tmp_path, monkeypatch):
    """Notebook 02 asked for seed 0 alone: a one-seed table under results/local/, from the committed
    seed-0 records (nothing trained), and every committed file as it was."""
    import cenet_lib.reporting.runner as runner
    from cenet_lib.reporting.notebook import section_results

    monkeypatch.setattr(runner, "train", None)
    results = shutil.copytree(REPOSITORY / "results", tmp_path / "results")
    before = _snapshot(results / "quick")
    result, committed = section_results("vessels", "quick", seeds=[0], data_root=str(real_root), out_dir=results)
    assert not committed and result.out_dir == results / "local" / "quick"
    assert json.loads(result.table_files.json.read_text())["seeds"] == [0]
    assert _snapshot(results / "quick") == before
