"""Inference as one strategy, built once from a run's input policy, as MONAI's inferers are: the
whole image through the network at once, or in overlapping tiles (:mod:`cenet_lib.sliding_window`),
each with test-time augmentation over the policy's flips (:mod:`cenet_lib.tta`) or without.

>>> inferer = inferer_for(policy, tta=True)
>>> probabilities = inferer(model, images)   # (B, K, H, W) for normalised (B, C, H, W) images

A model that predicts whole images at native scale (the ``crop`` policy) meets images of any size:
a 3504x2336 photograph took 8.4 GB whole. :func:`inferer_for` given the image's ``shape`` and a
memory ``budget`` tiles such an image (:func:`tile_for_budget`), as MONAI's and nnU-Net's
predictors do, with tiles sized to cover it evenly and little overlap, so that tiling costs little
time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .data.policy import InputPolicy
from .sliding_window import sliding_window_probabilities
from .tta import predict_probabilities


@dataclass(frozen=True)
class WholeImageInferer:
    """The whole (padded) image in one pass; ``flips`` are the test-time views averaged (() for none)."""

    flips: tuple[int, ...] = ()

    def __call__(self, model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        return predict_probabilities(model, images, tta=self.flips or False)


@dataclass(frozen=True)
class SlidingWindowInferer:
    """Tiles of ``tile`` (height, width) overlapping by ``overlap``, Gaussian-weighted; an image no
    larger than a tile goes through whole."""

    tile: tuple[int, int]
    overlap: float = 0.5
    flips: tuple[int, ...] = ()

    def __call__(self, model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-2] <= self.tile[0] and images.shape[-1] <= self.tile[1]:
            return predict_probabilities(model, images, tta=self.flips or False)
        return sliding_window_probabilities(model, images, self.tile, self.overlap, tta=self.flips or False)


Inferer = WholeImageInferer | SlidingWindowInferer


#: Peak memory of CE-Net's forward pass on the CPU per input pixel and test-time view in one batch,
#: with a margin: 8.2 GB for a 3504x2336 image whole, 4 views a batch, is 250 bytes (bf16 autocast;
#: ``benchmarks/results/predict_memory.md``).
BYTES_PER_VIEW_PIXEL = 260
#: The activation memory ``cenet predict`` keeps to by default (``--memory-gb``).
DEFAULT_BUDGET_GB = 1.0
#: The overlap of tiles chosen for a memory budget: small, as each overlapping pixel is computed twice.
BUDGET_OVERLAP = 0.125


def even_tile(length: int, largest: int, overlap: float) -> int:
    """The tile side (a multiple of 32, at most about ``largest``) whose fewest tiles cover ``length``
    with ``overlap``: e.g. 3504 with tiles of at most 704 takes 6 tiles of 672, not 6 of 704."""
    if length <= largest:
        return length
    count = math.ceil((length - largest * overlap) / (largest * (1 - overlap)))
    return min(largest, math.ceil(length / (count - (count - 1) * overlap) / 32) * 32)


def tile_for_budget(shape: tuple[int, int], views: int, budget_gb: float) -> tuple[int, int] | None:
    """``None`` when an image of ``shape`` (height, width) with ``views`` test-time views in a batch
    fits ``budget_gb`` of activations whole; otherwise the tile (height, width) that does."""
    budget = budget_gb * 2**30 / BYTES_PER_VIEW_PIXEL / views
    if shape[0] * shape[1] <= budget:
        return None
    largest = max(32, int(math.sqrt(budget)) // 32 * 32)
    return even_tile(shape[0], largest, BUDGET_OVERLAP), even_tile(shape[1], largest, BUDGET_OVERLAP)


def inferer_for(
    policy: InputPolicy, tta: bool, shape: tuple[int, int] | None = None, budget_gb: float | None = None
) -> Inferer:
    """The inferer ``policy`` asks for: tiles where it sets ``tile``, whole images otherwise; with
    ``tta``, averaged over the policy's flips. With an image ``shape`` and ``budget_gb``, a policy
    that predicts whole images at native scale tiles an image too large for the budget."""
    flips = tuple(policy.flips) if tta else ()
    if policy.tile:
        return SlidingWindowInferer(tuple(policy.tile), policy.overlap, flips)
    if policy.kind == "crop" and shape is not None and budget_gb is not None:
        scaled = tuple(round(side * policy.scale) for side in shape)
        tile = tile_for_budget(scaled, max(1, len(flips)), budget_gb)
        if tile is not None:
            return SlidingWindowInferer(tile, BUDGET_OVERLAP, flips)
    return WholeImageInferer(flips)
