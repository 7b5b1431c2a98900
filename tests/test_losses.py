"""Losses of section II-D against hand-made values and scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, log_loss

from cenet_lib.losses import CrossEntropyLoss, DiceCELoss, DiceLoss, build_loss

BIG = 40.0  # a logit whose sigmoid is 1 (or 0) in float32


def hard_logits(mask: np.ndarray) -> torch.Tensor:
    """Binary logits (B, 1, H, W) whose probabilities are exactly the 0/1 mask."""
    return torch.from_numpy(np.where(mask, BIG, -BIG)).float().unsqueeze(1)


def test_dice_loss_hand_made_value():
    # p = 0.5 everywhere on 4 pixels, g has 2 foreground pixels:
    # 2 * (0.5 + 0.5) / (4 * 0.25 + 2) = 2/3, loss 1/3
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    assert DiceLoss()(logits, target).item() == pytest.approx(1 / 3, abs=1e-6)


def test_dice_loss_of_hard_prediction_is_one_minus_f1():
    rng = np.random.default_rng(0)
    pred = rng.random((2, 16, 16)) > 0.6
    target = rng.random((2, 16, 16)) > 0.5
    loss = DiceLoss()(hard_logits(pred), torch.from_numpy(target).float())
    assert loss.item() == pytest.approx(1 - f1_score(target.ravel(), pred.ravel()), abs=1e-5)


def test_multiclass_dice_is_one_minus_macro_f1():
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 4, (2, 12, 12))
    target = rng.integers(0, 4, (2, 12, 12))
    logits = F.one_hot(torch.from_numpy(pred), 4).permute(0, 3, 1, 2).float() * BIG
    loss = DiceLoss()(logits, torch.from_numpy(target))
    expected = 1 - f1_score(target.ravel(), pred.ravel(), average="macro", labels=range(4))
    assert loss.item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("loss", [DiceLoss(), CrossEntropyLoss(), DiceCELoss()])
def test_perfect_prediction_gives_zero(loss):
    rng = np.random.default_rng(2)
    target = rng.random((2, 8, 8)) > 0.5
    assert loss(hard_logits(target), torch.from_numpy(target).float()).item() == pytest.approx(0, abs=1e-6)


def test_absent_class_gives_no_nan():
    # class 3 is neither predicted nor present; all-background binary task too
    logits = torch.full((1, 4, 8, 8), -BIG)
    logits[:, 0] = BIG
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    loss = DiceLoss()(logits, target)
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0, abs=1e-6)
    empty = torch.zeros(1, 8, 8)
    assert DiceLoss()(torch.full((1, 1, 8, 8), -BIG), empty).item() == pytest.approx(0, abs=1e-6)
    logits.requires_grad_(True)
    DiceLoss()(logits, target).backward()
    assert torch.isfinite(logits.grad).all()


def test_cross_entropy_matches_log_loss():
    rng = np.random.default_rng(3)
    logits = torch.from_numpy(rng.normal(size=(1, 3, 5, 5))).float()
    target = rng.integers(0, 3, (1, 5, 5))
    probs = torch.softmax(logits, 1).permute(0, 2, 3, 1).reshape(-1, 3).numpy()
    expected = log_loss(target.ravel(), probs, labels=[0, 1, 2])
    assert CrossEntropyLoss()(logits, torch.from_numpy(target)).item() == pytest.approx(expected, rel=1e-5)
    binary_logits = logits[:, :1]
    binary_target = (target > 0).astype(float)
    p = torch.sigmoid(binary_logits).numpy().ravel()
    expected = log_loss(binary_target.ravel(), p, labels=[0, 1])
    got = CrossEntropyLoss()(binary_logits, torch.from_numpy(binary_target)).item()
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["dice", "ce", "dice_ce"])
def test_gradients_flow_and_reduce_the_loss(name):
    torch.manual_seed(0)
    loss_fn = build_loss(name)
    target = (torch.rand(2, 16, 16) > 0.7).float()
    logits = torch.zeros(2, 1, 16, 16, requires_grad=True)
    start = loss_fn(logits, target)
    start.backward()
    assert logits.grad.abs().sum() > 0
    with torch.no_grad():
        stepped = logits - 10.0 * logits.grad
    assert loss_fn(stepped, target) < start


def test_dice_ce_is_the_sum():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 1, 8, 8), (torch.rand(2, 8, 8) > 0.5).float()
    total = DiceCELoss()(logits, target)
    assert total.item() == pytest.approx((DiceLoss()(logits, target) + CrossEntropyLoss()(logits, target)).item())


def test_unknown_loss():
    with pytest.raises(ValueError, match="dice, ce, dice_ce"):
        build_loss("focal")
