"""Base models of the HTTP contract.

Requests forbid unknown fields and refuse NaN/Infinity at parse time, so every value that reaches
a solver is finite and named. Responses also refuse non-finite floats: a divergent prediction is
``null`` with its reason in ``notes``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Base of every request body: strict about unknown fields and non-finite numbers."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class ResponseModel(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
