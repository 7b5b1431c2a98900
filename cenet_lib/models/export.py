"""Export a trained model for deployment with ``torch.export`` (the successor of TorchScript).

The graph is exported for one input size (448x448 by default, the size the authors trained and
tested at): the padding in :class:`~cenet_lib.models.base.SegmentationModel` depends on the size,
so a graph with symbolic height and width would need guards on every pooling level. Resize inputs to
the exported size, as the evaluation code does anyway. Load with
``torch.export.load(path).module()``; the result is an ``nn.Module`` taking a (B, C, H, W) tensor.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .base import SegmentationModel


def export_model(
    model: SegmentationModel, path: str | Path, input_size: tuple[int, int] = (448, 448), batch_size: int = 1
) -> Path:
    """Export ``model`` (switched to eval mode) for inputs of ``input_size`` and save it to ``path`` (.pt2)."""
    model = model.eval()
    in_channels = next(p for p in model.parameters() if p.dim() == 4).shape[1]
    example = torch.zeros(batch_size, in_channels, *input_size)
    program = torch.export.export(model, (example,))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, path)
    return path
