"""Limiting spectra: `/v1/spectra/...`. Routes parse, call one solver, and map its result."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.spectra import (
    MarchenkoPasturRequest,
    MarchenkoPasturResponse,
    SampleCovarianceRequest,
    SampleCovarianceResponse,
    SpikedCovarianceRequest,
    SpikedCovarianceResponse,
    SpikePrediction,
)
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.spectra import marchenko_pastur_arguments, sample_covariance_arguments, spiked_covariance_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.marchenko_pastur import MarchenkoPasturSpectrum, marchenko_pastur
from solvers.sample_covariance import SampleCovarianceSpectrum, sample_covariance_spectrum
from solvers.spiked_covariance import SpikedCovariancePrediction, spiked_covariance

router = APIRouter(prefix="/v1/spectra", tags=["spectra"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


@router.post(
    "/marchenko-pastur",
    operation_id="computeMarchenkoPasturSpectrum",
    summary="Marchenko–Pastur law: density, CDF, moments and Stieltjes transform",
)
async def marchenko_pastur_spectrum(
    request: MarchenkoPasturRequest, settings: SettingsDep, compute: ComputeDep
) -> MarchenkoPasturResponse:
    """Limiting eigenvalue law of (1/n)XXᵀ (or (1/n)XᵀX) for X with i.i.d. entries of variance σ².

    Marchenko & Pastur (1967); docs/methods/spectra.md §1.
    """
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    result = await compute(
        marchenko_pastur,
        cost=costs.marchenko_pastur(request),
        **marchenko_pastur_arguments(request),
    )
    return marchenko_pastur_response(result)


def marchenko_pastur_response(result: MarchenkoPasturSpectrum) -> MarchenkoPasturResponse:
    """The response body for a solver result (also used by the HTTP benchmark)."""
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


@router.post(
    "/sample-covariance",
    operation_id="computeSampleCovarianceSpectrum",
    summary="Generalized Marchenko–Pastur law for a population covariance spectrum",
)
async def sample_covariance(
    request: SampleCovarianceRequest, settings: SettingsDep, compute: ComputeDep
) -> SampleCovarianceResponse:
    """Eigenvalue law of (1/n)Σ^½ZZᵀΣ^½ from the Silverstein equation; support by Silverstein–Choi.

    Silverstein (1995); Silverstein & Choi (1995); docs/methods/spectra.md §2.
    """
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    atoms = len(request.population.eigenvalues)
    check_cap(field="population.eigenvalues", size=atoms, cap=settings.max_population_atoms, what="atoms")
    result = await compute(
        sample_covariance_spectrum,
        cost=costs.sample_covariance(request),
        **sample_covariance_arguments(request),
    )
    return sample_covariance_response(result)


def sample_covariance_response(result: SampleCovarianceSpectrum) -> SampleCovarianceResponse:
    """The response body for a solver result."""
    return SampleCovarianceResponse(
        support_intervals=[serialize.interval(lower, upper) for lower, upper in result.support_intervals],
        interval_masses=serialize.floats(result.interval_masses),
        atom=serialize.atom(result.atom_location, result.atom_mass),
        x=serialize.floats(result.x),
        density=serialize.floats(result.density),
        cdf=serialize.floats(result.cdf),
        moments=serialize.floats(result.moments),
        stieltjes=serialize.stieltjes_values(result.stieltjes_at, result.stieltjes),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )


@router.post(
    "/spiked-covariance",
    operation_id="computeSpikedCovarianceOutliers",
    summary="Spiked covariance: outlier eigenvalues and eigenvector alignments (BBP transition)",
)
async def spiked_covariance_outliers(request: SpikedCovarianceRequest, compute: ComputeDep) -> SpikedCovarianceResponse:
    """Where each spike's sample eigenvalue goes, and how well its eigenvector aligns.

    Baik, Ben Arous & Péché (2005); Baik & Silverstein (2006); Paul (2007); docs/methods/spectra.md §3.
    """
    result = await compute(
        spiked_covariance,
        cost=costs.spiked_covariance(request),
        **spiked_covariance_arguments(request),
    )
    return spiked_covariance_response(result)


def spiked_covariance_response(result: SpikedCovariancePrediction) -> SpikedCovarianceResponse:
    """The response body for a solver result."""
    spikes = [
        SpikePrediction(
            spike=spike, separated=separated, eigenvalue=eigenvalue, alignment=alignment, sample_side_alignment=side
        )
        for spike, separated, eigenvalue, alignment, side in zip(
            result.spike.tolist(),
            result.separated.tolist(),
            result.eigenvalue.tolist(),
            result.alignment.tolist(),
            result.sample_side_alignment.tolist(),
            strict=True,
        )
    ]
    return SpikedCovarianceResponse(
        support=serialize.interval(*result.support),
        atom=serialize.atom(0.0, result.atom_mass),
        threshold=result.threshold,
        spikes=spikes,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference),
    )
