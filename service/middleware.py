"""ASGI middleware for request bodies: a size cap (413), then strict JSON (415, 400), before any route.

One layer does both because both read the same bytes: a body is buffered at most once, up to the
cap, and the JSON document parsed to check it is handed to the route (see
:mod:`service.strict_json`). Every ASGI layer costs a few microseconds per request on answers that
take about two hundred in all (in-process, a closed-form answer).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.exception_handlers import problem_response, shorten
from service.problems import ProblemType
from service.strict_json import BODY_METHODS, JSON_DOCUMENT, MalformedBody, check_json, is_json_media_type


class RequestBodyMiddleware:
    """Refuse bodies over ``max_bytes`` (413), bodies not labelled JSON (415) and malformed JSON (400).

    A declared ``Content-Length`` is checked before anything is read; a streamed body is counted while
    it is buffered, so no request can make the service hold more than ``max_bytes`` of it. JSON is
    checked on body methods only (POST, PUT, PATCH); an empty body is left to the route.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Exact paths whose bodies their route reads, checks and caps itself (data set uploads: JSON or
        #: `.npz`, possibly gzip, larger than this cap).
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS and declared is not None:
            # The server enforces Content-Length, so the body cannot outgrow what was declared.
            await self.app(scope, receive, send)
            return

        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        body = b"".join(chunks)
        if body and scope["method"] in BODY_METHODS:
            content_type = header(scope, b"content-type")
            if not is_json_media_type(content_type):
                await problem_response(
                    status=415,
                    type_=ProblemType.UNSUPPORTED_MEDIA_TYPE,
                    title="Unsupported media type",
                    detail=f"The body must be JSON sent as `Content-Type: application/json`, not {shorten(repr(content_type), 80)}.",
                    instance=scope["path"],
                )(scope, replay, send)
                return
            try:
                scope[JSON_DOCUMENT] = check_json(body)
            except MalformedBody as error:
                await problem_response(
                    status=400,
                    type_=ProblemType.MALFORMED_BODY,
                    title="Malformed request body",
                    detail=error.detail,
                    instance=scope["path"],
                )(scope, replay, send)
                return
        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(
            status=413,
            type_=ProblemType.BODY_TOO_LARGE,
            title="Request body too large",
            detail=f"The body exceeds {self.max_bytes} bytes (setting `max_body_bytes`); send a smaller request.",
            instance=scope.get("path"),
        )(scope, receive, send)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case) in an ASGI scope, without building a dict of them all
    (nor, for an absent header, raising and catching a ``KeyError`` as Starlette's ``Headers.get`` does)."""
    for key, value in scope["headers"]:
        if key == name:  # (ASGI servers lower-case header names)
            return value.decode("latin-1")
    return None


def with_header(headers: Any, name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    """A new list of ``headers`` with ``name`` set to ``value``: the first such header replaced and the
    others removed, or ``(name, value)`` appended (what Starlette's ``MutableHeaders.__setitem__`` does
    in place, without building a ``MutableHeaders``)."""
    result: list[tuple[bytes, bytes]] = []
    found = False
    for key, old in headers:
        if key == name:
            if not found:
                result.append((name, value))
                found = True
        else:
            result.append((key, old))
    if not found:
        result.append((name, value))
    return result


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None
