"""Losses of section II-D, all computed from logits.

Targets: for a binary task (one logit channel) a {0, 1} mask of shape (B, H, W) or (B, 1, H, W);
for K >= 2 classes an integer label map of shape (B, H, W). The regularisation term L_reg of
Eq. (3) is the optimizer's weight decay and does not appear here.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid for one logit channel, softmax over channels for several."""
    return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)


def one_hot_target(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, K, H, W) float target g_{k,i}; for K = 1 the foreground mask itself."""
    if num_classes == 1:
        target = target if target.dim() == 4 else target.unsqueeze(1)
        return target.float()
    if target.dim() == 4:
        target = target.squeeze(1)
    return F.one_hot(target.long(), num_classes).permute(0, 3, 1, 2).float()


class DiceLoss(nn.Module):
    """Dice coefficient loss, Eq. (2):

        L_dice = 1 - sum_k w_k * 2 sum_i p_ki g_ki / (sum_i p_ki^2 + sum_i g_ki^2),  w_k = 1/K,

    summed over all pixels i of the batch. With one logit channel the sum runs over the foreground
    class alone (K = 1), as in the authors' code. ``eps`` is added to numerator and denominator, so
    a class absent from both prediction and ground truth scores a Dice of 1 instead of 0/0.
    """

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = probabilities(logits)
        g = one_hot_target(target, logits.shape[1])
        dims = (0, 2, 3)
        intersection = (p * g).sum(dims)
        denominator = (p * p).sum(dims) + (g * g).sum(dims)
        dice_per_class = (2 * intersection + self.eps) / (denominator + self.eps)
        return 1 - dice_per_class.mean()


class CrossEntropyLoss(nn.Module):
    """Pixel-wise cross-entropy: binary (sigmoid) for one logit channel, softmax otherwise."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            return F.binary_cross_entropy_with_logits(logits, one_hot_target(target, 1))
        if target.dim() == 4:
            target = target.squeeze(1)
        return F.cross_entropy(logits, target.long())


class DiceCELoss(nn.Module):
    """Dice loss plus cross-entropy, with equal weights."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.dice = DiceLoss(eps)
        self.cross_entropy = CrossEntropyLoss()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(logits, target) + self.cross_entropy(logits, target)


LOSSES: dict[str, Callable[[], nn.Module]] = {
    "dice": DiceLoss,
    "ce": CrossEntropyLoss,
    "dice_ce": DiceCELoss,
}


def build_loss(name: str) -> nn.Module:
    """The loss named ``name``: ``dice`` (the paper's), ``ce`` or ``dice_ce``."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; choose one of {', '.join(LOSSES)}.")
    return LOSSES[name]()
