"""Test-time augmentation (section III-A 2): predict the 8 images of the dihedral group of the
square (identity, flips, transposes), undo each transform, average the probabilities.

The eight inputs go through the network as one batch (two batches of four for non-square inputs,
whose transposes have another shape), not as eight separate passes.
"""
from __future__ import annotations

import torch
from torch import nn

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
def predict_probabilities(model: nn.Module, images: torch.Tensor, tta: bool = True) -> torch.Tensor:
    """Probabilities (B, K, H, W) of a batch of normalised images; averaged over the 8 dihedral
    transforms when ``tta`` is set. Sigmoid for one logit channel, softmax for several."""
    if not tta:
        return probabilities(model(images).float())
    batch = images.shape[0]
    groups = [range(8)] if images.shape[-1] == images.shape[-2] else [range(4), range(4, 8)]
    total = torch.zeros((), device=images.device)
    for group in groups:
        stacked = torch.cat([dihedral(images, k) for k in group])
        probs = probabilities(model(stacked).float())
        for position, k in enumerate(group):
            total = total + undo_dihedral(probs[position * batch : (position + 1) * batch], k)
    return total / 8
