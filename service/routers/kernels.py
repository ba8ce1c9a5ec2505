"""The kernel spec: `/v1/kernels/matrix` evaluates a kernel on data, `/v1/spectra/kernel-matrix` gives
the limiting spectrum of the kernel matrix. Routes parse, call one solver, and map its result."""

from __future__ import annotations

import math

import numpy as np
from fastapi import APIRouter

from schemas.kernels import (
    KernelLinearisation,
    KernelMatrixRequest,
    KernelMatrixResponse,
    KernelMatrixSpectrumRequest,
    KernelMatrixSpectrumResponse,
    KernelOutlierValue,
    KernelRidgeOptimum,
    KernelRidgePoint,
    KernelRidgeRequest,
    KernelRidgeResponse,
    PopulationModel,
)
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.kernels import kernel, kernel_matrix_spectrum_arguments, kernel_ridge_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.kernel_ridge import kernel_ridge_risk
from solvers.kernel_spectrum import KernelMatrixSpectrum, kernel_matrix_spectrum
from solvers.kernels import kernel_matrix

router = APIRouter(responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


def _rows(matrix: np.ndarray | None) -> list[list[float | None]] | None:
    return None if matrix is None else [serialize.floats(row) for row in matrix]


@router.post(
    "/v1/kernels/matrix",
    tags=["kernels"],
    operation_id="computeKernelMatrix",
    summary="Evaluate a kernel of the spec (linear, cosine, polynomial, rbf, inner_product, distance, random_features) on data",
)
async def kernel_matrix_values(
    request: KernelMatrixRequest, settings: SettingsDep, compute: ComputeDep
) -> KernelMatrixResponse:
    """K(x_i, x_j) and K(x_i, x̂_j) with every kernel scaled by p (El Karoui 2010, Sec. 2)."""
    n_test = len(request.x_test) if request.x_test is not None else 0
    check_cap(field="x", size=len(request.x), cap=settings.max_samples, what="samples")
    check_cap(field="x_test", size=n_test, cap=settings.max_samples, what="test samples")
    result = await compute(
        kernel_matrix,
        cost=costs.kernel_matrix(request),
        kernel=kernel(request.kernel),
        x=np.asarray(request.x, dtype=np.float64),
        x_test=None if request.x_test is None else np.asarray(request.x_test, dtype=np.float64),
    )
    return KernelMatrixResponse(
        kernel=_rows(result.kernel),
        cross_kernel=_rows(result.cross_kernel),
        test_diagonal=None if result.test_diagonal is None else serialize.floats(result.test_diagonal),
        error_bound=float(result.error_bound),
        provenance=serialize.provenance(result.reference),
    )


@router.post(
    "/v1/spectra/kernel-matrix",
    tags=["spectra"],
    operation_id="computeKernelMatrixSpectrum",
    summary="Limiting eigenvalue law of the n × n kernel matrix: bulk (affine MP image) and outliers",
)
async def kernel_matrix_spectrum_values(
    request: KernelMatrixSpectrumRequest, settings: SettingsDep, compute: ComputeDep
) -> KernelMatrixSpectrumResponse:
    """El Karoui (2010), Ann. Statist. 38(1), Thms 2.1–2.2; docs/derivations/kernel_matrix_spectrum.md."""
    check_cap(field="grid.num" if request.grid else "x", size=request.n_points, cap=settings.max_points, what="points")
    model = request.data_model
    atoms = 1
    if isinstance(model, PopulationModel):
        atoms = len(model.eigenvalues)
        check_cap(field="data_model.eigenvalues", size=atoms, cap=settings.max_population_atoms, what="atoms")
    result = await compute(
        kernel_matrix_spectrum, cost=costs.kernel_matrix_spectrum(request), **kernel_matrix_spectrum_arguments(request)
    )
    return kernel_spectrum_response(result)


def kernel_spectrum_response(result: KernelMatrixSpectrum) -> KernelMatrixSpectrumResponse:
    """The response body for a solver result."""
    outliers = [
        KernelOutlierValue(
            order=o.order,
            eigenvalue=serialize.finite_or_none(o.eigenvalue),
            leading_coefficient=o.leading_coefficient,
            offset=o.eigenvalue_offset,
            validity=o.validity,
            standard_deviation=o.standard_deviation,
            direction=o.direction,
            alignment=None if math.isnan(o.alignment) else o.alignment,
            class_vector=list(o.class_vector) if o.class_vector else None,
        )
        for o in result.outliers
    ]
    return KernelMatrixSpectrumResponse(
        x=serialize.floats(result.x),
        density=serialize.floats(result.density),
        cdf=serialize.floats(result.cdf),
        support=[serialize.interval(lower, upper) for lower, upper in result.support_intervals],
        atom=serialize.atom(result.atom_location, result.atom_mass),
        outliers=outliers,
        linearisation=KernelLinearisation(
            slope=result.slope, shift=result.shift, tau=result.tau, second_moment=result.second_moment
        ),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )


@router.post(
    "/v1/predictions/kernel-ridge",
    tags=["predictions"],
    operation_id="predictKernelRidgeRisk",
    summary="Kernel ridge regression: train and test MSE on a grid of ratios × penalties, optimal penalty",
)
async def kernel_ridge(request: KernelRidgeRequest, settings: SettingsDep, compute: ComputeDep) -> KernelRidgeResponse:
    """Kernel ridge = linear ridge at the penalty c(γ + nλ)/β (Liang & Rakhlin 2020; Bartlett, Montanari & Rakhlin 2021, Sec. 4.3)."""
    size = len(request.ratios) * len(request.ridge_penalties)
    check_cap(field="ridge_penalty", size=size, cap=settings.max_grid_size, what="ratio × penalty combinations")
    population = request.population
    atoms = len(population.eigenvalues) if population else 0
    check_cap(field="population.eigenvalues", size=atoms, cap=settings.max_population_atoms, what="atoms")
    result = await compute(
        kernel_ridge_risk,
        cost=costs.kernel_ridge(request),
        **kernel_ridge_arguments(request),
    )
    points = [
        KernelRidgePoint(
            ratio=ratio,
            ridge_penalty=penalty,
            train_mse=serialize.finite_or_none(result.train_mse[i, j]),
            test_mse=serialize.finite_or_none(result.test_mse[i, j]),
            effective_ridge=serialize.finite_or_none(result.effective_ridge[i, j]),
        )
        for i, ratio in enumerate(result.ratio.tolist())
        for j, penalty in enumerate(result.ridge_penalty.tolist())
    ]
    optimal = [
        KernelRidgeOptimum(
            ratio=ratio, ridge_penalty=serialize.finite_or_none(penalty), test_mse=serialize.finite_or_none(mse)
        )
        for ratio, penalty, mse in zip(
            result.ratio.tolist(), result.optimal_ridge_penalty.tolist(), result.optimal_test_mse.tolist(), strict=True
        )
    ]
    return KernelRidgeResponse(
        points=points,
        optimal=optimal,
        slope=result.slope,
        shift=result.shift,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )
