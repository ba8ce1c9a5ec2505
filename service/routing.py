"""Route registration and dispatch: one flat route table, and a dictionary for the fixed paths.

FastAPI ≥ 0.165 keeps every ``include_router`` as a nested router that is walked on every request,
twice (once to match, once to handle), with its effective-route bookkeeping. With the service's 11
topic routers that walk cost ~22 µs of a ~210 µs Marchenko–Pastur request in-process, and grew with
the router's position (~100 µs for a route of the last router; issue 13). Two changes remove it:

* :func:`include_flat` registers a router's routes on the app itself through FastAPI's public
  ``add_api_route``, with every option the route was declared with (path, tags, responses, response
  model, status, operation id, route class, …), so the OpenAPI document and every answer are the
  same; the app is the routes' dependency-override provider, as it is for included routers.
* :class:`FixedPathDispatch` answers the routes whose path has no parameter from a dictionary
  ``path → {method → route}``, in front of the app's router: the route is the one the router's own
  linear scan would choose (a fixed path matches only itself, and the first route registered for a
  (path, method) wins, as in the scan). Anything else (a path with parameters, an unknown path, a
  method the path does not have, which must be a 405) goes to the router unchanged.

Both are covered by ``tests/service/test_routing.py``: the flat app's OpenAPI document equals the
one built with ``include_router``, and every fixed-path route is dispatched to the route the router
itself matches.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


def include_flat(app: FastAPI, router: APIRouter) -> None:
    """Add ``router``'s routes to ``app`` as its own routes (see the module docstring).

    The router's prefix, tags, responses and route class are already part of each of its routes
    (``APIRouter.add_api_route`` applied them when the route was declared), so each is re-declared on
    the app with exactly its own options. Routes that are not FastAPI path operations (mounts, plain
    Starlette routes) are appended as they are.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            app.router.routes.append(route)
            continue
        app.router.add_api_route(
            route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=list(route.tags),
            dependencies=list(route.dependencies),
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=dict(route.responses),
            deprecated=route.deprecated,
            methods=set(route.methods or ()),
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
        )


class FixedPathDispatch:
    """ASGI app in front of a router: fixed-path HTTP routes by dictionary lookup, the rest by the router.

    Built once, after every route is registered (:meth:`build`). The lookup does what the router
    does when it matches such a route: it records the router and the route in the scope (``router``,
    ``endpoint``, ``path_params``, ``route``) and hands the request to ``route.handle``.
    """

    def __init__(self, app: ASGIApp, router: APIRouter) -> None:
        self.app = app
        self.router = router
        self.table: dict[str, dict[str, APIRoute]] = {}

    def build(self) -> None:
        """Index the router's fixed-path HTTP routes (first registration wins, as in the router's scan)."""
        table: dict[str, dict[str, APIRoute]] = {}
        for route in self.router.routes:
            if not isinstance(route, APIRoute) or route.param_convertors:
                # (a non-APIRoute may be a mount or a nested router: only the router knows its matching)
                continue
            by_method = table.setdefault(route.path, {})
            for method in route.methods or ():
                by_method.setdefault(method, route)
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.table.get(scope["path"], {}).get(scope["method"])
            if route is not None:
                scope.setdefault("router", self.router)
                scope.update(endpoint=route.endpoint, path_params={}, route=route)  # (Route.matches' child scope)
                await route.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_fixed_path_dispatch(app: FastAPI) -> FixedPathDispatch:
    """Put a :class:`FixedPathDispatch` in front of ``app``'s router; call it after the last route is added."""
    dispatch = FixedPathDispatch(app.router.middleware_stack, app.router)
    dispatch.build()
    app.router.middleware_stack = dispatch
    return dispatch


def matched_route(router: APIRouter, scope: Scope) -> BaseRoute | None:
    """The route the router's own scan fully matches for ``scope`` (for tests that compare with the table)."""
    for route in router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    return None
