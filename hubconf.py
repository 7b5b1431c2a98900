"""torch.hub entry points: every network of the model registry (:mod:`cenet_lib.models`).

    model = torch.hub.load("/path/to/this/repository", "cenet", source="local")
    model = torch.hub.load(repo, "backbone_dac", source="local", num_classes=2, pretrained="imagenet")

Each entry takes :func:`cenet_lib.models.build_model`'s arguments: ``num_classes``, ``in_channels``
and ``pretrained`` (the encoder's starting weights: ``None`` for random initialisation,
``"imagenet"`` or the path of a ResNet-34 state dict). No trained CE-Net weights are published
with this repository; a model trained here loads with ``cenet_lib.models.from_pretrained(folder)``.
"""
from cenet_lib.models import MODELS, build_model

dependencies = ["torch", "torchvision"]


def _entry(name: str):
    def entry(num_classes: int = 1, in_channels: int = 3, pretrained: str | None = None):
        return build_model(name, num_classes, in_channels, pretrained=pretrained)

    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = f"``build_model({name!r}, num_classes, in_channels, pretrained)``: see cenet_lib.models."
    return entry


globals().update({name: _entry(name) for name in MODELS})
