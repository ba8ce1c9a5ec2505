"""Random-features predictions (Louart, Liao & Couillet 2018): expected kernels, activation moments,
the deterministic equivalent and the ridge train/test MSE. Routes parse, call one solver unit, map."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from schemas.common import Interval
from schemas.datasets import DatasetReference
from schemas.random_features import (
    ActivationMomentsRequest,
    ActivationMomentsResponse,
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
from service import costs, serialize
from service.dependencies import ComputeDep, DataResolverDep, SettingsDep, SpectralCacheDep
from service.limits import check_cap
from service.mappers import mapped
from service.mappers.random_features import (
    activation_key,
    activation_moments_arguments,
    deterministic_equivalent_arguments,
    expected_kernel_arguments,
    random_features_ridge_arguments,
    spectral_arguments,
)
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute
from solvers.activations import Activation, ActivationMoments, ExpectedKernel, activation_moments, expected_kernel
from solvers.exceptions import InvalidParameterError
from solvers.random_features import (
    DeterministicEquivalent,
    RidgePredictions,
    SpectralData,
    deterministic_equivalent,
    random_features_ridge,
    random_features_ridge_from_spectral,
    regime_warnings,
    spectral_data,
)

router = APIRouter(responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


def _check_sizes(data: InlineData | GaussianMixtureData | DatasetReference, cap: int, *, test: bool) -> None:
    """n, n̂ (and p for generated data) against the synchronous cap of this deployment."""
    stored = isinstance(data, DatasetReference)
    prefix = "data.x" if isinstance(data, InlineData) else "data.id" if stored else "data.n_samples"
    check_cap(field=prefix, size=data.n_samples, cap=cap, what="training samples (an n × n eigendecomposition)")
    if isinstance(data, DatasetReference) and data.n_test == 0 and test:
        raise InvalidParameterError(
            "data.id", f"Data set {data.id} has no test rows (`x_test`, `y_test`): a test MSE needs them."
        )
    if test:
        field = "data.x_test" if isinstance(data, InlineData) else "data.id" if stored else "data.n_test"
        check_cap(field=field, size=data.n_test, cap=cap, what="test samples")
    if isinstance(data, GaussianMixtureData):
        check_cap(field="data.n_features", size=data.n_features, cap=cap, what="features")


def _rows(matrix: np.ndarray | None) -> list[list[float | None]] | None:
    return None if matrix is None else [serialize.floats(row) for row in matrix]


def _kernel(
    *, activation: Activation, x: np.ndarray, x_test: np.ndarray | None
) -> tuple[ExpectedKernel, tuple[str, ...]]:
    """The expected kernel and the warnings about the data's regime: one unit of work for the thread pool."""
    return expected_kernel(activation=activation, x=x, x_test=x_test), tuple(
        regime_warnings(x=x, activation=activation, x_test=x_test)
    )


@router.post(
    "/v1/kernels/expected",
    operation_id="computeExpectedKernel",
    tags=["random-features"],
    summary="Expected kernel K = E_w[σ(Xᵀw)σ(wᵀX)] of a random-features layer and its cross-kernel",
)
async def expected_kernel_matrix(
    request: ExpectedKernelRequest, settings: SettingsDep, compute: ComputeDep
) -> ExpectedKernelResponse:
    """Closed forms of Louart, Liao & Couillet (2018), Sec. 3.3, or the Hermite series of docs/methods/random_features.md §1.1.

    docs/methods/random_features.md §1.
    """
    n_test = len(request.x_test) if request.x_test is not None else 0
    check_cap(field="x", size=len(request.x), cap=settings.max_samples, what="samples")
    check_cap(field="x_test", size=n_test, cap=settings.max_samples, what="test samples")
    result = await compute(
        _kernel,
        cost=costs.expected_kernel(request),
        **expected_kernel_arguments(request),
    )
    return expected_kernel_response(*result)


def expected_kernel_response(result: ExpectedKernel, warnings: tuple[str, ...]) -> ExpectedKernelResponse:
    """The response body for a solver result."""
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
async def activation_gaussian_moments(
    request: ActivationMomentsRequest, compute: ComputeDep
) -> ActivationMomentsResponse:
    """Moments for ξ ~ N(0, 1): closed forms, or a trapezoid rule (docs/methods/random_features.md §1.1).

    Louart, Liao & Couillet (2018), Sec. 3.3; docs/methods/random_features.md §1.
    """
    result = await compute(
        activation_moments,
        cost=costs.activation_moments(request),
        **activation_moments_arguments(request),
    )
    return activation_moments_response(result)


def activation_moments_response(result: ActivationMoments) -> ActivationMomentsResponse:
    """The response body for a solver result."""
    return ActivationMomentsResponse(
        mean=result.mean,
        mean_square=result.mean_square,
        mean_derivative=result.mean_derivative,
        second_hermite=result.second_hermite,
        method=result.method,
        error_bound=result.error_bound,
        provenance=serialize.provenance(result.reference),
    )


@router.post(
    "/v1/deterministic-equivalents/random-features",
    operation_id="computeRandomFeaturesDeterministicEquivalent",
    tags=["random-features"],
    summary="Deterministic equivalent of the random-features resolvent: δ, effective ridge κ, (1/n) tr Q̄",
)
async def random_features_deterministic_equivalent(
    request: RandomFeaturesDeterministicEquivalentRequest,
    settings: SettingsDep,
    compute: ComputeDep,
    resolve: DataResolverDep,
) -> RandomFeaturesDeterministicEquivalentResponse:
    """Louart, Liao & Couillet (2018), Thm. 1, solved in the convex effective-ridge form.

    docs/methods/random_features.md §2.1.
    """
    resolve(request)
    _check_sizes(request.data, settings.max_samples, test=False)
    result = await compute(
        mapped,
        cost=costs.random_features_deterministic_equivalent(request),
        solver=deterministic_equivalent,
        mapper=deterministic_equivalent_arguments,
        request=request,
    )
    return deterministic_equivalent_response(result)


def deterministic_equivalent_response(result: DeterministicEquivalent) -> RandomFeaturesDeterministicEquivalentResponse:
    """The response body for a solver result."""
    return RandomFeaturesDeterministicEquivalentResponse(
        n_neurons=result.n_neurons,
        ridge_penalty=result.ridge_penalty,
        delta=serialize.finite_or_none(result.delta),
        effective_ridge=serialize.finite_or_none(result.effective_ridge),
        normalized_trace=serialize.finite_or_none(result.normalized_trace),
        warnings=list(result.warnings),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )


@router.post(
    "/v1/predictions/random-features-ridge",
    operation_id="predictRandomFeaturesRidge",
    tags=["predictions"],
    summary="Random-features ridge regression: train/test MSE over N × γ (double descent) and the optimal γ per N",
)
async def random_features_ridge_errors(
    request: RandomFeaturesRidgeRequest,
    settings: SettingsDep,
    compute: ComputeDep,
    resolve: DataResolverDep,
    cache: SpectralCacheDep,
) -> RandomFeaturesRidgeResponse:
    """Louart, Liao & Couillet (2018), Thm. 2–3, from one eigendecomposition of K (cached per stored data set and activation).

    docs/methods/random_features.md §3, §5.
    """
    resolve(request)
    _check_sizes(request.data, settings.max_samples, test=True)
    neurons, penalties = request.neuron_counts, request.ridge_penalties
    field = "n_neurons" if request.n_neurons is not None else "neurons_per_sample"
    check_cap(field=field, size=len(neurons) * len(penalties), cap=settings.max_grid_size, what="N × γ combinations")
    if not isinstance(request.data, DatasetReference):
        result = await compute(
            mapped,
            cost=costs.random_features_ridge(request),
            solver=random_features_ridge,
            mapper=random_features_ridge_arguments,
            request=request,
        )
        return random_features_ridge_response(result)
    # A stored data set: its decomposition is computed once per activation (in a worker), then every
    # (N, γ) grid is O(n) per point from the cached arrays, in a thread (no copy to a process).
    spectral, warnings = await cache.get_or_compute(
        (request.data.id, activation_key(request)),
        lambda: compute(
            mapped,
            cost=costs.random_features_spectral(request),
            solver=_spectral_unit,
            mapper=spectral_arguments,
            request=request,
        ),
    )
    result = await compute(
        random_features_ridge_from_spectral,
        cost=costs.random_features_ridge_from_spectral(request),
        spectral=spectral,
        warnings=warnings,
        n_neurons=request.neuron_counts,
        ridge_penalty=request.ridge_penalties,
        optimize=request.optimize,
    )
    return random_features_ridge_response(result)


def _spectral_unit(
    *, activation: Activation, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> tuple[SpectralData, tuple[str, ...]]:
    """What a stored data set's cache entry holds: the spectral decomposition and the data's regime warnings."""
    spectral = spectral_data(activation=activation, x=x, y=y, x_test=x_test, y_test=y_test)
    return spectral, tuple(regime_warnings(x=x, activation=activation, x_test=x_test))


def random_features_ridge_response(result: RidgePredictions) -> RandomFeaturesRidgeResponse:
    """The response body for a solver result (`optimal` null when the request did not ask for it)."""
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
    if opt is None:
        return RandomFeaturesRidgeResponse(
            points=points,
            optimal=None,
            warnings=list(result.warnings),
            notes=list(result.notes),
            provenance=serialize.provenance(result.reference, result.diagnostics),
        )
    per_n = [
        RandomFeaturesOptimalPoint(
            n_neurons=int(nn),
            ridge_penalty=serialize.finite_or_none(g),
            train_mse=serialize.finite_or_none(tr),
            test_mse=serialize.finite_or_none(te),
        )
        for nn, g, tr, te in zip(
            opt.n_neurons.tolist(),
            opt.ridge_penalty.tolist(),
            opt.train_mse.tolist(),
            opt.test_mse.tolist(),
            strict=True,
        )
    ]
    return RandomFeaturesRidgeResponse(
        points=points,
        optimal=RandomFeaturesOptimum(
            per_n_neurons=per_n,
            best=per_n[opt.best_index],
            search_interval=Interval(lower=opt.bounds[0], upper=opt.bounds[1]),
        ),
        warnings=list(result.warnings),
        notes=list(result.notes),
        provenance=serialize.provenance(result.reference, result.diagnostics),
    )
