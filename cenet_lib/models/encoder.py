"""Feature encoder of CE-Net (section II-A): the first four stages of ResNet-34.

Pretrained weights are loaded the standard way. ``weights`` is one of

* ``None`` or ``"random"`` (``"scratch"`` and ``"none"`` are older spellings): random initialisation;
* ``"imagenet"``: the file named by the environment variable ``CENET_ENCODER_WEIGHTS`` if it is
  set, otherwise torchvision's ``ResNet34_Weights.IMAGENET1K_V1`` through its weights API (downloaded
  once into the torch hub cache, ``$TORCH_HOME/hub/checkpoints``);
* a path to a ResNet-34 state dict saved with ``torch.save`` (the ``fc.*`` entries are ignored).

When the weights cannot be had, :class:`EncoderWeightsError` says how to get them and how to train
from random weights instead; there is no silent fallback.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torchvision.models import ResNet34_Weights, resnet34

from ..config import RANDOM_SPELLINGS, canonical_encoder_weights

ENCODER_WEIGHTS_ENV = "CENET_ENCODER_WEIGHTS"
#: How a randomly initialised encoder is described in a model's ``encoder_weights`` and its files.
RANDOM_INIT = "random initialisation"


def is_random_init(description: str | None) -> bool:
    """Whether a model's ``encoder_weights`` description says it started from random weights
    (``scratch (random initialisation)`` in files written before the name changed)."""
    return canonical_encoder_weights(description) == "random" or RANDOM_INIT in str(description)


class EncoderWeightsError(RuntimeError):
    """Pretrained encoder weights were asked for but cannot be loaded."""


def _how_to_get_weights() -> str:
    return (
        "To use ImageNet weights offline, download torchvision's ResNet34_Weights.IMAGENET1K_V1 file "
        f"({ResNet34_Weights.IMAGENET1K_V1.url}) on a machine that is online, copy it here and either "
        f"set {ENCODER_WEIGHTS_ENV}=/path/to/resnet34-b627a593.pth, pass the path as `pretrained`, or "
        "place it in the torch hub cache ($TORCH_HOME/hub/checkpoints/). To train from scratch "
        "instead, pass pretrained=None (settings: encoder_weights: random)."
    )


def _load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise EncoderWeightsError(f"Encoder weights file not found: {path}. {_how_to_get_weights()}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt or truncated file: say which one
        raise EncoderWeightsError(f"Cannot read encoder weights from {path}: {error}") from error
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return {key.removeprefix("module."): value for key, value in state.items()}


def resolve_encoder_weights(weights: str | os.PathLike | None) -> tuple[dict[str, torch.Tensor] | None, str]:
    """Return (ResNet-34 state dict or None, a description of where it came from)."""
    if weights is None or str(weights).lower() in RANDOM_SPELLINGS:
        return None, RANDOM_INIT
    if str(weights).lower() == "imagenet":
        local = os.environ.get(ENCODER_WEIGHTS_ENV)
        if local:
            return _load_state_dict_file(Path(local)), f"imagenet (file {local}, from ${ENCODER_WEIGHTS_ENV})"
        try:
            state = ResNet34_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
        except Exception as error:  # no network, blocked host, corrupt cache
            raise EncoderWeightsError(
                f"Could not load ImageNet weights for ResNet-34 through torchvision ({error}). "
                + _how_to_get_weights()
            ) from error
        return state, "imagenet (torchvision ResNet34_Weights.IMAGENET1K_V1)"
    path = Path(weights).expanduser()
    return _load_state_dict_file(path), f"file {path}"


class ResNet34Encoder(nn.Module):
    """ResNet-34 without average pooling and fully connected layer (Fig. 1(b)).

    Returns the outputs of the four residual stages, at strides 4, 8, 16 and 32 with 64, 128, 256
    and 512 channels. Layer names follow torchvision, so its state dicts load directly.
    For ``in_channels != 3`` the first convolution is replaced; with pretrained weights its kernel
    is the mean of the RGB kernels, scaled so that an input with equal channels gives the same
    response as the RGB network on the matching grey image.
    """

    channels: tuple[int, int, int, int] = (64, 128, 256, 512)

    def __init__(self, in_channels: int = 3, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        resnet = resnet34(weights=None)
        state, self.weights_description = resolve_encoder_weights(weights)
        if state is not None:
            state = {key: value for key, value in state.items() if not key.startswith("fc.")}
            missing, unexpected = resnet.load_state_dict(state, strict=False)
            missing = [key for key in missing if not key.startswith("fc.")]
            if missing or unexpected:
                raise EncoderWeightsError(
                    f"Encoder weights ({self.weights_description}) do not match ResNet-34: "
                    f"missing {missing[:5]}, unexpected {unexpected[:5]}."
                )
        self.conv1 = resnet.conv1
        if in_channels != 3:
            rgb_kernel = resnet.conv1.weight.detach()
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            if state is not None:
                grey = rgb_kernel.mean(dim=1, keepdim=True) * (3.0 / in_channels)
                self.conv1.weight.data.copy_(grey.repeat(1, in_channels, 1, 1))
        self.bn1 = resnet.bn1
        self.relu = resnet.relu
        self.maxpool = resnet.maxpool
        self.layer1 = resnet.layer1
        self.layer2 = resnet.layer2
        self.layer3 = resnet.layer3
        self.layer4 = resnet.layer4

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        e1 = self.layer1(x)
        e2 = self.layer2(e1)
        e3 = self.layer3(e2)
        e4 = self.layer4(e3)
        return e1, e2, e3, e4
