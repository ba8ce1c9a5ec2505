"""Summary statistics shared by the Monte Carlo simulators."""

from __future__ import annotations

import numpy as np


def mean_and_standard_error(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 0 (the trials) and its standard error, sample std / √trials (0 for one trial)."""
    trials = values.shape[0]
    mean = values.mean(axis=0)
    if trials < 2:
        return mean, np.zeros_like(mean)
    return mean, values.std(axis=0, ddof=1) / np.sqrt(trials)
