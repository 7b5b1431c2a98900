"""Test-time augmentation (section III-A 2): predict the 8 images of the dihedral group of the
square (identity, flips, transposes), undo each transform, average the probabilities.

The eight inputs go through the network as one batch (two batches of four for non-square inputs,
whose transposes have another shape), not as eight separate passes. A run whose training saw only
some of the flips (``flips=horizontal`` for OCT B-scans, :data:`cenet_lib.data.transforms.FLIPS`)
averages over those only: a network never shown an upside-down B-scan has nothing to say about one.
"""
from __future__ import annotations

import torch
from torch import nn

from .data.transforms import FLIPS
from .losses import probabilities


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Element ``k`` (0..7) on the last two axes: bit 0 flips left-right, bit 1 up-down, bit 2
    transposes; the same convention as :func:`cenet_lib.data.transforms.dihedral`."""
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    if k & 4:
        x = x.transpose(-1, -2)
    return x


def undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    return x


@torch.no_grad()
def predict_probabilities(model: nn.Module, images: torch.Tensor, tta: bool | tuple[int, ...] = True) -> torch.Tensor:
    """Probabilities (B, K, H, W) of a batch of normalised images; averaged over the 8 dihedral
    transforms when ``tta`` is True, over the listed elements (0..7, :func:`dihedral`) when it is a
    tuple. Sigmoid for one logit channel, softmax for several."""
    elements = FLIPS["dihedral"] if tta is True else tuple(tta or ())
    if elements in ((), (0,)):
        return probabilities(model(images).float())
    batch = images.shape[0]
    square = images.shape[-1] == images.shape[-2]
    groups = [elements] if square else [[k for k in elements if k < 4], [k for k in elements if k >= 4]]
    total = torch.zeros((), device=images.device)
    for group in filter(None, groups):
        stacked = torch.cat([dihedral(images, k) for k in group])
        probs = probabilities(model(stacked).float())
        for position, k in enumerate(group):
            total = total + undo_dihedral(probs[position * batch : (position + 1) * batch], k)
    return total / len(elements)
