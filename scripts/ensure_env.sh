# Sourced by ./test.sh and ./run_all.sh: find or create the Python environment, install the project.
#
# An active virtual environment or conda environment is used as it is. Otherwise a virtual
# environment is created in .venv (override with CENET_VENV). The project is (re)installed,
# editable with its dev extra, whenever pyproject.toml changed since the last install.
# CENET_PYTHON=/path/to/python uses that interpreter as it is and installs nothing: for a machine
# with its own PyTorch and no network (a cluster node), with cenet_lib and papermill importable
# (PYTHONPATH=/path/to/this/repository and pip install --no-index of downloaded wheels).
# Sets PYTHON to the interpreter to use.

_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${CENET_PYTHON:-}" ]; then
    PYTHON="$(command -v "$CENET_PYTHON")" || { echo "error: CENET_PYTHON=$CENET_PYTHON is not a Python on PATH." >&2; return 1 2>/dev/null || exit 1; }
    "$PYTHON" -c 'import cenet_lib, papermill' || {
        echo "error: $PYTHON cannot import cenet_lib and papermill; set PYTHONPATH or install them (see scripts/ensure_env.sh)." >&2
        return 1 2>/dev/null || exit 1
    }
    _shim="$(mktemp -d)"  # papermill's kernels run "python" from PATH: make it this interpreter
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$PYTHON" >"$_shim/python" && chmod +x "$_shim/python"
    export PATH="$_shim:$PATH" PYTHON
    return 0 2>/dev/null || exit 0
fi
if [ -n "${VIRTUAL_ENV:-}" ] || [ -n "${CONDA_PREFIX:-}" ]; then
    _env="${VIRTUAL_ENV:-$CONDA_PREFIX}"
    PYTHON="$(command -v python)"
else
    _env="${CENET_VENV:-$_root/.venv}"
    if [ ! -x "$_env/bin/python" ]; then
        _base=""
        for candidate in python3.11 python3.12 python3.10 python3; do
            if command -v "$candidate" >/dev/null 2>&1 &&
                "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
                _base="$candidate"
                break
            fi
        done
        if [ -z "$_base" ]; then
            echo "error: Python 3.10 or newer is needed (3.11 recommended); none found on PATH." >&2
            return 1 2>/dev/null || exit 1
        fi
        echo "Creating a virtual environment in $_env with $_base ..."
        "$_base" -m venv "$_env" || { return 1 2>/dev/null || exit 1; }
    fi
    PYTHON="$_env/bin/python"
fi

_stamp="$_env/.cenet-lib-installed"
_want="$(cat "$_root/pyproject.toml" | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_want" ]; then
    echo "Installing cenet-lib and its dependencies into $_env (first run: a few minutes) ..."
    "$PYTHON" -m pip install --quiet --upgrade pip &&
        "$PYTHON" -m pip install --quiet -e "$_root[dev]" &&
        echo "$_want" >"$_stamp" || { echo "error: installation failed (see pip's output above)." >&2; return 1 2>/dev/null || exit 1; }
fi
# Notebooks are staged without outputs (.gitattributes names the filter; nbstripout does the work).
if git -C "$_root" rev-parse --git-dir >/dev/null 2>&1 && "$PYTHON" -c 'import nbstripout' 2>/dev/null; then
    _strip="'$PYTHON' -m nbstripout --extra-keys 'metadata.language_info metadata.papermill cell.metadata.papermill cell.metadata.execution'"
    git -C "$_root" config filter.nbstripout.clean "$_strip"
    git -C "$_root" config filter.nbstripout.smudge cat
    git -C "$_root" config diff.ipynb.textconv "$_strip -t"
fi
# Kernels started by papermill and nbval run "python" from PATH: make it this environment's.
export PATH="$(dirname "$PYTHON"):$PATH"
export PYTHON
