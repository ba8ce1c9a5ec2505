"""Shared fixtures: an app built in-process for each test module, and an httpx client on it."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.settings import Settings


def isolated_settings(**overrides) -> Settings:
    """Settings with a fresh job database: tests never share or leave behind simulation jobs."""
    folder = Path(tempfile.mkdtemp(prefix="rmt-test-"))
    return Settings(**{"jobs_database": str(folder / "jobs.sqlite3"), "data_dir": str(folder / "data"), **overrides})


@pytest.fixture(scope="module")
def settings() -> Settings:
    return isolated_settings()


@pytest.fixture(scope="module")
def app(settings: Settings) -> Iterator:
    yield create_app(settings)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: an unexpected error must reach the client as a 500 problem.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http
