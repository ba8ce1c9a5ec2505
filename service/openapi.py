"""The OpenAPI document as clients need it: problem bodies under the media type actually sent.

FastAPI puts a response's ``model`` under ``application/json``; every error of this service is sent
as ``application/problem+json``, so a generated client (openapi-python-client) found no schema for
it and returned ``parsed=None`` for every error. The document is rewritten once, when first built:

* every response declaring ``application/problem+json`` carries the ``Problem`` schema there, and
  no ``application/json`` entry;
* every operation documents 405 (a method the path does not serve, with ``Allow``);
* a simulation's `params` follows the schema of its `kind`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from schemas.problem import PROBLEM_MEDIA_TYPE

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

METHOD_NOT_ALLOWED = {
    "description": "The path does not serve this method; the `Allow` header lists every method it serves.",
    "headers": {
        "Allow": {"description": "Every method served at this path, comma-separated.", "schema": {"type": "string"}}
    },
    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
}


def problem_media_types(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``document`` in place (see the module docstring) and return it."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    json_entry = content.pop("application/json", {})
                    content[PROBLEM_MEDIA_TYPE] = {**json_entry, "schema": _PROBLEM_REF}
            responses.setdefault("405", METHOD_NOT_ALLOWED)
    return document


def simulation_params_by_kind(document: dict[str, Any]) -> dict[str, Any]:
    """State in ``SimulationRequest`` that `params` follows the request schema of its `kind`.

    The request model only knows `params` as an object (the kinds registry lives in the service);
    here each kind's branch names its schema, so that a generated request is one the service runs.
    """
    from service.jobs.kinds import KINDS  # the registry: one line per kind

    schemas = document.get("components", {}).get("schemas", {})
    request = schemas.get("SimulationRequest")
    if request is None:
        return document
    branches = []
    for kind, entry in KINDS.items():
        name = entry.params.__name__
        if name not in schemas:
            return document  # a kind whose schema is not in the document: leave `params` open
        branches.append({"properties": {"kind": {"const": kind}, "params": {"$ref": f"#/components/schemas/{name}"}}})
    request.setdefault("allOf", []).append({"oneOf": branches})
    request["properties"]["kind"] = {**request["properties"]["kind"], "enum": list(KINDS)}
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the rewritten document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = simulation_params_by_kind(problem_media_types(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            ))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
