"""Importing the library leaves matplotlib's backend alone: a plot drawn in a Jupyter kernel after
importing every cenet_lib module still shows inline, as an image output."""
from __future__ import annotations

import pkgutil

import nbformat
from nbclient import NotebookClient

import cenet_lib


def test_a_plot_shows_inline_after_importing_every_module():
    modules = sorted(info.name for info in pkgutil.walk_packages(cenet_lib.__path__, "cenet_lib.")
                     if not info.name.endswith("__main__"))
    assert "cenet_lib.training" in modules and "cenet_lib.reporting.figures" in modules
    imports = "import importlib\n" + "\n".join(f"importlib.import_module({name!r})" for name in modules)
    plot = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(imports), nbformat.v4.new_code_cell(plot)])
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = notebook.cells[1].outputs
    assert any("image/png" in output.get("data", {}) for output in outputs), outputs
