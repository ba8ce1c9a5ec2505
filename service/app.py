"""The application factory: ``create_app(settings)`` builds a fully configured FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.compute import Compute
from service.docs import install_offline_docs
from service.exception_handlers import install_exception_handlers
from service.jobs.manager import JobManager
from service.middleware import BodySizeLimitMiddleware
from service.openapi import install_openapi
from service.routers import ROUTERS, TAGS
from service.settings import Settings
from service.strict_json import StrictJSONMiddleware
from service.version import SERVICE_VERSION

DESCRIPTION = """\
Predictions about large machine-learning models from random matrix theory: limiting spectra,
deterministic equivalents, train/test errors, without training anything.

Every error is `application/problem+json` (RFC 9457). Formulas and conventions: `docs/` and the
`provenance.reference` of every answer.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service with ``settings`` (read from ``RMT_*`` environment variables if omitted)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The job manager resumes unfinished jobs of an existing database now, but starts Dask
        # (a LocalCluster, or a client of RMT_DASK_SCHEDULER) only when a job needs it, so apps
        # that never run a simulation (most tests) pay nothing for it.
        jobs = JobManager(settings)
        app.state.jobs = jobs
        await jobs.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await jobs.close()

    app = FastAPI(
        title="rmt-service",
        version=SERVICE_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by install_offline_docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.compute = Compute(inline_cost_limit=settings.inline_cost_limit)
    app.state.ready = False
    install_exception_handlers(app)
    # Added first, so it runs inside the size cap: it only ever buffers a body of bounded size.
    app.add_middleware(StrictJSONMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    install_offline_docs(app)
    install_openapi(app)
    return app
