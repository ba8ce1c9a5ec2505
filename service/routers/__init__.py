"""The registry of routers: adding a topic is one line here."""

from __future__ import annotations

from fastapi import APIRouter

from service.routers import dynamics, health, linear_regression, random_features, simulations, spectra
from service.routers import conjugate_kernel

ROUTERS: list[APIRouter] = [
    health.router,
    spectra.router,
    simulations.router,
    linear_regression.router,
    dynamics.router,
    random_features.router,
    conjugate_kernel.router,
]

TAGS = [
    {"name": "health", "description": "Liveness and readiness probes."},
    {"name": "spectra", "description": "Limiting eigenvalue distributions of random matrices."},
    {
        "name": "random-features",
        "description": "Random-features layers: expected kernels, Gaussian moments of activations and "
        "deterministic equivalents of the resolvent.",
    },
    {"name": "predictions", "description": "Predicted errors of learning algorithms."},
    {"name": "simulations", "description": "Asynchronous Monte Carlo jobs that check a prediction by simulation."},
]
