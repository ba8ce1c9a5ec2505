"""Request → solver arguments for the kernel spec (`/v1/kernels/matrix`, `/v1/spectra/kernel-matrix`,
`/v1/predictions/kernel-ridge`)."""

from __future__ import annotations

from typing import Any

from schemas.kernels import (
    ExpFunction,
    GaussianMixtureModel,
    KernelMatrixSpectrumRequest,
    KernelRidgeRequest,
    PopulationModel,
)
from service.mappers.activations import activation
from solvers.exceptions import InvalidParameterError
from solvers.kernels import Kernel, make_kernel


def _activation(spec: Any, field: str):
    """The catalogue activation of ``spec``; a refusal names the kernel's field (``kernel.function``, ``kernel.activation``)."""
    try:
        return activation(spec)
    except InvalidParameterError as error:
        raise InvalidParameterError(field, f"{field}: {error.message}") from None


def kernel(spec: Any) -> Kernel:
    """The solver's :class:`~solvers.kernels.Kernel` for a `kernel` object of the contract (``schemas.kernels.KernelSpec``)."""
    fields = spec.model_dump(exclude={"name", "function", "activation"})
    if "function" in type(spec).model_fields:
        function = spec.function
        fields["function"] = "exp" if isinstance(function, ExpFunction) else _activation(function, "kernel.function")
    if "activation" in type(spec).model_fields:
        fields["activation"] = _activation(spec.activation, "kernel.activation")
    return make_kernel(spec.name, **fields)


def kernel_matrix_spectrum_arguments(request: KernelMatrixSpectrumRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.kernel_spectrum.kernel_matrix_spectrum`."""
    model = request.data_model
    arguments: dict[str, Any] = {
        "kernel": kernel(request.kernel),
        "ratio": request.aspect_ratio,
        "x": request.points,
        "n_samples": request.n_samples,
        "n_features": request.n_features,
        "data_model": model.kind,
    }
    if isinstance(model, PopulationModel):
        arguments |= {"eigenvalues": model.eigenvalues, "weights": model.weights}
    if isinstance(model, GaussianMixtureModel):
        arguments |= {"means": model.means, "proportions": model.proportions}
    return arguments


def kernel_ridge_arguments(request: KernelRidgeRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.kernel_ridge.kernel_ridge_risk` (the grid of ratios × penalties)."""
    population = request.population
    return {
        "kernel": kernel(request.kernel),
        "ratio": request.ratios,
        "ridge_penalty": request.ridge_penalties,
        "n_samples": request.n_samples,
        "signal_strength": request.signal_strength,
        "noise_variance": request.noise_variance,
        "eigenvalues": population.eigenvalues if population else None,
        "weights": population.weights if population else None,
    }
