"""Many prediction requests in one call: `POST /v1/batch`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from schemas._base import RequestModel, ResponseModel

#: Hard cap of the contract on items per batch (the setting `max_batch` can only lower it).
MAX_BATCH_ITEMS = 10_000


class BatchItem(RequestModel):
    """One prediction request: the path of a prediction endpoint and its body, as it would be posted alone."""

    path: str = Field(
        pattern=r"^/v1/[a-z0-9/-]+$",
        max_length=200,
        description="Path of a prediction endpoint (`/v1/spectra/...`, `/v1/predictions/...`, `/v1/kernels/...`, "
        "`/v1/activations/...`, `/v1/deterministic-equivalents/...`).",
        examples=["/v1/predictions/random-features-ridge"],
    )
    body: dict[str, Any] = Field(
        description="The request body of that endpoint.", examples=[{"ratio": 0.5, "x": [1.0]}]
    )


class BatchRequest(RequestModel):
    """Up to `max_batch` prediction requests, answered in order, each on its own."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {"path": "/v1/spectra/marchenko-pastur", "body": {"ratio": 0.5, "x": [1.0]}},
                        {"path": "/v1/predictions/linear-ridge", "body": {"ratio": 2.0, "ridge_penalty": 0.1}},
                    ]
                }
            ]
        }
    )

    requests: list[BatchItem] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS, description="The requests (at most the setting `max_batch`)."
    )


class BatchItemResponse(ResponseModel):
    """The answer to one item: its HTTP status and body (a problem+json body when it failed)."""

    status: int = Field(description="HTTP status the request would have had alone.", examples=[200])
    body: dict[str, Any] = Field(
        description="The response body, or an RFC 9457 problem.", examples=[{"density": [0.4]}]
    )


class BatchResponse(ResponseModel):
    """One answer per item, in the order of the request."""

    responses: list[BatchItemResponse] = Field(description="The answers, in order.")
