"""Peak memory and time of `cenet predict` on one large image, whole and in tiles, and how much the
tiled probabilities differ from the whole-image ones (the issue on users' own images).

Each configuration runs in its own process, so that its peak resident memory (``ru_maxrss``) is its
own; the command is `cenet predict`'s function with its default options (8-fold test-time
augmentation, the automatic bf16 choice) and ``--probabilities``. By default the model is CE-Net
with random weights on a random image of the given size (the memory and time do not depend on the
weights); ``--model RUN --image FILE`` measures a trained run on a real image instead, resized to
``--size`` first.

    python benchmarks/predict_memory.py --size 2336 3504 --tiles 0 auto
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ONE = r"""
import json, resource, sys, time
from pathlib import Path
import torch
from cenet_lib.predict import predict
model, image, tile, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
torch.set_num_threads(int(sys.argv[5]))
started = time.perf_counter()
predict(model, [image], out, False, True, "cpu", tile=tile, probabilities=True)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def untrained_cenet(folder: Path) -> Path:
    from cenet_lib.data.policy import InputPolicy
    from cenet_lib.models import build_model, save_pretrained

    return save_pretrained(build_model("cenet"), folder / "model", InputPolicy("crop", (192, 192)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=(2336, 3504), metavar=("H", "W"))
    parser.add_argument("--tiles", nargs="+", default=["0", "auto"], help="--tile values; the first is the reference")
    parser.add_argument("--model", type=Path, default=None, help="a trained run (default: CE-Net, random weights)")
    parser.add_argument("--image", type=Path, default=None, help="an image, resized to --size (default: noise)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/predict-memory"))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    height, width = args.size
    model = args.model or untrained_cenet(args.folder)
    if args.image:
        image = Image.open(args.image).convert("RGB").resize((width, height), Image.BILINEAR)
    else:
        image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
    image.save(args.folder / "image.png")
    maps = {}
    for tile in args.tiles:
        out = args.folder / f"out-{tile}"
        result = subprocess.run([sys.executable, "-c", ONE, str(model), str(args.folder / "image.png"), tile, str(out),
                                 str(args.threads)], capture_output=True, text=True, check=True)
        row = json.loads(result.stdout.strip().splitlines()[-1])
        maps[tile] = tifffile.imread(out / "image_probabilities.tif")
        difference = np.abs(maps[tile] - maps[args.tiles[0]])
        print(f"{height}x{width} --tile {tile:<5} {row['seconds']:7.1f} s  peak {row['peak_gb']:.2f} GB  "
              f"|p - p(--tile {args.tiles[0]})| max {difference.max():.4f} mean {difference.mean():.5f}  "
              f"({args.threads} threads, {'trained run ' + str(args.model) if args.model else 'untrained CE-Net'})",
              flush=True)


if __name__ == "__main__":
    main()
