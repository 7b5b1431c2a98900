"""Test-time augmentation: undoes every transform exactly, is batched, and leaves an equivariant
model's prediction unchanged."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cenet_lib.losses import probabilities
from cenet_lib.models import build_model
from cenet_lib.tta import dihedral, predict_probabilities, undo_dihedral


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 5, 9)])
def test_undo_inverts_every_transform(shape):
    x = torch.randn(shape)
    for k in range(8):
        assert torch.equal(undo_dihedral(dihedral(x, k), k), x)
    assert len({dihedral(x, k).flatten().numpy().tobytes() for k in range(8)}) == 8


class Pointwise(nn.Module):
    """A 1x1 convolution: equivariant to every flip and transpose by construction."""

    def __init__(self, classes: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, classes, 1)

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize("classes", [1, 4])
@pytest.mark.parametrize("size", [(16, 16), (12, 20)])
def test_equivariant_model_is_unchanged(classes, size):
    torch.manual_seed(0)
    model = Pointwise(classes)
    x = torch.randn(2, 3, *size)
    torch.testing.assert_close(predict_probabilities(model, x, tta=True), probabilities(model(x)))


@pytest.mark.parametrize("size", [(64, 64), (64, 96)])
@pytest.mark.parametrize("flips", [tuple(range(8)), (0, 1), (0,)])
def test_batched_tta_equals_separate_passes_over_its_flips(size, flips):
    """All eight views, the left-right pair (``flips=horizontal``) or the image alone: the batched
    average equals one pass per view, each undone."""
    torch.manual_seed(0)
    model = build_model("backbone").eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = sum(undo_dihedral(probabilities(model(dihedral(x, k))), k) for k in flips) / len(flips)
    torch.testing.assert_close(predict_probabilities(model, x, tta=flips), expected, rtol=1e-4, atol=1e-5)


def test_tta_true_is_all_eight_views_and_false_the_plain_pass():
    torch.manual_seed(0)
    model = build_model("backbone").eval()
    x = torch.randn(1, 3, 64, 96)
    assert torch.equal(dihedral(x, 1), x.flip(-1))  # the horizontal pair is the image and its left-right flip
    plain, every = predict_probabilities(model, x, tta=False), predict_probabilities(model, x, tta=True)
    torch.testing.assert_close(predict_probabilities(model, x, tta=tuple(range(8))), every)
    torch.testing.assert_close(predict_probabilities(model, x, tta=(0,)), plain)
    assert not torch.allclose(plain, every)  # a real network is not equivariant: TTA changes it


def test_tta_calls_the_network_once_for_square_inputs():
    calls = []
    model = Pointwise()
    model.register_forward_hook(lambda module, inputs, output: calls.append(inputs[0].shape[0]))
    predict_probabilities(model, torch.randn(3, 3, 8, 8))
    assert calls == [24]
    calls.clear()
    predict_probabilities(model, torch.randn(3, 3, 8, 10))
    assert calls == [12, 12]
