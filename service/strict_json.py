"""Strict JSON request bodies: the media type, the syntax and unique keys.

FastAPI reads a body as JSON only when it is labelled JSON, and then with ``json.loads``, which
accepts ``NaN``/``Infinity`` and lets the last of two equal keys win. The request-body middleware
(:class:`service.middleware.RequestBodyMiddleware`) refuses with these checks, before the body
reaches a route:

* a body that is not labelled ``application/json`` (or ``…+json``): 415 ``unsupported-media-type``;
* a body that is not JSON (syntax error, trailing comma, single quotes, invalid UTF-8) or that
  repeats a key in one object: 400 ``malformed-body``.

``NaN`` and ``±Infinity`` pass this step on purpose: the request models refuse them with a 422 that
names the field.

It only reads: an accepted body is passed on byte for byte, and its parsed document is left in the
request scope (:data:`JSON_DOCUMENT`) for :class:`service.fast_route.FastJSONRoute`, so that the one
parse serves both.
"""

from __future__ import annotations

import email.message
import json
from functools import lru_cache
from typing import Any

from service.exception_handlers import shorten

#: Methods whose body is read as the request's JSON document.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Scope key of an accepted body's parsed document.
JSON_DOCUMENT = "rmt.json_document"


class MalformedBody(ValueError):
    """The body is not one JSON document with unique keys."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)  # (in C; the keys are looked at one by one only when one repeats)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedBody(f"duplicate key {shorten(json.dumps(key), 60)} in one object")
            seen.add(key)
    return document


#: One decoder for every body: ``json.loads`` with a hook builds a new decoder and scanner per call.
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def check_json(body: bytes) -> Any:
    """The document ``body`` holds; :class:`MalformedBody` unless it is one strict JSON document with unique keys."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        if text.startswith("\ufeff"):  # (json.loads's own check, before it decodes: the same error)
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
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
