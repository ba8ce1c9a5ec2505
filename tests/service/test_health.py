"""Liveness and readiness probes, and the problem shape of unknown routes and unexpected errors."""

from __future__ import annotations

import httpx
import pytest

from service.app import create_app
from service.version import SERVICE_VERSION
from tests.conftest import isolated_settings

pytestmark = pytest.mark.anyio


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "version": SERVICE_VERSION}


async def test_readyz_after_startup(client):
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_readyz_before_startup():
    app = create_app(isolated_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/readyz")
    assert response.status_code == 503 and response.json() == {"status": "starting"}


async def test_unknown_route_is_a_problem(client):
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:rmt-service:problem:not-found"


async def test_unexpected_error_is_a_500_without_internals():
    app = create_app(isolated_settings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:rmt-service:problem:internal-error"
    assert "secret" not in response.text and "RuntimeError" not in response.text
