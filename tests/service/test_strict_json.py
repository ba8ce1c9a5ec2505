"""service/strict_json.py: check_json against the plain definition (json.loads with a key-by-key hook).

check_json parses with jiter first and falls back to one shared ``json`` decoder, which looks at keys
one by one only when an object repeats one; the documents and every error message must stay those of
the definition below, on hand-picked bodies and on generated ones (valid documents written in several
styles, and the same bodies damaged byte by byte).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.exception_handlers import shorten
from service.strict_json import IntegerTooLong, MalformedBody, check_json


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
    except MalformedBody:  # (a repeated key, from the hook: a ValueError too)
        raise
    except ValueError:  # an integer of more digits than int() converts
        raise IntegerTooLong(f"an integer in it has more than {sys.get_int_max_str_digits()} digits") from None


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


def _outcome(check: Any, body: bytes) -> tuple[str, str]:
    """("document", its repr) or ("refused", the message): repr tells NaN, -0.0 and 0 apart, and int from float."""
    try:
        return "document", repr(check(body))
    except MalformedBody as error:
        return "refused", f"{type(error).__name__}: {error.detail}"


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_check_json_is_the_plain_definition(body):
    assert _outcome(check_json, body) == _outcome(_reference, body)


#: Bodies the fast parser refuses and the definition accepts (or words otherwise): each must reach it.
EDGES = [
    b'"\\ud800"',  # a lone surrogate escape: a str json.loads builds, jiter refuses
    b'{"a": "\\udc00\\ud800"}',  # surrogates in the wrong order
    b'"\\ud83d\\ude00"',  # a surrogate pair: one character for both
    b"[" * 250 + b"]" * 250,  # deeper than jiter's limit (200), within Python's
    b"1" * 5000,  # an integer over Python's 4300 digits: refused, no longer a 500
    b'{"ratio": ' + b"1" * 4300 + b"}",  # exactly at the cap: accepted
    b"1" * 5000 + b".5",  # a float over 4300 digits: json.loads reads inf
    b"1" * 400 + b".5",  # a float that overflows: inf in both
    b"1e400",
    b"-0",
    b"-0.0",
    b'{"k": 1, "k": 1}',  # equal values: still a repeated key
    b'{"a": 1}\n',
    b'\t{"a": 1}\r\n',
    b'{"a": 1}\x00',
    b'"tab\there"',  # a raw control character inside a string
    b'"\xc0\xaf"',  # an overlong UTF-8 encoding
    b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8
]


@pytest.mark.parametrize("body", EDGES, ids=range(len(EDGES)))
def test_bodies_the_fast_parser_refuses_are_decided_by_the_definition(body):
    assert _outcome(check_json, body) == _outcome(_reference, body)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)  # any code point, surrogates included
)
_KEYS = st.sampled_from(["a", "b", "ratio", "x", "é", "\u2028", ""]) | st.text(max_size=6)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """A generated document written in one of several styles, sometimes with a key repeated or a byte damaged."""
    document = draw(_DOCUMENTS)
    text = json.dumps(
        document,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")])),
    )
    if isinstance(document, dict) and document and draw(st.booleans()):
        key = json.dumps(draw(st.sampled_from(sorted(document))))
        text = text[:-1] + f", {key}: 0}}"  # the same key again, at the end
    body = text.encode("utf-8", "surrogatepass")  # (a lone surrogate as bytes is invalid UTF-8: refused)
    if body and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    return body


@settings(max_examples=400, deadline=None)
@given(_bodies())
def test_check_json_is_the_plain_definition_on_generated_bodies(body):
    assert _outcome(check_json, body) == _outcome(_reference, body)
