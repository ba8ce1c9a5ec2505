"""service/strict_json.py: check_json against the plain definition (json.loads with a key-by-key hook).

check_json decodes with one shared decoder and looks at keys one by one only when an object repeats
one; the documents and every error message must stay those of the definition below.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.exception_handlers import shorten
from service.strict_json import MalformedBody, check_json


def _reference(body: bytes) -> Any:
    """The definition: UTF-8, then ``json.loads`` refusing the first repeated key of each object."""

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise MalformedBody(f"duplicate key {shorten(json.dumps(key), 60)} in one object")
            seen[key] = value
        return seen

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBody(f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        raise MalformedBody(
            f"{error.msg} at line {error.lineno}, column {error.colno} (character {error.pos})"
        ) from None
    except RecursionError:
        raise MalformedBody("the body is nested too deeply") from None


BODIES = [
    b'{"ratio": 0.5, "grid": {"start": 0, "stop": 3, "num": 7}, "stieltjes_at": [{"re": 1, "im": 0.5}]}',
    b"[]",
    b"{}",
    b"3.5",
    b'"text"',
    b"NaN",
    b'{"a": [1, 2, {"b": null, "c": true}], "d": -Infinity}',
    b'{"ratio": 0.5, "ratio": 0.7}',
    b'{"a": 1, "b": 2, "b": 3, "a": 4}',  # the first repeated key in order is named: b
    b'{"a": {"x": 1, "y": 2, "x": 3}, "a": 5}',  # the inner object is built (and refused) first
    b'[{"k": 1}, {"k": 2, "k": 2}]',
    b'{"' + b"k" * 200 + b'": 1, "' + b"k" * 200 + b'": 2}',  # a long key, shortened in the message
    b'{"\\u00e9": 1, "\\u00e9": 2}',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    b'{"ratio": 0.5,}',
    b'{"ratio": 0.5} {}',
    b"",
    b"   ",
    b'{"x": [\xff]}',
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the recursion limit
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_check_json_is_the_plain_definition(body):
    try:
        expected: Any = ("document", _reference(body))
    except MalformedBody as error:
        expected = ("refused", str(error))
    try:
        actual: Any = ("document", check_json(body))
    except MalformedBody as error:
        actual = ("refused", str(error))
    assert actual == expected
