"""Feature decoder of CE-Net (section II-C, Fig. 1(c)) and the final head."""
from __future__ import annotations

import torch
from torch import nn


class DecoderBlock(nn.Sequential):
    """1x1 convolution (C -> C/4), 3x3 transposed convolution with stride 2, 1x1 convolution
    (C/4 -> out), each followed by batch norm and ReLU. Doubles the height and width."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        mid = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, mid, kernel_size=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(mid, mid, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, kernel_size=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Decoder(nn.Module):
    """Four decoder blocks with additive skip connections from the encoder stages (Fig. 1):
    d4 = block4(context) + e3, d3 = block3(d4) + e2, d2 = block2(d3) + e1, d1 = block1(d2)."""

    def __init__(
        self, context_channels: int, encoder_channels: tuple[int, int, int, int] = (64, 128, 256, 512)
    ) -> None:
        super().__init__()
        c1, c2, c3, _ = encoder_channels
        self.block4 = DecoderBlock(context_channels, c3)
        self.block3 = DecoderBlock(c3, c2)
        self.block2 = DecoderBlock(c2, c1)
        self.block1 = DecoderBlock(c1, c1)

    def forward(self, context: torch.Tensor, e1: torch.Tensor, e2: torch.Tensor, e3: torch.Tensor) -> torch.Tensor:
        d4 = self.block4(context) + e3
        d3 = self.block3(d4) + e2
        d2 = self.block2(d3) + e1
        return self.block1(d2)


class SegmentationHead(nn.Sequential):
    """4x4 transposed convolution with stride 2 (back to the input resolution), ReLU, 3x3
    convolution and ReLU, and a 3x3 convolution to ``num_classes`` logits."""

    def __init__(self, in_channels: int, num_classes: int, mid_channels: int = 32) -> None:
        super().__init__(
            nn.ConvTranspose2d(in_channels, mid_channels, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, num_classes, kernel_size=3, padding=1),
        )
