"""Aggregation of per-image scores into table cells: mean +- standard deviation over images."""
from __future__ import annotations

import numpy as np
import pandas as pd


def mean_std(values: np.ndarray | list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single value), NaNs ignored."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def summarize(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count of every numeric column of a per-image table (one row per image)."""
    numeric = per_image.select_dtypes("number")
    rows = {column: (*mean_std(numeric[column].to_numpy()), int(numeric[column].notna().sum())) for column in numeric}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "std", "n"])


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """'0.058 ± 0.032', the way the paper's tables print a cell."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
