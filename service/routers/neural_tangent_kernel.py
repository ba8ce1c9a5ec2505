"""The neural-tangent-kernel spectrum of a random two-layer network: `/v1/spectra/neural-tangent-kernel`."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.neural_tangent_kernel import (
    NeuralTangentKernelRequest,
    NeuralTangentKernelResponse,
)
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.neural_tangent_kernel import neural_tangent_kernel_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.neural_tangent_kernel import NeuralTangentKernelSpectrum, neural_tangent_kernel_spectrum

router = APIRouter(prefix="/v1/spectra", tags=["spectra"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


@router.post(
    "/neural-tangent-kernel",
    operation_id="computeNeuralTangentKernelSpectrum",
    summary="Neural-tangent-kernel spectrum of a random two-layer network: density, CDF, support and atom",
)
async def neural_tangent_kernel(
    request: NeuralTangentKernelRequest, settings: SettingsDep, compute: ComputeDep
) -> NeuralTangentKernelResponse:
    """Limiting eigenvalue law of the NTK Gram matrix (Fan & Wang 2020, §3.2; docs/derivations/neural_tangent_kernel_spectrum.md)."""
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    result = await compute(
        neural_tangent_kernel_spectrum,
        cost=costs.neural_tangent_kernel(request),
        **neural_tangent_kernel_arguments(request),
    )
    return neural_tangent_kernel_response(result)


def neural_tangent_kernel_response(result: NeuralTangentKernelSpectrum) -> NeuralTangentKernelResponse:
    """The response body for a solver result."""
    if result.cdf is None:  # the body's `cdf` is required
        raise ValueError("The response needs the CDF: call the solver with `with_cdf=True`.")
    return NeuralTangentKernelResponse(
        theta1=result.theta1,
        theta2=result.theta2,
        mean_square_derivative=result.mean_square_derivative,
        activation_mean=result.activation_mean,
        shift=result.shift,
        x=serialize.floats(result.x),
        density=serialize.floats(result.density),
        cdf=serialize.floats(result.cdf),
        support=[serialize.interval(lo, hi) for lo, hi in result.support],
        atom=serialize.atom(result.atom_location, result.atom_mass),
        degree=result.degree,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )
