"""Monte Carlo simulation jobs: `/v1/simulations`. Routes only call the app's `JobManager`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from schemas.jobs import JobStatus, SimulationJob, SimulationJobList, SimulationKind, SimulationRequest
from schemas.problem import PROBLEM_MEDIA_TYPE, Problem
from service.jobs.kinds import KINDS
from service.dependencies import JobsDep
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute



_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No job with this id.", "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
}

_NOT_SUPERVISOR: dict[int | str, dict[str, Any]] = {
    503: {"description": "Another API process supervises the jobs (run one worker).", "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
}

router = APIRouter(prefix="/v1/simulations", tags=["simulations"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)


@router.post(
    "",
    status_code=202,
    operation_id="submitSimulation",
    summary="Submit a Monte Carlo check of a prediction (202 + Location of the job)",
    responses={**_NOT_SUPERVISOR, 202: {"headers": {"Location": {"description": "Path of the job resource.", "schema": {"type": "string"}}}}},
)
async def submit_simulation(request: SimulationRequest, response: Response, jobs: JobsDep) -> SimulationJob:
    """Accept a job: `params` is validated by the schema of `kind`, the prediction is computed now, trials run on Dask."""
    job = await jobs.submit(request)
    response.headers["Location"] = f"/v1/simulations/{job.id}"
    return job


@router.get("", operation_id="listSimulations", summary="List simulation jobs, newest first")
async def list_simulations(
    jobs: JobsDep,
    status: Annotated[list[JobStatus] | None, Query(description="Only jobs with one of these statuses (repeatable).")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Jobs to skip.")] = 0,
) -> SimulationJobList:
    """A page of jobs; `next` is the path of the following page."""
    return await jobs.page(statuses=status, limit=limit, offset=offset)


@router.get("/kinds", operation_id="listSimulationKinds", summary="The simulation kinds this service runs")
async def list_simulation_kinds() -> list[SimulationKind]:
    """Every `kind` accepted by `POST /v1/simulations`, with the schema its `params` must satisfy."""
    return [SimulationKind(kind=name, params_schema=kind.params.__name__, description=kind.description) for name, kind in KINDS.items()]


@router.get("/{job_id}", operation_id="getSimulation", summary="Status, progress and result of a job", responses=_NOT_FOUND)
async def get_simulation(job_id: str, jobs: JobsDep) -> SimulationJob:
    """The job resource; `result` once `successful`, `error` (problem+json) once `failed`."""
    return await jobs.get(job_id)


@router.delete(
    "/{job_id}",
    operation_id="dismissSimulation",
    summary="Cancel a queued or running job, or delete a finished one",
    responses={**_NOT_FOUND, **_NOT_SUPERVISOR, 204: {"description": "The finished job was deleted."}},
)
async def dismiss_simulation(job_id: str, jobs: JobsDep) -> SimulationJob | None:
    """Queued/running: cancelled (running chunks stop within a second), answered with the `dismissed` job.
    Finished: deleted with its chunks, 204."""
    job = await jobs.delete(job_id)
    if job is None:
        return Response(status_code=204)  # type: ignore[return-value]
    return job
