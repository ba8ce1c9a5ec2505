"""The one table that turns exceptions into `application/problem+json` responses (RFC 9457)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from schemas.problem import PROBLEM_MEDIA_TYPE, FieldError, Problem
from service.datasets import DatasetNotFoundError
from service.jobs.store import StorageUnavailableError
from service.problems import ProblemType
from solvers.exceptions import ConvergenceError, DivergentLimitError, InvalidParameterError

logger = logging.getLogger("rmt_service")

_BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)`")

#: Longest echo of client input (a key, a path, a message) in an error body: a problem stays small
#: whatever was sent (a 900 KB unknown key once produced a 2.7 MB answer).
MAX_ECHO = 200
#: Most field errors listed in one validation problem.
MAX_LISTED_ERRORS = 20

#: pydantic's comparison rules, re-worded with bounds in short notation (1e-300, not 0.000…0001).
_BOUND_RULES = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "greater than or equal to"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "less than or equal to"),
}


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters, marking the cut and the original length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def short_number(value: object) -> str:
    """A bound as a short literal: ``1e-300``, ``1e+12``, ``0.5``, ``3``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return shorten(str(value), 40)
    if isinstance(value, int) and abs(value) < 10**15:
        return str(value)
    return f"{float(value):.6g}"


#: Solver exception -> (problem type, title), for the HTTP handlers below and for failed simulation jobs.
SOLVER_PROBLEMS: dict[type[Exception], tuple[ProblemType, str]] = {
    InvalidParameterError: (ProblemType.INVALID_PARAMETER, "Parameter outside the formula's domain"),
    DivergentLimitError: (ProblemType.DIVERGENT_LIMIT, "The limit does not exist"),
    ConvergenceError: (ProblemType.DID_NOT_CONVERGE, "The solver did not converge"),
}


def solver_problem(exc: BaseException, *, instance: str) -> Problem | None:
    """The 422 problem of a solver exception (its message as the detail), or ``None`` for any other exception."""
    for cls, (type_, title) in SOLVER_PROBLEMS.items():
        if isinstance(exc, cls):
            return Problem(
                type=type_, title=title, status=422, detail=str(getattr(exc, "message", exc)), instance=instance
            )
    return None


class LimitExceededError(Exception):
    """A request is valid but larger than this deployment accepts synchronously (a setting)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class OverloadedError(Exception):
    """Every compute worker is busy and the queue is full: retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class DeadlineExceededError(Exception):
    """A computation ran past the request's time budget and was stopped (or abandoned, for a thread)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAcceptableError(Exception):
    """No representation of the answer that the request's `Accept` header allows (406)."""

    def __init__(self, supported: Iterable[str], message: str) -> None:
        super().__init__(message)
        self.supported = list(supported)
        self.message = message


def problem_response(
    *,
    status: int,
    type_: ProblemType,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Iterable[FieldError] = (),
    headers: dict[str, str] | None = None,
    supported_media_types: list[str] | None = None,
) -> JSONResponse:
    """Build one problem response; the only place a problem body is serialised."""
    if instance is not None:
        instance = shorten(instance)
    body = Problem(
        type=type_,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors),
        supported_media_types=supported_media_types,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_error(error: dict[str, Any]) -> FieldError:
    # Union-member tags ("list-of-values", "kind=inline", pydantic's "function-after[...]") say which
    # member was tried, not where the field is; field names are identifiers, tags never are.
    # Keys the client sent (unknown fields) may be arbitrarily long: cut every echoed part.
    location = [
        shorten(part) if isinstance(part, str) else part
        for part in error["loc"]
        if not isinstance(part, str) or part.isidentifier()
    ]
    path = [str(part) for part in location[1:]]
    message = shorten(str(error["msg"]).removeprefix("Value error, "))
    if error["type"] in _BOUND_RULES and isinstance(error.get("ctx"), dict):
        key, words = _BOUND_RULES[error["type"]]
        if key in error["ctx"]:
            message = f"Input should be {words} {short_number(error['ctx'][key])}"
    # A rule spanning several fields is reported on the model that holds them; name the first field
    # its message cites, so that `field` always points at a field.
    named = _BACKTICKED.search(message)
    if named and (not path or named.group(1) != path[-1]):
        path.append(named.group(1))
    return FieldError(field=shorten(".".join(path)) or "(body)", location=location, rule=error["type"], message=message)


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    invalid_json = next((error for error in exc.errors() if error["type"] == "json_invalid"), None)
    if invalid_json is not None:  # normally caught earlier by service.strict_json
        reason = shorten(str((invalid_json.get("ctx") or {}).get("error", "JSON decode error")))
        return problem_response(
            status=400,
            type_=ProblemType.MALFORMED_BODY,
            title="Malformed request body",
            detail=f"The body is not valid JSON: {reason}.",
            instance=request.url.path,
        )
    raw = exc.errors()
    # A list of 100 000 bad entries must not become 100 000 listed errors: the first ones suffice.
    errors = [_field_error(error) for error in raw[:MAX_LISTED_ERRORS]]
    fields = shorten(", ".join(sorted({error.field for error in errors})), 2 * MAX_ECHO)
    noun = "field is" if len(raw) == 1 else "fields are"
    listed = f" (the first {len(errors)} listed)" if len(raw) > len(errors) else ""
    return problem_response(
        status=422,
        type_=ProblemType.VALIDATION_ERROR,
        title="Invalid request",
        detail=f"{len(raw)} {noun} invalid{listed}: {fields}.",
        instance=request.url.path,
        errors=errors,
    )


def _single_field_problem(
    request: Request, *, type_: ProblemType, title: str, field: str, rule: str, message: str
) -> JSONResponse:
    # Messages the service writes may be long (a cost model names its dominant term and the way out);
    # the cap only bounds what a message might echo of a hostile input.
    field, message = shorten(field), shorten(message, 5 * MAX_ECHO)
    error = FieldError(field=field, location=["body", *field.split(".")], rule=rule, message=message)
    return problem_response(
        status=422, type_=type_, title=title, detail=message, instance=request.url.path, errors=[error]
    )


async def _invalid_parameter(request: Request, exc: InvalidParameterError) -> JSONResponse:
    return _single_field_problem(
        request,
        type_=SOLVER_PROBLEMS[InvalidParameterError][0],
        title=SOLVER_PROBLEMS[InvalidParameterError][1],
        field=exc.parameter,
        rule="domain",
        message=exc.message,
    )


async def _divergent_limit(request: Request, exc: DivergentLimitError) -> JSONResponse:
    return _single_field_problem(
        request,
        type_=SOLVER_PROBLEMS[DivergentLimitError][0],
        title=SOLVER_PROBLEMS[DivergentLimitError][1],
        field=exc.parameter,
        rule="divergent_limit",
        message=exc.message,
    )


async def _limit_exceeded(request: Request, exc: LimitExceededError) -> JSONResponse:
    return _single_field_problem(
        request,
        type_=ProblemType.LIMIT_EXCEEDED,
        title="Request larger than this service accepts",
        field=exc.field,
        rule="service_limit",
        message=exc.message,
    )


async def _overloaded(request: Request, exc: OverloadedError) -> JSONResponse:
    return problem_response(
        status=503,
        type_=ProblemType.OVERLOADED,
        title="Service overloaded",
        detail=exc.message,
        instance=request.url.path,
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _deadline_exceeded(request: Request, exc: DeadlineExceededError) -> JSONResponse:
    return problem_response(
        status=503,
        type_=ProblemType.DEADLINE_EXCEEDED,
        title="Time budget exceeded",
        detail=exc.message,
        instance=request.url.path,
    )


async def _did_not_converge(request: Request, exc: ConvergenceError) -> JSONResponse:
    type_, title = SOLVER_PROBLEMS[ConvergenceError]
    return problem_response(
        status=422,
        type_=type_,
        title=title,
        detail=f"{exc.message} (iterations: {exc.iterations}, residual: {exc.residual:.3g})",
        instance=request.url.path,
    )


async def _not_acceptable(request: Request, exc: NotAcceptableError) -> JSONResponse:
    return problem_response(
        status=406,
        type_=ProblemType.NOT_ACCEPTABLE,
        title="No acceptable representation",
        detail=exc.message,
        instance=request.url.path,
        supported_media_types=exc.supported,
        headers={"Vary": "Accept"},
    )


_HTTP_TYPES = {
    400: (ProblemType.MALFORMED_BODY, "Malformed request body"),
    401: (ProblemType.UNAUTHORIZED, "Missing or invalid API key"),
    404: (ProblemType.NOT_FOUND, "Not found"),
    405: (ProblemType.METHOD_NOT_ALLOWED, "Method not allowed"),
    409: (ProblemType.CONFLICT, "Conflict with the resource's state"),
    429: (ProblemType.RATE_LIMITED, "Too many requests"),
    415: (ProblemType.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    type_, title = _HTTP_TYPES.get(exc.status_code, (ProblemType.HTTP_ERROR, "HTTP error"))
    headers = dict(getattr(exc, "headers", None) or {})
    detail = str(exc.detail)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if not allowed or allowed == ", ".join(_METHODS):  # a mount (static files) matches any method
            allowed = headers.get("Allow", "")
        headers["Allow"] = allowed
        detail = f"{request.method} is not served at this path; allowed: {allowed}."
    return problem_response(
        status=exc.status_code,
        type_=type_,
        title=title,
        detail=shorten(detail, 2 * MAX_ECHO),
        instance=request.url.path,
        headers=headers or None,
    )


async def _dataset_not_found(request: Request, exc: DatasetNotFoundError) -> JSONResponse:
    error = FieldError(
        field=exc.field, location=["body", *exc.field.split(".")], rule="dataset_exists", message=exc.message
    )
    return problem_response(
        status=404,
        type_=ProblemType.NOT_FOUND,
        title="Not found",
        detail=exc.message,
        instance=request.url.path,
        errors=[error],
    )


async def _storage_unavailable(request: Request, exc: StorageUnavailableError) -> JSONResponse:
    # 507: the request was fine, the server cannot store what it needs to; nothing was written.
    return problem_response(
        status=507,
        type_=ProblemType.INSUFFICIENT_STORAGE,
        title="Insufficient storage",
        detail=f"The job store {exc.path.name} cannot be written ({exc.reason}); nothing was stored. Retry when space returns.",
        instance=request.url.path,
        headers={"Retry-After": "30"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Full traceback to the log, nothing of it to the client.
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        status=500,
        type_=ProblemType.INTERNAL_ERROR,
        title="Internal error",
        detail="The service failed unexpectedly; the error was logged.",
        instance=request.url.path,
    )


#: exception class -> handler. The whole mapping from failures to HTTP lives here.
EXCEPTION_HANDLERS = {
    RequestValidationError: _request_validation,
    InvalidParameterError: _invalid_parameter,
    DivergentLimitError: _divergent_limit,
    ConvergenceError: _did_not_converge,
    LimitExceededError: _limit_exceeded,
    OverloadedError: _overloaded,
    DeadlineExceededError: _deadline_exceeded,
    NotAcceptableError: _not_acceptable,
    StarletteHTTPException: _http_error,
    StorageUnavailableError: _storage_unavailable,
    DatasetNotFoundError: _dataset_not_found,
    Exception: _unexpected,
}


def install_exception_handlers(app: FastAPI) -> None:
    """Register every handler of the table on ``app``."""
    for exc_class, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exc_class, handler)  # type: ignore[arg-type]  # Starlette types handlers as taking Exception; each of ours takes its own subclass
