"""Limiting spectra: `/v1/spectra/...`. Routes parse, call one solver, and map its result."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.spectra import MarchenkoPasturRequest, MarchenkoPasturResponse
from service import serialize
from service.dependencies import ComputeDep, SettingsDep, check_cap
from service.problems import PROBLEM_RESPONSES
from solvers.marchenko_pastur import marchenko_pastur

router = APIRouter(prefix="/v1/spectra", tags=["spectra"], responses=PROBLEM_RESPONSES)


@router.post(
    "/marchenko-pastur",
    operation_id="getMarchenkoPasturSpectrum",
    summary="Marchenko–Pastur law: density, CDF, moments and Stieltjes transform",
)
async def marchenko_pastur_spectrum(
    request: MarchenkoPasturRequest, settings: SettingsDep, compute: ComputeDep
) -> MarchenkoPasturResponse:
    """Limiting eigenvalue law of (1/n)XXᵀ (or (1/n)XᵀX) for X with i.i.d. entries of variance σ².

    Marchenko & Pastur (1967); shared/spec/linear.md §1.
    """
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    result = await compute(
        marchenko_pastur,
        cost=request.n_points,
        ratio=request.aspect_ratio,
        variance=request.variance,
        matrix=request.matrix,
        x=request.points,
        n_moments=request.n_moments,
        stieltjes_at=[complex(z.re, z.im) for z in request.stieltjes_at],
    )
    return MarchenkoPasturResponse(
        support=serialize.interval(result.support_lower, result.support_upper),
        atom=serialize.atom(result.atom_location, result.atom_mass),
        x=serialize.floats(result.x),
        density=serialize.floats(result.density),
        cdf=serialize.floats(result.cdf),
        moments=serialize.floats(result.moments),
        stieltjes=serialize.stieltjes_values(result.stieltjes_at, result.stieltjes),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference),
    )
