"""A leaner request handler for the routes that take one JSON body and a few app-state dependencies.

FastAPI's general handler resolves every parameter through its dependency solver, which is built
for everything FastAPI supports (scopes, generators, overrides, forms, security scopes, …). For a
prediction route that declares a request model, the settings and the compute pool, that machinery
cost about 60 µs per request: the Marchenko–Pastur example went from 294 to 237 µs in-process when
this handler replaced it (issue 13).

:class:`FastJSONRoute` serves such a route by doing only what the route needs, in FastAPI's order
and with FastAPI's own validation and serialisation functions, so the answers are the same bytes
and the errors the same ``RequestValidationError``:

1. run the dependencies (each an ``async def`` of the request alone, or of other such
   dependencies; one call per dependency per request, as FastAPI's cache does), and read those
   that are an attribute of ``app.state`` (:class:`AppState`) directly;
2. parse the body with ``json.loads`` and validate it with the body field's own ``validate``
   (``loc`` prefixed with ``"body"``);
3. await the endpoint, then serialise its return value with FastAPI's ``serialize_response``
   (pydantic's ``dump_json`` for the response model) into a JSON response with the route's status;
   an instance of the response model itself is written by the model's own serializer, which is
   what ``serialize_response`` ends up doing for it.

The route's ASGI app then calls this handler directly (:func:`_direct`), without the wrapping of
FastAPI's ``request_response`` (exit stacks for ``yield`` dependencies and uploads, none of which a
lean route has, and a second, route-level exception mapping).

A route qualifies when this is *all* it needs, which is decided once, when the route is built (see
:func:`_simple_dependencies`). Anything else (path, query, header or cookie parameters, a
``Response`` or ``BackgroundTasks`` parameter, a generator dependency, a response model option,
a custom response class) keeps FastAPI's handler. At request time, a request whose body is empty,
not labelled JSON or not JSON, and any app with ``dependency_overrides`` set (tests), also go to
FastAPI's handler, which answers them exactly as it always has.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, serialize_response
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service.strict_json import JSON_DOCUMENT, is_json_media_type

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_UNPARSED = object()


class FastJSONRoute(APIRoute):
    """An `APIRoute` that serves a one-JSON-body route without FastAPI's general dependency solver."""

    #: Whether the lean handler serves this route (set when its handler is built).
    lean: bool = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.lean and self.max_body_size is None:
            self.app = _direct(self.get_route_handler(), general=self.app)

    def get_route_handler(self) -> Handler:
        general = super().get_route_handler()
        plan = _plan(self)
        self.lean = plan is not None and not _included_with_more(self)
        if plan is None or not self.lean:  # (`plan is None` again only for the type checker)
            return general
        body_field, dependencies, request_name = plan
        # (read first: an attribute of app.state has no side effect, so the order does not matter)
        state_reads = tuple((name, dependency.attribute) for name, dependency in dependencies if dependency.attribute)
        calls = tuple((name, dependency) for name, dependency in dependencies if not dependency.attribute)
        endpoint = self.dependant.call
        assert endpoint is not None
        response_field = self.response_field
        response_model = self.response_model if _serialized_as_is(self.response_model) else None
        status_code = self.status_code or 200

        async def handle(request: Request) -> Response:
            if request.app.dependency_overrides:
                return await general(request)
            document = request.scope.get(JSON_DOCUMENT, _UNPARSED)  # (RequestBodyMiddleware's parse)
            if document is _UNPARSED:
                body = await request.body()  # (cached on the request: the general handler can read it again)
                if not body or not is_json_media_type(request.headers.get("content-type")):
                    return await general(request)
                try:
                    document = json.loads(body)
                except ValueError:  # (the middleware refuses these first; FastAPI words the error otherwise)
                    return await general(request)
            values: dict[str, Any] = {}
            if state_reads:
                state = request.scope["app"].state
                for name, attribute in state_reads:
                    values[name] = getattr(state, attribute)
            solved: dict[Any, Any] = {}
            for name, dependency in calls:
                values[name] = await dependency.solve(request, solved)
            if request_name is not None:
                values[request_name] = request
            model, errors = body_field.validate(document, {}, loc=("body",))
            if errors:
                raise RequestValidationError(errors, body=document)
            values[body_field.name] = model
            raw = await endpoint(**values)
            if isinstance(raw, Response):
                return raw
            if type(raw) is response_model:
                # What serialize_response does with an instance of the response model itself: its validation
                # returns the instance unchanged (`revalidate_instances="never"`, see _serialized_as_is), then
                # the model's serializer writes it by alias. Without the TypeAdapter call around it: 3.3
                # instead of 4.9 µs for a Marchenko–Pastur answer.
                content = raw.__pydantic_serializer__.to_json(raw, by_alias=True)
            else:
                content = await serialize_response(field=response_field, response_content=raw, dump_json=True)
            return Response(content=content, media_type="application/json", status_code=status_code)

        return handle


def _direct(handler: Handler, *, general: ASGIApp) -> ASGIApp:
    """The route's ASGI app: ``handler`` called directly on a request whose document the body middleware parsed.

    FastAPI's ``request_response`` wraps every handler in two ``AsyncExitStack`` contexts (for
    dependencies with ``yield`` and uploaded files) and in Starlette's exception mapping; a lean route
    has neither kind of dependency, and an exception it raises reaches the app's ``ExceptionMiddleware``,
    which maps it with the same handlers. That wrapping cost ~9 µs of a ~130 µs closed-form answer
    (in-process, issue 13). Any other request (no parsed document, or ``dependency_overrides`` set)
    goes through FastAPI's app, ``general``, unchanged.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if JSON_DOCUMENT not in scope or scope["app"].dependency_overrides:
            await general(scope, receive, send)
            return
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


class AppState:
    """A dependency whose value is one attribute of the app's ``state``: ``Depends(AppState("settings"))``.

    FastAPI calls it as it calls any ``async def`` dependency of the request. The lean handler reads
    the attribute itself, on every request as FastAPI would, but without a coroutine and the
    ``Request.app`` property: for the two such dependencies of a prediction route (the settings and
    the compute pool) 1.0 instead of 3.3 µs in a loop (issue 13).
    """

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    async def __call__(self, request: Request) -> Any:
        return getattr(request.app.state, self.attribute)

    def __repr__(self) -> str:
        return f"AppState({self.attribute!r})"


@dataclass(frozen=True)
class _Dependency:
    """One dependency: its function, the name under which it takes the request, and what it depends on."""

    call: Callable[..., Coroutine[Any, Any, Any]]
    request_name: str | None
    needs: tuple[tuple[str, _Dependency], ...]
    #: For an :class:`AppState`, the attribute of ``app.state`` read instead of calling it.
    attribute: str | None = None

    async def solve(self, request: Request, solved: dict[Any, Any]) -> Any:
        """Its value for ``request``, computed once per request (FastAPI's ``use_cache`` default)."""
        if self.attribute is not None:
            return getattr(request.scope["app"].state, self.attribute)
        if self.call in solved:
            return solved[self.call]
        arguments: dict[str, Any] = {}
        for name, need in self.needs:  # (a loop: an async comprehension is one more coroutine per call)
            arguments[name] = await need.solve(request, solved)
        if self.request_name is not None:
            arguments[self.request_name] = request
        value = solved[self.call] = await self.call(**arguments)
        return value


def _plan(route: APIRoute) -> tuple[Any, tuple[tuple[str, _Dependency], ...], str | None] | None:
    """What the lean handler needs for ``route``, or ``None`` when FastAPI's handler must serve it."""
    dependant = route.dependant
    if len(dependant.body_params) != 1 or route.body_field is None:
        return None
    if route._embed_body_fields or not isinstance(route.response_class, DefaultPlaceholder):
        return None
    if (
        route.response_model_include is not None
        or route.response_model_exclude is not None
        or not route.response_model_by_alias
        or route.response_model_exclude_unset
        or route.response_model_exclude_defaults
        or route.response_model_exclude_none
        or route.response_field is None
    ):
        return None
    if not _only_request_and(dependant) or not inspect.iscoroutinefunction(dependant.call):
        return None
    dependencies = _simple_dependencies(dependant)
    if dependencies is None:
        return None
    return dependant.body_params[0], dependencies, dependant.request_param_name


def _serialized_as_is(model: Any) -> bool:
    """Whether FastAPI's response validation returns an instance of ``model`` itself unchanged (a pydantic
    model that does not revalidate instances), so that serialising it with its own serializer is the same."""
    return (
        isinstance(model, type)
        and issubclass(model, BaseModel)
        and model.model_config.get("revalidate_instances", "never") == "never"
    )


def _included_with_more(route: APIRoute) -> bool:
    """Whether the router inclusion being built adds dependencies to ``route`` (``include_router(...,
    dependencies=...)``): FastAPI ≥ 0.165 builds the included route's handler from a context that this
    route's own ``dependant`` does not show. Only ever makes the plan more conservative."""
    context_var = getattr(fastapi.routing, "_effective_route_context_var", None)
    context = context_var.get() if context_var is not None else None
    if context is None or getattr(context, "original_route", None) is not route:
        return False
    effective = getattr(context, "dependant", None)
    return effective is None or len(effective.dependencies) != len(route.dependant.dependencies)


def _only_request_and(dependant: Dependant) -> bool:
    """No parameter other than the body, the request and dependencies."""
    return not (
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
    )


def _simple_dependencies(dependant: Dependant) -> tuple[tuple[str, _Dependency], ...] | None:
    """``((parameter name, dependency), ...)`` if every dependency (recursively) is an :class:`AppState` or
    a cached ``async def`` of the request and of other such dependencies; else ``None``."""
    dependencies: list[tuple[str, _Dependency]] = []
    for sub in dependant.dependencies:
        call = sub.call
        if isinstance(call, AppState) and sub.name is not None and sub.use_cache:
            dependencies.append((sub.name, _Dependency(call, sub.request_param_name, (), call.attribute)))
            continue
        if (
            sub.name is None  # (a route's `dependencies=[...]`: FastAPI's handler runs those)
            or call is None
            or not sub.use_cache
            or sub.body_params
            or not _only_request_and(sub)
            or not inspect.iscoroutinefunction(call)  # (excludes generators, sync functions and classes)
        ):
            return None
        needs = _simple_dependencies(sub)
        if needs is None:
            return None
        dependencies.append((sub.name, _Dependency(call, sub.request_param_name, needs)))
    return tuple(dependencies)
