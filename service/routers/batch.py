"""`POST /v1/batch`: many prediction requests in one round trip (an AutoML search's grid of settings).

Each item goes through the whole app as if it had been posted alone — the same validation, key,
rate limit, caps, cost model and problem bodies — so a batch is exactly its items, minus the
per-request HTTP overhead. Items on one stored data set and activation share its cached spectral
decomposition, so a batch of N × γ settings pays one eigendecomposition.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request

from schemas.batch import BatchItem, BatchItemResponse, BatchRequest, BatchResponse
from service.dependencies import SettingsDep
from service.limits import check_cap
from service.problems import PROBLEM_RESPONSES
from service.representations import RepresentationRoute

router = APIRouter(tags=["batch"], responses=PROBLEM_RESPONSES, route_class=RepresentationRoute)

#: Path prefixes of the prediction endpoints a batch may call (no jobs, data sets or batches).
PREDICTION_PREFIXES = (
    "/v1/spectra/",
    "/v1/predictions/",
    "/v1/kernels/",
    "/v1/activations/",
    "/v1/deterministic-equivalents/",
)
#: Items in flight at once: enough to keep the compute pool busy, few enough not to monopolise it.
CONCURRENCY = 4
#: Request headers passed to every item (the caller's key and request id).
FORWARDED = ("authorization", "x-request-id", "accept-language")


@router.post("/v1/batch", operation_id="runBatch", summary="Many prediction requests in one call, answered in order")
async def run_batch(batch: BatchRequest, request: Request, settings: SettingsDep) -> BatchResponse:
    """Each item is answered as if posted alone (status and body, a problem+json body on failure)."""
    check_cap(field="requests", size=len(batch.requests), cap=settings.max_batch, what="requests")
    headers = {name: value for name, value in request.headers.items() if name in FORWARDED}
    transport = httpx.ASGITransport(app=request.app, raise_app_exceptions=False)
    slots = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(transport=transport, base_url="http://batch") as client:

        async def answer(item: BatchItem) -> BatchItemResponse:
            if not item.path.startswith(PREDICTION_PREFIXES):
                return _not_a_prediction(item.path)
            async with slots:
                response = await client.post(item.path, json=item.body, headers=headers)
            return BatchItemResponse(status=response.status_code, body=response.json())

        responses = await asyncio.gather(*(answer(item) for item in batch.requests))
    return BatchResponse(responses=list(responses))


def _not_a_prediction(path: str) -> BatchItemResponse:
    return BatchItemResponse(
        status=404,
        body={
            "type": "urn:rmt-service:problem:not-found",
            "title": "Not found",
            "status": 404,
            "detail": f"{path} is not a prediction endpoint; a batch takes paths starting with {', '.join(PREDICTION_PREFIXES)}.",
        },
    )
