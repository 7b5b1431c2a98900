"""Common behaviour of every segmentation model: any input size, logits out."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import RANDOM_INIT


class SegmentationModel(nn.Module):
    """Base class: pads the input to a size the network can process and crops the logits back.

    Encoder-decoder networks halve the resolution several times, so they need a height and width
    divisible by ``size_divisor`` (32 for the ResNet-34 encoder, 16 for U-Net), and the RMP block's
    6x6 pooling needs the 1/32 feature map to be at least 6 pixels wide (``min_size`` = 192).
    ``forward`` pads the input with zeros, as evenly as possible on both sides, up to the next size
    that satisfies both, runs the network and crops the logits back to the input's height and width.
    Inputs that already fit (448x448, the authors' size) are not touched. Under ONNX tracing the
    sizes are tensors: the padding is then computed with tensor operations and always applied (by 0
    where none is needed), so that one exported graph serves every height and width
    (:mod:`cenet_lib.models.export`).

    Subclasses implement ``forward_padded`` and return logits (no sigmoid or softmax inside).
    """

    size_divisor: int = 32
    min_size: int = 32

    def __init__(self) -> None:
        super().__init__()
        # Which weights the encoder started from; models without a pretrained encoder say so.
        self.encoder_weights: str = RANDOM_INIT
        self.model_name: str = type(self).__name__  # the registry name, set by build_model

    def padded_size(self, size: int | torch.Tensor) -> int | torch.Tensor:
        """Smallest size >= ``size`` (and >= ``min_size``) divisible by ``size_divisor``."""
        size = torch.clamp(size, min=self.min_size) if isinstance(size, torch.Tensor) else max(size, self.min_size)
        return (size + self.size_divisor - 1) // self.size_divisor * self.size_divisor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2], x.shape[-1]
        pad_h = self.padded_size(height) - height
        pad_w = self.padded_size(width) - width
        top, left = pad_h // 2, pad_w // 2
        if torch.jit.is_tracing() or pad_h > 0 or pad_w > 0:
            x = F.pad(x, [left, pad_w - left, top, pad_h - top])
        logits = self.forward_padded(x)
        return logits[..., top : top + height, left : left + width]

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
