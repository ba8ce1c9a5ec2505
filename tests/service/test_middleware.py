"""service/middleware.py's header helpers do what Starlette's Headers / MutableHeaders do, without building them."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers, MutableHeaders

from service.middleware import header, with_header

HEADER_LISTS = [
    [],
    [(b"host", b"h")],
    [(b"vary", b"Origin")],
    [(b"host", b"h"), (b"vary", b"Origin"), (b"content-type", b"application/json"), (b"vary", b"Cookie")],
    [(b"accept", b"text/csv"), (b"accept", b"*/*")],
    [(b"x", "é".encode("latin-1"))],
]


@pytest.mark.parametrize("headers", HEADER_LISTS)
@pytest.mark.parametrize("name", [b"vary", b"accept", b"x", b"absent"])
def test_header_is_headers_get(headers, name):
    assert header({"headers": headers}, name) == Headers(raw=list(headers)).get(name.decode())


@pytest.mark.parametrize("headers", HEADER_LISTS)
@pytest.mark.parametrize("name", [b"vary", b"accept", b"absent"])
def test_with_header_is_mutable_headers_setitem(headers, name):
    expected = MutableHeaders(raw=list(headers))
    expected[name.decode()] = "Accept"
    original = list(headers)
    assert with_header(headers, name, b"Accept") == expected.raw
    assert headers == original  # a new list: the one given is left alone
