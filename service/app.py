"""The application factory: ``create_app(settings)`` builds a fully configured FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from service.auth import AuthenticationMiddleware, Authenticator
from service.compute import Compute
from service.datasets import DatasetStore
from service.docs import install_offline_docs
from service.exception_handlers import install_exception_handlers
from service.jobs.manager import JobManager
from service.logs import configure_logging
from service.middleware import RequestBodyMiddleware
from service.observability import install_observability
from service.openapi import install_openapi
from service.routers import ROUTERS, TAGS
from service.routing import include_flat, install_fixed_path_dispatch
from service.settings import Settings
from service.shutdown import on_exit_signals
from service.spectral_cache import SpectralCache
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
        # Here, not at import: uvicorn has configured its logging by now, and this takes it over.
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        # The job manager resumes unfinished jobs of an existing database now, but starts Dask
        # (a LocalCluster, or a client of RMT_DASK_SCHEDULER) only when a job needs it, so apps
        # that never run a simulation (most tests) pay nothing for it.
        app.state.auth.log_mode()
        app.state.datasets = await anyio.to_thread.run_sync(DatasetStore, settings.data_dir)
        jobs = JobManager(settings, datasets=app.state.datasets)
        app.state.jobs = jobs
        await jobs.start()
        app.state.phase = "ready"

        def stopping() -> None:
            # The server has begun to stop: load balancers should send no more requests (/readyz), and
            # the long polls answer now instead of holding the shutdown for their whole wait.
            app.state.phase = "stopping"
            jobs.stop_waiting()

        try:
            with on_exit_signals(stopping):
                yield
        finally:
            app.state.phase = "stopping"
            await jobs.close()
            app.state.datasets.close()
            app.state.compute.close()

    app = FastAPI(
        title="rmt-service",
        version=SERVICE_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served from local assets by install_offline_docs
        redoc_url=None,
        # FastAPI's native OpenTelemetry hooks look up providers on every request even when none is
        # configured (~6 µs of a ~200 µs closed-form answer, measured in-process); the service exports Prometheus metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.compute = Compute.from_settings(settings)
    app.state.auth = Authenticator(settings)
    app.state.spectral_cache = SpectralCache(max_bytes=settings.spectral_cache_bytes)
    #: What /readyz reports: "starting" until the lifespan has started, "ready", then "stopping" from
    #: the exit signal (or the lifespan's end) on.
    app.state.phase = "starting"
    install_exception_handlers(app)
    # Bodies are capped, then checked as strict JSON, in one layer. Data set uploads have their own cap
    # (counted by their route while the body streams) and their own media types.
    app.add_middleware(RequestBodyMiddleware, max_bytes=settings.max_body_bytes, exempt=("/v1/datasets",))
    # Outside the body checks: an unknown caller is refused before its body is read. Every path under
    # /v1/ needs a key once keys exist; the probes, /metrics and the docs stay open.
    app.add_middleware(AuthenticationMiddleware, authenticator=app.state.auth)
    install_observability(app)  # request ids, /metrics; after the other middleware, so it wraps them
    # Flat, not include_router: FastAPI walks included routers on every request (service/routing.py).
    for router in ROUTERS:
        include_flat(app, router)
    install_offline_docs(app)
    install_openapi(app)
    install_fixed_path_dispatch(app)  # last: it indexes every route registered above
    return app
