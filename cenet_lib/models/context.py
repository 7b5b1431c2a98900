"""Context extractor of CE-Net (section II-B) and the blocks it is compared with in Table VI.

Every block maps a (B, C, H, W) feature map to (B, out_channels, H, W).

One-by-one convolutions, paper versus released code
---------------------------------------------------
The paper's text and Fig. 3-4 give each DAC branch and each RMP level its own 1x1 convolution.
The authors' released implementation shares one 1x1 convolution (C -> C) between DAC branches 2-4,
gives branch 1 none, and shares one 1x1 convolution (C -> 1) between the four RMP levels; that is
the network whose 29,003,093 parameters the reference count refers to. ``shared_1x1=True`` (the
default) builds the released network; ``shared_1x1=False`` builds the paper's per-branch variant
(four C -> C convolutions in DAC, four C -> 1 in RMP: 29,003,093 + 3 * (512 * 512 + 512)
+ 3 * (512 + 1) = 29,792,600 parameters for CE-Net). In the shared variant the state dict lists
the shared convolution under each index that uses it; it is one tensor.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv3x3(channels: int, dilation: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, kernel_size=3, padding=dilation, dilation=dilation)


class DACBlock(nn.Module):
    """Dense atrous convolution block (section II-B-2, Fig. 3).

    Four cascade branches of atrous 3x3 convolutions with rates (1), (3), (1, 3) and (1, 3, 5),
    receptive fields 3, 7, 9 and 19; each branch ends in a 1x1 convolution and ReLU, and the
    branches are added to the input (residual sum). The convolutions with equal rate share weights
    across branches, as in the released code, so the cascade is computed once:
    ``b3 = atrous_3(b1)`` and ``b4 = atrous_5(b3)``. ``rates=(1, 1, 1)`` gives the ablation
    "DAC w/o atrous" of Table VI.
    """

    def __init__(self, channels: int, rates: tuple[int, int, int] = (1, 3, 5), shared_1x1: bool = True) -> None:
        super().__init__()
        self.out_channels = channels
        self.atrous_a = _conv3x3(channels, rates[0])
        self.atrous_b = _conv3x3(channels, rates[1])
        self.atrous_c = _conv3x3(channels, rates[2])
        if shared_1x1:
            shared = nn.Conv2d(channels, channels, kernel_size=1)
            self.projections = nn.ModuleList([nn.Identity(), shared, shared, shared])
        else:
            self.projections = nn.ModuleList([nn.Conv2d(channels, channels, kernel_size=1) for _ in range(4)])
        for module in self.modules():  # zero bias, as the released code initialises it
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                module.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.atrous_a(x)  # rate 1, receptive field 3
        second = self.atrous_b(x)  # rate 3, receptive field 7
        third = self.atrous_b(first)  # rates 1, 3: receptive field 9
        fourth = self.atrous_c(third)  # rates 1, 3, 5: receptive field 19
        branches = [first, second, third, fourth]
        out = x
        for index, projection in enumerate(self.projections):
            out = out + F.relu(projection(branches[index]))
        return out


class RMPBlock(nn.Module):
    """Residual multi-kernel pooling (section II-B-3, Fig. 4).

    Max-pools with kernels (and strides) 2, 3, 5 and 6, a 1x1 convolution to one channel after each,
    bilinear upsampling to the input size, concatenated with the input: C + 4 output channels.
    """

    def __init__(self, channels: int, pool_sizes: tuple[int, ...] = (2, 3, 5, 6), shared_1x1: bool = True) -> None:
        super().__init__()
        self.out_channels = channels + len(pool_sizes)
        self.pools = nn.ModuleList([nn.MaxPool2d(kernel_size=size, stride=size) for size in pool_sizes])
        if shared_1x1:
            shared = nn.Conv2d(channels, 1, kernel_size=1)
            self.reductions = nn.ModuleList([shared for _ in pool_sizes])
        else:
            self.reductions = nn.ModuleList([nn.Conv2d(channels, 1, kernel_size=1) for _ in pool_sizes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = [x.shape[-2], x.shape[-1]]
        levels: list[torch.Tensor] = []
        for pool, reduction in zip(self.pools, self.reductions, strict=True):
            level = reduction(pool(x))
            levels.append(F.interpolate(level, size=size, mode="bilinear", align_corners=False))
        levels.append(x)
        return torch.cat(levels, dim=1)


class _InceptionBranches(nn.Module):
    """Four parallel branches of growing receptive field (1, 3, 5 and a pooled 1), C/4 channels each."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        width = channels // 4

        def conv(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2), nn.ReLU(inplace=True))

        self.branch1 = conv(channels, width, 1)
        self.branch3 = nn.Sequential(conv(channels, width, 1), conv(width, width, 3))
        self.branch5 = nn.Sequential(conv(channels, width, 1), conv(width, width, 3), conv(width, width, 3))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv(channels, channels - 3 * width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


class InceptionBlock(nn.Module):
    """Inception block (Szegedy et al.) in place of DAC, "Backbone + Inception-block" in Table VI.

    The paper gives no layer details; this is our reading: four parallel branches (1x1; 1x1-3x3;
    1x1-3x3-3x3; 3x3 max-pool-1x1), C/4 channels each, concatenated back to C channels, no residual.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels
        self.branches = _InceptionBranches(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branches(x)


class InceptionResNetBlock(nn.Module):
    """Inception-ResNet block (Szegedy et al. 2017), "Backbone + Inception-ResNet-block" in Table VI.

    The same branches as :class:`InceptionBlock`, concatenated, a 1x1 convolution (C -> C) and a
    residual sum with the input followed by ReLU; our reading, as the paper gives no layer details.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels
        self.branches = _InceptionBranches(channels)
        self.project = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.project(self.branches(x)))
