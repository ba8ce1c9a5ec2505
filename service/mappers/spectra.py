"""Request → solver arguments for the limiting spectra (`/v1/spectra/...`)."""

from __future__ import annotations

from typing import Any

from schemas.spectra import MarchenkoPasturRequest, SampleCovarianceRequest, SpikedCovarianceRequest


def marchenko_pastur_arguments(request: MarchenkoPasturRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.marchenko_pastur.marchenko_pastur`."""
    return {
        "ratio": request.aspect_ratio,
        "variance": request.variance,
        "matrix": request.matrix,
        "x": request.points,
        "n_moments": request.n_moments,
        "stieltjes_at": [complex(z.re, z.im) for z in request.stieltjes_at],
    }


def sample_covariance_arguments(request: SampleCovarianceRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.sample_covariance.sample_covariance_spectrum`."""
    return {
        "ratio": request.aspect_ratio,
        "eigenvalues": request.population.eigenvalues,
        "weights": request.population.weights,
        "x": request.points,
        "stieltjes_at": [complex(z.re, z.im) for z in request.stieltjes_at],
    }


def spiked_covariance_arguments(request: SpikedCovarianceRequest) -> dict[str, Any]:
    """Keyword arguments of :func:`solvers.spiked_covariance.spiked_covariance`."""
    return {"ratio": request.aspect_ratio, "spikes": request.spikes, "variance": request.variance}
