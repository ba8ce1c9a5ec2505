"""`Annotated` dependency aliases used by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.auth import PrincipalDep
from service.compute import Compute
from service.datasets import DatasetStore, resolve_data
from service.jobs.manager import JobManager
from service.settings import Settings
from service.spectral_cache import SpectralCache


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


class DataResolver:
    """Attaches the arrays of `{"kind": "dataset", "id"}` references for the calling key (404 naming `data.id`)."""

    def __init__(self, store: DatasetStore | None, owner: str) -> None:
        self.store = store
        self.owner = owner

    def __call__(self, model: object, *, prefix: str = "") -> None:
        resolve_data(model, self.store, owner=self.owner, prefix=prefix)


async def get_data_resolver(request: Request, principal: PrincipalDep) -> DataResolver:
    """Resolve data set references with the caller's key (a metadata read and memory-mapped arrays: sub-millisecond)."""
    return DataResolver(getattr(request.app.state, "datasets", None), principal.name)


async def get_spectral_cache(request: Request) -> SpectralCache:
    """The app's cache of random-features spectral decompositions."""
    return request.app.state.spectral_cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
DataResolverDep = Annotated[DataResolver, Depends(get_data_resolver)]
SpectralCacheDep = Annotated[SpectralCache, Depends(get_spectral_cache)]
ComputeDep = Annotated[Compute, Depends(get_compute)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
