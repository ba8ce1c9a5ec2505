"""Linear-regression predictions: `/v1/predictions/linear-ridge`."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.linear_regression import LinearRidgePoint, LinearRidgeRequest, LinearRidgeResponse, OptimalRidgePoint
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.linear_regression import linear_ridge_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.linear_regression import RidgeRegressionPrediction, ridge_regression_prediction

router = APIRouter(
    prefix="/v1/predictions", tags=["predictions"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute
)


@router.post(
    "/linear-ridge",
    operation_id="predictLinearRidgeRisk",
    summary="Ridge and ridgeless regression: bias, variance, test and train error, optimal penalty",
)
async def linear_ridge(request: LinearRidgeRequest, settings: SettingsDep, compute: ComputeDep) -> LinearRidgeResponse:
    """Limiting risk of ridge regression on a grid of ratios × penalties (0 = min-norm).

    Hastie, Montanari, Rosset & Tibshirani (2022); Dobriban & Wager (2018); docs/methods/linear_ridge.md.
    """
    size = len(request.ratios) * len(request.ridge_penalties)
    check_cap(field="ridge_penalty", size=size, cap=settings.max_grid_size, what="ratio × penalty combinations")
    atoms = len(request.population.eigenvalues) if request.population else 0
    check_cap(field="population.eigenvalues", size=atoms, cap=settings.max_population_atoms, what="atoms")
    result = await compute(
        ridge_regression_prediction,
        cost=costs.linear_ridge(request),
        **linear_ridge_arguments(request),
    )
    return linear_ridge_response(result)


_QUANTITIES = ("bias", "variance", "risk", "test_mse", "train_error", "effective_ridge")


def linear_ridge_response(result: RidgeRegressionPrediction) -> LinearRidgeResponse:
    """The response body for a solver result."""
    grid, optimal = result.grid, result.optimal
    points = [
        LinearRidgePoint(
            ratio=ratio,
            ridge_penalty=penalty,
            note=grid.point_notes[i][j],
            **{name: serialize.finite_or_none(getattr(grid, name)[i, j]) for name in _QUANTITIES},
        )
        for i, ratio in enumerate(grid.ratio.tolist())
        for j, penalty in enumerate(grid.ridge_penalty.tolist())
    ]
    best = [
        OptimalRidgePoint(
            ratio=ratio,
            ridge_penalty=serialize.finite_or_none(penalty),
            risk=serialize.finite_or_none(risk),
            test_mse=serialize.finite_or_none(mse),
        )
        for ratio, penalty, risk, mse in zip(
            optimal.ratio.tolist(),
            optimal.ridge_penalty.tolist(),
            optimal.risk.tolist(),
            optimal.test_mse.tolist(),
            strict=True,
        )
    ]
    return LinearRidgeResponse(
        points=points,
        optimal=best,
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )
