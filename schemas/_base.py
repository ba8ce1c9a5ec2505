"""Base models of the HTTP contract.

Requests forbid unknown fields and refuse NaN/Infinity at parse time, so every value that reaches
a solver is finite and named. They are strict about JSON types: `"0.5"` and `true` are not numbers,
`1.0` is not an integer (an integer is accepted where a float is expected). Responses also refuse non-finite floats: a divergent prediction is
``null`` with its reason in ``notes``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Base of every request body: strict about unknown fields, non-finite numbers and JSON types."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)


class ResponseModel(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
