"""Building blocks shared by the topic schemas: dimensions, evaluation points, complex numbers,
supports, atoms and provenance.

Caps written here are hard limits of the contract; the service may enforce tighter ones from
its settings (they are named in its 422 answers).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import RequestModel, ResponseModel

# Hard caps of the contract (the settings can only lower them).
MAX_POINTS = 100_000
MAX_COUNT = 10**9
MAX_RATIO = 1e6

Ratio = Annotated[
    float,
    Field(gt=0, le=MAX_RATIO, description="Aspect ratio c = p/n (features per sample).", examples=[0.5]),
]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Variance = Annotated[float, Field(gt=0, le=1e12, description="Variance σ² of the entries of X.", examples=[1.0])]


class Grid(RequestModel):
    """`num` evenly spaced points from `start` to `stop` inclusive (like `numpy.linspace`)."""

    start: float = Field(description="First point.", examples=[0.0])
    stop: float = Field(description="Last point (included).", examples=[3.0])
    num: int = Field(ge=1, le=MAX_POINTS, description="Number of points (capped by the service setting `max_points`).", examples=[200])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.num > 1 and not self.stop > self.start:
            raise PydanticCustomError("ordered_grid", "`stop` must be greater than `start` when `num` > 1")
        return self

    def points(self) -> list[float]:
        """The grid as a list (the same values as ``numpy.linspace``)."""
        if self.num == 1:
            return [self.start]
        step = (self.stop - self.start) / (self.num - 1)
        return [self.start + i * step for i in range(self.num - 1)] + [self.stop]


class DimensionsMixin(RequestModel):
    """Dimensions as a ratio c = p/n, or as the two counts p and n: exactly one form."""

    ratio: Ratio | None = Field(default=None, description="Aspect ratio c = p/n. Give it, or both `n_features` and `n_samples`.", examples=[0.5])
    n_features: Count | None = Field(default=None, description="Number of features p (with `n_samples`; instead of `ratio`).", examples=[500])
    n_samples: Count | None = Field(default=None, description="Number of samples n (with `n_features`; instead of `ratio`).", examples=[1000])

    @model_validator(mode="after")
    def _one_form_of_dimensions(self) -> Self:
        counts = (self.n_features, self.n_samples)
        if self.ratio is not None and any(v is not None for v in counts):
            raise PydanticCustomError(
                "one_form_of_dimensions", "give either `ratio` or both `n_features` and `n_samples`, not both forms"
            )
        if self.ratio is None and any(v is None for v in counts):
            raise PydanticCustomError("one_form_of_dimensions", "give either `ratio` or both `n_features` and `n_samples`")
        return self

    @property
    def aspect_ratio(self) -> float:
        """c = p/n, whichever form was given."""
        if self.ratio is not None:
            return self.ratio
        return self.n_features / self.n_samples  # type: ignore[operator]


class PointsMixin(RequestModel):
    """Real evaluation points, as a list `x` or a `grid`: exactly one form."""

    x: list[float] | None = Field(
        default=None, max_length=MAX_POINTS, description="Points at which to evaluate (instead of `grid`).", examples=[[0.5, 1.0, 2.0]]
    )
    grid: Grid | None = Field(default=None, description="Evenly spaced points (instead of `x`).")

    @model_validator(mode="after")
    def _one_form_of_points(self) -> Self:
        if (self.x is None) == (self.grid is None):
            raise PydanticCustomError("one_form_of_points", "give exactly one of `x` and `grid`")
        return self

    @property
    def points(self) -> list[float]:
        """The evaluation points, whichever form was given."""
        return self.x if self.x is not None else self.grid.points()  # type: ignore[union-attr]

    @property
    def n_points(self) -> int:
        """How many points were asked for, without building them."""
        return len(self.x) if self.x is not None else self.grid.num  # type: ignore[union-attr]


class ComplexNumber(RequestModel):
    """A complex number z = re + i·im."""

    re: float = Field(description="Real part.", examples=[1.0])
    im: float = Field(description="Imaginary part.", examples=[0.5])


class ComplexValue(ResponseModel):
    """A complex number z = re + i·im."""

    re: float = Field(description="Real part.")
    im: float = Field(description="Imaginary part.")


class StieltjesValue(ResponseModel):
    """The Stieltjes transform m(z) = ∫ μ(dt)/(t − z) at one point."""

    z: ComplexValue = Field(description="The point z.")
    m: ComplexValue = Field(description="m(z), on the branch with Im m · Im z > 0.")


class Interval(ResponseModel):
    """A closed interval [lower, upper]."""

    lower: float = Field(description="Left end.")
    upper: float = Field(description="Right end.")


class Atom(ResponseModel):
    """A point mass of the law."""

    location: float = Field(description="Where the mass sits.")
    mass: float = Field(description="Its mass (0 when there is none).")


class Diagnostics(ResponseModel):
    """How an iterative solver ended."""

    iterations: int = Field(description="Iterations used (worst point).")
    residual: float | None = Field(description="Largest absolute residual of the solved equation (null if not finite).")
    converged: bool = Field(description="Whether every point met its tolerance.")


class Provenance(ResponseModel):
    """Where a prediction comes from."""

    reference: str = Field(description="Paper and equation (or section) of the formula used.")
    service_version: str = Field(description="Version of rmt-service that computed the answer.")
    diagnostics: Diagnostics | None = Field(default=None, description="Solver diagnostics where a solver iterates; null for closed forms.")
