"""Base models of the HTTP contract.

Requests forbid unknown fields and refuse NaN/Infinity at parse time, so every value that reaches
a solver is finite and named. They are strict about JSON types: `"0.5"` and `true` are not numbers,
`1.0` is not an integer (an integer is accepted where a float is expected). Responses also refuse non-finite floats: a divergent prediction is
``null`` with its reason in ``notes``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _integral(value: object) -> object:
    # JSON does not tell 1 from 1.0, and JSON Schema's "integer" accepts both: so does the service.
    # Booleans, strings and non-integral numbers still fail the strict integer check.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: Marks an integer as JSON Schema means it: 3 and 3.0 are accepted, 3.5, "3" and true are not.
#: Put it after the constraints in an ``Annotated`` alias (``Annotated[int, Field(ge=1), INTEGRAL]``)
#: so that they stay JSON Schema ``minimum``/``maximum``.
INTEGRAL = BeforeValidator(_integral)
#: The integer field type of requests (constraints given by the field's ``Field``).
JsonInt = Annotated[int, INTEGRAL]


def present(*fields: str) -> dict[str, Any]:
    """JSON Schema: every one of ``fields`` is in the object, and not null (null means absent)."""
    return {"required": list(fields), "properties": {field: {"not": {"type": "null"}} for field in fields}}


def absent(*fields: str) -> dict[str, Any]:
    """JSON Schema: none of ``fields`` is in the object (an explicit null is refused too)."""
    return {"not": {"anyOf": [{"required": [field]} for field in fields]}}


def grid_bounds(
    field: str, *, start: dict[str, float] | None = None, stop: dict[str, float] | None = None
) -> dict[str, Any]:
    """JSON Schema: when ``field`` is given as a grid (an object), its `start`/`stop` obey these keywords."""
    bounds = {name: keywords for name, keywords in (("start", start), ("stop", stop)) if keywords}
    return {"properties": {field: {"anyOf": [{"not": {"type": "object"}}, {"type": "object", "properties": bounds}]}}}


class RequestModel(BaseModel):
    """Base of every request body: strict about unknown fields, non-finite numbers and JSON types."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    #: Cross-field rules of the class written as JSON Schema (``oneOf``, ``dependentRequired``, ...),
    #: the same rules its validators enforce, so that a client or a fuzzer generating from the
    #: OpenAPI document only sends what the service accepts. Collected over the class's bases.
    schema_rules: ClassVar[tuple[dict[str, Any], ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(super().__get_pydantic_json_schema__(core_schema, handler))
        rules = [rule for klass in reversed(cls.__mro__) for rule in vars(klass).get("schema_rules", ())]
        for rule in rules:
            if set(rule) == {"dependentRequired"}:
                schema.setdefault("dependentRequired", {}).update(rule["dependentRequired"])
            elif rule not in schema.setdefault("allOf", []):
                schema["allOf"].append(rule)
        return schema


class ResponseModel(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
