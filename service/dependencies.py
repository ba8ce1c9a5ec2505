"""`Annotated` dependency aliases used by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.auth import PrincipalDep
from service.compute import Compute
from service.datasets import DatasetStore, resolve_data
from service.fast_route import AppState
from service.jobs.manager import JobManager
from service.settings import Settings
from service.spectral_cache import SpectralCache


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


# The app's parts, made in `create_app` and its lifespan, are attributes of `app.state`: an `AppState`
# dependency reads one (an `async def` as FastAPI runs it: a plain `def` would cost two thread hops per
# request for an attribute lookup; the lean handler of service/fast_route.py reads it without a call).
#: The settings the app was created with.
SettingsDep = Annotated[Settings, Depends(AppState("settings"))]
#: The app's bounded compute pool (inline, threads or worker processes).
ComputeDep = Annotated[Compute, Depends(AppState("compute"))]
#: The app's job manager (created in the lifespan).
JobsDep = Annotated[JobManager, Depends(AppState("jobs"))]
#: The app's cache of random-features spectral decompositions.
SpectralCacheDep = Annotated[SpectralCache, Depends(AppState("spectral_cache"))]
DataResolverDep = Annotated[DataResolver, Depends(get_data_resolver)]
