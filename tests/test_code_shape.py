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
    long = [f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, tree in _modules() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > MAX_LINES]
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
        found += [f"{path.relative_to(PACKAGE)}:{line} compares with {name!r}" for line, name in name_comparisons(tree, names)]
    assert not found, found


def test_the_check_above_catches_a_branch_on_a_name_and_passes_a_task_question():
    branching = ast.parse('if reader.name == "drive":\n    pass\nif section.name in ("oct", "lung"):\n    pass\n')
    assert name_comparisons(branching, set(READERS) | set(SECTIONS)) == [(1, "drive"), (3, "oct"), (3, "lung")]
    asking = ast.parse('if isinstance(reader.task, CellStackTask):\n    pass\nlabel = "drive"\n')
    assert name_comparisons(asking, set(READERS) | set(SECTIONS)) == []
