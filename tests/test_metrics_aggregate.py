from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cenet_lib.metrics import format_mean_std, mean_std, summarize


def test_mean_std_matches_numpy_and_ignores_nan():
    values = [0.1, 0.2, np.nan, 0.6]
    mean, std = mean_std(values)
    assert mean == pytest.approx(0.3)
    assert std == pytest.approx(np.std([0.1, 0.2, 0.6], ddof=1))
    assert mean_std([0.5]) == (0.5, 0.0)
    assert all(np.isnan(mean_std([np.nan])))


def test_summarize_and_format():
    table = pd.DataFrame({"image": ["a", "b"], "dice": [0.8, 0.9], "auc": [0.95, 0.97]})
    summary = summarize(table)
    assert list(summary.index) == ["dice", "auc"]
    assert summary.loc["dice", "mean"] == pytest.approx(0.85)
    assert summary.loc["auc", "n"] == 2
    assert format_mean_std(0.0581, 0.0324) == "0.058 ± 0.032"
