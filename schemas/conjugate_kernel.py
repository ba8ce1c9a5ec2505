"""Requests and responses of the conjugate-kernel spectrum and the one-step gradient spike.

Endpoints `/v1/spectra/conjugate-kernel` and `/v1/spectra/one-step-gradient` (docs/methods/conjugate_kernel.md).
Scalings (docs/methods/conjugate_kernel.md §1): W (N × p) with unit-variance entries, X (p × n) with variance-1/p entries,
Σ = σ(WX); `gram` is (1/n)ΣᵀΣ (n × n), `features` is (1/n)ΣΣᵀ (N × N).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import RequestModel, ResponseModel, absent, grid_bounds, present
from schemas.activations import ActivationSpec
from schemas.common import Atom, Count, DimensionsMixin, Grid, Interval, PointsMixin, Provenance, one_or_many
from schemas.random_features import NeuronsPerSample

Distribution = Literal["gaussian", "rademacher", "spherical"]
MAX_LEARNING_RATE = 1e6
LearningRate = Annotated[float, Field(ge=0, le=MAX_LEARNING_RATE, description="Step size η ≥ 0.")]


class NetworkDimensionsMixin(DimensionsMixin):
    """n, p and N as three counts, or as the two ratios φ = p/n (`ratio`) and r = N/n (`neurons_per_sample`)."""

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "oneOf": [
                {**present("ratio", "neurons_per_sample"), **absent("n_features", "n_samples", "n_neurons")},
                {**present("n_features", "n_samples", "n_neurons"), **absent("ratio", "neurons_per_sample")},
            ]
        },
    )

    n_neurons: Count | None = Field(
        default=None,
        description="Number of neurons N (with `n_features` and `n_samples`; instead of `neurons_per_sample`).",
        examples=[1500],
    )
    neurons_per_sample: NeuronsPerSample | None = Field(
        default=None,
        description="r = N/n, neurons per sample (Pennington–Worah's φ/ψ; with `ratio`, instead of `n_neurons`).",
        examples=[0.75],
    )

    @model_validator(mode="after")
    def _one_form_of_neurons(self) -> Self:
        if self.ratio is None and (self.n_neurons is None or self.neurons_per_sample is not None):
            raise PydanticCustomError(
                "one_form_of_neurons",
                "`n_neurons` is required with `n_features` and `n_samples` (not `neurons_per_sample`)",
            )
        if self.ratio is not None and (self.neurons_per_sample is None or self.n_neurons is not None):
            raise PydanticCustomError(
                "one_form_of_neurons", "`neurons_per_sample` is required with `ratio` (not `n_neurons`)"
            )
        return self

    @property
    def neuron_ratio(self) -> float:
        """r = N/n, whichever form was given."""
        if self.neurons_per_sample is not None:
            return self.neurons_per_sample
        return self.n_neurons / self.n_samples  # type: ignore[operator]  # both counts are set when `neurons_per_sample` is not (the one-form validator)


class ConjugateKernelRequest(NetworkDimensionsMixin, PointsMixin):
    """Limiting eigenvalue law of the conjugate kernel (1/n)σ(WX)ᵀσ(WX) (Pennington–Worah 2017; Benigni–Péché 2021)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation": {"name": "tanh"},
                    "n_samples": 2000,
                    "n_features": 1000,
                    "n_neurons": 1500,
                    "matrix": "features",
                    "grid": {"start": 0.0, "stop": 3.0, "num": 7},
                }
            ]
        }
    )

    activation: ActivationSpec = Field(
        description="The activation σ (a non-centred σ is centred for the bulk, see `notes`)."
    )
    matrix: Literal["gram", "features"] = Field(
        default="gram",
        description="`gram`: K_n = (1/n)σ(WX)ᵀσ(WX) (n × n); `features`: K_N = (1/n)σ(WX)σ(WX)ᵀ (N × N); same non-zero eigenvalues.",
        examples=["gram"],
    )
    weight_distribution: Distribution = Field(
        default="gaussian",
        description="Law of the entries of W: `gaussian` (fourth moment m₄ = 3), `rademacher` (±1, m₄ = 1), `spherical` "
        "(rows of norm √p). Only the outliers depend on it.",
        examples=["gaussian"],
    )
    data_distribution: Distribution = Field(
        default="gaussian",
        description="Law of the entries of X: `gaussian`, `rademacher` (±1/√p) or `spherical` (columns of norm 1). Only the outliers depend on it.",
        examples=["gaussian"],
    )
    subtract_mean: bool = Field(
        default=False,
        description="`true` if the network uses σ − E σ(ξ), ξ ~ N(0, 1) (no mean outlier; norm-fluctuation outliers predicted).",
        examples=[False],
    )


class CKOutlierPrediction(ResponseModel):
    """One predicted outlier eigenvalue."""

    source: Literal["weight_norms", "data_norms", "mean"] = Field(
        description="Its cause: fluctuations of the row norms of W, of the column norms of X, or the mean E σ(ξ) of a non-centred σ."
    )
    location: float | None = Field(
        description="Predicted eigenvalue λ (null for the mean outlier without counts: it grows like (E σ)² N)."
    )
    spike_strength: float | None = Field(
        description="ϑ² = κ²(m₄ − 1)N/(4p) of the rank-one term ((E σ)² N for the mean outlier)."
    )
    threshold: float | None = Field(
        description="ϑ_c² = 1/D(λ₊): an outlier appears when ϑ² > ϑ_c² (null for the mean outlier)."
    )
    validity: Literal["verified", "heuristic"] = Field(
        description="`verified`: the formula (docs/methods/conjugate_kernel.md §4) was checked by Monte Carlo in this configuration (not a published theorem); "
        "`heuristic`: see `caveat`."
    )
    caveat: str = Field(description="What is not established (empty when verified).")


class ConjugateKernelResponse(ResponseModel):
    """The conjugate-kernel law at the requested points."""

    matrix: Literal["gram", "features"] = Field(description="Which matrix the law describes.")
    theta1: float = Field(description="θ1 = E[σ_c(ξ)²] = Var σ(ξ) used (σ_c the centred activation; PW's η).")
    theta2: float = Field(description="θ2 = (E[σ'(ξ)])² used (PW's ζ).")
    kappa: float = Field(description="κ = E[(ξ² − 1)σ(ξ)], which drives the outliers (none if 0).")
    activation_mean: float = Field(description="E[σ(ξ)] of the activation as given.")
    centred: bool = Field(description="Whether σ was centred for the bulk (E σ(ξ) ≠ 0).")
    x: list[float] = Field(description="The evaluation points.")
    density: list[float | None] = Field(
        description="Density of the continuous part at `x` (≥ 0); null only at a divergent hard edge x = 0."
    )
    cdf: list[float] = Field(description="Cumulative distribution function at `x`, atom included.")
    support: list[Interval] = Field(
        description="Intervals of the continuous part, left to right (edges from the discriminant of the quartic)."
    )
    atom: Atom = Field(description="The atom at 0 (rank deficiency).")
    outliers: list[CKOutlierPrediction] = Field(
        description="Predicted outliers above the bulk (empty: none predicted)."
    )
    degree: int = Field(
        description="Degree of the equation solved for G: 4, 3 (linear σ, product Wishart) or 2 (θ2 = 0, Marchenko–Pastur)."
    )
    notes: list[str] = Field(description="Centring, outlier reasoning, null values, finite-size caveats.")
    provenance: Provenance


class Teacher(RequestModel):
    """A single-index teacher y = f*(⟨x, β*⟩) + ε with ‖β*‖ = 1."""

    link: ActivationSpec = Field(description="The link f* (catalogue of activations).")
    noise_variance: float = Field(
        default=0.0, ge=0, le=1e6, description="Var ε ≥ 0 of the label noise.", examples=[0.04]
    )


class OneStepGradientRequest(NetworkDimensionsMixin):
    """Top singular value of W₁ = W₀ + √N η G₀ after one gradient step (Ba et al. 2022), versus η."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation": {"name": "tanh"},
                    "n_samples": 2048,
                    "n_features": 1024,
                    "n_neurons": 1024,
                    "teacher": {"link": {"name": "relu"}, "noise_variance": 0.04},
                    "learning_rate": [0.0, 1.0, 2.0, 3.0, 4.0, 6.0],
                }
            ]
        }
    )

    # A grid of η is bounded like a single η (fuzzing found a grid to 4.5e77 overflowing s₁(W₁)).
    schema_rules = (grid_bounds("learning_rate", start={"minimum": 0}, stop={"maximum": MAX_LEARNING_RATE}),)

    activation: ActivationSpec = Field(
        description="Student activation σ (`sign`, `step` are refused: zero derivative a.e.)."
    )
    teacher: Teacher = Field(description="The teacher generating the labels.")
    learning_rate: one_or_many(LearningRate) = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        description="η ≥ 0: one value, a list, or a grid.", examples=[[0.0, 2.0, 4.0]]
    )

    @model_validator(mode="after")
    def _grid_within_bounds(self) -> Self:
        if (
            isinstance(self.learning_rate, Grid)
            and not 0 <= self.learning_rate.start <= self.learning_rate.stop <= MAX_LEARNING_RATE
        ):
            raise PydanticCustomError(
                "grid_bounds", "a grid of `learning_rate` must lie in [0, {cap}]", {"cap": MAX_LEARNING_RATE}
            )
        return self

    @property
    def learning_rates(self) -> list[float]:
        """The η values, whichever form was given."""
        given = self.learning_rate
        if isinstance(given, list):
            return given
        if isinstance(given, (int, float)):
            return [float(given)]
        return given.points()

    @property
    def n_learning_rates(self) -> int:
        """How many η values, without building a grid."""
        given = self.learning_rate
        if isinstance(given, list):
            return len(given)
        if isinstance(given, (int, float)):
            return 1
        return given.num


class OneStepPoint(ResponseModel):
    """The prediction at one step size."""

    learning_rate: float = Field(description="η.")
    spike_strength: float = Field(description="ϑ = η|μ₁|√(μ₁*² + (p/n)E y²), the strength of √N η A₁.")
    top_singular_value: float = Field(
        description="Limit of s₁(W₁): √((1 + ϑ²)(c + ϑ²))/ϑ above threshold, 1 + √c below (c = N/p)."
    )
    separated: bool = Field(description="Whether ϑ > c^{1/4} (η > η_c): the top singular value leaves the bulk.")
    alignment: float = Field(
        description="Heuristic |⟨v̂₁, β*⟩|² of the top right singular vector with the teacher (see `alignment_caveat`)."
    )


class OneStepGradientResponse(ResponseModel):
    """Top singular value of W₁ per η, the threshold η_c and the constants used."""

    points: list[OneStepPoint] = Field(description="One entry per η, in the order given.")
    threshold: float | None = Field(
        description="η_c = c^{1/4}/(|μ₁|√(μ₁*² + (p/n)E y²)); null when no step makes a spike."
    )
    bulk_edge: float = Field(description="1 + √c, the top of the singular-value bulk of W₀.")
    slope: float = Field(description="ϑ/η = |μ₁|√(μ₁*² + (p/n) E y²).")
    student_mean_derivative: float = Field(description="μ₁ = E σ'(ξ) = E[ξσ(ξ)].")
    teacher_mean_derivative: float = Field(description="μ₁* = E[ξ f*(ξ)].")
    target_mean_square: float = Field(description="E y² = E f*(ξ)² + Var ε.")
    alignment_validity: Literal["heuristic"] = Field(
        description="The alignment is a heuristic of ours (docs/methods/conjugate_kernel.md §5), not a published result."
    )
    alignment_caveat: str = Field(description="How the alignment was obtained and what is not established.")
    notes: list[str] = Field(description="What was verified, finite-size effects.")
    provenance: Provenance
