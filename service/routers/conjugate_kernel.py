"""Spectra of random neural networks: `/v1/spectra/conjugate-kernel` and `/v1/spectra/one-step-gradient`."""

from __future__ import annotations

import math

from fastapi import APIRouter

from schemas.conjugate_kernel import (
    CKOutlierPrediction,
    ConjugateKernelRequest,
    ConjugateKernelResponse,
    OneStepGradientRequest,
    OneStepGradientResponse,
    OneStepPoint,
)
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.conjugate_kernel import conjugate_kernel_arguments, one_step_gradient_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.conjugate_kernel import ConjugateKernelSpectrum, conjugate_kernel_spectrum
from solvers.one_step_gradient import OneStepGradientSpike, one_step_gradient_spike

router = APIRouter(prefix="/v1/spectra", tags=["spectra"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


@router.post(
    "/conjugate-kernel",
    operation_id="computeConjugateKernelSpectrum",
    summary="Conjugate-kernel spectrum of a random layer: density, CDF, support, atom and outliers",
)
async def conjugate_kernel(
    request: ConjugateKernelRequest, settings: SettingsDep, compute: ComputeDep
) -> ConjugateKernelResponse:
    """Limiting eigenvalue law of (1/n)σ(WX)ᵀσ(WX) from the quartic of Pennington & Worah (2017), Thm 1.

    Benigni & Péché (2021, 2022); docs/methods/conjugate_kernel.md §1-§4.
    """
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    result = await compute(
        conjugate_kernel_spectrum,
        cost=costs.conjugate_kernel(request),
        **conjugate_kernel_arguments(request),
    )
    return conjugate_kernel_response(result)


def conjugate_kernel_response(result: ConjugateKernelSpectrum) -> ConjugateKernelResponse:
    """The response body for a solver result."""
    outliers = [
        CKOutlierPrediction(
            source=o.source,
            location=serialize.finite_or_none(o.location),
            spike_strength=serialize.finite_or_none(o.spike_strength),
            threshold=serialize.finite_or_none(o.threshold),
            validity=o.validity,
            caveat=o.caveat,
        )
        for o in result.outliers
    ]
    if result.cdf is None:  # the body's `cdf` is required
        raise ValueError("The response needs the CDF: call the solver with `with_cdf=True`.")
    return ConjugateKernelResponse(
        matrix=result.matrix,
        theta1=result.theta1,
        theta2=result.theta2,
        kappa=result.kappa,
        activation_mean=result.activation_mean,
        centred=result.centred,
        x=serialize.floats(result.x),
        density=serialize.floats(result.density),
        cdf=serialize.floats(result.cdf),
        support=[serialize.interval(lo, hi) for lo, hi in result.support],
        atom=serialize.atom(result.atom_location, result.atom_mass),
        outliers=outliers,
        degree=result.degree,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )


@router.post(
    "/one-step-gradient",
    operation_id="computeOneStepGradientSpike",
    summary="One gradient step: top singular value of the first-layer weights versus the step size, and its threshold",
)
async def one_step_gradient(
    request: OneStepGradientRequest, settings: SettingsDep, compute: ComputeDep
) -> OneStepGradientResponse:
    """Spike of W₁ = W₀ + √N η G₀ (Ba et al. 2022, talk eq. (21); Benaych-Georges & Nadakuditi 2012).

    docs/methods/conjugate_kernel.md §5.
    """
    check_cap(field="learning_rate", size=request.n_learning_rates, cap=settings.max_points, what="step sizes")
    result = await compute(
        one_step_gradient_spike,
        cost=costs.one_step_gradient(request),
        **one_step_gradient_arguments(request),
    )
    return one_step_gradient_response(result)


def one_step_gradient_response(result: OneStepGradientSpike) -> OneStepGradientResponse:
    """The response body for a solver result."""
    points = [
        OneStepPoint(learning_rate=eta, spike_strength=theta, top_singular_value=top, separated=sep, alignment=align)
        for eta, theta, top, sep, align in zip(
            result.learning_rate.tolist(),
            result.spike_strength.tolist(),
            result.top_singular_value.tolist(),
            result.separated.tolist(),
            result.alignment.tolist(),
            strict=True,
        )
    ]
    return OneStepGradientResponse(
        points=points,
        threshold=result.threshold if math.isfinite(result.threshold) else None,
        bulk_edge=result.bulk_edge,
        slope=result.slope,
        student_mean_derivative=result.student_mean_derivative,
        teacher_mean_derivative=result.teacher_mean_derivative,
        target_mean_square=result.target_mean_square,
        alignment_validity=result.alignment_validity,
        alignment_caveat=result.alignment_caveat,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference),
    )
