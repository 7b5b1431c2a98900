#!/usr/bin/env bash
# The test command: sets up the environment if none is active, lints (ruff, with pyproject.toml's
# settings), then runs the test suite. Extra arguments go to pytest, e.g. ./test.sh -k metrics
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_env.sh
"$PYTHON" -m ruff check .
exec "$PYTHON" -m pytest "$@"
