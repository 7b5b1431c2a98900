"""cenet_lib: a reproduction of CE-Net (Gu et al., IEEE TMI 2019) with its baselines, losses,
metrics, data readers, training and evaluation."""
from .losses import build_loss
from .models import build_model, list_models

__version__ = "0.1.0"
__all__ = ["build_loss", "build_model", "list_models"]
