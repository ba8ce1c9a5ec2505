"""The kernel spec, and the requests and responses of `/v1/kernels/matrix` and `/v1/spectra/kernel-matrix`.

Data are x ∈ ℝᵖ with entries of order 1 (‖x‖² ≈ p), rows are samples, and every kernel is scaled by p
(El Karoui 2010, Ann. Statist. 38(1), Sec. 2): one `kernel` object, tagged by `name`, is accepted
wherever a kernel is meant.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal, Self, Union, get_args

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import RequestModel, ResponseModel
from schemas.activations import MAX_VALUE, ActivationSpec
from schemas.common import (
    MAX_POINTS,
    MAX_RATIO,
    MIN_RATIO,
    Atom,
    Count,
    DimensionsMixin,
    Grid,
    Interval,
    PointsMixin,
    Population,
    Provenance,
    Ratio,
    kind_union,
    one_or_many,
)
from schemas.random_features import Matrix, check_kernel_inputs

MAX_DEGREE = 20
MAX_CLASSES = 100
MAX_MEAN_DIMENSION = 10_000


class ExpFunction(RequestModel):
    """f(t) = exp(t), the one kernel function outside the activation catalogue."""

    name: Literal["exp"] = Field(description="`exp`: f(t) = eᵗ.", examples=["exp"])


def _function_tag(value: object) -> str:
    name = value.get("name") if isinstance(value, dict) else getattr(value, "name", None)
    return "name=exp" if name == "exp" else "name=activation"


KernelFunction = Annotated[
    Annotated[ExpFunction, Tag("name=exp")] | Annotated[ActivationSpec, Tag("name=activation")],
    Discriminator(_function_tag),
]


class LinearKernel(RequestModel):
    """K(x, y) = xᵀy/p."""

    name: Literal["linear"] = Field(description="`linear`: K(x, y) = xᵀy/p.", examples=["linear"])


class CosineKernel(RequestModel):
    """K(x, y) = xᵀy/(‖x‖‖y‖) (0 when either norm is 0)."""

    name: Literal["cosine"] = Field(description="`cosine`: K(x, y) = xᵀy/(‖x‖‖y‖).", examples=["cosine"])


class PolynomialKernel(RequestModel):
    """K(x, y) = (xᵀy/p + offset)^degree."""

    name: Literal["polynomial"] = Field(
        description="`polynomial`: K(x, y) = (xᵀy/p + offset)^degree.", examples=["polynomial"]
    )
    degree: int = Field(
        default=2, ge=1, le=MAX_DEGREE, description="Degree d of (xᵀy/p + offset)^d, 1 ≤ d ≤ 20.", examples=[2]
    )
    offset: float = Field(
        default=1.0, ge=-MAX_VALUE, le=MAX_VALUE, description="Offset a of (xᵀy/p + a)^d.", examples=[1.0]
    )


class RbfKernel(RequestModel):
    """K(x, y) = exp(−‖x − y‖²/(p·bandwidth²)) (the Gaussian kernel exp(−‖x − y‖²/γ²) with γ² = p·bandwidth²)."""

    name: Literal["rbf"] = Field(description="`rbf`: K(x, y) = exp(−‖x − y‖²/(p·bandwidth²)).", examples=["rbf"])
    bandwidth: float = Field(
        default=1.0,
        ge=1e-100,
        le=MAX_VALUE,
        description="Bandwidth h of exp(−‖x − y‖²/(p h²)) (γ² = p h²), 1e-100 ≤ h ≤ 1e6.",
        examples=[1.0],
    )


class InnerProductKernel(RequestModel):
    """K(x, y) = f(xᵀy/p) with f from the activation catalogue or exp."""

    name: Literal["inner_product"] = Field(
        description="`inner_product`: K(x, y) = f(xᵀy/p).", examples=["inner_product"]
    )
    function: KernelFunction = Field(
        description='f: an activation of the catalogue (e.g. `{"name": "tanh"}`) or `{"name": "exp"}`.',
        examples=[{"name": "exp"}],
    )


class DistanceKernel(RequestModel):
    """K(x, y) = f(‖x − y‖²/p) with f from the activation catalogue or exp."""

    name: Literal["distance"] = Field(description="`distance`: K(x, y) = f(‖x − y‖²/p).", examples=["distance"])
    function: KernelFunction = Field(
        description='f: an activation of the catalogue (e.g. `{"name": "gaussian"}`) or `{"name": "exp"}`.',
        examples=[{"name": "gaussian"}],
    )


class RandomFeaturesKernel(RequestModel):
    """K(x, y) = E_w[σ(wᵀx/√p) σ(wᵀy/√p)], w ~ N(0, I_p): the expected kernel of `/v1/kernels/expected` on x/√p."""

    name: Literal["random_features"] = Field(
        description="`random_features`: K(x, y) = E_w[σ(wᵀx/√p)σ(wᵀy/√p)], w ~ N(0, I_p).", examples=["random_features"]
    )
    activation: ActivationSpec = Field(description="The activation σ.", examples=[{"name": "relu"}])


def _name_union(*members: type[RequestModel]) -> object:
    """Members told apart by `name`, tagged `name=<value>` so that errors name `kernel.degree`, not the member."""
    names = {get_args(member.model_fields["name"].annotation)[0]: member for member in members}

    def tag_of(value: object) -> str | None:
        name = value.get("name") if isinstance(value, dict) else getattr(value, "name", None)
        return f"name={name}" if isinstance(name, str) and name in names else None

    choices = ", ".join(f"`{name}`" for name in names)
    return Annotated[
        Union[tuple(Annotated[member, Tag(f"name={name}")] for name, member in names.items())],  # noqa: UP007  (a Union over a tuple built at runtime: `X | Y` cannot splat it)
        Discriminator(
            tag_of, custom_error_type="unknown_kernel", custom_error_message=f"`name` must be one of {choices}"
        ),
    ]


KernelSpec = _name_union(
    LinearKernel, CosineKernel, PolynomialKernel, RbfKernel, InnerProductKernel, DistanceKernel, RandomFeaturesKernel
)
KERNEL_DESCRIPTION = (
    "The kernel, tagged by `name`: `linear` xᵀy/p; `cosine` xᵀy/(‖x‖‖y‖); `polynomial` (xᵀy/p + offset)^degree; "
    "`rbf` exp(−‖x − y‖²/(p·bandwidth²)); `inner_product` f(xᵀy/p); `distance` f(‖x − y‖²/p); "
    "`random_features` E_w[σ(wᵀx/√p)σ(wᵀy/√p)]."
)


class KernelMatrixRequest(RequestModel):
    """A kernel of the spec evaluated on inline data (rows are samples, entries of order 1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kernel": {"name": "rbf", "bandwidth": 1.0},
                    "x": [[1.0, -0.5, 0.3], [0.2, 1.1, -1.0], [-0.7, 0.4, 0.9]],
                    "x_test": [[0.5, 0.5, -0.5]],
                }
            ]
        }
    )

    kernel: KernelSpec = Field(description=KERNEL_DESCRIPTION, examples=[{"name": "rbf", "bandwidth": 1.0}])  # type: ignore[valid-type]  # a type built at run time (a tagged union or one_or_many(...)); mypy cannot evaluate calls in annotations
    x: Matrix = Field(
        description="Inputs X, n × p, one sample per row, entries of order 1 (‖x‖² ≈ p).",
        examples=[[[1.0, -0.5, 0.3], [0.2, 1.1, -1.0]]],
    )
    x_test: Matrix | None = Field(
        default=None, description="Optional test inputs X̂, n̂ × p (same p).", examples=[[[0.5, 0.5, -0.5]]]
    )

    @model_validator(mode="after")
    def _shapes(self) -> Self:
        check_kernel_inputs(self.x, self.x_test)
        return self


class KernelMatrixResponse(ResponseModel):
    """K, K(X, X̂) and the diagonal K(x̂, x̂)."""

    kernel: list[list[float | None]] = Field(
        description="K (n × n), K_ij = K(x_i, x_j); null where an entry overflows."
    )
    cross_kernel: list[list[float | None]] | None = Field(description="K(x_i, x̂_j) (n × n̂); null without `x_test`.")
    test_diagonal: list[float | None] | None = Field(description="K(x̂_j, x̂_j) (n̂); null without `x_test`.")
    error_bound: float = Field(
        description="Bound on the absolute error of each entry: 0 except for Hermite-series random-features kernels."
    )
    provenance: Provenance


# ---------------------------------------------------------------------------------------------
# /v1/spectra/kernel-matrix


class IsotropicModel(RequestModel):
    """x = z, z ~ N(0, I_p)."""

    kind: Literal["isotropic"] = Field(description="`isotropic`: x = z ~ N(0, I_p).", examples=["isotropic"])


class PopulationModel(Population):
    """x = Σ^{1/2} z with Σ of spectrum H = Σ_k w_k δ_{t_k}."""

    kind: Literal["population"] = Field(
        description="`population`: x = Σ^{1/2}z, Σ with the spectrum given.", examples=["population"]
    )


class GaussianMixtureModel(RequestModel):
    """x = μ_a + z in class a (probability π_a), z ~ N(0, I_p), ‖μ_a − μ_b‖ of order 1."""

    kind: Literal["gaussian_mixture"] = Field(
        description="`gaussian_mixture`: x = μ_a + z in class a.", examples=["gaussian_mixture"]
    )
    means: list[
        Annotated[
            list[Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE)]],
            Field(min_length=1, max_length=MAX_MEAN_DIMENSION),
        ]
    ] = Field(
        min_length=2,
        max_length=MAX_CLASSES,
        description="Class means μ_a (k rows of one common length d ≤ p, zero-padded to p: only μ_aᵀμ_b matter), "
        "in raw units, of norm O(1).",
        examples=[[[2.0, 0.0], [-1.0, 1.5]]],
    )
    proportions: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(
        default=None,
        max_length=MAX_CLASSES,
        description="Class proportions π_a (k values summing to 1); default equal.",
        examples=[[0.4, 0.6]],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        width = len(self.means[0])
        if any(len(row) != width for row in self.means):
            raise PydanticCustomError("rectangular", "`means` rows must all have the same length")
        if self.proportions is not None:
            if len(self.proportions) != len(self.means):
                raise PydanticCustomError(
                    "same_length", "`proportions` must have one value per row of `means` ({k})", {"k": len(self.means)}
                )
            if abs(math.fsum(self.proportions) - 1.0) > 1e-9:
                raise PydanticCustomError("sums_to_one", "`proportions` must sum to 1 within 1e-9")
        return self


if TYPE_CHECKING:  # what the runtime union below validates to, for the type checker
    DataModel = IsotropicModel | PopulationModel | GaussianMixtureModel
else:
    DataModel = kind_union(IsotropicModel, PopulationModel, GaussianMixtureModel)


class KernelMatrixSpectrumRequest(DimensionsMixin, PointsMixin):
    """The limiting eigenvalue law of the n × n kernel matrix K itself (no 1/n), with its outliers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kernel": {"name": "rbf", "bandwidth": 2.0},
                    "n_samples": 1000,
                    "n_features": 1500,
                    "data_model": {
                        "kind": "gaussian_mixture",
                        "means": [[2.0, 0.0], [-1.0, 1.5]],
                        "proportions": [0.4, 0.6],
                    },
                    "grid": {"start": 0.0, "stop": 1.5, "num": 7},
                }
            ]
        }
    )

    kernel: KernelSpec = Field(description=KERNEL_DESCRIPTION, examples=[{"name": "rbf", "bandwidth": 2.0}])  # type: ignore[valid-type]  # a type built at run time (a tagged union or one_or_many(...)); mypy cannot evaluate calls in annotations
    data_model: DataModel = Field(
        default_factory=lambda: IsotropicModel(kind="isotropic"),
        description="How x is drawn: `isotropic` (default), `population` (eigenvalues, weights of Σ) or `gaussian_mixture` "
        "(means, proportions).",
        examples=[{"kind": "isotropic"}],
    )

    @model_validator(mode="after")
    def _means_fit(self) -> Self:
        model = self.data_model
        if (
            isinstance(model, GaussianMixtureModel)
            and self.n_features is not None
            and len(model.means[0]) > self.n_features
        ):
            raise PydanticCustomError(
                "means_too_long",
                "`data_model.means` rows have {d} entries, more than `n_features` = {p}",
                {"d": len(model.means[0]), "p": self.n_features},
            )
        return self


class KernelOutlierValue(ResponseModel):
    """One eigenvalue of K outside its bulk."""

    order: Literal["n", "1"] = Field(
        description="`n`: the eigenvalue is leading_coefficient·n + offset; `1`: it is O(1).", examples=["n"]
    )
    eigenvalue: float | None = Field(
        description="The predicted eigenvalue λ (null for an order-n outlier without `n_samples`).", examples=[606.5]
    )
    leading_coefficient: float = Field(
        description="h₀ = K at (‖x‖²/p, ‖y‖²/p, xᵀy/p) = (τ, τ, 0) for order n; 0 for O(1).", examples=[0.6065]
    )
    offset: float = Field(description="The O(1) part of λ (all of it for order 1).", examples=[0.03])
    validity: Literal["limit", "mean", "heuristic"] = Field(
        description="`limit`: λ converges to this value; `mean`: λ keeps O(1) Gaussian fluctuations of standard deviation "
        "`standard_deviation` around it; `heuristic`: not shown to agree with simulation.",
        examples=["limit"],
    )
    standard_deviation: float = Field(
        description="Standard deviation of the O(1) fluctuation when `validity` is `mean`, else 0.", examples=[0.35]
    )
    direction: Literal["ones", "class_means"] = Field(
        description="`ones`: eigenvector ≈ 1/√n; `class_means`: eigenvector partly along the class indicators.",
        examples=["ones"],
    )
    alignment: float | None = Field(
        description="For `class_means`, the limit of |⟨û, u⟩|² with u the unit vector equal to `class_vector`[a]/√n on class a "
        "(what spectral clustering recovers); null otherwise.",
        examples=[0.58],
    )
    class_vector: list[float] | None = Field(
        description="√n·u on each class, in the order of `means`; null otherwise.", examples=[[1.22, -0.82]]
    )


class KernelLinearisation(ResponseModel):
    """The coefficients of El Karoui's linearisation K ≈ βG + sI + low rank, G = XXᵀ/p."""

    slope: float = Field(description="β = ∂h/∂t at (τ, τ, 0).", examples=[0.303])
    shift: float = Field(
        description="s = h(τ, τ, τ) − h(τ, τ, 0) − τβ (the shift of the bulk; γ is kept for ridge penalties).",
        examples=[0.09],
    )
    tau: float = Field(description="τ = tr Σ/p, the limit of ‖x‖²/p.", examples=[1.0])
    second_moment: float = Field(description="s = tr Σ²/p.", examples=[1.0])


class KernelMatrixSpectrumResponse(ResponseModel):
    """Density, CDF, support and atom of the bulk of K, and its outliers."""

    x: list[float] = Field(description="The evaluation points.")
    density: list[float | None] = Field(description="Density of the continuous part at `x`; null where it diverges.")
    cdf: list[float | None] = Field(description="CDF at `x`, atom included (outliers carry no mass in the limit).")
    support: list[Interval] = Field(
        description="Intervals carrying the continuous part, left to right ([] when the bulk collapses to the atom)."
    )
    atom: Atom = Field(
        description="The atom at s, mass (1 − c)⁺ (1 when β = 0); at finite p it is smeared over O(1/√p)."
    )
    outliers: list[KernelOutlierValue] = Field(description="Predicted outliers, largest first.")
    linearisation: KernelLinearisation
    notes: list[str] = Field(description="What is not predicted, heuristics and finite-size remarks.")
    provenance: Provenance


# ---------------------------------------------------------------------------------------------
# /v1/predictions/kernel-ridge

KernelRidgePenalty = Annotated[
    float,
    Field(ge=0, le=1e12, description="Per-sample ridge penalty γ ≥ 0 of α = (K + nγI)⁻¹y (0: the ridgeless limit)."),
]


def _values(given: float | list[float] | Grid) -> list[float]:
    if isinstance(given, Grid):
        return given.points()
    if isinstance(given, list):
        return given
    return [given]


class KernelRidgeRequest(RequestModel):
    """Kernel ridge regression α = (K + nγI)⁻¹y on x = Σ^{1/2}z (isotropic by default), teacher y = xᵀβ + ε."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kernel": {"name": "rbf", "bandwidth": 2.0},
                    "n_samples": 1000,
                    "ratio": [0.5, 2.0],
                    "ridge_penalty": [0.0, 0.0001, 0.001, 0.01],
                    "signal_strength": 1.0,
                    "noise_variance": 0.25,
                }
            ]
        }
    )

    kernel: KernelSpec = Field(description=KERNEL_DESCRIPTION, examples=[{"name": "rbf", "bandwidth": 2.0}])  # type: ignore[valid-type]  # a type built at run time (a tagged union or one_or_many(...)); mypy cannot evaluate calls in annotations
    n_samples: Count = Field(
        description="n, training samples. Required: the penalty acts on K's O(1) spectrum as nγ, so the answer depends on n.",
        examples=[1000],
    )
    ratio: one_or_many(Ratio) | None = Field(  # type: ignore[valid-type]  # a type built at run time (a tagged union or one_or_many(...)); mypy cannot evaluate calls in annotations
        default=None,
        description="c = p/n: one value, a list, or a grid (instead of `n_features`).",
        examples=[[0.5, 2.0]],
    )
    n_features: Count | None = Field(default=None, description="p, features (instead of `ratio`).", examples=[500])
    ridge_penalty: one_or_many(KernelRidgePenalty) = Field(  # type: ignore[valid-type]  # a type built at run time (a tagged union or one_or_many(...)); mypy cannot evaluate calls in annotations
        description="γ ≥ 0 of α = (K + nγI)⁻¹y (scikit-learn KernelRidge alpha = nγ): one value, a list or a grid; 0 is "
        "the ridgeless limit. K's bulk is O(1), so useful γ are of order 1/n (for the linear kernel, γ here is the "
        "linear-ridge γ divided by p).",
        examples=[[0.0, 0.0001, 0.001, 0.01]],
    )
    signal_strength: float = Field(
        default=1.0, ge=0, le=1e12, description="r² = ‖β‖² (= Var xᵀβ for isotropic x).", examples=[1.0]
    )
    noise_variance: float = Field(
        default=1.0, ge=0, le=1e12, description="σ² = Var ε, the label-noise variance.", examples=[0.25]
    )
    population: Population | None = Field(
        default=None,
        description="Spectrum H = Σ_k w_k δ_{t_k} of the covariance Σ of x (x = Σ^{1/2}z, β in a uniformly random direction); "
        "omitted means isotropic x.",
        examples=[{"eigenvalues": [0.5, 1.5], "weights": [0.5, 0.5]}],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.ratio is None) == (self.n_features is None):
            raise PydanticCustomError(
                "one_form_of_dimensions", "give exactly one of `ratio` and `n_features` (with `n_samples`)"
            )
        if isinstance(self.ratio, Grid) and not (self.ratio.start >= MIN_RATIO and self.ratio.stop <= MAX_RATIO):
            raise PydanticCustomError(
                "ratio_grid_domain", "`ratio` grid must lie in [{low}, {cap}]", {"low": MIN_RATIO, "cap": MAX_RATIO}
            )
        if isinstance(self.ridge_penalty, Grid) and self.ridge_penalty.start < 0:
            raise PydanticCustomError("penalty_grid_domain", "`ridge_penalty` grid must start at a value >= 0")
        if len(self.ratios) * len(self.ridge_penalties) > MAX_POINTS:
            raise PydanticCustomError(
                "grid_too_large", "`ridge_penalty` × `ratio` asks for more than {cap} combinations", {"cap": MAX_POINTS}
            )
        return self

    @property
    def ratios(self) -> list[float]:
        """The ratios c, whichever form was given."""
        return [self.n_features / self.n_samples] if self.ratio is None else _values(self.ratio)  # type: ignore[operator]  # both counts are set when `ratio` is not (the one-form validator)

    @property
    def ridge_penalties(self) -> list[float]:
        """The penalties γ."""
        return _values(self.ridge_penalty)


class KernelRidgePoint(ResponseModel):
    """The limiting errors at one (ratio, ridge penalty)."""

    ratio: float = Field(description="c = p/n.", examples=[0.5])
    ridge_penalty: float = Field(description="γ (0: the ridgeless limit).", examples=[0.001])
    train_mse: float | None = Field(
        description="E(1/n)‖y − Kα‖² (noise included); null where undefined (see notes).", examples=[0.447]
    )
    test_mse: float | None = Field(
        description="E(y − f(x))² at a new point, σ² included; null where undefined.", examples=[0.752]
    )
    effective_ridge: float | None = Field(
        description="μ = c(s + nγ)/β: the per-sample penalty of the linear ridge that kernel ridge reduces to.",
        examples=[1.797],
    )


class KernelRidgeOptimum(ResponseModel):
    """The test-MSE-minimising penalty at one ratio."""

    ratio: float = Field(description="c = p/n.", examples=[0.5])
    ridge_penalty: float | None = Field(
        description="γ* = max(0, (βσ²/r² − s)/n); null when only γ → ∞ is optimal (r² = 0) or there is no linear part.",
        examples=[0.0],
    )
    test_mse: float | None = Field(description="Test MSE at γ*.", examples=[0.426])


class KernelRidgeResponse(ResponseModel):
    """Train and test MSE on the grid (ratio-major) and the optimal penalty per ratio."""

    points: list[KernelRidgePoint] = Field(description="One entry per (ratio, ridge_penalty), ratio-major.")
    optimal: list[KernelRidgeOptimum] = Field(description="γ* and its test MSE for each ratio.")
    slope: float = Field(description="β = ∂h/∂t at (1, 1, 0): the kernel's linear part.", examples=[0.303])
    shift: float = Field(
        description="s = h(1,1,1) − h(1,1,0) − β: its nonlinear part, an implicit ridge.", examples=[0.09]
    )
    notes: list[str] = Field(description="Remarks (implicit regularisation, undefined points).")
    provenance: Provenance
