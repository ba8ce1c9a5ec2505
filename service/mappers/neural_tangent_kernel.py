"""Request → solver arguments for the neural-tangent-kernel spectrum (`/v1/spectra/neural-tangent-kernel`)."""

from __future__ import annotations

from typing import Any

from schemas.neural_tangent_kernel import NeuralTangentKernelRequest
from service.mappers.activations import activation


def neural_tangent_kernel_arguments(request: NeuralTangentKernelRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.neural_tangent_kernel.neural_tangent_kernel_spectrum`."""
    return {
        "activation": activation(request.activation),
        "ratio": request.aspect_ratio,
        "neurons_per_sample": request.neuron_ratio,
        "x": request.points,
    }
