"""How an image reaches the network, and how the network's output comes back: one policy per run,
used alike by training, evaluation, ``cenet predict`` and the notebooks.

* ``resize``: every image is resized to ``size`` for training and for inference, and the
  probabilities are resized back to the image (the authors' code resizes to 448x448). Thin
  structures narrower than the resize factor vanish: DRIVE's 565-pixel-wide images lose half their
  width at 256.
* ``crop``: the image is first rescaled by ``scale`` (1.0 = its native resolution); training takes
  random crops of ``size`` from it (a side at least as large as the image takes the whole side,
  zero-padded up to ``size``), and inference predicts the whole rescaled image at once (the models
  pad it to their size multiple and crop the logits back) or, with ``tile`` set, in overlapping
  tiles (:mod:`cenet_lib.sliding_window`); the probabilities are rescaled back to the native size.
  Tiles of the training crop's size show the network the context it was trained on: CE-Net's RMP
  block pools its whole input (kernels up to 6 on a 1/32 map, so a 192-pixel crop is one pooling
  cell), and a whole image at inference gives those features a context training never showed.

Masks and regions follow the image exactly (nearest neighbour, the same crop window); a crop's
position is drawn from the generator the dataset passes, seeded by (seed, epoch, index), so it does
not depend on the number of loader workers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .transforms import FLIPS, resize

POLICIES = ("resize", "crop")


def parse_size(text: str) -> tuple[int, int]:
    """``"256"`` -> (256, 256), ``"384x192"`` -> (384, 192): a (height, width) as the command line writes it."""
    try:
        sides = tuple(int(side) for side in text.lower().split("x"))
    except ValueError:
        sides = ()
    if len(sides) not in (1, 2) or min(sides) <= 0:
        raise ValueError(f"A size is a positive side (256) or height x width (384x192), not {text!r}.")
    return (sides[0], sides[-1])


def rescale(array: np.ndarray, scale: float, nearest: bool) -> np.ndarray:
    """``array`` (H, W[, C]) resized by ``scale``; unchanged at 1.0."""
    if scale == 1.0:
        return array
    height, width = array.shape[:2]
    return resize(array, (max(1, round(height * scale)), max(1, round(width * scale))), nearest)


def random_crop(
    arrays: list[np.ndarray | None], size: tuple[int, int], rng: np.random.Generator
) -> list[np.ndarray | None]:
    """The same random ``size`` window of every array (H, W[, C]) of equal height and width.

    Along a side at least as long as the image the window is the whole side, zero-padded at the end
    up to ``size``; otherwise its start is uniform over the positions that keep it inside."""
    height, width = next(a for a in arrays if a is not None).shape[:2]
    top = int(rng.integers(0, height - size[0] + 1)) if height > size[0] else 0
    left = int(rng.integers(0, width - size[1] + 1)) if width > size[1] else 0
    out = []
    for array in arrays:
        if array is None:
            out.append(None)
            continue
        window = array[top : top + size[0], left : left + size[1]]
        pad = [(0, size[0] - window.shape[0]), (0, size[1] - window.shape[1])] + [(0, 0)] * (array.ndim - 2)
        out.append(np.pad(window, pad) if any(after for _, after in pad) else np.ascontiguousarray(window))
    return out


@dataclass(frozen=True)
class InputPolicy:
    kind: str = "resize"  # "resize" or "crop" (module docstring)
    size: tuple[int, int] = (448, 448)  # the network input (resize) or the training crop (crop)
    scale: float = 1.0  # crop: the image is rescaled by this first (1.0 = native)
    tile: tuple[int, int] | None = (
        None  # crop: predict in tiles of this (height, width), an int for squares (None: whole images)
    )
    overlap: float = 0.5  # crop: share of a tile that overlaps its neighbour
    flips: tuple[int, ...] = FLIPS["dihedral"]  # the flips training draws from and test-time augmentation averages

    def __post_init__(self) -> None:
        if self.kind not in POLICIES:
            raise ValueError(f"Unknown input policy {self.kind!r}; choose one of {', '.join(POLICIES)}.")
        object.__setattr__(self, "flips", tuple(self.flips))
        if isinstance(self.tile, int):
            object.__setattr__(self, "tile", (self.tile, self.tile))
        elif self.tile is not None:
            object.__setattr__(self, "tile", tuple(self.tile))
        if self.scale <= 0 or not 0 <= self.overlap < 1:
            raise ValueError(
                f"input_scale must be positive and tile_overlap in [0, 1); got {self.scale} and {self.overlap}."
            )

    @classmethod
    def from_config(cls, config) -> InputPolicy:
        """The policy of a :class:`cenet_lib.config.RunConfig` (its ``input_*``, ``tile_*`` and ``flips`` settings)."""
        return cls(
            config.input_policy,
            tuple(config.input_size),
            config.input_scale,
            config.tile_size,
            config.tile_overlap,
            FLIPS[config.flips],
        )

    def describe(self) -> dict[str, object]:
        """What provenance records (the flips only where they are not the paper's eight)."""
        if self.kind == "resize":
            described = {"input_policy": "resize", "input_size": list(self.size)}
        else:
            described = {
                "input_policy": "crop",
                "crop_size": list(self.size),
                "input_scale": self.scale,
                "tile_size": list(self.tile) if self.tile else None,
                "tile_overlap": self.overlap if self.tile else None,
            }
        if self.flips != FLIPS["dihedral"]:
            described["flips"] = next((name for name, flips in FLIPS.items() if flips == self.flips), list(self.flips))
        return described

    def training_view(
        self, image: np.ndarray, mask: np.ndarray, roi: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's training input: the resized image, or a random crop of the rescaled one,
        with its mask and region."""
        if self.kind == "resize":
            return (resize(image, self.size, nearest=False), resize(mask, self.size, nearest=True),
                    resize(roi.astype(np.uint8), self.size, nearest=True).astype(bool))
        image, mask = rescale(image, self.scale, False), rescale(mask, self.scale, True)
        roi = rescale(roi.astype(np.uint8), self.scale, True).astype(bool)
        image, mask, roi = random_crop([image, mask, roi], self.size, rng)
        return image, mask, roi

    def inference_view(self, image: np.ndarray) -> np.ndarray:
        """The network's inference input: the resized image, or the whole rescaled image."""
        return resize(image, self.size, nearest=False) if self.kind == "resize" else rescale(image, self.scale, False)

    @staticmethod
    def to_native(probs: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The network's probabilities (N, K, h, w) brought back to the image's native ``size``
        (bilinear; unchanged when they are already that size): the inverse of :meth:`inference_view`."""
        if tuple(probs.shape[-2:]) == tuple(size):
            return probs
        return F.interpolate(probs, size=tuple(size), mode="bilinear", align_corners=False)


def as_policy(policy: InputPolicy | tuple[int, int] | None) -> InputPolicy:
    """An :class:`InputPolicy`; a (height, width) means resizing to it, ``None`` the native size."""
    if isinstance(policy, InputPolicy):
        return policy
    return InputPolicy("resize", tuple(policy)) if policy else InputPolicy("crop")
