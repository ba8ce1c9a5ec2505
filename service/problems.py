"""Problem types (RFC 9457) and the responses every operation documents.

One stable ``type`` URI per kind of problem; clients switch on it, never on ``title`` or ``detail``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from schemas.problem import PROBLEM_MEDIA_TYPE, Problem


class ProblemType(StrEnum):
    """Every problem type the service emits."""

    VALIDATION_ERROR = "urn:rmt-service:problem:validation-error"
    INVALID_PARAMETER = "urn:rmt-service:problem:invalid-parameter"
    DIVERGENT_LIMIT = "urn:rmt-service:problem:divergent-limit"
    DID_NOT_CONVERGE = "urn:rmt-service:problem:did-not-converge"
    LIMIT_EXCEEDED = "urn:rmt-service:problem:limit-exceeded"
    OVERLOADED = "urn:rmt-service:problem:overloaded"
    DEADLINE_EXCEEDED = "urn:rmt-service:problem:deadline-exceeded"
    BODY_TOO_LARGE = "urn:rmt-service:problem:body-too-large"
    UNAUTHORIZED = "urn:rmt-service:problem:unauthorized"
    RATE_LIMITED = "urn:rmt-service:problem:rate-limited"
    NOT_FOUND = "urn:rmt-service:problem:not-found"
    CONFLICT = "urn:rmt-service:problem:conflict"
    NOT_ACCEPTABLE = "urn:rmt-service:problem:not-acceptable"
    METHOD_NOT_ALLOWED = "urn:rmt-service:problem:method-not-allowed"
    MALFORMED_BODY = "urn:rmt-service:problem:malformed-body"
    INSUFFICIENT_STORAGE = "urn:rmt-service:problem:insufficient-storage"
    UNSUPPORTED_MEDIA_TYPE = "urn:rmt-service:problem:unsupported-media-type"
    HTTP_ERROR = "urn:rmt-service:problem:http-error"
    INTERNAL_ERROR = "urn:rmt-service:problem:internal-error"


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}


#: The problem responses of every prediction operation, for ``responses=`` in the routes.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response(
        "The body is not one strict JSON document (syntax error, trailing comma, single quotes, "
        "invalid UTF-8), repeats a key in one object, or writes an integer of more than 4300 digits: "
        "`malformed-body`."
    ),
    401: _problem_response("An API key is required (`Authorization: Bearer <key>`) and was missing or invalid."),
    404: _problem_response(
        "A resource the request names does not exist for this key (e.g. the data set of `data.id`)."
    ),
    413: _problem_response("The request body is larger than the service accepts (`max_body_bytes`)."),
    415: _problem_response("The body is not sent as `Content-Type: application/json`: `unsupported-media-type`."),
    422: _problem_response("The request is invalid: each failing field is listed in `errors` with the rule it broke."),
    429: _problem_response("Too many requests for this key (`RMT_RATE_LIMIT`); `Retry-After` says when to retry."),
    500: _problem_response("Unexpected error; the body never contains internals."),
    503: _problem_response(
        "`overloaded`: every compute worker is busy and the queue is full (or would not drain within the time "
        "budget); retry after `Retry-After` seconds. `deadline-exceeded`: the computation ran past the time budget "
        "`request_timeout_seconds` and was stopped."
    ),
}
