"""Watching the service: request ids, Prometheus metrics, JSON logs; one call installs them.

``install_observability(app)`` (from ``create_app``) adds:

1. :class:`ObservabilityMiddleware`, outside every other middleware, which
   - gives every request an id: the client's ``X-Request-ID`` if it sent a sane one
     (:func:`valid_request_id`), 128 fresh random bits as 32 hex digits otherwise
     (:func:`new_request_id`); the id is echoed in the response's ``X-Request-ID`` and is in every
     log line written while serving it (asgi-correlation-id's context variable and log filter);
   - counts requests, latency and problems in ``app.state.metrics``;
2. ``GET /metrics`` (the Prometheus text format; not in the OpenAPI document, and, like the health
   probes, never behind authentication);
3. the JSON (or text) log format, set up in the lifespan by :func:`service.logs.configure_logging`.

It also wraps the app's handler of unexpected exceptions, which Starlette runs *outside* every
middleware, so that a 500 answer carries the request id too.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import CONTENT_TYPE, UNMATCHED, Metrics
from service.middleware import header, with_header
from service.problems import ProblemType

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()  # (ASGI header names are lower-case bytes)
logger = logging.getLogger("rmt_service")
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


class ObservabilityMiddleware:
    """Give every HTTP request its id, and count, time and classify its answer: one ASGI layer for both.

    **Request id.** The client's ``X-Request-ID`` if it is a sane one (:func:`valid_request_id`),
    otherwise a fresh one (:func:`new_request_id`; a refused value is logged as a warning). The id
    replaces the request's own header (so that a batch passes it on to its items), is set in
    asgi-correlation-id's context variable (read by the log filter of :mod:`service.logs` and by the
    500 handler) and is appended to the response's headers. This is what asgi-correlation-id's
    middleware does for HTTP; doing it here instead of in a second layer saves that layer's
    per-request ``MutableHeaders`` copies and its extra ``send`` wrapper: ~7 µs of a ~94 µs
    Marchenko–Pastur answer in-process, +3 % requests per second under load (issue 13).

    **Metrics.** Every request is counted by method, route template and status, and timed from here
    to the end of its response. A problem's ``type`` is read from the body of
    ``application/problem+json`` answers (small, buffered only for those), so every problem counts
    whichever layer wrote it. An exception that escapes the app becomes Starlette's 500
    ``internal-error`` problem outside this middleware; it is counted as that here.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        correlation_id.set(request_id)
        id_header = (_REQUEST_ID_KEY, request_id.encode("latin-1"))
        status = 500
        problem_body: list[bytes] | None = None

        async def send_and_watch(message: Message) -> None:
            nonlocal status, problem_body
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message["headers"] = [*message.get("headers", ()), id_header]
                if _is_problem(headers):
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


def _request_id(scope: Scope) -> str:
    """The request's id: its sane ``X-Request-ID`` (the first one sent), or a new one written into its headers."""
    sent = header(scope, _REQUEST_ID_KEY)
    if sent and valid_request_id(sent):
        return sent
    request_id = new_request_id()
    if sent:
        correlation_id.set(request_id)  # (so that this line carries the id it announces)
        logger.warning("refused the client's X-Request-ID (not 1-128 safe characters); using %s", request_id)
    # (a new list, as Starlette's MutableHeaders does: the server's own list is left alone)
    scope["headers"] = with_header(scope["headers"], _REQUEST_ID_KEY, request_id.encode())
    return request_id


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

    Call after the other middleware are added, so that this one wraps them (a 413 from the body
    size limit is counted and carries the request id). The log format is set up by the lifespan
    (:func:`service.logs.configure_logging` with the settings ``log_format`` and ``log_level``).
    """
    app.state.metrics = Metrics(app.state)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    unexpected = app.exception_handlers.get(Exception)
    if unexpected is not None:
        app.exception_handlers[Exception] = _with_request_id(unexpected)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False, response_class=Response)
