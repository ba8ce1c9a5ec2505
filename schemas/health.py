"""Health and readiness responses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas._base import ResponseModel


class HealthResponse(ResponseModel):
    """The process is up."""

    status: Literal["ok"] = Field(description="Always `ok` when the process answers.", examples=["ok"])
    version: str = Field(description="Service version.", examples=["0.1.0"])


class ReadinessResponse(ResponseModel):
    """The service can take requests (its lifespan start-up has completed)."""

    status: Literal["ready", "starting"] = Field(description="`ready` once start-up has completed.", examples=["ready"])
