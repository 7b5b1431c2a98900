"""Inference as one strategy, built once from a run's input policy, as MONAI's inferers are: the
whole image through the network at once, or in overlapping tiles (:mod:`cenet_lib.sliding_window`),
each with test-time augmentation over the policy's flips (:mod:`cenet_lib.tta`) or without.

>>> inferer = inferer_for(policy, tta=True)
>>> probabilities = inferer(model, images)   # (B, K, H, W) for normalised (B, C, H, W) images
"""
from __future__ import annotations

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


def inferer_for(policy: InputPolicy, tta: bool) -> Inferer:
    """The inferer ``policy`` asks for: tiles where it sets ``tile``, whole images otherwise; with
    ``tta``, averaged over the policy's flips."""
    flips = tuple(policy.flips) if tta else ()
    if policy.tile:
        return SlidingWindowInferer(tuple(policy.tile), policy.overlap, flips)
    return WholeImageInferer(flips)
