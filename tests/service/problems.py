"""Assertions shared by the API tests."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, field: str) -> dict:
    """The response is an RFC 9457 problem of ``status`` whose errors name ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:rmt-service:problem:")
    assert field in {error["field"] for error in body["errors"]}, body
    return body
