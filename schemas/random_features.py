"""Requests and responses of the random-features predictions (Louart, Liao & Couillet 2018).

Endpoints: `/v1/kernels/expected`, `/v1/activations/moments`,
`/v1/deterministic-equivalents/random-features` and `/v1/predictions/random-features-ridge`.

Data conventions (docs/methods/random_features.md §0): **rows are samples** (`x` is n × p), targets `y`
have one entry (or one row of d outputs) per sample; the first layer W has i.i.d. N(0, 1)
entries with no 1/p factor, so the theory expects samples of norm O(1): standardise raw features
and divide by √p. Inline data are used exactly as given (no hidden rescaling); answers carry a
`warnings` list when the data are far from that regime.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import INTEGRAL, JsonInt, RequestModel, ResponseModel, grid_bounds, present
from schemas.activations import MAX_VALUE, ActivationName, ActivationSpec  # noqa: F401  (re-exported)
from schemas.common import (
    MAX_COUNT,
    MAX_POINTS,
    MIN_RIDGE_PENALTY,
    Grid,
    Interval,
    PositiveRidgePenalty,
    Provenance,
    kind_union,
    one_or_many,
)
from schemas.datasets import DatasetReference

# Hard caps of the contract (the service's settings can only lower the sizes it accepts).
MAX_ROWS = 20_000
MAX_COLUMNS = 100_000
MAX_DATA_ENTRIES = 10_000_000
MAX_KERNEL_ENTRIES = 4_000_000
MAX_CLASSES = 100

Entry = Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE)]
Matrix = Annotated[
    list[Annotated[list[Entry], Field(min_length=1, max_length=MAX_COLUMNS)]], Field(min_length=1, max_length=MAX_ROWS)
]
Targets = list[Entry] | list[Annotated[list[Entry], Field(min_length=1, max_length=1_000)]]
NNeurons = Annotated[int, Field(ge=1, le=MAX_COUNT, description="Number of random features (neurons) N."), INTEGRAL]
NeuronsPerSample = Annotated[float, Field(gt=0, le=1e6, description="N/n, neurons per training sample.")]


def check_kernel_inputs(x: list[list[float]], x_test: list[list[float]] | None) -> None:
    """Rows of equal length, the same p in `x_test`, and at most MAX_KERNEL_ENTRIES kernel entries n·(n + n̂)."""
    _rectangular(x, "x")
    n_test = 0
    if x_test is not None:
        _rectangular(x_test, "x_test")
        if len(x_test[0]) != len(x[0]):
            raise PydanticCustomError(
                "same_features",
                "`x_test` must have {p} columns like `x`, got {q}",
                {"p": len(x[0]), "q": len(x_test[0])},
            )
        n_test = len(x_test)
    if len(x) * (len(x) + n_test) > MAX_KERNEL_ENTRIES:
        raise PydanticCustomError(
            "too_many_entries", "`x` asks for n·(n + n̂) > {cap} kernel entries", {"cap": MAX_KERNEL_ENTRIES}
        )


def _rectangular(rows: list[list[float]], field: str) -> None:
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise PydanticCustomError(
                "rectangular",
                "`{field}` rows must all have the same length: row 0 has {w}, row {i} has {l}",
                {"field": field, "w": width, "i": i, "l": len(row)},
            )
    if len(rows) * width > MAX_DATA_ENTRIES:
        raise PydanticCustomError(
            "too_many_entries", "`{field}` has more than {cap} entries", {"field": field, "cap": MAX_DATA_ENTRIES}
        )


def _outputs(y: list) -> int:
    return len(y[0]) if y and isinstance(y[0], list) else 1


def _check_targets(y: list, rows: int, field: str, ref: str) -> None:
    if len(y) != rows:
        raise PydanticCustomError(
            "same_length",
            "`{field}` must have one entry per row of `{ref}` ({rows}), got {n}",
            {"field": field, "ref": ref, "rows": rows, "n": len(y)},
        )
    if y and isinstance(y[0], list) and any(len(r) != len(y[0]) for r in y):
        raise PydanticCustomError(
            "rectangular", "`{field}` rows must all have the same number of outputs", {"field": field}
        )


class InlineData(RequestModel):
    """Data given inline, one sample per row, used exactly as given."""

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = ({"dependentRequired": {"y_test": ["x_test"]}},)

    kind: Literal["inline"] = Field(description="`inline`: the arrays are in the request.", examples=["inline"])
    x: Matrix = Field(
        json_schema_extra={"minItems": 2},  # checked by `_shapes` (the Matrix type allows 1 row)
        description="Training inputs X, n × p (n ≥ 2), one sample per row (the paper's X is its transpose). Samples should "
        "have norm O(1): standardised features divided by √p.",
        examples=[[[0.1, -0.2], [0.3, 0.05], [-0.2, 0.1]]],
    )
    y: Targets | None = Field(
        default=None,
        description="Targets y: n values, or n rows of d outputs (e.g. one-hot); required for predictions.",
        examples=[[1.0, -1.0, 1.0]],
    )
    x_test: Matrix | None = Field(
        default=None,
        description="Test inputs X̂, n̂ × p (same p as `x`); required for predictions.",
        examples=[[[0.2, 0.1], [-0.1, -0.3]]],
    )
    y_test: Targets | None = Field(
        default=None,
        description="Test targets ŷ: n̂ values or rows of d outputs like `y`; required for predictions.",
        examples=[[1.0, -1.0]],
    )

    @model_validator(mode="after")
    def _shapes(self) -> Self:
        _rectangular(self.x, "x")
        if len(self.x) < 2:
            raise PydanticCustomError("too_few_samples", "`x` must have at least 2 rows (samples)")
        if self.y is not None:
            _check_targets(self.y, len(self.x), "y", "x")
        if self.x_test is not None:
            _rectangular(self.x_test, "x_test")
            if len(self.x_test[0]) != len(self.x[0]):
                raise PydanticCustomError(
                    "same_features",
                    "`x_test` must have {p} columns like `x`, got {q}",
                    {"p": len(self.x[0]), "q": len(self.x_test[0])},
                )
        if self.y_test is not None:
            if self.x_test is None:
                raise PydanticCustomError("needs_x_test", "`y_test` needs `x_test`")
            _check_targets(self.y_test, len(self.x_test), "y_test", "x_test")
            if self.y is not None and _outputs(self.y_test) != _outputs(self.y):
                raise PydanticCustomError("same_outputs", "`y_test` must have as many outputs as `y`")
        return self

    @property
    def n_samples(self) -> int:
        """n."""
        return len(self.x)

    @property
    def n_test(self) -> int:
        """n̂ (0 without test data)."""
        return len(self.x_test) if self.x_test is not None else 0

    @property
    def n_features(self) -> int:
        """p."""
        return len(self.x[0])


class GaussianMixtureData(RequestModel):
    """Data drawn from a Gaussian mixture in the theorem's scaling, reproducible bit for bit from `seed`.

    Sample i of class c is x_i = (μ_c + s_c z_i)/√p with z_i ~ N(0, I_p), so rows have norm ≈ √(s² + ‖μ‖²/p).
    Labels are ±1 (class 0 → +1) for two classes and one-hot otherwise.
    """

    kind: Literal["gaussian_mixture"] = Field(
        description="`gaussian_mixture`: the service draws the data.", examples=["gaussian_mixture"]
    )
    n_samples: JsonInt = Field(
        ge=2, le=MAX_ROWS, description="n, training samples (capped by the setting `max_samples`).", examples=[512]
    )
    n_test: JsonInt = Field(default=256, ge=1, le=MAX_ROWS, description="n̂, test samples.", examples=[256])
    n_features: JsonInt = Field(ge=1, le=MAX_COLUMNS, description="p, input dimension.", examples=[2])
    n_classes: JsonInt = Field(default=2, ge=2, le=MAX_CLASSES, description="k, number of classes.", examples=[2])
    means: list[Annotated[list[Entry], Field(min_length=1, max_length=MAX_COLUMNS)]] | None = Field(
        default=None,
        max_length=MAX_CLASSES,
        description="Class means μ_c, k × p, in raw units (before the 1/√p). Omitted: drawn uniformly on the sphere "
        "of radius `mean_norm` (±μ for two classes).",
        examples=[[[3.0, 0.0], [-3.0, 0.0]]],
    )
    mean_norm: float = Field(
        default=3.0,
        ge=0,
        le=MAX_VALUE,
        description="‖μ_c‖ of drawn means (docs/methods/random_features.md §4 uses 3).",
        examples=[3.0],
    )
    noise_variance: Annotated[float, Field(ge=0, le=MAX_VALUE)] | list[Annotated[float, Field(ge=0, le=MAX_VALUE)]] = (
        Field(default=1.0, description="s², noise variance: one value or one per class.", examples=[1.0])
    )
    proportions: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        default=None,
        max_length=MAX_CLASSES,
        description="Class proportions (k values summing to 1); default equal. Counts are rounded by largest remainder.",
        examples=[[0.5, 0.5]],
    )
    seed: JsonInt = Field(
        default=0,
        ge=0,
        le=2**63 - 1,
        description="Seed of numpy's default_rng (SPEC 7): same seed, same data.",
        examples=[0],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        k = self.n_classes
        if self.means is not None and (len(self.means) != k or any(len(m) != self.n_features for m in self.means)):
            raise PydanticCustomError(
                "means_shape", "`means` must be {k} rows of {p} values", {"k": k, "p": self.n_features}
            )
        if isinstance(self.noise_variance, list) and len(self.noise_variance) not in (1, k):
            raise PydanticCustomError("same_length", "`noise_variance` must be one value or {k} values", {"k": k})
        if self.proportions is not None:
            if len(self.proportions) != k:
                raise PydanticCustomError("same_length", "`proportions` must have {k} values", {"k": k})
            if abs(math.fsum(self.proportions) - 1.0) > 1e-9:
                raise PydanticCustomError("sums_to_one", "`proportions` must sum to 1 within 1e-9")
        if (self.n_samples + self.n_test) * self.n_features > MAX_DATA_ENTRIES:
            raise PydanticCustomError(
                "too_many_entries",
                "`n_features` × (`n_samples` + `n_test`) exceeds {cap} entries",
                {"cap": MAX_DATA_ENTRIES},
            )
        return self


if TYPE_CHECKING:  # what the runtime union below validates to, for the type checker
    Data = InlineData | GaussianMixtureData | DatasetReference
else:
    Data = kind_union(InlineData, GaussianMixtureData, DatasetReference)

_GMM_EXAMPLE: dict[str, Any] = {
    "kind": "gaussian_mixture",
    "n_samples": 256,
    "n_test": 128,
    "n_features": 128,
    "mean_norm": 3.0,
    "seed": 7,
}


def _data_description(purpose: str) -> str:
    return (
        f"{purpose}: inline arrays (`kind: inline`), a Gaussian mixture drawn by the service (`kind: gaussian_mixture`), "
        "or a data set uploaded with `POST /v1/datasets` (`kind: dataset`, `id`)."
    )


class ExpectedKernelRequest(RequestModel):
    """Expected kernel K = E_w[σ(Xᵀw)σ(wᵀX)] of a random-features layer, and its cross-kernel with test points."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation": {"name": "leaky_relu", "negative_slope": 0.1},
                    "x": [[0.6, 0.8], [1.0, 0.0], [0.0, -0.5]],
                    "x_test": [[0.3, 0.4]],
                }
            ]
        }
    )

    activation: ActivationSpec = Field(description="The activation σ.")
    x: Matrix = Field(
        description="Inputs X, n × p, one sample per row (norm O(1) expected).", examples=[[[0.6, 0.8], [1.0, 0.0]]]
    )
    x_test: Matrix | None = Field(default=None, description="Optional test inputs X̂, n̂ × p.", examples=[[[0.3, 0.4]]])

    @model_validator(mode="after")
    def _shapes(self) -> Self:
        check_kernel_inputs(self.x, self.x_test)
        return self


class ExpectedKernelResponse(ResponseModel):
    """K, K_{XX̂} and how they were computed."""

    kernel: list[list[float | None]] = Field(description="K (n × n), K_ij = E_w[σ(wᵀx_i)σ(wᵀx_j)], w ~ N(0, I_p).")
    cross_kernel: list[list[float | None]] | None = Field(
        description="K_{XX̂} (n × n̂), K_ij = E_w[σ(wᵀx_i)σ(wᵀx̂_j)]; null without `x_test`."
    )
    test_diagonal: list[float | None] | None = Field(
        description="Diagonal of K_{X̂X̂}, E_w[σ(wᵀx̂_j)²]; null without `x_test`."
    )
    method: Literal["closed_form", "hermite_series"] = Field(
        description="Closed form (docs/methods/random_features.md §1 table) or Mehler/Hermite series (docs/methods/random_features.md §1.1)."
    )
    series_order: int = Field(description="Truncation order L of the Hermite series (0 for closed forms).")
    error_bound: float = Field(
        description="Bound on the absolute error of every entry (0: closed form, exact up to rounding)."
    )
    warnings: list[str] = Field(
        description="Where the input is far from the theorem's regime (e.g. samples of norm ≫ 1)."
    )
    provenance: Provenance


class ActivationMomentsRequest(RequestModel):
    """Gaussian moments of an activation, ξ ~ N(0, 1)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"activation": {"name": "tanh"}}]})

    activation: ActivationSpec = Field(description="The activation σ.")


class ActivationMomentsResponse(ResponseModel):
    """E[σ(ξ)], E[σ(ξ)²], E[σ'(ξ)] and E[(ξ²−1)σ(ξ)] for ξ ~ N(0, 1)."""

    mean: float = Field(description="E[σ(ξ)].")
    mean_square: float = Field(description="E[σ(ξ)²].")
    mean_derivative: float = Field(
        description="E[σ'(ξ)] = E[ξσ(ξ)] (Stein's lemma; the right-hand side defines it for non-smooth σ)."
    )
    second_hermite: float = Field(description="E[(ξ² − 1)σ(ξ)] (= E[σ''(ξ)] for smooth σ).")
    method: Literal["closed_form", "quadrature"] = Field(
        description="Closed form, or trapezoid rule on [−13, 13] with step 1/32."
    )
    error_bound: float = Field(description="0 for closed forms; for quadrature, |rule(h) − rule(2h)|.")
    provenance: Provenance


class RandomFeaturesDeterministicEquivalentRequest(RequestModel):
    """Deterministic equivalent Q̄ of the resolvent Q = ((1/n)ΣᵀΣ + γI)⁻¹ of random features Σ = σ(WX)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"activation": {"name": "relu"}, "data": _GMM_EXAMPLE, "n_neurons": 512, "ridge_penalty": 0.01}
            ]
        }
    )

    activation: ActivationSpec = Field(description="The activation σ.")
    data: Data = Field(description=_data_description("Training inputs X (only `x` is used)"))
    n_neurons: NNeurons = Field(description="N, number of random features (rows of W).", examples=[512])
    ridge_penalty: PositiveRidgePenalty = Field(description="γ > 0 in Q = ((1/n)ΣᵀΣ + γI_n)⁻¹.", examples=[0.01])


class RandomFeaturesDeterministicEquivalentResponse(ResponseModel):
    """δ, κ and (1/n) tr Q̄ (Louart, Liao & Couillet 2018, Thm. 1)."""

    n_neurons: int = Field(description="N.")
    ridge_penalty: float = Field(description="γ.")
    delta: float | None = Field(
        description="δ, unique positive solution of δ = (1/n) tr(K Q̄), Q̄ = ((N/n) K/(1+δ) + γI)⁻¹."
    )
    effective_ridge: float | None = Field(description="κ = γ(n/N)(1 + δ); Q̄ = (κ/γ)(K + κI)⁻¹.")
    normalized_trace: float | None = Field(description="(1/n) tr Q̄.")
    warnings: list[str] = Field(description="Where data or activation are far from the theorem's hypotheses.")
    provenance: Provenance


class RandomFeaturesRidgeRequest(RequestModel):
    """Train and test MSE of random-features ridge regression on a grid of N × γ, and the best γ per N."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation": {"name": "relu"},
                    "data": _GMM_EXAMPLE,
                    "neurons_per_sample": [0.5, 1.0, 2.0],
                    "ridge_penalty": {"start": 1e-4, "stop": 10.0, "num": 6, "scale": "log"},
                }
            ]
        }
    )

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "oneOf": [
                {**present("n_neurons"), "not": present("neurons_per_sample")},
                {**present("neurons_per_sample"), "not": present("n_neurons")},
            ]
        },
        grid_bounds("n_neurons", start={"exclusiveMinimum": 0}, stop={"maximum": MAX_COUNT}),
        grid_bounds("neurons_per_sample", start={"exclusiveMinimum": 0}),
        grid_bounds("ridge_penalty", start={"minimum": MIN_RIDGE_PENALTY}, stop={"maximum": 1e12}),
    )

    activation: ActivationSpec = Field(description="The activation σ.")
    data: Data = Field(
        description=_data_description("Training and test data (inline: `y`, `x_test`, `y_test` required)")
    )
    n_neurons: one_or_many(NNeurons) | None = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        default=None,
        description="N: one value, a list, or a grid (rounded to integers); instead of `neurons_per_sample`.",
        examples=[[256, 512, 1024]],
    )
    neurons_per_sample: one_or_many(NeuronsPerSample) | None = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        default=None,
        description="N/n: one value, a list, or a grid (N = round(ratio·n), at least 1); instead of `n_neurons`.",
        examples=[[0.5, 1.0, 2.0]],
    )
    ridge_penalty: one_or_many(PositiveRidgePenalty) = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        description="γ > 0 of min (1/n)‖y − Σᵀβ‖² + γ‖β‖²: one value, a list, or a grid. γ*(N) is searched in the span of these values.",
        examples=[[1e-3, 1e-1, 1.0]],
    )
    optimize: bool = Field(
        default=True,
        description="Also search γ*(N) for every N (`optimal`), in the span of `ridge_penalty` (γ/10³ to γ·10³ for one "
        "value). About 85 evaluations per N: set false when only the requested points are needed (e.g. one trial of a "
        "hyper-parameter search), so that a request on a stored data set costs O(n) per point; `optimal` is then null.",
        examples=[False],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.n_neurons is None) == (self.neurons_per_sample is None):
            raise PydanticCustomError("one_form_of_neurons", "give exactly one of `n_neurons` and `neurons_per_sample`")
        for name in ("n_neurons", "neurons_per_sample", "ridge_penalty"):
            grid = getattr(self, name)
            if isinstance(grid, Grid) and not grid.start > 0:
                raise PydanticCustomError("positive_grid", "`{name}` grid must start at a value > 0", {"name": name})
        if isinstance(self.n_neurons, Grid) and self.n_neurons.stop > MAX_COUNT:
            raise PydanticCustomError(
                "n_neurons_grid_domain", "`n_neurons` grid must stop at or below {cap}", {"cap": MAX_COUNT}
            )
        if isinstance(self.ridge_penalty, Grid) and self.ridge_penalty.start < MIN_RIDGE_PENALTY:
            raise PydanticCustomError("penalty_grid_domain", "`ridge_penalty` grid must start at or above 1e-300")
        if isinstance(self.ridge_penalty, Grid) and self.ridge_penalty.stop > 1e12:
            raise PydanticCustomError("penalty_grid_domain", "`ridge_penalty` grid must stop at or below 1e12")
        if isinstance(self.data, InlineData) and (
            self.data.y is None or self.data.x_test is None or self.data.y_test is None
        ):
            raise PydanticCustomError(
                "needs_targets", "`data.y`, `data.x_test` and `data.y_test` are required for predictions"
            )
        # A data set's n is known once the service has resolved it; its grid is capped by the route then.
        if getattr(self.data, "resolved", True) and len(self.neuron_counts) * len(self.ridge_penalties) > MAX_POINTS:
            raise PydanticCustomError(
                "grid_too_large", "`ridge_penalty` × neurons asks for more than {cap} combinations", {"cap": MAX_POINTS}
            )
        return self

    @property
    def ridge_penalties(self) -> list[float]:
        """The penalties γ, whichever form was given."""
        return _values(self.ridge_penalty)

    @property
    def neuron_counts(self) -> list[int]:
        """The N values (integers, duplicates removed, order kept), whichever form was given."""
        if self.n_neurons is not None:
            values = [max(1, round(v)) for v in _values(self.n_neurons)]
        else:
            assert self.neurons_per_sample is not None  # the validator requires one of the two
            values = [max(1, round(r * self.data.n_samples)) for r in _values(self.neurons_per_sample)]
        return list(dict.fromkeys(int(v) for v in values))


def _values(given: float | list[float] | Grid) -> list[float]:
    if isinstance(given, Grid):
        return given.points()
    if isinstance(given, list):
        return given
    return [given]


class RandomFeaturesRidgePoint(ResponseModel):
    """Predicted errors at one (N, γ)."""

    n_neurons: int = Field(description="N.")
    ridge_penalty: float = Field(description="γ.")
    train_mse: float | None = Field(
        description="Ē_train = (1/n)‖y − Σᵀβ‖² in the limit; null if it could not be evaluated (see `notes`)."
    )
    test_mse: float | None = Field(
        description="Ē_test = (1/n̂)‖ŷ − Σ̂ᵀβ‖² in the limit; null if it could not be evaluated."
    )
    effective_ridge: float | None = Field(description="κ = γ(n/N)(1 + δ).")
    delta: float | None = Field(description="δ of the deterministic equivalent.")


class RandomFeaturesOptimalPoint(ResponseModel):
    """The test-MSE-minimising γ at one N."""

    n_neurons: int = Field(description="N.")
    ridge_penalty: float | None = Field(
        description="γ*(N), by bounded 1-D minimisation in log γ over `search_interval`."
    )
    train_mse: float | None = Field(description="Ē_train at γ*.")
    test_mse: float | None = Field(description="Ē_test at γ*.")


class RandomFeaturesOptimum(ResponseModel):
    """γ*(N) for every N and the best combination."""

    per_n_neurons: list[RandomFeaturesOptimalPoint] = Field(description="γ*(N) and its errors, one entry per N.")
    best: RandomFeaturesOptimalPoint = Field(description="The (N, γ*) with the lowest predicted test MSE.")
    search_interval: Interval = Field(
        description="The γ interval searched (the span of `ridge_penalty`, or γ·[1e-3, 1e3] for one value)."
    )


class RandomFeaturesRidgeResponse(ResponseModel):
    """Predicted train/test MSE on the grid (N-major) and the optimum."""

    points: list[RandomFeaturesRidgePoint] = Field(description="One entry per (N, γ), N-major.")
    optimal: RandomFeaturesOptimum | None = Field(
        description="γ*(N) per N and the overall best combination; null when the request set `optimize` to false."
    )
    warnings: list[str] = Field(description="Where data or activation are far from the theorem's hypotheses.")
    notes: list[str] = Field(description="Remarks on individual points (null values, rank-deficient kernel, ...).")
    provenance: Provenance
