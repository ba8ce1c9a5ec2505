"""Monte Carlo simulation jobs: `/v1/simulations`. Routes only call the app's `JobManager`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from schemas.jobs import JobStatus, SimulationJob, SimulationJobList, SimulationKind
from schemas.problem import PROBLEM_MEDIA_TYPE, Problem
from service.auth import PrincipalDep
from service.dependencies import JobsDep
from service.jobs.kinds import KINDS, SimulationRequest
from service.jobs.manager import MAX_WAIT_SECONDS
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No job with this id.", "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
}

_NOT_SUPERVISOR: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Another API process supervises the jobs (run one worker).",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }
}

_NO_STORAGE: dict[int | str, dict[str, Any]] = {
    507: {
        "description": "The job store cannot be written (disk full or read-only); nothing was stored.",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }
}

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The job is queued or running: cancel it first.",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }
}

router = APIRouter(
    prefix="/v1/simulations", tags=["simulations"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute
)


@router.post(
    "",
    status_code=202,
    operation_id="submitSimulation",
    summary="Submit a Monte Carlo check of a prediction (202 + Location of the job)",
    responses={
        **_NOT_SUPERVISOR,
        **_NO_STORAGE,
        202: {"headers": {"Location": {"description": "Path of the job resource.", "schema": {"type": "string"}}}},
    },
)
async def submit_simulation(
    request: SimulationRequest, response: Response, jobs: JobsDep, principal: PrincipalDep
) -> SimulationJob:
    """Accept a job: the body is the model of its `kind`, whose `params` is that endpoint's request; the prediction is
    computed now, trials run on Dask."""
    job = await jobs.submit(request.root, owner=principal.name)
    response.headers["Location"] = f"/v1/simulations/{job.id}"
    return job


@router.get("", operation_id="listSimulations", summary="List simulation jobs, newest first")
async def list_simulations(
    jobs: JobsDep,
    principal: PrincipalDep,
    status: Annotated[
        list[JobStatus] | None, Query(description="Only jobs with one of these statuses (repeatable).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Jobs to skip.")] = 0,
) -> SimulationJobList:
    """A page of the caller's jobs; `next` is the path of the following page."""
    return await jobs.page(statuses=status, limit=limit, offset=offset, owner=principal.name)


@router.get("/kinds", operation_id="listSimulationKinds", summary="The simulation kinds this service runs")
async def list_simulation_kinds() -> list[SimulationKind]:
    """Every `kind` accepted by `POST /v1/simulations`, with the schema its `params` must satisfy."""
    return [
        SimulationKind(kind=name, params_schema=kind.params.__name__, description=kind.description)
        for name, kind in KINDS.items()
    ]


@router.get(
    "/{job_id}", operation_id="getSimulation", summary="Status, progress and result of a job", responses=_NOT_FOUND
)
async def get_simulation(
    job_id: str,
    jobs: JobsDep,
    principal: PrincipalDep,
    wait_seconds: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description=(
                "Long poll: while the job is `accepted` or `running`, hold the answer until it ends (`successful`, "
                f"`failed`, `dismissed`) or for this many seconds, whichever comes first (at most {MAX_WAIT_SECONDS:g}). "
                "0 answers at once. A client waiting for a result repeats this request instead of polling."
            ),
            examples=[10],
        ),
    ] = 0.0,
) -> SimulationJob:
    """The job resource; `result` once `successful`, `error` (problem+json) once `failed`. With `wait_seconds`, an
    unfinished job is answered when it ends or when the wait is over."""
    return await jobs.get(job_id, owner=principal.name, wait=wait_seconds)


@router.post(
    "/{job_id}/cancel",
    operation_id="cancelSimulation",
    summary="Cancel a queued or running job (idempotent; a finished job is left as it is)",
    responses={**_NOT_FOUND, **_NOT_SUPERVISOR, **_NO_STORAGE},
)
async def cancel_simulation(job_id: str, jobs: JobsDep, principal: PrincipalDep) -> SimulationJob:
    """Queued/running: `dismissed` (running chunks stop within about a second). Finished: unchanged. Answers the job."""
    return await jobs.cancel(job_id, owner=principal.name)


@router.delete(
    "/{job_id}",
    operation_id="deleteSimulation",
    summary="Delete a finished job and its result (409 while it is queued or running)",
    status_code=204,
    responses={**_NOT_FOUND, **_CONFLICT, **_NO_STORAGE, 204: {"description": "The job and its result were deleted."}},
)
async def delete_simulation(job_id: str, jobs: JobsDep, principal: PrincipalDep) -> None:
    """Finished (`successful`, `failed`, `dismissed`): deleted with its chunks. Unfinished: 409 — cancel first."""
    await jobs.delete(job_id, owner=principal.name)
