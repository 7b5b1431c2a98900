"""CE-Net (section II, Fig. 1) and the Backbone networks of the ablation study (Table VI).

All share the ResNet-34 encoder, the decoder and the head; they differ in the context extractor
placed between encoder and decoder.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .base import SegmentationModel
from .context import DACBlock, InceptionBlock, InceptionResNetBlock, RMPBlock
from .decoder import Decoder, SegmentationHead
from .encoder import ResNet34Encoder

CONTEXTS = ("none", "dac", "dac_no_atrous", "rmp", "dac+rmp", "inception", "inception_resnet")


def build_context(name: str, channels: int, shared_1x1: bool = True) -> tuple[nn.Module, int]:
    """The context extractor named ``name`` for ``channels`` input channels, and its output channels."""
    blocks: list[nn.Module] = []
    if name in ("dac", "dac+rmp"):
        blocks.append(DACBlock(channels, shared_1x1=shared_1x1))
    elif name == "dac_no_atrous":
        blocks.append(DACBlock(channels, rates=(1, 1, 1), shared_1x1=shared_1x1))
    elif name == "inception":
        blocks.append(InceptionBlock(channels))
    elif name == "inception_resnet":
        blocks.append(InceptionResNetBlock(channels))
    elif name not in ("none", "rmp"):
        raise ValueError(f"Unknown context extractor {name!r}; choose one of {', '.join(CONTEXTS)}.")
    out_channels = channels
    if name in ("rmp", "dac+rmp"):
        rmp = RMPBlock(channels, shared_1x1=shared_1x1)
        blocks.append(rmp)
        out_channels = rmp.out_channels
    return nn.Sequential(*blocks), out_channels


class CENet(SegmentationModel):
    """Encoder (ResNet-34) -> context extractor -> decoder -> head.

    ``context="dac+rmp"`` is CE-Net; ``"none"`` is the Backbone of Tables II-VI; the other names
    are the ablation rows of Table VI. ``shared_1x1`` selects the released code's shared 1x1
    convolutions (default) or the paper's per-branch ones (see :mod:`cenet_lib.models.context`).
    """

    size_divisor = 32

    def __init__(
        self,
        num_classes: int = 1,
        in_channels: int = 3,
        context: str = "dac+rmp",
        shared_1x1: bool = True,
        encoder_weights: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        self.encoder = ResNet34Encoder(in_channels, weights=encoder_weights)
        self.encoder_weights = self.encoder.weights_description
        self.context, context_channels = build_context(context, self.encoder.channels[-1], shared_1x1)
        if context in ("rmp", "dac+rmp"):
            self.min_size = 6 * 32  # the 6x6 pooling needs a 1/32 feature map of at least 6x6
        self.decoder = Decoder(context_channels, self.encoder.channels)
        self.head = SegmentationHead(self.encoder.channels[0], num_classes)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        e1, e2, e3, e4 = self.encoder(x)
        return self.head(self.decoder(self.context(e4), e1, e2, e3))
