"""Linear-regression predictions: `/v1/predictions/linear-ridge`."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.linear_regression import LinearRidgePoint, LinearRidgeRequest, LinearRidgeResponse, OptimalRidgePoint
from service import serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers._results import combine_diagnostics
from solvers.linear_regression import optimal_ridge_penalty, ridge_regression_risk

router = APIRouter(prefix="/v1/predictions", tags=["predictions"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


def _predict(request: LinearRidgeRequest):
    """Risk on the grid and the optimal penalty per ratio: one unit of work for the thread pool."""
    population = request.population
    spectrum = {
        "eigenvalues": population.eigenvalues if population else None,
        "weights": population.weights if population else None,
        "signal_weights": request.signal_weights,
    }
    common = {"signal_strength": request.signal_strength, "noise_variance": request.noise_variance, **spectrum}
    grid = ridge_regression_risk(ratio=request.ratios, ridge_penalty=request.ridge_penalties, **common)
    optimal = optimal_ridge_penalty(ratio=request.ratios, **common)
    return grid, optimal


@router.post(
    "/linear-ridge",
    operation_id="predictLinearRidgeRisk",
    summary="Ridge and ridgeless regression: bias, variance, test and train error, optimal penalty",
)
async def linear_ridge(request: LinearRidgeRequest, settings: SettingsDep, compute: ComputeDep) -> LinearRidgeResponse:
    """Limiting risk of ridge regression on a grid of ratios × penalties (0 = min-norm).

    Hastie, Montanari, Rosset & Tibshirani (2022); Dobriban & Wager (2018); shared/spec/linear.md §4.
    """
    size = len(request.ratios) * len(request.ridge_penalties)
    check_cap(field="ridge_penalty", size=size, cap=settings.max_grid_size, what="ratio × penalty combinations")
    atoms = len(request.population.eigenvalues) if request.population else 0
    check_cap(field="population.eigenvalues", size=atoms, cap=settings.max_population_atoms, what="atoms")
    grid, optimal = await compute(_predict, cost=(size + 200 * len(request.ratios)) * (1 + atoms), request=request)

    divergence = "; ".join(grid.notes) or "the limit diverges here"
    points = []
    for i, ratio in enumerate(grid.ratio.tolist()):
        for j, penalty in enumerate(grid.ridge_penalty.tolist()):
            values = {
                name: serialize.finite_or_none(getattr(grid, name)[i, j])
                for name in ("bias", "variance", "risk", "test_mse", "train_error", "effective_ridge")
            }
            diverges = values["risk"] is None
            points.append(LinearRidgePoint(ratio=ratio, ridge_penalty=penalty, note=divergence if diverges else None, **values))
    best = [
        OptimalRidgePoint(
            ratio=ratio,
            ridge_penalty=serialize.finite_or_none(penalty),
            risk=serialize.finite_or_none(risk),
            test_mse=serialize.finite_or_none(mse),
        )
        for ratio, penalty, risk, mse in zip(
            optimal.ratio.tolist(), optimal.ridge_penalty.tolist(), optimal.risk.tolist(), optimal.test_mse.tolist(), strict=True
        )
    ]
    notes = list(dict.fromkeys([*grid.notes, *optimal.notes]))
    diagnostics = combine_diagnostics(grid.diagnostics, optimal.diagnostics)
    return LinearRidgeResponse(points=points, optimal=best, notes=notes, provenance=serialize.provenance(grid.reference, diagnostics))
