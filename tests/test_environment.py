"""scripts/ensure_env.sh, which ./run_all.sh and ./test.sh source: the CENET_PYTHON escape for machines
with their own PyTorch and no network."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def source_ensure_env(python: str) -> subprocess.CompletedProcess:
    script = 'source scripts/ensure_env.sh && echo "PYTHON=$PYTHON" && python -c "import sys; print(sys.executable)"'
    env = {**os.environ, "CENET_PYTHON": python, "PYTHONPATH": str(REPOSITORY), "CENET_VENV": "/nonexistent/venv"}
    return subprocess.run(["bash", "-c", script], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120)


def test_cenet_python_is_used_as_it_is():
    result = source_ensure_env(sys.executable)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"PYTHON={sys.executable}"
    assert Path(lines[1]).resolve() == Path(sys.executable).resolve()  # kernels' "python" is the same interpreter
    assert "Installing" not in result.stdout and not Path("/nonexistent/venv").exists()


def test_cenet_python_without_the_project_says_what_to_do(tmp_path):
    fake = tmp_path / "python"  # an interpreter that cannot import anything of ours
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = source_ensure_env(str(fake))
    assert result.returncode != 0
    assert "cannot import cenet_lib and papermill" in result.stderr and "PYTHONPATH" in result.stderr
