"""Model registry: every network trained in Tables I-VI, built by name.

>>> model = build_model("cenet", num_classes=1)             # CE-Net, from scratch
>>> model = build_model("cenet", 1, pretrained="imagenet")  # ResNet-34 ImageNet encoder
>>> save_pretrained(model, "my-cenet", policy=InputPolicy())  # config.json + model.safetensors
>>> model, saved = from_pretrained("my-cenet")

=============================  ====================================  ===========
name                           paper row                             tables
=============================  ====================================  ===========
``cenet``                      CE-Net (DAC + RMP)                    I-VI
``backbone``                   Backbone (no context extractor)       I-VI
``backbone_inception``         Backbone + Inception-block            VI
``backbone_dac_no_atrous``     Backbone + DAC w/o atrous             VI
``backbone_dac``               Backbone + DAC with atrous            VI
``backbone_rmp``               Backbone + RMP                        VI
``backbone_inception_resnet``  Backbone + Inception-ResNet-block     VI
``cenet_per_branch``           CE-Net with the paper's per-branch    (option)
                               1x1 convolutions
``unet``                       U-Net [10]                            I-VI
=============================  ====================================  ===========
"""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

from ..config import RANDOM_SPELLINGS
from .base import SegmentationModel
from .cenet import CENet
from .encoder import ENCODER_WEIGHTS_ENV, EncoderWeightsError, ResNet34Encoder, resolve_encoder_weights
from .pretrained import SavedModel, SavedModelError, from_pretrained, save_pretrained
from .unet import UNet

_ModelFactory = Callable[..., SegmentationModel]

MODELS: dict[str, _ModelFactory] = {
    "cenet": partial(CENet, context="dac+rmp"),
    "cenet_per_branch": partial(CENet, context="dac+rmp", shared_1x1=False),
    "backbone": partial(CENet, context="none"),
    "backbone_inception": partial(CENet, context="inception"),
    "backbone_dac_no_atrous": partial(CENet, context="dac_no_atrous"),
    "backbone_dac": partial(CENet, context="dac"),
    "backbone_rmp": partial(CENet, context="rmp"),
    "backbone_inception_resnet": partial(CENet, context="inception_resnet"),
    "unet": UNet,
}


def list_models() -> list[str]:
    """Names accepted by :func:`build_model`."""
    return list(MODELS)


def build_model(
    name: str,
    num_classes: int = 1,
    in_channels: int = 3,
    pretrained: str | os.PathLike | None = None,
) -> SegmentationModel:
    """Build the model ``name`` returning ``num_classes`` logit channels.

    ``pretrained`` selects the encoder's starting weights (see :mod:`cenet_lib.models.encoder`):
    ``None`` trains from scratch, ``"imagenet"`` or a file path loads ResNet-34 weights. U-Net has
    no pretrained encoder and refuses any. The choice is recorded in ``model.encoder_weights``.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}. Registered models: {', '.join(MODELS)}.")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1 (1 for a binary task with one logit), got {num_classes}.")
    if name == "unet":
        if pretrained is not None and str(pretrained).lower() not in RANDOM_SPELLINGS:
            raise ValueError("unet has no pretrained encoder; pass pretrained=None.")
        model = UNet(num_classes=num_classes, in_channels=in_channels)
    else:
        model = MODELS[name](num_classes=num_classes, in_channels=in_channels, encoder_weights=pretrained)
    model.model_name = name
    return model


__all__ = [
    "ENCODER_WEIGHTS_ENV",
    "MODELS",
    "CENet",
    "EncoderWeightsError",
    "ResNet34Encoder",
    "SavedModel",
    "SavedModelError",
    "SegmentationModel",
    "UNet",
    "build_model",
    "from_pretrained",
    "list_models",
    "resolve_encoder_weights",
    "save_pretrained",
]
