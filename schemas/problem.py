"""RFC 9457 problem details, the body of every error response."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One violated rule of one request field."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Dotted path of the offending field in the request body.", examples=["ratio"])
    location: list[str | int] = Field(
        description="Full location of the field, starting with where it was sent (`body`, `query`, `path`).",
        examples=[["body", "ratio"]],
    )
    rule: str = Field(description="Machine-readable name of the rule that was broken.", examples=["greater_than"])
    message: str = Field(
        description="Human-readable statement of the rule.", examples=["Input should be greater than 0"]
    )


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="Stable URI identifying the kind of problem; clients switch on it.",
        examples=["urn:rmt-service:problem:validation-error"],
    )
    title: str = Field(description="Short, stable summary of the problem type.", examples=["Invalid request"])
    status: int = Field(description="HTTP status code.", examples=[422])
    detail: str = Field(description="Explanation specific to this occurrence.", examples=["1 field is invalid."])
    instance: str | None = Field(
        default=None, description="Path of the request that failed.", examples=["/v1/spectra/marchenko-pastur"]
    )
    errors: list[FieldError] = Field(
        default_factory=list, description="For validation problems: every failing field with the rule it broke."
    )
    supported_media_types: list[str] | None = Field(
        default=None,
        description="For `not-acceptable` (406): the media types this resource can be represented as now; send one of them in `Accept`.",
        examples=[["application/json", "text/csv", "image/svg+xml", "image/png"]],
    )
