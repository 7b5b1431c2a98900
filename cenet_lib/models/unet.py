"""U-Net (Ronneberger et al., MICCAI 2015), the baseline of Tables I-VI."""
from __future__ import annotations

import torch
from torch import nn

from .base import SegmentationModel


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Up(nn.Module):
    """2x2 up-convolution halving the channels, concatenation with the skip, double convolution."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.conv = DoubleConv(2 * out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(SegmentationModel):
    """The original architecture: 64-128-256-512-1024 channels, four 2x2 max-pools, four
    up-convolutions with concatenated skips, a 1x1 convolution to the logits.

    Two departures from the 2015 paper, as in most PyTorch U-Nets: the 3x3 convolutions are padded
    (output size equals input size, no overlap-tile cropping) and followed by batch norm, which lets
    it train with the same recipe (SGD at 4e-3) as the other rows of the tables.
    """

    size_divisor = 16

    def __init__(self, num_classes: int = 1, in_channels: int = 3, base_channels: int = 64) -> None:
        super().__init__()
        c = [base_channels * 2**level for level in range(5)]
        self.inc = DoubleConv(in_channels, c[0])
        self.downs = nn.ModuleList([nn.Sequential(nn.MaxPool2d(2), DoubleConv(c[i], c[i + 1])) for i in range(4)])
        self.ups = nn.ModuleList([Up(c[i + 1], c[i]) for i in reversed(range(4))])
        self.head = nn.Conv2d(c[0], num_classes, kernel_size=1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inc(x)
        skips: list[torch.Tensor] = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for index, up in enumerate(self.ups):
            x = up(x, skips[len(skips) - 1 - index])
        return self.head(x)
