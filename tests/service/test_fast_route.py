"""FastJSONRoute (service/fast_route.py) answers exactly as FastAPI's general handler would.

The lean handler serves every one-JSON-body prediction route; FastAPI's handler still serves any app
with ``dependency_overrides`` set, which is how these tests get the reference answer for the same
request: status, media type and body must be equal, for valid bodies and for each kind of invalid one.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.dependencies.utils import get_dependant
from starlette.requests import Request

from service.fast_route import AppState, FastJSONRoute, _simple_dependencies

pytestmark = pytest.mark.anyio


def _lean_routes(app) -> list:
    """(path, example body) of every route the lean handler serves, from its request model's example."""
    routes = []
    for route in _all_routes(app):
        if isinstance(route, FastJSONRoute) and route.lean:
            model = route.dependant.body_params[0].field_info.annotation
            examples = (getattr(model, "model_config", {}).get("json_schema_extra") or {}).get("examples") or [None]
            routes.append((route.path, examples[0]))
    return routes


def _all_routes(app):
    """Every APIRoute, including those of included routers (FastAPI ≥ 0.165 keeps routers nested)."""
    for route in app.routes:
        original = getattr(route, "original_router", None)
        yield from (original.routes if original is not None else [route])


def _unused_dependency() -> None:  # pragma: no cover - never called: only its presence matters
    raise AssertionError


async def _both(app, client, path: str, content: bytes, headers: dict[str, str] | None = None) -> tuple:
    """The answer of the lean handler, then FastAPI's general handler's, to the same request."""
    headers = {"content-type": "application/json", **(headers or {})}
    lean = await client.post(path, content=content, headers=headers)
    app.dependency_overrides[_unused_dependency] = _unused_dependency
    try:
        general = await client.post(path, content=content, headers=headers)
    finally:
        app.dependency_overrides.clear()
    return lean, general


def _same(lean, general) -> None:
    assert lean.status_code == general.status_code, (lean.text, general.text)
    assert lean.headers["content-type"] == general.headers["content-type"]
    assert json.loads(lean.content) == json.loads(general.content)


def test_the_prediction_routes_are_served_lean(app):
    paths = {path for path, _ in _lean_routes(app)}
    assert {"/v1/spectra/marchenko-pastur", "/v1/spectra/sample-covariance"} <= paths
    assert len(paths) >= 15, sorted(paths)  # every one-body prediction route, not one by accident


async def test_valid_bodies_give_the_same_answer(app, client):
    checked = 0
    for path, example in _lean_routes(app):
        if example is None or path.startswith("/v1/simulations") or path == "/v1/batch":
            continue  # (a job id or per-item request ids differ between any two calls)
        lean, general = await _both(app, client, path, json.dumps(example).encode())
        assert lean.status_code == 200, (path, lean.text)
        _same(lean, general)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body: {},  # every required field missing
        lambda body: [body],  # not an object
        lambda body: "text",
        lambda body: {**body, "unknown_field": 1},  # extra keys are refused
        lambda body: {key: "0.5" for key in body},  # strings where numbers are due (strict types)
        lambda body: {key: math.nan for key in body},  # NaN passes the JSON check; the models refuse it
    ],
    ids=["empty", "array", "string", "extra-key", "strings", "nan"],
)
async def test_invalid_bodies_give_the_same_problem(app, client, mutate):
    for path, example in _lean_routes(app):
        if example is None:
            continue
        content = json.dumps(mutate(example)).encode()
        lean, general = await _both(app, client, path, content)
        assert lean.status_code in (400, 422), (path, lean.text)
        _same(lean, general)


async def test_the_request_is_validated_after_the_dependencies_as_in_fastapi(app, client):
    # An empty body is left to FastAPI's handler, which names the missing body.
    response = await client.post(
        "/v1/spectra/marchenko-pastur", content=b"", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_lean_routes_are_called_without_fastapis_request_wrapper(app):
    # (FastJSONRoute._direct replaces `request_response` for lean routes: see its docstring)
    lean = [route for route in _all_routes(app) if isinstance(route, FastJSONRoute) and route.lean]
    assert lean and all(route.app.__qualname__ == "_direct.<locals>.app" for route in lean)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        # raised by the endpoint after validation (the settings' cap of 10 000 points): the problem handlers map it
        ({"ratio": 0.5, "grid": {"start": 0.0, "stop": 1.0, "num": 20_000}}, {}, 422),
        # raised by content negotiation, before the endpoint
        ({"ratio": 0.5, "x": [1.0]}, {"accept": "text/html"}, 406),
        # another representation, rendered from the JSON answer
        ({"ratio": 0.5, "x": [1.0, 2.0]}, {"accept": "text/csv"}, 200),
    ],
    ids=["cap", "not-acceptable", "csv"],
)
async def test_errors_and_representations_of_lean_routes_match_fastapis(app, client, body, headers, status):
    lean, general = await _both(app, client, "/v1/spectra/marchenko-pastur", json.dumps(body).encode(), headers)
    assert lean.status_code == general.status_code == status, lean.text
    assert lean.headers["content-type"] == general.headers["content-type"]
    assert lean.headers.get("vary") == general.headers.get("vary")
    assert lean.content == general.content
    if status == 422:
        assert lean.json()["type"].endswith("limit-exceeded"), lean.text


async def test_an_app_state_dependency_is_read_on_every_request(app, client):
    # The lean handler reads `app.state.settings` itself (AppState): a new value applies to the next request,
    # as it does through FastAPI's handler, which calls the dependency.
    body = json.dumps({"ratio": 0.5, "x": [0.5, 1.0, 1.5]}).encode()
    headers = {"content-type": "application/json"}
    original = app.state.settings
    assert (await client.post("/v1/spectra/marchenko-pastur", content=body, headers=headers)).status_code == 200
    app.state.settings = original.model_copy(update={"max_points": 2})
    try:
        lean, general = await _both(app, client, "/v1/spectra/marchenko-pastur", body)
    finally:
        app.state.settings = original
    assert lean.status_code == general.status_code == 422, lean.text
    assert lean.json() == general.json()
    assert lean.json()["errors"][0]["field"] == "x" and "at most 2" in lean.json()["detail"]
    assert (await client.post("/v1/spectra/marchenko-pastur", content=body, headers=headers)).status_code == 200


_OUTER_CALLS: list[int] = []


async def _outer(limit: Annotated[int, Depends(AppState("limit"))]) -> int:
    _OUTER_CALLS.append(limit)
    return limit + 1


async def _endpoint(value: Annotated[int, Depends(_outer)], limit: Annotated[int, Depends(AppState("limit"))]):
    raise AssertionError  # pragma: no cover - only its signature matters


async def test_an_app_state_dependency_of_a_dependency_is_read_not_called():
    class State:
        limit = 41

    class App:
        state = State()

    plan = _simple_dependencies(get_dependant(path="/", call=_endpoint))
    assert plan is not None and [name for name, _ in plan] == ["value", "limit"]
    (_, value), (_, limit) = plan
    assert limit.attribute == "limit" and value.attribute is None
    assert value.needs[0][1].attribute == "limit"
    request = Request({"type": "http", "app": App(), "headers": [], "method": "POST", "path": "/"})
    _OUTER_CALLS.clear()
    assert await value.solve(request, {}) == 42 and _OUTER_CALLS == [41]
    assert await limit.solve(request, {}) == 41
    # FastAPI's handler calls it like any dependency of the request: the same value.
    assert await AppState("limit")(request) == 41 and repr(AppState("limit")) == "AppState('limit')"
