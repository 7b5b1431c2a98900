"""Figures of numbers: what they draw, and that their text stays legible (10 pt or more)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from cenet_lib.reporting.figures import FIGURE_INCHES, TITLE_POINTS, training_curves  # noqa: E402


def assert_legible(figures) -> None:
    """Shown at its own size in JupyterLab (no wider than its output area) with no text under 10 pt."""
    for figure in figures:
        texts = [text for text in figure.findobj(Text) if text.get_text().strip() and text.get_visible()]
        assert figure.get_figwidth() <= FIGURE_INCHES, figure.texts
        assert min(text.get_fontsize() for text in texts) >= TITLE_POINTS, figure.texts


def _log(validation: bool) -> pd.DataFrame:
    epochs = np.arange(1, 11)
    log = pd.DataFrame({"epoch": epochs, "step": epochs * 6, "train_loss": 1 / epochs})
    if validation:
        log["val_v_rand"] = np.where(epochs % 2 == 0, 0.9 + epochs / 100, np.nan)
    return log


def test_training_curves_draw_the_validation_score_only_where_there_is_one():
    with_validation = training_curves({"U-Net": _log(True), "CE-Net": _log(False)}, "val_v_rand", "V_Rand", "t")
    assert len(with_validation.axes) == 2
    assert [len(line.get_xdata()) for line in with_validation.axes[1].lines] == [5]  # the epochs it was scored at

    without = training_curves({"U-Net": _log(False)}, "val_v_rand", "V_Rand", "t")
    assert len(without.axes) == 1 and "no validation split" in without.axes[0].get_title()
    assert with_validation.axes[1].get_yscale() == "linear"
    falling = _log(True).assign(val_v_rand=lambda log: 200.0 / log["epoch"] ** 2)  # 200 px down to 2
    assert training_curves({"U-Net": falling}, "val_v_rand", "error", "t").axes[1].get_yscale() == "log"
    assert_legible([with_validation, without])
    plt.close("all")


def test_the_error_map_of_a_layer_prediction_covers_the_retina_only():
    """Above the first boundary and below the last is not retina; fluid inside it is."""
    from cenet_lib.reporting.image_figures import _foreground
    from cenet_lib.tasks import LayerBoundaryTask

    task = LayerBoundaryTask(boundaries=tuple("ABCDEFGH"))  # 8 boundaries: layers 1..7, 8 below, 9 fluid
    column = np.array([0, 0, 1, 2, 9, 7, 8, 8])
    assert _foreground(column, task).tolist() == [False, False, True, True, True, True, False, False]
