#!/usr/bin/env bash
# Regenerates Tables I-VI and the figures of the paper under results/.
#
# Placeholder until the notebooks land: it sets up the environment, checks that the library
# imports and builds every model, and says what the full script will run.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_env.sh
"$PYTHON" - <<'PY'
from cenet_lib.models import build_model, list_models

print("cenet_lib is installed; registered models:")
for name in list_models():
    model = build_model(name)
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"  {name:<28} {count:>12,} parameters  (encoder: {model.encoder_weights})")
PY
cat <<'MSG'

Not yet available: one papermill notebook per paper section (optic disc, retinal vessels, lung,
cell contours, OCT layers, ablations). When they land, this script will run each of them with the
chosen profile (--profile smoke|quick|paper) on the real datasets found under the data root, or on
synthetic stand-ins, and write Tables I-VI and the figures under results/.
MSG
