"""The OpenAPI document as clients need it: problem bodies under the media type actually sent.

FastAPI puts a response's ``model`` under ``application/json``; every error of this service is sent
as ``application/problem+json``, so a generated client (openapi-python-client) found no schema for
it and returned ``parsed=None`` for every error. The document is rewritten once, when first built:

* every response declaring ``application/problem+json`` carries the ``Problem`` schema there, and
  no ``application/json`` entry;
* every operation documents 405 (a method the path does not serve, with ``Allow``);
* the request models that routes parse themselves are in the components;
* every operation under ``/v1/`` declares the bearer scheme (the keys are checked by
  :class:`service.auth.AuthenticationMiddleware`, not by a route dependency FastAPI could see).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

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


def extra_request_models(document: dict[str, Any]) -> dict[str, Any]:
    """Add the request models that routes parse themselves (a data set upload is JSON *or* `.npz`) to the
    components, so that their `$ref`s resolve and generated clients get their types."""
    from service.routers import EXTRA_REQUEST_MODELS

    _, definitions = models_json_schema(
        [(model, "validation") for model in EXTRA_REQUEST_MODELS], ref_template="#/components/schemas/{model}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    return document


def bearer_security(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer scheme, and require it on every operation the authentication middleware guards."""
    from service.auth import BEARER, PROTECTED_PREFIX

    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[BEARER.scheme_name] = BEARER.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, item in document.get("paths", {}).items():
        if not path.startswith(PROTECTED_PREFIX):
            continue
        for method, operation in item.items():
            if method in _HTTP_METHODS:
                operation["security"] = [{BEARER.scheme_name: []}]
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the rewritten document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = bearer_security(
                extra_request_models(
                    problem_media_types(
                        get_openapi(
                            title=app.title,
                            version=app.version,
                            openapi_version=app.openapi_version,
                            description=app.description,
                            routes=app.routes,
                            tags=app.openapi_tags,
                            servers=app.servers,
                        )
                    )
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the OpenAPI document
