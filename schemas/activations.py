"""The activation σ of a random-features or network request, as the contract writes it.

Shared by every topic with a random layer (random features, conjugate kernel, one-step gradient).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self, get_args

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from schemas._base import RequestModel, absent

#: Largest magnitude of an activation parameter (and of a data entry).
MAX_VALUE = 1e6

ActivationName = Literal[
    "linear",
    "relu",
    "abs",
    "leaky_relu",
    "quadratic",
    "erf",
    "sign",
    "step",
    "cos",
    "sin",
    "gaussian",
    "tanh",
    "sigmoid",
    "gelu",
    "softplus",
    "swish",
]
_PARAMETERS = {"leaky_relu": ("negative_slope",), "quadratic": ("a", "b", "c")}
_ALL_PARAMETERS = ("negative_slope", "a", "b", "c")


def _parameters_rule() -> dict:
    """JSON Schema: each activation takes only its own parameters (one branch per parameter set)."""
    names = list(get_args(ActivationName))
    branches = [
        {"properties": {"name": {"const": name}}, **absent(*(f for f in _ALL_PARAMETERS if f not in fields))}
        for name, fields in _PARAMETERS.items()
    ]
    plain = [name for name in names if name not in _PARAMETERS]
    branches.append({"properties": {"name": {"enum": plain}}, **absent(*_ALL_PARAMETERS)})
    return {"oneOf": branches}


class ActivationSpec(RequestModel):
    """An entrywise activation σ of the catalogue and its parameters, e.g. `{"name": "leaky_relu", "negative_slope": 0.1}`."""

    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = (_parameters_rule(),)

    name: ActivationName = Field(
        description="σ: closed-form kernels `linear`, `relu`, `abs`, `leaky_relu` (max(t,0) + α min(t,0)), "
        "`quadratic` (a t² + b t + c), `erf`, `sign`, `step` (1_{t>0}), `cos`, `sin`, `gaussian` (exp(−t²/2)); "
        "Hermite-series kernels (error bound reported) `tanh`, `sigmoid`, `gelu` (t Φ(t)), `softplus`, `swish` (t·sigmoid(t)).",
        examples=["relu"],
    )
    negative_slope: float | None = Field(
        default=None,
        ge=-MAX_VALUE,
        le=MAX_VALUE,
        description="α, slope for t < 0 of `leaky_relu` only (default 0.01).",
        examples=[0.1],
    )
    a: float | None = Field(
        default=None,
        ge=-MAX_VALUE,
        le=MAX_VALUE,
        description="Coefficient a of t² for `quadratic` only (default 1).",
        examples=[1.0],
    )
    b: float | None = Field(
        default=None,
        ge=-MAX_VALUE,
        le=MAX_VALUE,
        description="Coefficient b of t for `quadratic` only (default 0).",
        examples=[0.0],
    )
    c: float | None = Field(
        default=None,
        ge=-MAX_VALUE,
        le=MAX_VALUE,
        description="Constant c for `quadratic` only (default 0).",
        examples=[0.0],
    )

    @model_validator(mode="after")
    def _parameters_of_this_activation(self) -> Self:
        allowed = _PARAMETERS.get(self.name, ())
        for field in ("negative_slope", "a", "b", "c"):
            if getattr(self, field) is not None and field not in allowed:
                raise PydanticCustomError(
                    "unexpected_parameter",
                    "`{field}` is not a parameter of activation '{name}'",
                    {"field": field, "name": self.name},
                )
        return self

    def parameters(self) -> dict[str, float]:
        """The parameters that were given (the solver fills in the defaults)."""
        return {k: getattr(self, k) for k in _PARAMETERS.get(self.name, ()) if getattr(self, k) is not None}
