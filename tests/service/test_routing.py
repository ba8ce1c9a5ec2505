"""Flat route registration and fixed-path dispatch (service/routing.py) change nothing but the speed.

* The OpenAPI document is the one ``include_router`` builds, key for key.
* Every (path, method) in the dispatch table is the route the router's own scan matches.
* Requests the table does not hold (path parameters, unknown paths, a method the path lacks) are
  answered by the router as before; requests it holds never reach the router.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

import service.app
from service.app import create_app
from service.routing import FixedPathDispatch, matched_route

pytestmark = pytest.mark.anyio


def _dispatch(app: FastAPI) -> FixedPathDispatch:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, FixedPathDispatch)
    return dispatch


def test_the_openapi_document_is_the_one_include_router_builds(settings, monkeypatch):
    flat = create_app(settings).openapi()
    monkeypatch.setattr(service.app, "include_flat", lambda app, router: app.include_router(router))
    nested_app = create_app(settings)
    assert flat == nested_app.openapi()


def test_the_table_holds_every_fixed_path_operation_and_agrees_with_the_router(app):
    table = _dispatch(app).table
    fixed = {
        (route.path, method)
        for route in app.router.routes
        if isinstance(route, APIRoute) and not route.param_convertors  # (/openapi.json is a plain Route)
        for method in route.methods or ()
    }
    assert {(path, method) for path, methods in table.items() for method in methods} == fixed
    assert ("/v1/spectra/marchenko-pastur", "POST") in fixed and ("/v1/batch", "POST") in fixed
    for path, methods in table.items():
        for method, route in methods.items():
            scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
            assert matched_route(app.router, scope) is route, (path, method)


async def test_a_fixed_path_request_never_reaches_the_router(app, client, monkeypatch):
    dispatch = _dispatch(app)

    async def router_must_not_run(scope, receive, send):  # pragma: no cover - failing the test is its use
        raise AssertionError(f"{scope['method']} {scope['path']} went to the router")

    monkeypatch.setattr(dispatch, "app", router_must_not_run)
    answer = await client.post("/v1/spectra/marchenko-pastur", json={"ratio": 0.5, "x": [0.0, 1.0, 4.0]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["x"] == [0.0, 1.0, 4.0]
    invalid = await client.post("/v1/spectra/marchenko-pastur", json={"ratio": -1.0, "x": [1.0]})
    assert invalid.status_code == 422  # (the route's exception handling is the app's, as through the router)
    assert invalid.headers["content-type"] == "application/problem+json"


async def test_requests_outside_the_table_are_the_router_s(client):
    wrong_method = await client.get("/v1/spectra/marchenko-pastur")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["allow"]
    unknown = await client.post("/v1/spectra/no-such-law", json={})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    with_parameter = await client.get("/v1/simulations/does-not-exist")
    assert with_parameter.status_code == 404
    assert with_parameter.headers["content-type"] == "application/problem+json"
