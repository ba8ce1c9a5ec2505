"""Requests and responses of the spectra endpoints (`/v1/spectra/...`)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import JsonInt, ResponseModel
from schemas.common import (
    Atom,
    ComplexNumber,
    DimensionsMixin,
    Interval,
    PointsMixin,
    Population,
    Provenance,
    StieltjesValue,
    Variance,
)

MAX_STIELTJES_POINTS = 1_000
# The generalized Marchenko–Pastur solver's checked domain (it refuses requests outside it too).
SAMPLE_COVARIANCE_MIN_RATIO = 1e-8
SAMPLE_COVARIANCE_MAX_DYNAMIC_RANGE = 1e8
MAX_SPIKES = 100


class StieltjesMixin(DimensionsMixin):
    """Complex points at which to evaluate the Stieltjes transform."""

    stieltjes_at: list[ComplexNumber] = Field(
        default_factory=list,
        max_length=MAX_STIELTJES_POINTS,
        description="Complex points z (Im z ≠ 0) at which to return m(z) = ∫ μ(dt)/(t − z).",
        examples=[[{"re": 1.0, "im": 0.5}]],
    )

    @field_validator("stieltjes_at")
    @classmethod
    def _off_the_real_axis(cls, points: list[ComplexNumber]) -> list[ComplexNumber]:
        for index, point in enumerate(points):
            if point.im == 0:
                raise PydanticCustomError(
                    "off_real_axis",
                    "`stieltjes_at` point {index} has im = 0: the transform has a cut on the real axis, give im ≠ 0",
                    {"index": index},
                )
        return points


class MarchenkoPasturRequest(StieltjesMixin, PointsMixin):
    """The Marchenko–Pastur law of (1/n)XXᵀ or (1/n)XᵀX for X with i.i.d. entries of variance σ²."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ratio": 0.5,
                    "variance": 1.0,
                    "matrix": "covariance",
                    "grid": {"start": 0.0, "stop": 3.0, "num": 7},
                    "n_moments": 4,
                    "stieltjes_at": [{"re": 1.0, "im": 0.5}],
                }
            ]
        }
    )

    variance: Variance = 1.0
    matrix: Literal["covariance", "gram"] = Field(
        default="covariance",
        description="`covariance`: S = (1/n)XXᵀ (p × p); `gram`: (1/n)XᵀX (n × n), same non-zero eigenvalues.",
        examples=["covariance"],
    )
    n_moments: JsonInt = Field(
        default=4, ge=1, le=20, description="Number K of moments ∫ tᵏ μ(dt), k = 1..K, to return.", examples=[4]
    )


class MarchenkoPasturResponse(ResponseModel):
    """The Marchenko–Pastur law at the requested points."""

    support: Interval = Field(description="Edges λ± = σ²(1 ± √c)² of the continuous part.")
    atom: Atom = Field(description="The atom at 0: mass (1 − 1/c)⁺ (covariance) or (1 − c)⁺ (gram).")
    x: list[float] = Field(description="The evaluation points.")
    density: list[float | None] = Field(
        description="Density of the continuous part at `x`; null only where it diverges (x = 0 at c = 1), see `notes`."
    )
    cdf: list[float] = Field(description="Cumulative distribution function at `x`, atom included.")
    moments: list[float] = Field(description="Moments ∫ tᵏ μ(dt) for k = 1..n_moments (Narayana polynomials).")
    stieltjes: list[StieltjesValue] = Field(description="m(z) at each requested point, in order.")
    notes: list[str] = Field(description="Remarks on the answer, e.g. why a value is null.")
    provenance: Provenance


class SampleCovarianceRequest(StieltjesMixin, PointsMixin):
    """The generalized Marchenko–Pastur law of S = (1/n)Σ^½ZZᵀΣ^½ for a population spectrum of Σ."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ratio": 0.1,
                    "population": {"eigenvalues": [1.0, 3.0, 10.0], "weights": [0.5, 0.3, 0.2]},
                    "grid": {"start": 0.0, "stop": 14.0, "num": 8},
                    "stieltjes_at": [{"re": 2.0, "im": 0.5}],
                }
            ]
        }
    )

    population: Population = Field(
        description="Spectrum H = Σ_k w_k δ_{t_k} of the population covariance Σ. Supported domain of the solver: "
        f"max(t_k)/min(t_k) ≤ {SAMPLE_COVARIANCE_MAX_DYNAMIC_RANGE:g} and c ≥ {SAMPLE_COVARIANCE_MIN_RATIO:g}; "
        "outside it the request is refused (422)."
    )

    @model_validator(mode="after")
    def _supported_domain(self) -> Self:
        # The domain where the support search resolves every interval (solvers/sample_covariance.py).
        if self.aspect_ratio < SAMPLE_COVARIANCE_MIN_RATIO:
            raise PydanticCustomError(
                "supported_domain",
                "`ratio` (p/n) must be at least {low} for the generalized law, got {c}",
                {"low": f"{SAMPLE_COVARIANCE_MIN_RATIO:g}", "c": f"{self.aspect_ratio:.3g}"},
            )
        eigenvalues = self.population.eigenvalues
        if max(eigenvalues) / min(eigenvalues) > SAMPLE_COVARIANCE_MAX_DYNAMIC_RANGE:
            raise PydanticCustomError(
                "supported_domain",
                "`population.eigenvalues` may span max/min ≤ {cap}, got {got}: merge eigenvalues far below "
                "the others into a smaller `ratio`",
                {
                    "cap": f"{SAMPLE_COVARIANCE_MAX_DYNAMIC_RANGE:g}",
                    "got": f"{max(eigenvalues) / min(eigenvalues):.3g}",
                },
            )
        return self


class SampleCovarianceResponse(ResponseModel):
    """The generalized Marchenko–Pastur law at the requested points."""

    support_intervals: list[Interval] = Field(
        description="Disjoint intervals carrying the continuous part, left to right (gaps resolved; Silverstein–Choi)."
    )
    interval_masses: list[float] = Field(
        description="Mass of each support interval (the population weights it belongs to)."
    )
    atom: Atom = Field(description="The atom at 0, mass (1 − 1/c)⁺.")
    x: list[float] = Field(description="The evaluation points.")
    density: list[float | None] = Field(
        description="Density of the eigenvalue law of S at `x`; null only where it diverges (see `notes`)."
    )
    cdf: list[float] = Field(description="Cumulative distribution function at `x`, atom included.")
    moments: list[float] = Field(description="First moments ∫ tᵏ μ(dt), k = 1, 2, 3, from the population moments.")
    stieltjes: list[StieltjesValue] = Field(description="m(z) of S at each requested point, in order.")
    notes: list[str] = Field(description="Remarks on the answer, e.g. why a value is null.")
    provenance: Provenance


class SpikedCovarianceRequest(DimensionsMixin):
    """Outlier eigenvalues and eigenvector alignments for Σ = σ²(I + Σ_k ℓ_k u_k u_kᵀ) (BBP transition)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ratio": 0.5, "variance": 1.0, "spikes": [0.5, 2.0, 5.0]}]}
    )

    variance: Variance = 1.0
    spikes: list[Annotated[float, Field(gt=0, le=1e12)]] = Field(
        min_length=1,
        max_length=MAX_SPIKES,
        description="Spike strengths ℓ_k > 0, in any order.",
        examples=[[0.5, 2.0, 5.0]],
    )


class SpikePrediction(ResponseModel):
    """The limit of one spike's sample eigenvalue and eigenvector."""

    spike: float = Field(description="The spike strength ℓ.")
    separated: bool = Field(description="Whether ℓ > √c, i.e. the sample eigenvalue leaves the bulk.")
    eigenvalue: float = Field(
        description="Limit of the sample eigenvalue: σ²(1 + ℓ)(1 + c/ℓ) if separated, else the edge λ₊."
    )
    alignment: float = Field(description="Limit of |⟨û, u⟩|²: (1 − c/ℓ²)/(1 + c/ℓ) if separated, else 0.")
    sample_side_alignment: float = Field(
        description="Limit of |⟨v̂, Zᵀu/‖Zᵀu‖⟩|² for the Gram-matrix eigenvector v̂: 1 − c/ℓ² if separated, else 0."
    )


class SpikedCovarianceResponse(ResponseModel):
    """BBP predictions for each spike, in the order given."""

    support: Interval = Field(description="Bulk edges σ²(1 ± √c)² of the Marchenko–Pastur part.")
    atom: Atom = Field(description="The atom at 0, mass (1 − 1/c)⁺.")
    threshold: float = Field(description="The BBP threshold √c: spikes above it separate from the bulk.")
    spikes: list[SpikePrediction] = Field(description="One prediction per spike, in the order given.")
    notes: list[str] = Field(
        description="Remarks, e.g. spikes in the critical window where finite-n convergence is slow."
    )
    provenance: Provenance
