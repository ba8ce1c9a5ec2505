"""Request → solver arguments for the spectra of random networks (`/v1/spectra/conjugate-kernel`, `/one-step-gradient`)."""

from __future__ import annotations

from typing import Any

from schemas.conjugate_kernel import ConjugateKernelRequest, OneStepGradientRequest
from service.mappers.activations import activation


def conjugate_kernel_arguments(request: ConjugateKernelRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.conjugate_kernel.conjugate_kernel_spectrum`."""
    return {
        "activation": activation(request.activation),
        "ratio": request.aspect_ratio,
        "neurons_per_sample": request.neuron_ratio,
        "matrix": request.matrix,
        "x": request.points,
        "weight_distribution": request.weight_distribution,
        "data_distribution": request.data_distribution,
        "subtract_mean": request.subtract_mean,
        "n_neurons": request.n_neurons,
    }


def one_step_gradient_arguments(request: OneStepGradientRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.one_step_gradient.one_step_gradient_spike`."""
    return {
        "activation": activation(request.activation),
        "link": activation(request.teacher.link),
        "noise_variance": request.teacher.noise_variance,
        "ratio": request.aspect_ratio,
        "neurons_per_sample": request.neuron_ratio,
        "learning_rate": request.learning_rates,
    }
