"""Requests and responses of the spectra endpoints (`/v1/spectra/...`)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from schemas._base import ResponseModel
from schemas.common import (
    Atom,
    ComplexNumber,
    DimensionsMixin,
    Interval,
    PointsMixin,
    Provenance,
    StieltjesValue,
    Variance,
)

MAX_STIELTJES_POINTS = 1_000


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
    n_moments: int = Field(default=4, ge=1, le=20, description="Number K of moments ∫ tᵏ μ(dt), k = 1..K, to return.", examples=[4])


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
