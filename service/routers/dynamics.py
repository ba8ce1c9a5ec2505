"""Learning-dynamics predictions: `/v1/predictions/gradient-descent-*`."""

from __future__ import annotations

from fastapi import APIRouter

from schemas.dynamics import (
    ClassificationLimitValues,
    ClassificationOptimalTime,
    ClassificationPoint,
    GradientDescentClassificationRequest,
    GradientDescentClassificationResponse,
    GradientDescentRegressionRequest,
    GradientDescentRegressionResponse,
    RegressionLimitValues,
    RegressionOptimalTime,
    RegressionPoint,
    Spike,
)
from service import costs, serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.mappers.dynamics import gradient_descent_classification_arguments, gradient_descent_regression_arguments
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.dynamics import (
    GradientDescentClassificationPrediction,
    GradientDescentRegressionPrediction,
    gradient_descent_classification,
    gradient_descent_regression,
)

router = APIRouter(
    prefix="/v1/predictions", tags=["predictions"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute
)


def _columns(result, names: tuple[str, ...]) -> list[dict[str, float | None]]:
    values = {name: serialize.floats(getattr(result, name)) for name in names}
    return [dict(zip(names, row, strict=True)) for row in zip(*values.values(), strict=True)]


@router.post(
    "/gradient-descent-classification",
    operation_id="predictGradientDescentClassification",
    summary="Train and test error rates of a linear classifier over gradient-descent training time",
)
async def gradient_descent_classification_errors(
    request: GradientDescentClassificationRequest, settings: SettingsDep, compute: ComputeDep
) -> GradientDescentClassificationResponse:
    """Error rates at every t, the t → ∞ ridge classifier and the best stopping time.

    Liao & Couillet, ICML 2018 (arXiv:1805.11917); docs/methods/dynamics.md §2.
    """
    check_cap(field="time", size=request.n_times, cap=settings.max_points, what="times")
    result = await compute(
        gradient_descent_classification,
        cost=costs.gradient_descent_classification(request),
        **gradient_descent_classification_arguments(request),
    )
    return gradient_descent_classification_response(result)


def gradient_descent_classification_response(
    result: GradientDescentClassificationPrediction,
) -> GradientDescentClassificationResponse:
    """The response body for a solver result."""
    names = ("train_error", "test_error", "e_train", "v_train", "e_test", "v_test")
    points = [
        ClassificationPoint(time=t, **row) for t, row in zip(result.time.tolist(), _columns(result, names), strict=True)
    ]
    limit = ClassificationLimitValues(**{name: serialize.finite_or_none(getattr(result.limit, name)) for name in names})
    optimal = result.optimal_time
    return GradientDescentClassificationResponse(
        points=points,
        spike=Spike(exists=result.spike_exists, location=result.spike_location),
        limit=limit,
        optimal_time=ClassificationOptimalTime(
            time=optimal.time, test_error=optimal.test_error, never_stop=optimal.never_stop
        ),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference),
    )


@router.post(
    "/gradient-descent-regression",
    operation_id="predictGradientDescentRegression",
    summary="Bias, variance, test MSE and train error of least squares over gradient-descent training time",
)
async def gradient_descent_regression_errors(
    request: GradientDescentRegressionRequest, settings: SettingsDep, compute: ComputeDep
) -> GradientDescentRegressionResponse:
    """Errors at every t, the t → ∞ (linear-ridge) limit and the best stopping time.

    Liao & Couillet (2018) dynamics; Ali, Kolter & Tibshirani (2019); docs/derivations/gradient_descent_regression.md.
    """
    check_cap(field="time", size=request.n_times, cap=settings.max_points, what="times")
    result = await compute(
        gradient_descent_regression,
        cost=costs.gradient_descent_regression(request),
        **gradient_descent_regression_arguments(request),
    )
    return gradient_descent_regression_response(result)


def gradient_descent_regression_response(
    result: GradientDescentRegressionPrediction,
) -> GradientDescentRegressionResponse:
    """The response body for a solver result."""
    names = ("bias", "variance", "initialization", "risk", "test_mse", "train_error")
    points = [
        RegressionPoint(time=t, **row) for t, row in zip(result.time.tolist(), _columns(result, names), strict=True)
    ]
    limit = RegressionLimitValues(**{name: serialize.finite_or_none(getattr(result.limit, name)) for name in names})
    optimal = result.optimal_time
    return GradientDescentRegressionResponse(
        points=points,
        limit=limit,
        optimal_time=RegressionOptimalTime(
            time=optimal.time, test_mse=optimal.test_mse, risk=optimal.risk, never_stop=optimal.never_stop
        ),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference),
    )
