"""Request → solver arguments for the learning dynamics (`/v1/predictions/gradient-descent-*`)."""

from __future__ import annotations

from typing import Any

from schemas.dynamics import GradientDescentClassificationRequest, GradientDescentRegressionRequest


def gradient_descent_classification_arguments(request: GradientDescentClassificationRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.dynamics.gradient_descent_classification`."""
    return {
        "ratio": request.aspect_ratio,
        "mean_norm_squared": request.mean_norm_squared,
        "ridge_penalty": request.ridge_penalty,
        "learning_rate": request.learning_rate,
        "init_variance": request.init_variance,
        "time": request.times,
        "mode": request.mode,
    }


def gradient_descent_regression_arguments(request: GradientDescentRegressionRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.dynamics.gradient_descent_regression`."""
    return {
        "ratio": request.aspect_ratio,
        "signal_strength": request.signal_strength,
        "noise_variance": request.noise_variance,
        "ridge_penalty": request.ridge_penalty,
        "learning_rate": request.learning_rate,
        "init_variance": request.init_variance,
        "time": request.times,
        "mode": request.mode,
    }
