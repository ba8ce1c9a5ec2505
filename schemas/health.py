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
    """The service can take requests: start-up has completed and, with a remote Dask scheduler, it is reachable."""

    status: Literal["ready", "starting", "stopping", "degraded"] = Field(
        description="`ready` once start-up has completed; `starting` (503) before; `stopping` (503) from the "
        "exit signal (SIGTERM, SIGINT) on, while requests in progress are answered; `degraded` (503) while the "
        "configured Dask scheduler is unreachable: predictions are still served, simulation jobs wait.",
        examples=["ready"],
    )
    reason: str | None = Field(
        default=None,
        description="Why the service is not ready (null when ready).",
        examples=["Dask scheduler tcp://scheduler:8786 unreachable: ConnectionRefusedError"],
    )
