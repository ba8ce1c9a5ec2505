"""The registry of routers: adding a topic is one line here."""

from __future__ import annotations

from fastapi import APIRouter

from service.routers import (
    batch,
    conjugate_kernel,
    datasets,
    dynamics,
    health,
    kernels,
    linear_regression,
    neural_tangent_kernel,
    random_features,
    simulations,
    spectra,
)

ROUTERS: list[APIRouter] = [
    health.router,
    spectra.router,
    simulations.router,
    linear_regression.router,
    dynamics.router,
    random_features.router,
    conjugate_kernel.router,
    neural_tangent_kernel.router,
    kernels.router,
    datasets.router,
    batch.router,
]

#: Request models that routes parse themselves (several media types), added to OpenAPI's components.
EXTRA_REQUEST_MODELS = [datasets.DatasetUpload]

TAGS = [
    {"name": "health", "description": "Liveness and readiness probes."},
    {"name": "spectra", "description": "Limiting eigenvalue distributions of random matrices."},
    {
        "name": "random-features",
        "description": "Random-features layers: expected kernels, Gaussian moments of activations and "
        "deterministic equivalents of the resolvent.",
    },
    {
        "name": "kernels",
        "description": "Kernel matrices of the kernel spec (linear, cosine, polynomial, rbf, inner-product, distance, random features) evaluated on data.",
    },
    {"name": "predictions", "description": "Predicted errors of learning algorithms."},
    {"name": "datasets", "description": 'Data sets uploaded once and referred to by id (`{"kind": "dataset", "id"}`).'},
    {"name": "batch", "description": "Many prediction requests in one call."},
    {"name": "simulations", "description": "Asynchronous Monte Carlo jobs that check a prediction by simulation."},
]
