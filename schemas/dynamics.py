"""Requests and responses of the learning-dynamics predictions (`/v1/predictions/gradient-descent-*`).

Gradient flow / gradient descent on a linear model, trained from w₀ for a time t (or k steps):
classification error rates (Liao & Couillet, ICML 2018; docs/methods/dynamics.md) and regression
bias, variance and MSE (docs/derivations/gradient_descent_regression.md).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import ResponseModel, grid_bounds
from schemas.common import DimensionsMixin, Grid, Provenance, RidgePenalty, one_or_many

#: Largest dimensionless training time α·t·(1 + √c)² accepted: far beyond it every curve has reached
#: its t → ∞ limit (returned in `limit`), and the quadrature cost grows like its square root.
MAX_SCALED_TIME = 1e7

Time = Annotated[float, Field(ge=0, le=1e12, description="A training time t ≥ 0 (or a step count k for `gd`).")]

_TIME_DESCRIPTION = (
    "Training times: one value, a list, or a grid (at most `max_points` of them; the service setting). "
    "For `mode` = `flow`, the gradient-flow time t ≥ 0 (w(t) solves dw/dt = −α∇L); for `mode` = `gd`, "
    "integer step counts k ≥ 0 (a list must hold integers; grid points are rounded to the nearest integer). "
    "Points are answered in the order given."
)


def _time_values(given: float | list[float] | Grid) -> list[float]:
    if isinstance(given, Grid):
        return given.points()
    if isinstance(given, list):
        return list(given)
    return [given]


class _DynamicsRequest(DimensionsMixin):
    """Fields shared by both learning-dynamics requests."""

    # `gd` counts steps: its times are integers (or a grid, rounded by the solver).
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "anyOf": [
                {"properties": {"mode": {"const": "flow"}}},
                {
                    "properties": {
                        "mode": {"const": "gd"},
                        "time": {
                            "anyOf": [
                                {"type": "integer"},
                                {"type": "array", "items": {"type": "integer"}},
                                {"type": "object"},
                            ]
                        },
                    },
                    "required": ["mode"],
                },
            ]
        },
        grid_bounds("time", start={"minimum": 0}),
    )

    ridge_penalty: RidgePenalty = Field(
        default=0.0,
        description="γ ≥ 0: the loss is (1/2n)‖y − Xᵀw‖² + (γ/2)‖w‖² (per-sample normalised, the same γ as the linear-ridge endpoint; docs/methods/dynamics.md §1).",
        examples=[0.1],
    )
    learning_rate: float = Field(
        default=1.0,
        ge=1e-250,
        le=1e6,
        description="α > 0 (at least 1e-250: the stopping-time search spans αt up to 1e6), the step size. For `mode` = `gd` it must satisfy α(λmax + γ) < 2 (else GD diverges: 422 naming the stable range).",
        examples=[1.0],
    )
    init_variance: float = Field(
        default=0.0,
        ge=0,
        le=1e12,
        description="σ₀² ≥ 0: the initial weights are w₀ ~ N(0, σ₀² I_p / p) (0: start from w₀ = 0).",
        examples=[0.5],
    )
    time: one_or_many(Time) = Field(  # type: ignore[valid-type]  # a type built at run time by one_or_many(...); mypy cannot evaluate calls in annotations
        description=_TIME_DESCRIPTION,
        examples=[[0.0, 1.0, 10.0, 100.0]],
    )
    mode: Literal["flow", "gd"] = Field(
        default="flow",
        description="`flow`: gradient flow, f_t(z) = e^{−αtz}; `gd`: k discrete steps of gradient descent, f_k(z) = (1 − αz)^k.",
        examples=["flow"],
    )

    @model_validator(mode="after")
    def _times_in_domain(self) -> Self:
        if isinstance(self.time, Grid) and self.time.start < 0:
            raise PydanticCustomError("time_grid_domain", "`time` grid must start at a value >= 0")
        values = self.raw_times
        if self.mode == "gd" and not isinstance(self.time, Grid) and any(v != math.floor(v) for v in values):
            raise PydanticCustomError("integer_steps", '`time` must hold integer step counts when `mode` is "gd"')
        scaled = self.learning_rate * max(values) * (1.0 + math.sqrt(self.aspect_ratio)) ** 2
        if scaled > MAX_SCALED_TIME:
            raise PydanticCustomError(
                "scaled_time",
                "`time` × `learning_rate` × (1 + √c)² must be <= {cap:g} (got {value:.3g}); the t → ∞ limit is returned in `limit`",
                {"cap": MAX_SCALED_TIME, "value": scaled},
            )
        return self

    @property
    def raw_times(self) -> list[float]:
        """The times as given (a grid expanded)."""
        return _time_values(self.time)

    @property
    def times(self) -> list[float]:
        """The times passed to the solver: grid points rounded to step counts for `gd`."""
        values = self.raw_times
        if self.mode == "gd":
            return [float(round(v)) for v in values]
        return values

    @property
    def n_times(self) -> int:
        """How many times were asked for, without building them."""
        if isinstance(self.time, Grid):
            return self.time.num
        return len(self.time) if isinstance(self.time, list) else 1


class GradientDescentClassificationRequest(_DynamicsRequest):
    """A linear classifier trained by gradient descent on a two-class Gaussian mixture.

    Data x_i = y_i μ + z_i, z_i ~ N(0, I_p), labels y_i = ±1; squared loss with ridge γ; n, p → ∞
    with p/n → c. Liao & Couillet, ICML 2018 (arXiv:1805.11917).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ratio": 0.8,
                    "mean_norm_squared": 1.0,
                    "ridge_penalty": 1.0,
                    "learning_rate": 1.0,
                    "init_variance": 0.5,
                    "time": {"start": 0.1, "stop": 1000.0, "num": 5, "scale": "log"},
                    "mode": "flow",
                }
            ]
        }
    )

    mean_norm_squared: float = Field(
        ge=0,
        le=1e12,
        description="ρ = ‖μ‖² ≥ 0, the squared distance of each class mean from the origin (0: no signal).",
        examples=[1.0],
    )


class ClassificationPoint(ResponseModel):
    """Predicted error rates at one training time."""

    time: float = Field(description="t (or the step count k for `gd`).")
    train_error: float | None = Field(
        description="Fraction of misclassified training points, Q(E_train/√V_train); null where undefined (see `notes`)."
    )
    test_error: float | None = Field(
        description="Misclassification probability on a new point, Q(E_test/√V_test); null where undefined."
    )
    e_train: float | None = Field(description="E_train: limit of the mean training score y_i x_iᵀw(t).")
    v_train: float | None = Field(description="V_train: limit of the variance of the training scores.")
    e_test: float | None = Field(description="E_test: limit of μᵀw(t).")
    v_test: float | None = Field(description="V_test: limit of ‖w(t)‖².")


class ClassificationLimitValues(ResponseModel):
    """The t → ∞ values: the ridge classifier with penalty γ (min-norm plus frozen w₀ part if γ = 0, c > 1)."""

    train_error: float | None = Field(
        description="Limit of the train error (exactly 0 when γ = 0 and c ≥ 1: interpolation)."
    )
    test_error: float | None = Field(description="Limit of the test error.")
    e_train: float | None = Field(description="Limit of E_train.")
    v_train: float | None = Field(description="Limit of V_train.")
    e_test: float | None = Field(description="Limit of E_test.")
    v_test: float | None = Field(description="Limit of V_test; null when infinite (c = 1, γ = 0).")


class Spike(ResponseModel):
    """The isolated eigenvalue of A = XXᵀ/n created by the class means (BBP transition)."""

    exists: bool = Field(description="Whether ρ > √c, so that A has an eigenvalue outside the Marchenko–Pastur bulk.")
    location: float | None = Field(description="λ_s = 1 + ρ + c + c/ρ when it exists, else null.")


class ClassificationOptimalTime(ResponseModel):
    """The stopping time with the lowest predicted test error over t ∈ (0, ∞)."""

    time: float | None = Field(
        description="t* (a step count for `gd`); 0 when the error is lowest as t → 0⁺; null when `never_stop`."
    )
    test_error: float = Field(description="The test error at t* (at t → ∞ when `never_stop`).")
    never_stop: bool = Field(
        description="True when no finite time beats training to convergence (the error decreases to its limit)."
    )


class GradientDescentClassificationResponse(ResponseModel):
    """Error rates over training time, the t → ∞ limit and the best stopping time."""

    points: list[ClassificationPoint] = Field(description="One entry per requested time, in the order given.")
    spike: Spike = Field(description="Whether the isolated eigenvalue λ_s exists, and where.")
    limit: ClassificationLimitValues = Field(description="Values at t → ∞ (ridge classifier with penalty γ).")
    optimal_time: ClassificationOptimalTime = Field(description="Best stopping time by a bounded search over (0, ∞).")
    notes: list[str] = Field(description="Remarks, e.g. why a value is null or that GD is near its stability bound.")
    provenance: Provenance


class GradientDescentRegressionRequest(_DynamicsRequest):
    """Least squares y = Xβ + ε (isotropic Gaussian features) trained by gradient descent from w₀.

    The model of the linear-ridge endpoint; as t → ∞ the answer is its ridge (γ > 0) or min-norm
    (γ = 0) prediction. Derivation: docs/derivations/gradient_descent_regression.md.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ratio": 2.0,
                    "signal_strength": 1.0,
                    "noise_variance": 0.5,
                    "ridge_penalty": 0.0,
                    "learning_rate": 0.2,
                    "init_variance": 0.5,
                    "time": [0, 1, 10, 100, 1000],
                    "mode": "gd",
                }
            ]
        }
    )

    signal_strength: float = Field(
        default=1.0, ge=0, le=1e12, description="r² = ‖β‖², the signal energy.", examples=[1.0]
    )
    noise_variance: float = Field(
        default=1.0, ge=0, le=1e12, description="σ² = Var ε, the label-noise variance.", examples=[0.5]
    )


class RegressionPoint(ResponseModel):
    """Predicted errors at one training time."""

    time: float = Field(description="t (or the step count k for `gd`).")
    bias: float | None = Field(description="r²∫(1 − x h_t(x))² μ(dx): error of the noise-free fit started at 0.")
    variance: float | None = Field(description="σ² c ∫ x h_t(x)² μ(dx): contribution of the label noise.")
    initialization: float | None = Field(description="σ₀² ∫ f_t(x + γ)² μ(dx): contribution of the random start w₀.")
    risk: float | None = Field(
        description="Excess test risk lim E‖w(t) − β‖² = bias + variance + initialization (without σ²)."
    )
    test_mse: float | None = Field(description="Test MSE on a new noisy sample: risk + σ².")
    train_error: float | None = Field(description="Training error lim E (1/n)‖y − Xw(t)‖².")


class RegressionLimitValues(ResponseModel):
    """The t → ∞ values: the linear-ridge prediction plus the frozen null-space part of w₀ (γ = 0, c > 1)."""

    bias: float | None = Field(description="Equals the linear-ridge endpoint's bias at the same ridge penalty γ.")
    variance: float | None = Field(
        description="Equals the linear-ridge endpoint's variance; null when infinite (γ = 0, c = 1)."
    )
    initialization: float | None = Field(
        description="σ₀²(1 − 1/c)⁺ when γ = 0 (w₀'s part in the null space of X never moves), else 0."
    )
    risk: float | None = Field(description="bias + variance + initialization; null when infinite.")
    test_mse: float | None = Field(description="risk + σ²; null when infinite.")
    train_error: float | None = Field(
        description="Equals the linear-ridge endpoint's train error (0 when γ = 0, c ≥ 1)."
    )


class RegressionOptimalTime(ResponseModel):
    """The stopping time with the lowest predicted test MSE over t ∈ [0, ∞)."""

    time: float | None = Field(description="t* (a step count for `gd`); null when `never_stop`.")
    test_mse: float = Field(description="The test MSE at t* (at t → ∞ when `never_stop`).")
    risk: float = Field(description="The excess risk at t*.")
    never_stop: bool = Field(description="True when no finite time beats training to convergence.")


class GradientDescentRegressionResponse(ResponseModel):
    """Bias, variance, test MSE and train error over training time, the limit and the best stopping time."""

    points: list[RegressionPoint] = Field(description="One entry per requested time, in the order given.")
    limit: RegressionLimitValues = Field(description="Values at t → ∞.")
    optimal_time: RegressionOptimalTime = Field(description="Best stopping time by a bounded search over [0, ∞).")
    notes: list[str] = Field(description="Remarks, e.g. why a value is null.")
    provenance: Provenance
