"""THE registry of simulation kinds: adding a kind is one line in ``KINDS``.

A kind ties a prediction's request schema (``params``, the endpoint's own request model) to:

* the endpoint's mapper (``service/mappers/<topic>.py``), which turns the validated request into
  solver arguments — the one place a request is read, shared with the route;
* two pure functions beside the topic's simulator (``solvers/montecarlo/<topic>.py``) — a trial and a
  prediction, run by the chunk engine of ``solvers/montecarlo/engine.py``;
* how the requested ``size`` becomes finite dimensions.

Both functions receive, by keyword, exactly the arguments their signature names, taken from the
finite dimensions first and then from the mapper's arguments (solver types only: no pydantic, no
request dictionary reaches the solvers). ``POST /v1/simulations`` validates its body with
:data:`SimulationRequest`, a union of one model per kind built from ``KINDS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from schemas.common import kind_union
from schemas.conjugate_kernel import ConjugateKernelRequest, OneStepGradientRequest
from schemas.dynamics import GradientDescentClassificationRequest, GradientDescentRegressionRequest
from schemas.jobs import SimulationRequestBase, SimulationSize
from schemas.kernels import KernelMatrixSpectrumRequest, KernelRidgeRequest
from schemas.linear_regression import LinearRidgeRequest
from schemas.neural_tangent_kernel import NeuralTangentKernelRequest
from schemas.random_features import RandomFeaturesDeterministicEquivalentRequest, RandomFeaturesRidgeRequest
from schemas.spectra import MarchenkoPasturRequest, SampleCovarianceRequest, SpikedCovarianceRequest
from service.mappers import conjugate_kernel as ck_map
from service.mappers import dynamics as dynamics_map
from service.mappers import kernels as kernels_map
from service.mappers import linear_regression as linear_map
from service.mappers import neural_tangent_kernel as ntk_map
from service.mappers import random_features as rf_map
from service.mappers import spectra as spectra_map
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo import conjugate_kernel as ck_mc
from solvers.montecarlo import dynamics as dynamics_mc
from solvers.montecarlo import kernels as kernels_mc
from solvers.montecarlo import linear_regression as linear_mc
from solvers.montecarlo import neural_tangent_kernel as ntk_mc
from solvers.montecarlo import random_features as rf_mc
from solvers.montecarlo import spectra as spectra_mc
from solvers.montecarlo.engine import SimulationPrediction, TrialDraw

#: n when neither `size` nor the counts in `params` give it.
DEFAULT_N_SAMPLES = 400


@dataclass(frozen=True)
class FiniteDimensions:
    """The finite dimensions of a job, and the request field each one comes from.

    Attributes
    ----------
    sizes
        Dimension name (``n_samples``, ``n_features``, ``n_neurons``, ...) → value.
    fields
        Dimension name → the request field (``params.n_samples``, ``params.data.n_samples``,
        ``size.n_samples``, ...) a client changes to change it: a 422 for a dimension above
        ``max_simulation_size`` names it.
    """

    sizes: dict[str, int]
    fields: dict[str, str]


Dimensions = Callable[[BaseModel, SimulationSize | None], FiniteDimensions]


def _one_ratio(params: BaseModel) -> float:
    ratio = getattr(params, "aspect_ratio", None)
    if ratio is None:
        ratios = params.ratios  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
        if len(ratios) != 1:
            raise InvalidParameterError(
                "params.ratio", f"`ratio` must be one value for a simulation, got {len(ratios)}."
            )
        ratio = ratios[0]
    return float(ratio)


def ratio_dimensions(params: BaseModel, size: SimulationSize | None) -> FiniteDimensions:
    """p × n from a request with `ratio` (one value) or `n_features` + `n_samples`.

    n from `size` (else the counts, else 400), p = round(c·n). n comes from `size.n_samples` (also
    when defaulted: `size` is how to change it), p from `params.ratio` or `params.n_features`.
    """
    counts = getattr(params, "n_samples", None), getattr(params, "n_features", None)
    if size is None and all(v is not None for v in counts):
        return FiniteDimensions(
            sizes={"n_features": int(counts[1]), "n_samples": int(counts[0])},  # type: ignore[arg-type]  # both counts checked not None just above
            fields={"n_features": "params.n_features", "n_samples": "params.n_samples"},
        )
    n_samples = size.n_samples if size is not None else DEFAULT_N_SAMPLES
    ratio_field = "params.ratio" if getattr(params, "ratio", None) is not None else "params.n_features"
    return FiniteDimensions(
        sizes={"n_features": max(1, round(_one_ratio(params) * n_samples)), "n_samples": n_samples},
        fields={"n_features": ratio_field, "n_samples": "size.n_samples"},
    )


def network_dimensions(params: BaseModel, size: SimulationSize | None) -> FiniteDimensions:
    """n, p and N of a network request (`NetworkDimensionsMixin`): its three counts, or `size` and its ratios.

    Without `size`, the counts n, p, N as given, or n = 400 with p = round(φ n), N = round(r n) for the
    ratios φ = `ratio`, r = `neurons_per_sample`; with `size`, n = `size.n_samples` and p, N from the
    request's ratios (given, or those of its counts).
    """
    dims = ratio_dimensions(params, size)
    counts = size is None and params.n_neurons is not None  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    n_samples = dims.sizes["n_samples"]
    n_neurons = int(params.n_neurons) if counts else max(1, round(params.neuron_ratio * n_samples))  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    field = "params.neurons_per_sample" if params.neurons_per_sample is not None else "params.n_neurons"  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    return FiniteDimensions(sizes={**dims.sizes, "n_neurons": n_neurons}, fields={**dims.fields, "n_neurons": field})


def data_dimensions(params: BaseModel, size: SimulationSize | None) -> FiniteDimensions:
    """n, p (and n̂) of the request's `data`, and its one number of random features N.

    For kinds whose prediction is conditional on a data set (random features): there is no ratio
    for `size` to scale, so `size` is refused (a Gaussian mixture's `data.n_samples` sets n), and
    a job simulates one N (a list of N is a list of problems of different sizes, as a list of
    ratios is for `linear_ridge`).
    """
    data = params.data  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    if size is not None:
        raise InvalidParameterError(
            "size.n_samples",
            f"`size` does not apply to this kind: the dimensions are those of `params.data` (n = {data.n_samples}); "
            "omit `size` (for a Gaussian mixture, set `data.n_samples`).",
        )
    dims = {"n_samples": int(data.n_samples), "n_features": int(data.n_features)}
    if data.kind == "inline":
        fields = {"n_samples": "params.data.x", "n_features": "params.data.x", "n_test": "params.data.x_test"}
    elif data.kind == "dataset":
        fields = {name: "params.data.id" for name in ("n_samples", "n_features", "n_test")}
    else:
        fields = {name: f"params.data.{name}" for name in ("n_samples", "n_features", "n_test")}
    counts = getattr(params, "neuron_counts", None)
    if counts is None:  # the deterministic equivalent: one N, training inputs only
        sizes = {**dims, "n_neurons": int(params.n_neurons)}  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
        return FiniteDimensions(sizes=sizes, fields={**fields, "n_neurons": "params.n_neurons"})
    field = "n_neurons" if params.n_neurons is not None else "neurons_per_sample"  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    if len(counts) != 1:
        raise InvalidParameterError(
            f"params.{field}", f"`{field}` must give one N for a simulation, got {len(counts)} values of N."
        )
    sizes = {**dims, "n_test": int(data.n_test), "n_neurons": int(counts[0])}
    return FiniteDimensions(sizes=sizes, fields={**fields, "n_neurons": f"params.{field}"})


def sample_count_dimensions(params: BaseModel, size: SimulationSize | None) -> FiniteDimensions:
    """n = `params.n_samples` (required by the request), p = `params.n_features` or round(c·n) for one ratio.

    For kinds whose prediction depends on n itself, not only on p/n (kernel ridge: the penalty acts on
    K's O(1) spectrum as nλ): `size` would change the problem, so it is refused.
    """
    n_samples = int(params.n_samples)  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    if size is not None:
        raise InvalidParameterError(
            "size.n_samples",
            f"`size` does not apply to this kind: n = `params.n_samples` = {n_samples} is part of the problem "
            "(the penalty acts as nλ); omit `size` and set `params.n_samples`.",
        )
    if getattr(params, "n_features", None) is not None:
        n_features, field = int(params.n_features), "params.n_features"  # type: ignore[attr-defined]  # `params` is the kind's request model, typed BaseModel in the registry; the kind guarantees the field
    else:
        n_features, field = max(1, round(_one_ratio(params) * n_samples)), "params.ratio"
    return FiniteDimensions(
        sizes={"n_features": n_features, "n_samples": n_samples},
        fields={"n_features": field, "n_samples": "params.n_samples"},
    )


@dataclass(frozen=True)
class Kind:
    """One simulation kind: params schema, its mapper, trial, prediction, dimensions, and a one-line description."""

    params: type[BaseModel]
    mapper: Callable[[Any], dict[str, Any]]
    trial: Callable[..., TrialDraw]
    prediction: Callable[..., SimulationPrediction]
    dimensions: Dimensions
    description: str

    def arguments(self, function: Callable[..., Any], params: BaseModel, sizes: Mapping[str, int]) -> dict[str, Any]:
        """The keyword arguments ``function`` names, from ``sizes`` first, then the mapper's; never ``rng``."""
        names = [name for name in inspect.signature(function).parameters if name != "rng"]
        merged = {**self.mapper(params), **sizes}
        return {name: merged[name] for name in names if name in merged}


# fmt: off
KINDS: dict[str, Kind] = {
    "marchenko_pastur": Kind(MarchenkoPasturRequest, spectra_map.marchenko_pastur_arguments, spectra_mc.marchenko_pastur_trial, spectra_mc.marchenko_pastur_prediction, ratio_dimensions, "S = (1/n)XXᵀ, X p×n Gaussian: moments M₁..M_K, KS distance of the pooled ESD to the MP law."),
    "linear_ridge": Kind(LinearRidgeRequest, linear_map.linear_ridge_arguments, linear_mc.linear_ridge_trial, linear_mc.linear_ridge_prediction, ratio_dimensions, "Gaussian design X = ZΣ^½ and β: exact conditional bias, variance, risk, test MSE and training error per ridge penalty."),
    "sample_covariance": Kind(SampleCovarianceRequest, spectra_map.sample_covariance_arguments, spectra_mc.sample_covariance_trial, spectra_mc.sample_covariance_prediction, ratio_dimensions, "S = (1/n)Σ^½ZZᵀΣ^½ with round(w_k p) population eigenvalues t_k: moments M₁..M₃, KS distance of the pooled ESD to the generalized MP law."),
    "spiked_covariance": Kind(SpikedCovarianceRequest, spectra_map.spiked_covariance_arguments, spectra_mc.spiked_covariance_trial, spectra_mc.spiked_covariance_prediction, ratio_dimensions, "Σ = σ²(I + Σ ℓ_k e_k e_kᵀ): per spike, the sample eigenvalue of its rank, |⟨û, u⟩|² and the sample-side alignment."),
    "gradient_descent_classification": Kind(GradientDescentClassificationRequest, dynamics_map.gradient_descent_classification_arguments, dynamics_mc.gradient_descent_classification_trial, dynamics_mc.gradient_descent_classification_prediction, ratio_dimensions, "Two-class Gaussian mixture, exact gradient flow / GD from w₀: train and test error rates per time (at most 16 times)."),
    "gradient_descent_regression": Kind(GradientDescentRegressionRequest, dynamics_map.gradient_descent_regression_arguments, dynamics_mc.gradient_descent_regression_trial, dynamics_mc.gradient_descent_regression_prediction, ratio_dimensions, "Gaussian least squares, exact gradient flow / GD from w₀: bias, variance, initialization, risk, test MSE, train error per time (at most 16 times)."),
    "random_features_ridge": Kind(RandomFeaturesRidgeRequest, rf_map.random_features_ridge_arguments, rf_mc.random_features_ridge_trial, rf_mc.random_features_ridge_prediction, data_dimensions, "Fixed data, W redrawn per trial, one N: train and test MSE of random-features ridge per γ (at most 16)."),
    "conjugate_kernel": Kind(ConjugateKernelRequest, ck_map.conjugate_kernel_arguments, ck_mc.conjugate_kernel_trial, ck_mc.conjugate_kernel_prediction, network_dimensions, "Σ = σ(WX), W N×p, X p×n: M₁, M₂ of the ESD, predicted outliers (heuristic_* when unverified), top of the bulk vs the upper edge, KS distance of the pooled ESD to the Pennington–Worah law."),
    "one_step_gradient": Kind(OneStepGradientRequest, ck_map.one_step_gradient_arguments, ck_mc.one_step_gradient_trial, ck_mc.one_step_gradient_prediction, network_dimensions, "One full gradient step W₁ = W₀ + √N η G₀: realised ϑ/η, and per η (at most 16) s₁(W₁) vs the BBP/BGN limit and the heuristic alignment |⟨v̂₁, β*⟩|²."),
    "neural_tangent_kernel": Kind(NeuralTangentKernelRequest, ntk_map.neural_tangent_kernel_arguments, ntk_mc.neural_tangent_kernel_trial, ntk_mc.neural_tangent_kernel_prediction, network_dimensions, "NTK Gram matrix K = (1/N)σ(WX)ᵀσ(WX) + (XᵀX) ⊙ ((1/N)σ'(WX)ᵀdiag(v)²σ'(WX)), v Gaussian: M₁ of the ESD (mean outlier left out), KS distance of the pooled ESD to the Fan–Wang law."),
    "random_features_deterministic_equivalent": Kind(RandomFeaturesDeterministicEquivalentRequest, rf_map.deterministic_equivalent_arguments, rf_mc.random_features_resolvent_trial, rf_mc.random_features_resolvent_prediction, data_dimensions, "Fixed data, W redrawn per trial: (1/n) tr Q of the resolvent Q = ((1/n)ΣᵀΣ + γI)⁻¹ against (1/n) tr Q̄."),
    "kernel_matrix_spectrum": Kind(KernelMatrixSpectrumRequest, kernels_map.kernel_matrix_spectrum_arguments, kernels_mc.kernel_matrix_spectrum_trial, kernels_mc.kernel_matrix_spectrum_prediction, ratio_dimensions, "K_ij = K(x_i, x_j), x isotropic, population or Gaussian mixture: each predicted outlier (heuristic_* when unverified, validity=mean when a mean) and class-mean alignment, KS distance of the pooled bulk ESD to El Karoui's law."),
    "kernel_ridge": Kind(KernelRidgeRequest, kernels_map.kernel_ridge_arguments, kernels_mc.kernel_ridge_trial, kernels_mc.kernel_ridge_prediction, sample_count_dimensions, "x, β, ε and 1000 test points at n = params.n_samples: train and test MSE of kernel ridge α = (K + nλI)⁻¹y per λ (at most 16)."),
}
# fmt: on


def _request_model(name: str, kind: Kind) -> type[SimulationRequestBase]:
    """The body of a `kind` = ``name`` submission: ``params`` is the endpoint's request model."""
    title = "".join(part.capitalize() for part in name.split("_")) + "SimulationRequest"
    return create_model(
        title,
        __base__=SimulationRequestBase,
        __doc__=f"Submit a Monte Carlo check of `{name}`: {kind.description}",
        kind=(  # type: ignore[arg-type]  # a Literal built at run time, one per registered kind
            Literal[name],
            Field(
                description="Which prediction to check (`GET /v1/simulations/kinds` lists them).",
                examples=[name],
                json_schema_extra={"enum": [name]},
            ),
        ),
        params=(kind.params, Field(description=f"The request body of that prediction ({kind.params.__name__}).")),
    )


class SimulationRequest(RootModel[kind_union(*(_request_model(name, kind) for name, kind in KINDS.items()))]):  # type: ignore[misc]  # built from KINDS
    """Submit a Monte Carlo check of one prediction: `kind` names it, `params` is that endpoint's request body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "marchenko_pastur",
                    "params": {"ratio": 0.5, "variance": 1.0, "matrix": "covariance", "x": [1.0], "n_moments": 3},
                    "trials": 20,
                    "seed": 12345,
                    "size": {"n_samples": 100},
                }
            ]
        }
    )
