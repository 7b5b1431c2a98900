"""Export figures: time, file size (fp32) and the largest logit difference from PyTorch of each
route out of the package, for every registered network with random weights (the sizes and the
graphs do not depend on the weights' values).

    python benchmarks/export.py                 # writes results/export_cpu.{md,csv}
    python benchmarks/export.py --models cenet  # one network

ONNX is checked with onnxruntime (CPU) at 1x3x200x328 and 2x3x257x177; the ``.pt2`` program,
exported at 448x448, at batch 1 and 3; the saved-model folder by reloading it (exact equality).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cenet_lib.data.policy import InputPolicy
from cenet_lib.models import build_model, from_pretrained, list_models, save_pretrained
from cenet_lib.models.export import export_onnx, export_program
from cenet_lib.provenance import provenance

RESULTS = Path(__file__).resolve().parent / "results"


def measure(name: str, folder: Path) -> list[dict]:
    torch.manual_seed(0)
    model = build_model(name).eval()
    rows = []
    for route, export in (("onnx", lambda: export_onnx(model, folder / f"{name}.onnx")),
                          ("pt2 (448x448)", lambda: export_program(model, folder / f"{name}.pt2", (448, 448)))):
        report = export()
        rows.append(
            {
                "model": name,
                "route": route,
                "seconds": round(report.seconds, 2),
                "MiB": round(report.bytes / 2**20, 1),
                "max_difference": max(report.max_difference.values()),
                "checked_at": ", ".join(report.max_difference),
            }
        )
    started = time.perf_counter()
    saved = save_pretrained(model, folder / f"{name}-folder", InputPolicy())
    seconds = time.perf_counter() - started
    reloaded, _ = from_pretrained(saved)
    x = torch.randn(1, 3, 200, 328)
    with torch.no_grad():
        difference = float((reloaded(x) - model(x)).abs().max())
    rows.append({"model": name, "route": "saved-model folder", "seconds": round(seconds, 2),
                 "MiB": round((saved / "model.safetensors").stat().st_size / 2**20, 1), "max_difference": difference,
                 "checked_at": "1x3x200x328"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list_models())
    args = parser.parse_args()
    record = provenance("cpu", precision="fp32", weights="random (seeded 0)")  # before any result file changes
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            rows += measure(name, Path(folder))
            print(pd.DataFrame(rows[-3:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "export_cpu.csv", index=False)
    header = "\n".join(f"- {key}: {value}" for key, value in record.items())
    (RESULTS / "export_cpu.md").write_text(f"# Export: time, size (fp32), largest logit difference\n\n{header}\n\n"
                                           f"{table.to_markdown(index=False)}\n")
    print(f"Written: {RESULTS / 'export_cpu.md'}")


if __name__ == "__main__":
    main()
