"""Building blocks shared by the topic schemas: dimensions, evaluation points, complex numbers,
supports, atoms and provenance.

Caps written here are hard limits of the contract; the service may enforce tighter ones from
its settings (they are named in its 422 answers).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Self, Union, get_args

from pydantic import Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import INTEGRAL, JsonInt, RequestModel, ResponseModel, absent, present

# Hard caps of the contract (the settings can only lower them).
MAX_POINTS = 100_000
MAX_COUNT = 10**9
MAX_RATIO = 1e6
# Ratios are p/n of real problems; 1e-12 keeps 1/c and every intermediate of the laws in range
# (fuzzing found c = 5e-324 overflowing the gram transform's z/c).
MIN_RATIO = 1e-12
# Grid ends and complex points: far beyond any spectrum, and (stop − start)/(num − 1) or z/c never overflow.
MAX_COORDINATE = 1e100

Ratio = Annotated[
    float,
    Field(
        ge=MIN_RATIO,
        le=MAX_RATIO,
        description="Aspect ratio c = p/n (features per sample), 1e-12 ≤ c ≤ 1e6.",
        examples=[0.5],
    ),
]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT), INTEGRAL]

#: Largest ridge penalty any endpoint accepts.
MAX_RIDGE_PENALTY = 1e12
#: Below 1e-300 the random-features deterministic equivalent divides by n·γ in subnormal arithmetic
#: (fuzzing found 5e-324); such a γ is numerically the ridgeless limit anyway.
MIN_RIDGE_PENALTY = 1e-300
#: A per-sample ridge penalty γ ≥ 0 of a linear model, where 0 is the min-norm (ridgeless) limit.
RidgePenalty = Annotated[
    float, Field(ge=0, le=MAX_RIDGE_PENALTY, description="Per-sample ridge penalty γ ≥ 0 (0: min-norm limit).")
]
#: A ridge penalty γ > 0 where the limit γ → 0 is not defined (random features: a resolvent at −γ).
PositiveRidgePenalty = Annotated[
    float, Field(ge=MIN_RIDGE_PENALTY, le=MAX_RIDGE_PENALTY, description="Ridge penalty γ, 1e-300 ≤ γ ≤ 1e12.")
]
Variance = Annotated[float, Field(gt=0, le=1e12, description="Variance σ² of the entries of X.", examples=[1.0])]


class Grid(RequestModel):
    """`num` points from `start` to `stop` inclusive, evenly spaced on a linear or a log scale."""

    # A log-scale grid starts above 0 (stop > start is a comparison JSON Schema cannot state).
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "anyOf": [
                {"properties": {"scale": {"const": "linear"}}},
                {"properties": {"scale": {"const": "log"}, "start": {"exclusiveMinimum": 0}}, "required": ["scale"]},
            ]
        },
    )

    start: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, description="First point.", examples=[0.0])
    stop: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, description="Last point (included).", examples=[3.0])
    num: JsonInt = Field(
        ge=1,
        le=MAX_POINTS,
        description="Number of points (capped by the service setting `max_points`).",
        examples=[200],
    )
    scale: Literal["linear", "log"] = Field(
        default="linear",
        description="`linear` (like `numpy.linspace`) or `log` (like `numpy.geomspace`; needs `start` > 0).",
        examples=["linear"],
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.num > 1 and not self.stop > self.start:
            raise PydanticCustomError("ordered_grid", "`stop` must be greater than `start` when `num` > 1")
        if self.scale == "log" and not self.start > 0:
            raise PydanticCustomError("positive_log_grid", "`start` must be > 0 for a log-scale grid")
        return self

    def points(self) -> list[float]:
        """The grid as a list (the values of ``numpy.linspace`` or ``numpy.geomspace``)."""
        if self.num == 1:
            return [self.start]
        if self.scale == "log":
            low, high = math.log(self.start), math.log(self.stop)
            step = (high - low) / (self.num - 1)
            return [self.start] + [math.exp(low + i * step) for i in range(1, self.num - 1)] + [self.stop]
        step = (self.stop - self.start) / (self.num - 1)
        return [self.start + i * step for i in range(self.num - 1)] + [self.stop]


def check_one_form_of_dimensions(ratio: object, n_features: int | None, n_samples: int | None) -> None:
    """Exactly one form of dimensions: a ratio, or both counts (the rule of every request with dimensions)."""
    counts = (n_features, n_samples)
    if ratio is not None and any(v is not None for v in counts):
        raise PydanticCustomError(
            "one_form_of_dimensions", "give either `ratio` or both `n_features` and `n_samples`, not both forms"
        )
    if ratio is None and any(v is None for v in counts):
        raise PydanticCustomError("one_form_of_dimensions", "give either `ratio` or both `n_features` and `n_samples`")


#: JSON Schema of "exactly one form of dimensions".
ONE_FORM_OF_DIMENSIONS = {
    "oneOf": [
        {**present("ratio"), **absent("n_features", "n_samples")},
        {**present("n_features", "n_samples"), "not": present("ratio")},
    ]
}


class DimensionsMixin(RequestModel):
    """Dimensions as a ratio c = p/n, or as the two counts p and n: exactly one form."""

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        ONE_FORM_OF_DIMENSIONS,
        {"dependentRequired": {"n_features": ["n_samples"], "n_samples": ["n_features"]}},
    )

    ratio: Ratio | None = Field(
        default=None, description="Aspect ratio c = p/n. Give it, or both `n_features` and `n_samples`.", examples=[0.5]
    )
    n_features: Count | None = Field(
        default=None, description="Number of features p (with `n_samples`; instead of `ratio`).", examples=[500]
    )
    n_samples: Count | None = Field(
        default=None, description="Number of samples n (with `n_features`; instead of `ratio`).", examples=[1000]
    )

    @model_validator(mode="after")
    def _one_form_of_dimensions(self) -> Self:
        check_one_form_of_dimensions(self.ratio, self.n_features, self.n_samples)
        return self

    @property
    def aspect_ratio(self) -> float:
        """c = p/n, whichever form was given."""
        if self.ratio is not None:
            return self.ratio
        return self.n_features / self.n_samples  # type: ignore[operator]  # both counts are set when `ratio` is not (the one-form validator)


class PointsMixin(RequestModel):
    """Real evaluation points, as a list `x` or a `grid`: exactly one form."""

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (
        {"oneOf": [{**present("x"), "not": present("grid")}, {**present("grid"), "not": present("x")}]},
    )

    x: list[float] | None = Field(
        default=None,
        max_length=MAX_POINTS,
        description="Points at which to evaluate (instead of `grid`).",
        examples=[[0.5, 1.0, 2.0]],
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
        return self.x if self.x is not None else self.grid.points()  # type: ignore[union-attr]  # `grid` is set when `x` is not (the one-form validator)

    @property
    def n_points(self) -> int:
        """How many points were asked for, without building them."""
        return len(self.x) if self.x is not None else self.grid.num  # type: ignore[union-attr]  # `grid` is set when `x` is not (the one-form validator)


class ComplexNumber(RequestModel):
    """A complex number z = re + i·im."""

    re: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, description="Real part.", examples=[1.0])
    im: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, description="Imaginary part.", examples=[0.5])


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
    diagnostics: Diagnostics | None = Field(
        default=None, description="Solver diagnostics where a solver iterates; null for closed forms."
    )


MAX_POPULATION_ATOMS = 100_000


class Population(RequestModel):
    """A discrete population spectrum H = Σ_k w_k δ_{t_k} (eigenvalues t_k of Σ with weights w_k)."""

    eigenvalues: list[Annotated[float, Field(gt=0, le=1e12)]] = Field(
        min_length=1,
        max_length=MAX_POPULATION_ATOMS,
        description="Population eigenvalues t_k > 0 (capped by the setting `max_population_atoms`).",
        examples=[[1.0, 3.0, 10.0]],
    )
    weights: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        min_length=1,
        max_length=MAX_POPULATION_ATOMS,
        description="Weights w_k > 0 of the eigenvalues (fractions of p), summing to 1 within 1e-9.",
        examples=[[0.5, 0.3, 0.2]],
    )

    @model_validator(mode="after")
    def _a_probability(self) -> Self:
        if len(self.weights) != len(self.eigenvalues):
            raise PydanticCustomError(
                "same_length",
                "`weights` must have one entry per eigenvalue ({w} weights, {t} eigenvalues)",
                {"w": len(self.weights), "t": len(self.eigenvalues)},
            )
        total = math.fsum(self.weights)
        if abs(total - 1.0) > 1e-9:
            raise PydanticCustomError(
                "sums_to_one", "`weights` must sum to 1 within 1e-9, got {total}", {"total": total}
            )
        return self


# Union members are tagged with names that are not Python identifiers (they contain "-" or "="), so
# that the error handler can drop them from a field's path: field names are always identifiers.


def _shape_of(value: object) -> str:
    if isinstance(value, (dict, Grid)):
        return "grid-of-values"
    if isinstance(value, list):
        return "list-of-values"
    return "one-value"


def one_or_many(item: object, *, max_length: int = MAX_POINTS) -> object:
    """A field that takes one value, a list of values, or a `Grid`.

    The union is discriminated by the JSON shape, so an invalid value gets one error about the
    shape it was given (not one per union member).
    """
    return Annotated[
        Annotated[item, Tag("one-value")]
        | Annotated[list[item], Field(min_length=1, max_length=max_length), Tag("list-of-values")]  # type: ignore[valid-type]  # `item` is a type passed at run time
        | Annotated[Grid, Tag("grid-of-values")],
        Discriminator(_shape_of),
    ]


def kind_union(*members: type[RequestModel]) -> object:
    """A union of request models told apart by their `kind` field (a ``Literal``).

    Like ``Field(discriminator="kind")``, but its members are tagged ``kind=<value>`` so that a field
    inside one is reported as ``data.y``, not ``data.inline.y``, and an unknown `kind` gets one error
    naming `kind` and the values it may take.
    """
    kinds = {get_args(member.model_fields["kind"].annotation)[0]: member for member in members}

    def tag_of(value: object) -> str | None:
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        return f"kind={kind}" if isinstance(kind, str) and kind in kinds else None

    choices = ", ".join(f"`{kind}`" for kind in kinds)
    return Annotated[
        Union[tuple(Annotated[member, Tag(f"kind={kind}")] for kind, member in kinds.items())],  # noqa: UP007  (a Union over a tuple built at runtime: `X | Y` cannot splat it)
        Discriminator(
            tag_of, custom_error_type="unknown_kind", custom_error_message=f"`kind` must be one of {choices}"
        ),
    ]
