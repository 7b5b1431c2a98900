"""Export a model to run without this package: ONNX (any batch, height and width) and ``torch.export``.

* **ONNX** (``.onnx``): batch, height and width are dynamic, so one file serves every image size.
  It is written by torch's TorchScript-based ONNX exporter, which records the padding to a multiple
  of 32 (and the RMP block's minimum of 192, :class:`~cenet_lib.models.base.SegmentationModel`) as
  shape operations in the graph. torch's newer ``torch.export``-based ONNX exporter cannot: its
  symbolic shapes must prove the padded size divisible by 32 through every stride-2 layer and
  decide whether each RMP pooling level is one pixel wide (its ``F.interpolate`` decomposition
  branches on that), and on torch 2.14 it stops with a constraint violation.
* **torch.export** (``.pt2``): for the same reasons the program has a dynamic batch but a fixed
  height and width (``input_size``); resize or tile images to that size. Load with
  ``torch.export.load(path).module()``.

Each export checks itself before it reports success: the exported file's logits are compared with
PyTorch's on inputs of two sizes (two heights and widths for ONNX, two batch sizes at the exported
size for ``.pt2``), and the largest absolute difference is returned; past ``tolerance`` the export
fails and removes its file.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .base import SegmentationModel

#: Sizes (height, width) an ONNX export is checked at: neither square nor multiples of 32.
ONNX_CHECK_SIZES: tuple[tuple[int, int], ...] = ((200, 328), (257, 177))


class ExportError(ValueError):
    """An export that cannot be written or does not match PyTorch; the message says why and the fix."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    seconds: float  # writing the file, without the check
    bytes: int
    max_difference: dict[str, float]  # "BxCxHxW" -> the largest |exported - PyTorch| logit difference

    def line(self) -> str:
        checked = ", ".join(f"{shape}: {difference:.1e}" for shape, difference in self.max_difference.items())
        return (f"Wrote {self.path} ({self.bytes / 2**20:.1f} MiB, {self.seconds:.1f} s); "
                f"max |exported - PyTorch| logit difference {checked}")


def in_channels_of(model: SegmentationModel) -> int:
    """The number of image channels the model's first convolution takes."""
    return int(next(p for p in model.parameters() if p.dim() == 4).shape[1])


def num_classes_of(model: SegmentationModel) -> int:
    """The number of logit channels of the model's head (its last convolution)."""
    return int([p for p in model.parameters() if p.dim() == 4][-1].shape[0])


def _writable(path: str | Path) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(
            f"Cannot write {path}: the folder {path.parent} does not exist; create it or choose another --out."
        )
    return path


def _check(
    run_exported, model: SegmentationModel, shapes: list[tuple[int, ...]], tolerance: float, path: Path
) -> dict[str, float]:
    """The largest logit difference between ``run_exported`` and ``model`` on random inputs of ``shapes``."""
    generator = torch.Generator().manual_seed(0)
    differences = {}
    for shape in shapes:
        x = torch.randn(shape, generator=generator)
        with torch.no_grad():
            expected = model(x).numpy()
        found = np.asarray(run_exported(x))
        if found.shape != expected.shape:
            path.unlink(missing_ok=True)
            raise ExportError(
                f"{path} returned logits of shape {found.shape} for an input of {tuple(shape)}, PyTorch "
                f"{expected.shape}."
            )
        differences["x".join(map(str, shape))] = float(np.abs(found - expected).max())
    worst = max(differences.values())
    if worst > tolerance:
        path.unlink(missing_ok=True)
        raise ExportError(
            f"The export differs from PyTorch by {worst:.2e} (tolerance {tolerance:g}): {differences}; nothing was "
            "written."
        )
    return differences


def export_onnx(
    model: SegmentationModel, path: str | Path, check_sizes: tuple[tuple[int, int], ...] = ONNX_CHECK_SIZES,
    tolerance: float = 1e-3, opset: int = 17, metadata: dict[str, str] | None = None,
) -> ExportReport:
    """Write ``model`` (in eval mode, fp32) as ONNX with dynamic batch, height and width, and check
    it with onnxruntime on the CPU at ``check_sizes``. Input ``image`` (B, C, H, W), normalised as
    :func:`cenet_lib.data.transforms.normalize` does; output ``logits`` (B, K, H, W). ``metadata``
    goes into the file's ``metadata_props`` (how to prepare the input: ``cenet_lib.runs.onnx_metadata``)."""
    import onnx
    import onnxruntime

    path = _writable(path)
    model = model.eval().float()
    channels = in_channels_of(model)
    example = torch.zeros(2, channels, 224, 288)
    axes = {0: "batch", 2: "height", 3: "width"}
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings on the padding
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset, input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": axes, "logits": axes})
    if metadata:
        graph = onnx.load(str(path))
        onnx.helper.set_model_props(graph, metadata)
        onnx.save(graph, str(path))
    seconds = time.perf_counter() - started
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shapes = [(1, channels, *check_sizes[0]), *[(2, channels, *size) for size in check_sizes[1:]]]
    differences = _check(lambda x: session.run(None, {"image": x.numpy()})[0], model, shapes, tolerance, path)
    return ExportReport(path, seconds, path.stat().st_size, differences)


def export_program(
    model: SegmentationModel, path: str | Path, input_size: tuple[int, int] = (448, 448), tolerance: float = 1e-3
) -> ExportReport:
    """Write ``model`` (in eval mode, fp32) as a ``torch.export`` program (``.pt2``) for inputs of
    ``input_size`` and any batch size, checked at batch sizes 1 and 3."""
    path = _writable(path)
    model = model.eval().float()
    channels = in_channels_of(model)
    example = torch.zeros(2, channels, *input_size)
    started = time.perf_counter()
    program = torch.export.export(
        model, (example,), dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=1024)}}
    )
    torch.export.save(program, path)
    seconds = time.perf_counter() - started
    loaded = torch.export.load(path).module()

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return loaded(x).numpy()

    differences = _check(run, model, [(1, channels, *input_size), (3, channels, *input_size)], tolerance, path)
    return ExportReport(path, seconds, path.stat().st_size, differences)
