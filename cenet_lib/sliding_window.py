"""Whole-image prediction in overlapping tiles, for images too large to go through the network at
once, or in the context a network was trained on, as MONAI's ``sliding_window_inference`` does it:
tiles of ``tile`` pixels (a side, or (height, width)) step by ``tile * (1 - overlap)``, the last one
in each row and column flush with the image's edge; each tile's probabilities (with test-time
augmentation when asked) are weighted by a Gaussian importance map (sigma = 1/8 of the tile, MONAI's
``mode="gaussian"``, nnU-Net's choice), so that the predictions near a tile's border, which lack
context, count least (but not near a border the tile shares with the image); the weighted sum is
divided by the summed weights.

For a network whose receptive field is smaller than the overlap the tiled probabilities equal the
whole-image ones to within 1e-3 (tested); networks with global context (CE-Net's RMP block pools
the whole input) see less of the image in a tile, so there the two differ by what context adds.
"""
from __future__ import annotations

import torch
from torch import nn

from .tta import predict_probabilities


def tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Start positions along one side: a step of ``tile * (1 - overlap)``, the last tile flush with the end."""
    if length <= tile:
        return [0]
    step = max(1, int(tile * (1 - overlap)))
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def gaussian_importance(
    tile: tuple[int, int],
    device: torch.device,
    flush: tuple[tuple[bool, bool], ...] = ((False, False), (False, False)),
    sigma_scale: float = 0.125,
) -> torch.Tensor:
    """(H, W) weights: a Gaussian centred on the tile, sigma = ``sigma_scale`` x the side, each axis'
    profile never below 1e-4 of its peak (so that every pixel has some weight). Along a side flush
    with the image's edge (``flush[axis] = (start, end)``) the weights stay at the peak from the
    centre out: there the tile sees the image's own border, as the whole-image prediction does, so
    its predictions are not the ones to distrust."""
    axes = []
    for side, (at_start, at_end) in zip(tile, flush, strict=True):
        centre = (side - 1) / 2
        position = torch.arange(side, device=device, dtype=torch.float32)
        profile = torch.exp(-0.5 * ((position - centre) / (sigma_scale * side)) ** 2)
        if at_start:
            profile = torch.where(position < centre, 1.0, profile)
        if at_end:
            profile = torch.where(position > centre, 1.0, profile)
        axes.append(torch.clamp(profile / profile.max(), min=1e-4))
    return axes[0][:, None] * axes[1][None, :]


@torch.no_grad()
def sliding_window_probabilities(
    model: nn.Module, images: torch.Tensor, tile: int | tuple[int, int], overlap: float = 0.5,
    tta: bool | tuple[int, ...] = True,
) -> torch.Tensor:
    """Probabilities (B, K, H, W) of normalised ``images`` (B, C, H, W), predicted tile by tile;
    ``tile`` is a side or (height, width), ``tta`` as :func:`~cenet_lib.tta.predict_probabilities` takes it."""
    height, width = images.shape[-2:]
    tile_height, tile_width = (tile, tile) if isinstance(tile, int) else tile
    total = None
    weight_sum = torch.zeros((height, width), device=images.device)
    for top in tile_starts(height, tile_height, overlap):
        for left in tile_starts(width, tile_width, overlap):
            window = images[..., top : top + tile_height, left : left + tile_width]
            probs = predict_probabilities(model, window, tta=tta)
            flush = ((top == 0, top + tile_height >= height), (left == 0, left + tile_width >= width))
            weights = gaussian_importance(tuple(window.shape[-2:]), images.device, flush)
            if total is None:
                total = torch.zeros((*probs.shape[:2], height, width), device=images.device)
            total[..., top : top + tile_height, left : left + tile_width] += probs * weights
            weight_sum[top : top + tile_height, left : left + tile_width] += weights
    return total / weight_sum
