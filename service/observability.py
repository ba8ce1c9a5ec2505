"""Watching the service: request ids, Prometheus metrics, JSON logs; one call installs them.

``install_observability(app)`` (from ``create_app``) adds, from the outside in:

1. asgi-correlation-id's middleware: every request gets a request id, the client's ``X-Request-ID``
   if it sent a sane one (:func:`valid_request_id`), 128 fresh random bits as 32 hex digits otherwise
   (:func:`new_request_id`); the id is echoed in the response's ``X-Request-ID`` and is in every log
   line written while serving it;
2. :class:`MetricsMiddleware`: requests, latency and problems, counted in ``app.state.metrics``;
3. ``GET /metrics`` (the Prometheus text format; not in the OpenAPI document, and, like the health
   probes, never behind authentication);
4. the JSON (or text) log format, set up in the lifespan by :func:`service.logs.configure_logging`.

It also wraps the app's handler of unexpected exceptions, which Starlette runs *outside* every
middleware, so that a 500 answer carries the request id too.
"""

from __future__ import annotations

import inspect
import json
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import CONTENT_TYPE, UNMATCHED, Metrics
from service.problems import ProblemType

REQUEST_ID_HEADER = "X-Request-ID"
#: A client's request id is kept if it is 1-128 characters of this set (no spaces, quotes or
#: control characters, so it can never forge a log line or a header); otherwise one is generated.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_PROBLEM_MEDIA_TYPE = b"application/problem+json"
#: Methods labelled as themselves; any other (a client may send any token) is labelled OTHER.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


#: Where request ids come from. An id must be unique, not secret (it is echoed to the caller and logged),
#: so a Mersenne Twister seeded from the OS once per process serves: ``os.urandom`` on every request is a
#: ``getrandom`` system call, 2.6 % of a Marchenko–Pastur request's server time under load (py-spy,
#: issue 13). A forked process (a uvicorn worker) reseeds, so that it does not repeat its parent's ids.
_request_ids = random.Random()
os.register_at_fork(after_in_child=_request_ids.seed)


def new_request_id() -> str:
    """A fresh request id: 128 random bits as 32 lower-case hex digits (what ``uuid4().hex`` gives, less the
    six fixed version bits, and without building a ``UUID``: 0.2 against 2 µs, on every request)."""
    return _request_ids.getrandbits(128).to_bytes(16).hex()


def valid_request_id(value: str) -> bool:
    """Whether a client-sent ``X-Request-ID`` is used as it is."""
    return _REQUEST_ID.fullmatch(value) is not None


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``/v1/simulations/{job_id}``), or
    :data:`~service.metrics.UNMATCHED`: raw paths would give every 404 its own series."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Count every HTTP request by method, route template and status; time it; count problems.

    A problem's ``type`` is read from the body of ``application/problem+json`` answers (small,
    buffered only for those), so every problem counts whichever layer wrote it. An exception that
    escapes the app becomes Starlette's 500 ``internal-error`` problem outside this middleware; it
    is counted as that here.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        problem_body: list[bytes] | None = None

        async def send_and_watch(message: Message) -> None:
            nonlocal status, problem_body
            if message["type"] == "http.response.start":
                status = message["status"]
                if _is_problem(message.get("headers", ())):
                    problem_body = []
            elif message["type"] == "http.response.body" and problem_body is not None:
                problem_body.append(message.get("body", b""))
            await send(message)

        problem_type: str | None = None
        metrics = self.metrics
        metrics.in_flight += 1
        try:
            await self.app(scope, receive, send_and_watch)
        except Exception:
            status, problem_type = 500, ProblemType.INTERNAL_ERROR.value
            raise
        finally:
            metrics.in_flight -= 1
            if problem_body is not None:
                problem_type = _problem_type(b"".join(problem_body))
            metrics.observe(
                method=scope["method"] if scope["method"] in _METHODS else "OTHER",
                route=route_template(scope),
                status=status,
                seconds=time.perf_counter() - started,
                problem_type=problem_type,
            )


def _is_problem(headers: Any) -> bool:
    """Whether response headers say ``application/problem+json`` (the last ``content-type``, if several)."""
    content_type = b""
    for key, value in headers:
        if key == b"content-type":
            content_type = value
    return content_type.startswith(_PROBLEM_MEDIA_TYPE)


def _problem_type(body: bytes) -> str:
    try:
        value = json.loads(body).get("type")
    except (ValueError, AttributeError):
        value = None
    return value if isinstance(value, str) else "unknown"


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text format."""
    metrics: Metrics = request.app.state.metrics
    return Response(await metrics.exposition(), media_type=CONTENT_TYPE)


def _with_request_id(
    handler: Callable[[Request, Any], Response | Awaitable[Response]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """``handler`` (the app's handler of unexpected exceptions) answering with ``X-Request-ID``."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)  # Starlette allows a plain function too
        response = await answer if inspect.isawaitable(answer) else answer
        request_id = correlation_id.get()
        if request_id and REQUEST_ID_HEADER not in response.headers:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return handle


def install_observability(app: FastAPI) -> None:
    """Add the request-id and metrics middleware, ``GET /metrics`` and ``app.state.metrics``.

    Call after the other middleware are added, so that these two wrap them (a 413 from the body
    size limit is counted and carries the request id). The log format is set up by the lifespan
    (:func:`service.logs.configure_logging` with the settings ``log_format`` and ``log_level``).
    """
    app.state.metrics = Metrics(app.state)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, generator=new_request_id, validator=valid_request_id
    )
    unexpected = app.exception_handlers.get(Exception)
    if unexpected is not None:
        app.exception_handlers[Exception] = _with_request_id(unexpected)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False, response_class=Response)
