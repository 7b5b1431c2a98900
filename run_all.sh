#!/usr/bin/env bash
# Regenerate Tables I-VI and the figures of the paper: every section's notebook through papermill,
# planned first and summarised at the end (cenet_lib/reporting/orchestrate.py).
#
#   ./run_all.sh                               every section: quick on the real data where found,
#                                              else the seconds-long smoke run on a synthetic stand-in
#   ./run_all.sh --data-root ../shared/data    the same, with the datasets in ../shared/data
#   ./run_all.sh --profile smoke               all sections on synthetic data, about 2 minutes
#   ./run_all.sh --profile paper --gpus 0,1    runs side by side, one per GPU at a time
#   ./run_all.sh --help                        every option (--only, --seeds, --jobs, --out, --force, --archive)
#
# This script only prepares the Python environment (scripts/ensure_env.sh) and hands its options
# to `cenet run-all`, which does the work.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_env.sh
exec "$PYTHON" -m cenet_lib run-all "$@"
