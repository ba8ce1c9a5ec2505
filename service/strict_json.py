"""Strict JSON request bodies: the media type, the syntax and unique keys.

FastAPI reads a body as JSON only when it is labelled JSON, and then with ``json.loads``, which
accepts ``NaN``/``Infinity`` and lets the last of two equal keys win. The request-body middleware
(:class:`service.middleware.RequestBodyMiddleware`) refuses with these checks, before the body
reaches a route:

* a body that is not labelled ``application/json`` (or ``…+json``): 415 ``unsupported-media-type``;
* a body that is not JSON (syntax error, trailing comma, single quotes, invalid UTF-8), that
  repeats a key in one object, or that writes an integer with more digits than Python converts
  (4300, ``sys.get_int_max_str_digits``): 400 ``malformed-body``.

``NaN`` and ``±Infinity`` pass this step on purpose: the request models refuse them with a 422 that
names the field.

It only reads: an accepted body is passed on byte for byte, and its parsed document is left in the
request scope (:data:`JSON_DOCUMENT`) for :class:`service.fast_route.FastJSONRoute`, so that the one
parse serves both.

The definition of an accepted body and of its document is ``json.loads`` refusing repeated keys
(:data:`_DECODER`), which also words every error. Bodies are first given to jiter, pydantic's JSON
parser in Rust, which refuses repeated keys itself: a document it accepts is the definition's, value
for value, and it takes 1.5 instead of 4.3 µs for a typical request (issue 13). It refuses a few
bodies that the definition accepts (a lone surrogate escape such as ``"\\ud800"``, nesting deeper
than 200, a float written with more than 4300 digits), so any body it refuses goes to the definition, which
decides. ``tests/service/test_strict_json.py`` checks the two agree on generated bodies.
"""

from __future__ import annotations

import email.message
import json
import sys
from functools import lru_cache
from typing import Any

import jiter

from service.exception_handlers import shorten

#: Methods whose body is read as the request's JSON document.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Scope key of an accepted body's parsed document.
JSON_DOCUMENT = "rmt.json_document"


class MalformedBody(ValueError):
    """The body is not one JSON document with unique keys."""

    @property
    def detail(self) -> str:
        """The sentence a 400 problem's ``detail`` gives."""
        return f"The body is not valid JSON: {self}."


class IntegerTooLong(MalformedBody):
    """The body is JSON, but holds an integer with more digits than Python converts (``sys.get_int_max_str_digits``)."""

    @property
    def detail(self) -> str:
        return f"The body is valid JSON, but {self}, more than this service reads; send a shorter number."


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
        return jiter.from_json(body, allow_inf_nan=True, catch_duplicate_keys=True)
    except ValueError:
        return _check_json_strictly(body)  # (the definition decides, and words the error)


def _check_json_strictly(body: bytes) -> Any:
    """:func:`check_json` by its definition: UTF-8, then ``json.loads`` refusing the first repeated key."""
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
    except MalformedBody:  # (a repeated key, from the hook: a ValueError too)
        raise
    except ValueError:  # (Python's cap on the digits of an integer it converts: a 500 before)
        raise IntegerTooLong(f"an integer in it has more than {sys.get_int_max_str_digits()} digits") from None


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
