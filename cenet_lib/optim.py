"""How a run learns (section III-A): the optimizer, the learning-rate policies (the paper's poly
schedule, the authors' plateau halving), and a warning where the paper's recipe cannot learn."""
from __future__ import annotations

import warnings

import torch

from .config import RunConfig
from .models import ResNet34Encoder
from .models.encoder import is_random_init

#: The optimizers :func:`make_optimizer` builds, and the learning-rate policies training applies.
OPTIMIZERS = ("sgd", "adam")
LR_POLICIES = ("poly", "plateau")  # poly: poly_schedule; plateau: plateau_step


def make_optimizer(config: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's recipe) or Adam, with weight decay (Eq. 3's L_reg), both with
    torch's fused kernels: one pass over all parameters instead of a chain of per-tensor operations."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, fused=True
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    raise ValueError(f"Unknown optimizer {config.optimizer!r}; choose sgd or adam.")


def warn_sgd_from_scratch(config: RunConfig, model: torch.nn.Module) -> None:
    """Warn when the paper's SGD recipe is about to train a ResNet-34 encoder from random weights on
    real data: the paper starts from ImageNet (section II-A, Fig. 8), and at the paper's size on
    DRIVE every such row of ``results/paper`` stayed at all background (Sen 0)."""
    resnet_from_scratch = isinstance(getattr(model, "encoder", None), ResNet34Encoder) and is_random_init(
        model.encoder_weights
    )
    if config.optimizer == "sgd" and resnet_from_scratch and not config.synthetic:
        warnings.warn(
            f"{config.model} on {config.dataset}: SGD at lr {config.lr:g} with a ResNet-34 encoder from random "
            "weights. "
            "With the paper's recipe from scratch, every ResNet-34 row on DRIVE stayed at all background "
            "(results/paper). "
            "Start from ImageNet (encoder_weights=imagenet; run_all.sh --encoder-weights imagenet) or use "
            "recipe=scratch "
            "(Adam at 1e-3).",
            stacklevel=2,
        )


def poly_schedule(optimizer: torch.optim.Optimizer, total_steps: int, power: float):
    """The poly policy: lr = base_lr * (1 - step / total_steps) ** power, per optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total_steps) ** power)


def plateau_step(plateau: dict, train_loss: float, model, optimizer, config: RunConfig) -> str:
    """The authors' schedule: keep the best weights (in ``plateau``, so they are checkpointed with
    it); after ``plateau_patience`` epochs without a lower training loss reload them and halve the
    learning rate; stop after ``stop_patience`` such epochs or once the learning rate would fall
    below ``min_lr``. Returns a stop reason or ''."""
    if train_loss < plateau["best"]:
        best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        plateau.update(best=train_loss, bad_epochs=0, best_state=best_state)
        return ""
    plateau["bad_epochs"] += 1
    if plateau["bad_epochs"] > config.stop_patience:
        return f"no lower training loss for {config.stop_patience} epochs"
    if plateau["bad_epochs"] > config.plateau_patience:
        if optimizer.param_groups[0]["lr"] < config.min_lr:
            return f"learning rate below {config.min_lr}"
        model.load_state_dict(plateau["best_state"])
        for group in optimizer.param_groups:
            group["lr"] /= 2
    return ""
