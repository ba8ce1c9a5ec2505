"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from schemas.health import HealthResponse, ReadinessResponse
from service.problems import PROBLEM_RESPONSES
from service.version import SERVICE_VERSION

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    operation_id="getHealth",
    summary="Liveness: the process answers",
    responses={500: PROBLEM_RESPONSES[500]},
)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok", version=SERVICE_VERSION)


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness: start-up has completed",
    response_model=ReadinessResponse,
    responses={
        503: {
            "model": ReadinessResponse,
            "description": "Still starting, stopping, or the Dask scheduler is unreachable.",
        },
        500: PROBLEM_RESPONSES[500],
    },
)
async def readyz(request: Request) -> JSONResponse:
    phase = request.app.state.phase
    if phase != "ready":  # "starting" or "stopping"
        return JSONResponse({"status": phase}, status_code=503)
    reachable, reason = await request.app.state.jobs.runner.scheduler_reachable()
    if not reachable:
        return JSONResponse({"status": "degraded", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready"})
