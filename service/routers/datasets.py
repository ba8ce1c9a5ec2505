"""Data sets as resources: `/v1/datasets`. Upload once, refer to `{"kind": "dataset", "id"}` many times."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request, Response

from schemas.datasets import Dataset, DatasetId, DatasetList, DatasetUpload, Preprocess  # noqa: F401 (DatasetUpload: OpenAPI)
from schemas.problem import PROBLEM_MEDIA_TYPE, Problem
from service.auth import PrincipalDep
from service.datasets import NPZ_TYPES, DatasetStore, decode_content, parse_upload, prepare
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute

router = APIRouter(
    prefix="/v1/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No data set with this id for this key.",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }
}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    415: {
        "description": "Not JSON or `.npz`, or an unsupported Content-Encoding.",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    },
    507: {
        "description": "The data directory cannot be written; nothing was stored.",
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    },
}
# Two media types for one operation: the body is read by the route, and declared here for OpenAPI.
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON (`DatasetUpload`) or a NumPy `.npz` holding `x`, `y` and optionally `x_test`, `y_test`; "
        "either may be sent with `Content-Encoding: gzip`.",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DatasetUpload"}},
            **{media: {"schema": {"type": "string", "format": "binary"}} for media in NPZ_TYPES},
        },
    }
}


def _store(request: Request) -> DatasetStore:
    return request.app.state.datasets


async def _read_body(request: Request, cap: int) -> bytes:
    """The raw body, refusing it past ``cap`` bytes while it streams (never buffered beyond that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(
                413, f"The data set exceeds {cap} bytes (setting `max_dataset_bytes`); send it compressed or smaller."
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    status_code=201,
    operation_id="uploadDataset",
    summary="Upload a data set (JSON or .npz, optionally gzip) once; 201 + Location",
    openapi_extra=_UPLOAD_BODY,
    responses={
        **_UPLOAD_ERRORS,
        201: {"headers": {"Location": {"description": "Path of the data set.", "schema": {"type": "string"}}}},
    },
)
async def upload_dataset(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    standardize: Annotated[
        bool | None, Query(description="For an `.npz` body: standardise with the training statistics.")
    ] = None,
    scale: Annotated[
        Literal["none", "sqrt_features"] | None, Query(description="For an `.npz` body: `sqrt_features` divides by √p.")
    ] = None,
) -> Dataset:
    """Store the arrays once per content (the id is derived from them) and record that this key may use them."""
    settings = request.app.state.settings
    raw = await _read_body(request, settings.max_dataset_bytes)
    query = (
        None
        if standardize is None and scale is None
        else Preprocess(standardize=bool(standardize), scale=scale or "none")
    )

    def work() -> tuple[Dataset, bool]:
        body = decode_content(
            raw, encoding=request.headers.get("content-encoding"), max_bytes=settings.max_dataset_bytes
        )
        arrays, options = parse_upload(
            body, content_type=request.headers.get("content-type", ""), preprocess_query=query
        )
        stored, warnings = prepare(arrays, options)
        return _store(request).put(stored, owner=principal.name, options=options, warnings=warnings)

    # Parsing, hashing and writing a large data set takes long: off the event loop.
    dataset, _ = await anyio.to_thread.run_sync(work)
    response.headers["Location"] = f"/v1/datasets/{dataset.id}"
    return dataset


@router.get("", operation_id="listDatasets", summary="List the caller's data sets, newest first")
async def list_datasets(
    request: Request,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Data sets to skip.")] = 0,
) -> DatasetList:
    """A page of the caller's data sets; `next` is the path of the following page."""
    items, total = await anyio.to_thread.run_sync(
        lambda: _store(request).page(owner=principal.name, limit=limit, offset=offset)
    )
    following = f"/v1/datasets?limit={limit}&offset={offset + limit}" if offset + len(items) < total else None
    return DatasetList(items=items, total=total, limit=limit, offset=offset, next=following)


@router.get("/{dataset_id}", operation_id="getDataset", summary="Metadata of a data set", responses=_NOT_FOUND)
async def get_dataset(dataset_id: DatasetId, request: Request, principal: PrincipalDep) -> Dataset:
    """Shape, identity, preprocessing and regime warnings (never the arrays)."""
    dataset = await anyio.to_thread.run_sync(lambda: _store(request).get(dataset_id, owner=principal.name))
    if dataset is None:
        raise HTTPException(404, f"No data set {dataset_id!r}.")
    return dataset


@router.delete(
    "/{dataset_id}",
    status_code=204,
    operation_id="deleteDataset",
    summary="Delete a data set (for this key; the files go with the last key using them)",
    responses={**_NOT_FOUND, 204: {"description": "Deleted."}},
)
async def delete_dataset(dataset_id: DatasetId, request: Request, principal: PrincipalDep) -> None:
    """Requests already running keep the arrays they loaded; later references are 404."""
    if not await anyio.to_thread.run_sync(lambda: _store(request).delete(dataset_id, owner=principal.name)):
        raise HTTPException(404, f"No data set {dataset_id!r}.")
