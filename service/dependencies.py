"""`Annotated` dependency aliases used by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.compute import Compute
from service.jobs.manager import JobManager
from service.settings import Settings


# `async def` on purpose: FastAPI runs plain `def` dependencies in the thread pool, which cost
# two thread hops per request for what is an attribute lookup.
async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_compute(request: Request) -> Compute:
    """The app's bounded compute pool (inline, threads or worker processes)."""
    return request.app.state.compute


async def get_jobs(request: Request) -> JobManager:
    """The app's job manager (created in the lifespan)."""
    return request.app.state.jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
ComputeDep = Annotated[Compute, Depends(get_compute)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
