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
    BODY_TOO_LARGE = "urn:rmt-service:problem:body-too-large"
    NOT_FOUND = "urn:rmt-service:problem:not-found"
    METHOD_NOT_ALLOWED = "urn:rmt-service:problem:method-not-allowed"
    MALFORMED_BODY = "urn:rmt-service:problem:malformed-body"
    UNSUPPORTED_MEDIA_TYPE = "urn:rmt-service:problem:unsupported-media-type"
    HTTP_ERROR = "urn:rmt-service:problem:http-error"
    INTERNAL_ERROR = "urn:rmt-service:problem:internal-error"


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}


#: The problem responses of every prediction operation, for ``responses=`` in the routes.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response(
        "The body is not one strict JSON document (syntax error, trailing comma, single quotes, "
        "invalid UTF-8) or repeats a key in one object: `malformed-body`."
    ),
    413: _problem_response("The request body is larger than the service accepts (`max_body_bytes`)."),
    415: _problem_response("The body is not sent as `Content-Type: application/json`: `unsupported-media-type`."),
    422: _problem_response("The request is invalid: each failing field is listed in `errors` with the rule it broke."),
    500: _problem_response("Unexpected error; the body never contains internals."),
}
