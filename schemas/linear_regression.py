"""Requests and responses of the linear-regression predictions (`/v1/predictions/linear-ridge`)."""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import RequestModel, ResponseModel, grid_bounds
from schemas.common import (
    MAX_POINTS,
    MAX_RATIO,
    MIN_RATIO,
    ONE_FORM_OF_DIMENSIONS,
    Count,
    Grid,
    Population,
    Provenance,
    Ratio,
    RidgePenalty,
    check_one_form_of_dimensions,
    one_or_many,
)


def _values(given: float | list[float] | Grid) -> list[float]:
    if isinstance(given, Grid):
        return given.points()
    if isinstance(given, list):
        return given
    return [given]


class LinearRidgeRequest(RequestModel):
    """Ridge (or ridgeless) regression y = Xβ + ε with rows x_i = Σ^½ z_i, evaluated on a grid of ratios × penalties."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ratio": {"start": 0.2, "stop": 3.0, "num": 5},
                    "ridge_penalty": [0.0, 0.1, 1.0],
                    "signal_strength": 1.0,
                    "noise_variance": 0.25,
                }
            ]
        }
    )

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        ONE_FORM_OF_DIMENSIONS,
        {
            "dependentRequired": {
                "n_features": ["n_samples"],
                "n_samples": ["n_features"],
                "signal_weights": ["population"],
            }
        },
        grid_bounds("ratio", start={"minimum": MIN_RATIO}, stop={"maximum": MAX_RATIO}),
        grid_bounds("ridge_penalty", start={"minimum": 0}),
    )

    ratio: one_or_many(Ratio) | None = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        default=None,
        description="Aspect ratio c = p/n: one value, a list, or a grid (instead of `n_features` and `n_samples`).",
        examples=[0.5],
    )
    n_features: Count | None = Field(
        default=None, description="Number of features p (with `n_samples`; instead of `ratio`).", examples=[500]
    )
    n_samples: Count | None = Field(
        default=None, description="Number of samples n (with `n_features`; instead of `ratio`).", examples=[1000]
    )
    ridge_penalty: one_or_many(RidgePenalty) = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        description="Ridge penalty γ ≥ 0 of min (1/n)‖y − Xb‖² + γ‖b‖², no intercept (scikit-learn's alpha = nγ; docs/methods/linear_ridge.md §1): one value, a list, or a grid. 0 is the min-norm limit.",
        examples=[[0.0, 0.1, 1.0]],
    )
    signal_strength: float = Field(
        default=1.0, ge=0, le=1e12, description="r² = ‖β‖², the signal energy.", examples=[1.0]
    )
    noise_variance: float = Field(
        default=1.0, ge=0, le=1e12, description="σ² = Var ε, the label-noise variance.", examples=[0.25]
    )
    population: Population | None = Field(
        default=None, description="Spectrum of the feature covariance Σ; omitted means isotropic features (Σ = I)."
    )
    signal_weights: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        default=None,
        max_length=100_000,
        description="b_k: fraction of ‖β‖² in the eigenspace of each population eigenvalue (sums to 1); default: the population weights.",
        examples=[[0.5, 0.3, 0.2]],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        check_one_form_of_dimensions(self.ratio, self.n_features, self.n_samples)
        if isinstance(self.ratio, Grid) and not (self.ratio.start >= MIN_RATIO and self.ratio.stop <= MAX_RATIO):
            raise PydanticCustomError(
                "ratio_grid_domain", "`ratio` grid must lie in [{low}, {cap}]", {"low": MIN_RATIO, "cap": MAX_RATIO}
            )
        if isinstance(self.ridge_penalty, Grid) and self.ridge_penalty.start < 0:
            raise PydanticCustomError("penalty_grid_domain", "`ridge_penalty` grid must start at a value >= 0")
        if self.signal_weights is not None:
            if self.population is None:
                raise PydanticCustomError("needs_population", "`signal_weights` needs a `population`")
            if len(self.signal_weights) != len(self.population.eigenvalues):
                raise PydanticCustomError(
                    "same_length", "`signal_weights` must have one entry per population eigenvalue"
                )
            if abs(math.fsum(self.signal_weights) - 1.0) > 1e-9:
                raise PydanticCustomError("sums_to_one", "`signal_weights` must sum to 1 within 1e-9")
        if len(self.ratios) * len(self.ridge_penalties) > MAX_POINTS:
            raise PydanticCustomError(
                "grid_too_large", "`ridge_penalty` × `ratio` asks for more than {cap} combinations", {"cap": MAX_POINTS}
            )
        return self

    @property
    def ratios(self) -> list[float]:
        """The ratios c, whichever form was given."""
        if self.ratio is None:
            return [self.n_features / self.n_samples]  # type: ignore[operator]  # both counts are set when `ratio` is not (the one-form validator)
        return _values(self.ratio)

    @property
    def ridge_penalties(self) -> list[float]:
        """The penalties γ, whichever form was given."""
        return _values(self.ridge_penalty)


class LinearRidgePoint(ResponseModel):
    """The limiting errors at one (ratio, ridge penalty)."""

    ratio: float = Field(description="Aspect ratio c = p/n.")
    ridge_penalty: float = Field(description="Ridge penalty γ (0: the min-norm interpolator / least squares limit).")
    bias: float | None = Field(description="B = ‖E[β̂|X] − β‖²_Σ; null where the limit diverges.")
    variance: float | None = Field(description="V = tr(Σ Cov(β̂|X)); null where the limit diverges.")
    risk: float | None = Field(description="Excess risk R = B + V (without σ²); null where the limit diverges.")
    test_mse: float | None = Field(description="Test MSE R + σ²; null where the limit diverges.")
    train_error: float | None = Field(
        description="Training error E[(1/n)‖y − Xβ̂‖²] = (γ/κ)²(R + σ²); null where the limit diverges."
    )
    effective_ridge: float | None = Field(
        description="Effective regularisation κ = 1/m̲(−γ) (companion Stieltjes transform; docs/methods/linear_ridge.md §2, §4)."
    )
    note: str | None = Field(default=None, description="Why values are null, when they are.")


class OptimalRidgePoint(ResponseModel):
    """The risk-minimising penalty at one ratio."""

    ratio: float = Field(description="Aspect ratio c = p/n.")
    ridge_penalty: float | None = Field(
        description="γ* minimising the risk; null when only γ → ∞ reaches the infimum (r² = 0)."
    )
    risk: float | None = Field(description="Excess risk at γ*.")
    test_mse: float | None = Field(description="Test MSE at γ*.")


class LinearRidgeResponse(ResponseModel):
    """Predicted risks on the grid, ratio-major, and the optimal penalty per ratio."""

    points: list[LinearRidgePoint] = Field(description="One entry per (ratio, ridge_penalty), ratio-major.")
    optimal: list[OptimalRidgePoint] = Field(description="γ* and its risk for each ratio.")
    notes: list[str] = Field(description="Remarks on the answer.")
    provenance: Provenance
