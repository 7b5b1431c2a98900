"""A saved-model folder: a trained model that loads with nothing but this folder, and no pickle.

    save_pretrained(model, "cenet-drive", policy=policy, card=card)   # or: cenet export RUN --format folder
    model, saved = from_pretrained("cenet-drive")

The folder holds, as segmentation_models_pytorch's ``save_pretrained`` writes it:

* ``config.json``: the registry name, classes (count and names), input channels, the input policy
  (how an image reaches the network, :class:`~cenet_lib.data.policy.InputPolicy`), the
  normalisation, the threshold and where the encoder's weights started from;
* ``model.safetensors``: the weights. safetensors holds tensors only, so loading cannot run code
  (a ``torch.load`` of a pickle can);
* ``README.md``: the model card, written by the caller (``cenet export`` writes it from the run).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from .export import in_channels_of, num_classes_of

FORMAT = "cenet-lib saved model"
VERSION = 1
#: What :func:`cenet_lib.data.transforms.normalize` does to an image before it reaches the network.
NORMALIZATION = {
    "rule": "x / 255 * 3.2 - 1.6 for uint8 images (x * 3.2 - 1.6 for floats in [0, 1])",
    "scale": 3.2 / 255,
    "offset": -1.6,
}


class SavedModelError(ValueError):
    """A saved-model folder that cannot be read; the message names the file and the fix."""


@dataclass(frozen=True)
class SavedModel:
    """What ``config.json`` says beside the weights."""

    model_name: str
    num_classes: int
    in_channels: int
    input_policy: dict[str, Any]  # the InputPolicy's fields
    threshold: float = 0.5
    class_names: list[str] | None = None
    encoder_weights: str = ""
    normalization: dict[str, Any] | None = None

    def policy(self):
        from ..data.policy import InputPolicy

        fields = dict(self.input_policy)
        fields["size"] = tuple(fields["size"])
        if fields.get("tile") is not None:
            fields["tile"] = tuple(fields["tile"])
        return InputPolicy(**fields)


def save_pretrained(model: nn.Module, folder: str | Path, policy, threshold: float = 0.5,
                    class_names: list[str] | None = None, card: str = "") -> Path:
    """Write ``model`` and what is needed to apply it to ``folder`` (created; its three files replaced)."""
    from safetensors.torch import save_model

    folder = Path(folder)
    if not folder.parent.is_dir():
        raise SavedModelError(
            f"Cannot write {folder}: the folder {folder.parent} does not exist; create it or choose another --out."
        )
    folder.mkdir(exist_ok=True)
    saved = SavedModel(
        model_name=model.model_name, num_classes=num_classes_of(model), in_channels=in_channels_of(model),
        input_policy={**asdict(policy), "size": list(policy.size), "tile": list(policy.tile) if policy.tile else None,
                      "flips": list(policy.flips)},
        threshold=threshold, class_names=class_names, encoder_weights=getattr(model, "encoder_weights", ""),
        normalization=NORMALIZATION,
    )
    save_model(model, str(folder / "model.safetensors"), metadata={"format": FORMAT})  # shared weights once (RMP's 1x1)
    (folder / "config.json").write_text(
        json.dumps({"format": FORMAT, "version": VERSION, **asdict(saved)}, indent=1) + "\n"
    )
    if card:
        (folder / "README.md").write_text(card)
    return folder


def read_saved_config(folder: str | Path) -> SavedModel:
    """The :class:`SavedModel` of ``folder``'s ``config.json``, checked."""
    from . import MODELS

    folder = Path(folder)
    if not folder.is_dir():
        raise SavedModelError(
            f"Saved-model folder not found: {folder}; pass a folder written by `cenet export RUN --format folder`."
        )
    path = folder / "config.json"
    if not path.is_file():
        raise SavedModelError(f"{folder} holds no config.json: it is not a saved-model folder; write one with "
                              "`cenet export RUN --format folder --out DIR`, or pass a run folder (with model.pt).")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise SavedModelError(
            f"{path} is not valid JSON ({error}); write the folder again with `cenet export`."
        ) from None
    if config.get("model_name") not in MODELS:
        raise SavedModelError(f"{path} names the model {config.get('model_name')!r}, which is not registered: "
                              f"use one of {', '.join(MODELS)}.")
    known = set(SavedModel.__dataclass_fields__)
    return SavedModel(**{key: value for key, value in config.items() if key in known})


def from_pretrained(folder: str | Path) -> tuple[nn.Module, SavedModel]:
    """The model saved in ``folder`` (in eval mode, on the CPU), and its :class:`SavedModel`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    from . import build_model

    saved = read_saved_config(folder)
    weights = Path(folder) / "model.safetensors"
    if not weights.is_file():
        raise SavedModelError(f"{folder} holds no model.safetensors; write the folder again with `cenet export`.")
    model = build_model(saved.model_name, saved.num_classes, saved.in_channels)
    try:
        missing, unexpected = load_model(model, str(weights), strict=False)
    except (SafetensorError, OSError) as error:
        raise SavedModelError(
            f"Cannot read {weights} ({error}): the file is truncated or corrupt; copy or export it again."
        ) from None
    except RuntimeError as error:  # tensors of other shapes
        raise SavedModelError(
            f"{weights} does not fit a {saved.model_name} with {saved.num_classes} classes: "
            f"{str(error).splitlines()[0][:200]}"
        ) from None
    if missing or unexpected:
        raise SavedModelError(
            f"{weights} does not fit a {saved.model_name}: missing {missing[:3]}, unexpected {unexpected[:3]}."
        )
    model.encoder_weights = saved.encoder_weights or model.encoder_weights
    return model.eval(), saved
