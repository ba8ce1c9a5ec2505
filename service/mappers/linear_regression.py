"""Request → solver arguments for `/v1/predictions/linear-ridge`."""

from __future__ import annotations

from typing import Any

from schemas.linear_regression import LinearRidgeRequest


def linear_ridge_arguments(request: LinearRidgeRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.linear_regression.ridge_regression_risk` (the grid of ratios × penalties)."""
    population = request.population
    return {
        "ratio": request.ratios,
        "ridge_penalty": request.ridge_penalties,
        "signal_strength": request.signal_strength,
        "noise_variance": request.noise_variance,
        "eigenvalues": population.eigenvalues if population else None,
        "weights": population.weights if population else None,
        "signal_weights": request.signal_weights,
    }
