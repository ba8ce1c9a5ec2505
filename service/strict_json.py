"""Strict JSON request bodies: the media type, the syntax and unique keys, checked before any route.

FastAPI reads a body as JSON only when it is labelled JSON, and then with ``json.loads``, which
accepts ``NaN``/``Infinity`` and lets the last of two equal keys win. This ASGI middleware refuses,
before the body reaches a route:

* a body that is not labelled ``application/json`` (or ``…+json``): 415 ``unsupported-media-type``;
* a body that is not JSON (syntax error, trailing comma, single quotes, invalid UTF-8) or that
  repeats a key in one object: 400 ``malformed-body``.

``NaN`` and ``±Infinity`` pass this step on purpose: the request models refuse them with a 422 that
names the field.

It only reads: an accepted body is passed on byte for byte and parsed again by FastAPI. Bodies are
capped by ``BodySizeLimitMiddleware`` (outside this one), so the second parse is cheap.
"""

from __future__ import annotations

import email.message
import json
from functools import lru_cache
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.exception_handlers import problem_response, shorten
from service.problems import ProblemType

#: Methods whose body is read as the request's JSON document.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class MalformedBody(ValueError):
    """The body is not one JSON document with unique keys."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise MalformedBody(f"duplicate key {shorten(json.dumps(key), 60)} in one object")
        seen[key] = value
    return seen


def check_json(body: bytes) -> None:
    """Raise :class:`MalformedBody` unless ``body`` is one strict JSON document with unique keys."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise MalformedBody(
            f"{error.msg} at line {error.lineno}, column {error.colno} (character {error.pos})"
        ) from None
    except RecursionError:
        raise MalformedBody("the body is nested too deeply") from None


@lru_cache(maxsize=256)  # parsing a header with `email` costs ~10 µs; clients send a handful of distinct values
def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/<anything>+json``, parameters (charset) ignored."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class StrictJSONMiddleware:
    """Refuse non-JSON media types (415) and malformed or duplicate-key JSON (400) on body methods."""

    def __init__(self, app: ASGIApp, *, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        #: Exact paths whose bodies the route reads itself (a data set upload is JSON or `.npz`, possibly
        #: gzip, and larger than this middleware may buffer); the route applies :func:`check_json`.
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        if body:
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1") or None
            if not is_json_media_type(content_type):
                await problem_response(
                    status=415,
                    type_=ProblemType.UNSUPPORTED_MEDIA_TYPE,
                    title="Unsupported media type",
                    detail=f"The body must be JSON sent as `Content-Type: application/json`, not {shorten(repr(content_type), 80)}.",
                    instance=scope.get("path"),
                )(scope, replay, send)
                return
            try:
                check_json(body)
            except MalformedBody as error:
                await problem_response(
                    status=400,
                    type_=ProblemType.MALFORMED_BODY,
                    title="Malformed request body",
                    detail=f"The body is not valid JSON: {error}.",
                    instance=scope.get("path"),
                )(scope, replay, send)
                return
        await self.app(scope, replay, send)
