"""Random-features predictions (Louart, Liao & Couillet 2018): expected kernels, activation moments,
the deterministic equivalent and the ridge train/test MSE. Routes parse, call one solver unit, map."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from schemas.common import Interval
from schemas.random_features import (
    ActivationMomentsRequest,
    ActivationMomentsResponse,
    ActivationSpec,
    ExpectedKernelRequest,
    ExpectedKernelResponse,
    GaussianMixtureData,
    InlineData,
    RandomFeaturesDeterministicEquivalentRequest,
    RandomFeaturesDeterministicEquivalentResponse,
    RandomFeaturesOptimalPoint,
    RandomFeaturesOptimum,
    RandomFeaturesRidgePoint,
    RandomFeaturesRidgeRequest,
    RandomFeaturesRidgeResponse,
)
from service import serialize
from service.dependencies import ComputeDep, SettingsDep
from service.limits import check_cap
from service.problems import PROBLEM_RESPONSES
from solvers.activations import Activation, activation_moments, expected_kernel, make_activation
from solvers.random_features import (
    deterministic_equivalent,
    gaussian_mixture,
    random_features_ridge,
    regime_warnings,
)

router = APIRouter(responses=PROBLEM_RESPONSES)


def _activation(spec: ActivationSpec) -> Activation:
    return make_activation(spec.name, **spec.parameters())


def _check_sizes(data: InlineData | GaussianMixtureData, cap: int, *, test: bool) -> None:
    """n, n̂ (and p for generated data) against the synchronous cap of this deployment."""
    prefix = "data.x" if isinstance(data, InlineData) else "data.n_samples"
    check_cap(field=prefix, size=data.n_samples, cap=cap, what="training samples (an n × n eigendecomposition)")
    if test:
        field = "data.x_test" if isinstance(data, InlineData) else "data.n_test"
        check_cap(field=field, size=data.n_test, cap=cap, what="test samples")
    if isinstance(data, GaussianMixtureData):
        check_cap(field="data.n_features", size=data.n_features, cap=cap, what="features")


def _arrays(data: InlineData | GaussianMixtureData) -> dict[str, np.ndarray | None]:
    """The data as arrays (rows = samples): inline as given, or drawn from the mixture."""
    if isinstance(data, InlineData):
        as_array = lambda v: None if v is None else np.asarray(v, dtype=np.float64)  # noqa: E731
        return {"x": as_array(data.x), "y": as_array(data.y), "x_test": as_array(data.x_test), "y_test": as_array(data.y_test)}
    drawn = gaussian_mixture(
        n_samples=data.n_samples,
        n_test=data.n_test,
        n_features=data.n_features,
        n_classes=data.n_classes,
        means=data.means,
        mean_norm=data.mean_norm,
        noise_variance=data.noise_variance,
        proportions=data.proportions,
        rng=data.seed,
    )
    return {"x": drawn.x, "y": drawn.y, "x_test": drawn.x_test, "y_test": drawn.y_test}


def _rows(matrix: np.ndarray | None) -> list[list[float | None]] | None:
    return None if matrix is None else [serialize.floats(row) for row in matrix]


def _kernel(request: ExpectedKernelRequest):
    activation = _activation(request.activation)
    x = np.asarray(request.x, dtype=np.float64)
    x_test = None if request.x_test is None else np.asarray(request.x_test, dtype=np.float64)
    return expected_kernel(activation=activation, x=x, x_test=x_test), regime_warnings(x=x, activation=activation, x_test=x_test)


@router.post(
    "/v1/kernels/expected",
    operation_id="computeExpectedKernel",
    tags=["random-features"],
    summary="Expected kernel K = E_w[σ(Xᵀw)σ(wᵀX)] of a random-features layer and its cross-kernel",
)
async def expected_kernel_matrix(request: ExpectedKernelRequest, settings: SettingsDep, compute: ComputeDep) -> ExpectedKernelResponse:
    """Closed forms of Louart, Liao & Couillet (2018), Sec. 3.3, or the Hermite series of spec §1.1.

    shared/spec/random_features.md §1.
    """
    n_test = len(request.x_test) if request.x_test is not None else 0
    check_cap(field="x", size=len(request.x), cap=settings.max_samples, what="samples")
    check_cap(field="x_test", size=n_test, cap=settings.max_samples, what="test samples")
    n = len(request.x)
    result, warnings = await compute(_kernel, cost=n * (n + n_test) + n * len(request.x[0]), request=request)
    return ExpectedKernelResponse(
        kernel=_rows(result.kernel),
        cross_kernel=_rows(result.cross_kernel),
        test_diagonal=None if result.test_diagonal is None else serialize.floats(result.test_diagonal),
        method=result.method,
        series_order=result.series_order,
        error_bound=float(result.error_bound),
        warnings=list(warnings),
        provenance=serialize.provenance(result.reference),
    )


@router.post(
    "/v1/activations/moments",
    operation_id="computeActivationMoments",
    tags=["random-features"],
    summary="Gaussian moments E[σ], E[σ²], E[σ'], E[(ξ²−1)σ] of an activation",
)
async def activation_gaussian_moments(request: ActivationMomentsRequest, compute: ComputeDep) -> ActivationMomentsResponse:
    """Moments for ξ ~ N(0, 1): closed forms, or a trapezoid rule (spec §1.1).

    Louart, Liao & Couillet (2018), Sec. 3.3; shared/spec/random_features.md §1.
    """
    result = await compute(activation_moments, cost=1, activation=_activation(request.activation))
    return ActivationMomentsResponse(
        mean=result.mean,
        mean_square=result.mean_square,
        mean_derivative=result.mean_derivative,
        second_hermite=result.second_hermite,
        method=result.method,
        error_bound=result.error_bound,
        provenance=serialize.provenance(result.reference),
    )


def _deterministic_equivalent(request: RandomFeaturesDeterministicEquivalentRequest):
    return deterministic_equivalent(
        activation=_activation(request.activation),
        x=_arrays(request.data)["x"],
        n_neurons=request.n_neurons,
        ridge_penalty=request.ridge_penalty,
    )


@router.post(
    "/v1/deterministic-equivalents/random-features",
    operation_id="computeRandomFeaturesDeterministicEquivalent",
    tags=["random-features"],
    summary="Deterministic equivalent of the random-features resolvent: δ, effective ridge κ, (1/n) tr Q̄",
)
async def random_features_deterministic_equivalent(
    request: RandomFeaturesDeterministicEquivalentRequest, settings: SettingsDep, compute: ComputeDep
) -> RandomFeaturesDeterministicEquivalentResponse:
    """Louart, Liao & Couillet (2018), Thm. 1, solved in the convex effective-ridge form.

    shared/spec/random_features.md §2.1.
    """
    _check_sizes(request.data, settings.max_samples, test=False)
    n = request.data.n_samples
    result = await compute(_deterministic_equivalent, cost=n * n, request=request)
    return RandomFeaturesDeterministicEquivalentResponse(
        n_neurons=result.n_neurons,
        ridge_penalty=result.ridge_penalty,
        delta=serialize.finite_or_none(result.delta),
        effective_ridge=serialize.finite_or_none(result.effective_ridge),
        normalized_trace=serialize.finite_or_none(result.normalized_trace),
        warnings=list(result.warnings),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )


def _ridge(request: RandomFeaturesRidgeRequest):
    return random_features_ridge(
        activation=_activation(request.activation),
        **_arrays(request.data),
        n_neurons=request.neuron_counts,
        ridge_penalty=request.ridge_penalties,
    )


@router.post(
    "/v1/predictions/random-features-ridge",
    operation_id="predictRandomFeaturesRidge",
    tags=["predictions"],
    summary="Random-features ridge regression: train/test MSE over N × γ (double descent) and the optimal γ per N",
)
async def random_features_ridge_errors(
    request: RandomFeaturesRidgeRequest, settings: SettingsDep, compute: ComputeDep
) -> RandomFeaturesRidgeResponse:
    """Louart, Liao & Couillet (2018), Thm. 2–3, from one eigendecomposition of K.

    shared/spec/random_features.md §3 and §5.
    """
    _check_sizes(request.data, settings.max_samples, test=True)
    neurons, penalties = request.neuron_counts, request.ridge_penalties
    field = "n_neurons" if request.n_neurons is not None else "neurons_per_sample"
    check_cap(field=field, size=len(neurons) * len(penalties), cap=settings.max_grid_size, what="N × γ combinations")
    n = request.data.n_samples
    result = await compute(_ridge, cost=n * n + len(neurons) * len(penalties), request=request)

    points = [
        RandomFeaturesRidgePoint(
            n_neurons=int(nn),
            ridge_penalty=float(g),
            train_mse=serialize.finite_or_none(result.train_mse[j, k]),
            test_mse=serialize.finite_or_none(result.test_mse[j, k]),
            effective_ridge=serialize.finite_or_none(result.effective_ridge[j, k]),
            delta=serialize.finite_or_none(result.delta[j, k]),
        )
        for j, nn in enumerate(result.n_neurons.tolist())
        for k, g in enumerate(result.ridge_penalty.tolist())
    ]
    opt = result.optimal
    per_n = [
        RandomFeaturesOptimalPoint(
            n_neurons=int(nn),
            ridge_penalty=serialize.finite_or_none(g),
            train_mse=serialize.finite_or_none(tr),
            test_mse=serialize.finite_or_none(te),
        )
        for nn, g, tr, te in zip(
            opt.n_neurons.tolist(), opt.ridge_penalty.tolist(), opt.train_mse.tolist(), opt.test_mse.tolist(), strict=True
        )
    ]
    best = next((p for p in per_n if p.n_neurons == opt.best_n_neurons), per_n[0])
    return RandomFeaturesRidgeResponse(
        points=points,
        optimal=RandomFeaturesOptimum(
            per_n_neurons=per_n, best=best, search_interval=Interval(lower=opt.bounds[0], upper=opt.bounds[1])
        ),
        warnings=list(result.warnings),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )
