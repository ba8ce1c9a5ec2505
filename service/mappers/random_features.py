"""Request → solver arguments for random features (`/v1/kernels/expected`, `/v1/activations/moments`,
`/v1/deterministic-equivalents/random-features`, `/v1/predictions/random-features-ridge`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from schemas.datasets import DatasetReference
from schemas.random_features import (
    ActivationMomentsRequest,
    ExpectedKernelRequest,
    GaussianMixtureData,
    InlineData,
    RandomFeaturesDeterministicEquivalentRequest,
    RandomFeaturesRidgeRequest,
)
from service.mappers.activations import activation
from solvers.random_features import gaussian_mixture


def _array(values: Any) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


def data_arrays(data: InlineData | GaussianMixtureData | DatasetReference) -> dict[str, np.ndarray | None]:
    """``x``, ``y``, ``x_test``, ``y_test`` (rows = samples): inline as given, a stored data set's (resolved by the
    service first), or drawn from the mixture's own seed."""
    if isinstance(data, DatasetReference):
        stored = data.arrays
        return {
            name: None if getattr(stored, name) is None else np.asarray(getattr(stored, name))
            for name in ("x", "y", "x_test", "y_test")
        }
    if isinstance(data, InlineData):
        return {"x": _array(data.x), "y": _array(data.y), "x_test": _array(data.x_test), "y_test": _array(data.y_test)}
    drawn = gaussian_mixture(
        n_samples=data.n_samples,
        n_test=data.n_test,
        n_features=data.n_features,
        n_classes=data.n_classes,
        means=_array(data.means),
        mean_norm=data.mean_norm,
        noise_variance=data.noise_variance,
        proportions=data.proportions,
        rng=data.seed,
    )
    return {"x": drawn.x, "y": drawn.y, "x_test": drawn.x_test, "y_test": drawn.y_test}


def expected_kernel_arguments(request: ExpectedKernelRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.activations.expected_kernel` (and of the regime warnings)."""
    return {"activation": activation(request.activation), "x": _array(request.x), "x_test": _array(request.x_test)}


def activation_moments_arguments(request: ActivationMomentsRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.activations.activation_moments`."""
    return {"activation": activation(request.activation)}


def deterministic_equivalent_arguments(request: RandomFeaturesDeterministicEquivalentRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.random_features.deterministic_equivalent`."""
    return {
        "activation": activation(request.activation),
        "x": data_arrays(request.data)["x"],
        "n_neurons": request.n_neurons,
        "ridge_penalty": request.ridge_penalty,
    }


def activation_key(request: RandomFeaturesRidgeRequest) -> str:
    """The activation as canonical JSON: with the data set id, the key of its cached spectral decomposition."""
    return request.activation.model_dump_json()


def spectral_arguments(request: RandomFeaturesRidgeRequest) -> dict[str, Any]:
    """Keyword arguments of the spectral decomposition of (data, activation): what a cache entry depends on."""
    return {"activation": activation(request.activation), **data_arrays(request.data)}


def random_features_ridge_arguments(request: RandomFeaturesRidgeRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.random_features.random_features_ridge` (every N × γ)."""
    return {
        "activation": activation(request.activation),
        **data_arrays(request.data),
        "n_neurons": request.neuron_counts,
        "ridge_penalty": request.ridge_penalties,
        "optimize": request.optimize,
    }
