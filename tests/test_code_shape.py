"""The shape the code keeps: short functions, and dataset knowledge only where datasets live."""
from __future__ import annotations

import ast
from pathlib import Path

from cenet_lib.data import READERS
from cenet_lib.reporting.sections import SECTIONS

PACKAGE = Path(__file__).resolve().parents[1] / "cenet_lib"
MAX_LINES = 60


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))]


def test_no_function_is_longer_than_60_lines():
    long = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]
    assert not long, long


def name_comparisons(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of every comparison in ``tree`` that involves one of ``names`` as a literal."""
    return [(node.lineno, constant.value) for node in ast.walk(tree) if isinstance(node, ast.Compare)
            for constant in ast.walk(node) if isinstance(constant, ast.Constant) and constant.value in names]


def test_only_the_readers_and_the_section_registry_branch_on_a_dataset_or_section_name():
    """A comparison with a dataset's or a section's name (``reader.name == "drive"``,
    ``section.name in ("vessels", ...)``) belongs in ``cenet_lib/data/`` or the section registry;
    elsewhere the code asks the reader's task or the section's fields."""
    names = set(READERS) | set(SECTIONS)
    allowed = {PACKAGE / "reporting" / "sections.py"}
    found = []
    for path, tree in _modules():
        if PACKAGE / "data" in path.parents or path in allowed:
            continue
        found += [
            f"{path.relative_to(PACKAGE)}:{line} compares with {name!r}" for line, name in name_comparisons(tree, names)
        ]
    assert not found, found


def test_the_check_above_catches_a_branch_on_a_name_and_passes_a_task_question():
    branching = ast.parse('if reader.name == "drive":\n    pass\nif section.name in ("oct", "lung"):\n    pass\n')
    assert name_comparisons(branching, set(READERS) | set(SECTIONS)) == [(1, "drive"), (3, "oct"), (3, "lung")]
    asking = ast.parse('if isinstance(reader.task, CellStackTask):\n    pass\nlabel = "drive"\n')
    assert name_comparisons(asking, set(READERS) | set(SECTIONS)) == []


def _strings_outside_docstrings(tree: ast.Module) -> list[ast.Constant]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_a_section_is_declared_in_one_module():
    """Outside the readers, a section's name is written in the section registry only: every other
    module asks it (rows, settings, notebook, expected time)."""
    found = sorted({str(path.relative_to(PACKAGE)) for path, tree in _modules() if PACKAGE / "data" not in path.parents
                    for node in _strings_outside_docstrings(tree) if node.value in SECTIONS})
    assert found == ["reporting/sections.py"], found
    script = (PACKAGE.parent / "run_all.sh").read_text()
    assert len(script.splitlines()) <= 40 and not [name for name in SECTIONS if name in script]


def test_nothing_below_reporting_imports_it():
    """Training, evaluation, the models and the data know nothing of tables and figures: only
    ``reporting/`` and the command line above it import ``reporting``."""
    found = []
    for path, tree in _modules():
        if PACKAGE / "reporting" in path.parents or path.name == "cli.py":
            continue
        for node in ast.walk(tree):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else []
            if "reporting" in module.split(".") or any("reporting" in name.split(".") for name in names):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, found


def test_no_module_is_longer_than_300_lines():
    long = {str(path.relative_to(PACKAGE)): len(path.read_text().splitlines()) for path, _ in _modules()}
    assert not {name: lines for name, lines in long.items() if lines > 300}
