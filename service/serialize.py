"""Turn solver results into the JSON values of a response (NaN and ±inf become null, never invalid JSON).

The helpers return plain values (lists, and dicts in the shape of the schema's objects: an
``Interval`` as ``{"lower": …, "upper": …}``), which the route passes to its response model's
constructor. The model validates them there, nested objects included, in one call into pydantic's
validator: a response is checked against its schema exactly as if each object had been built as a
model, but building a Marchenko–Pastur answer that way costs 10 instead of 13 µs (one validation
instead of seven; measured in a loop, issue 13), and about twice that saving inside a served request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, cast

import numpy as np

from service.version import SERVICE_VERSION
from solvers._results import Diagnostics as SolverDiagnostics

#: A JSON object in the shape of one of the response schema's objects, validated by the model it goes into.
JsonObject = dict[str, Any]

_FLOAT64 = np.dtype(np.float64)


def floats(values: Iterable[float] | np.ndarray) -> list[float | None]:
    """A list of Python floats with non-finite entries replaced by ``None``."""
    if type(values) is np.ndarray and values.dtype is _FLOAT64 and values.ndim == 1:
        array = values  # (a solver's own 1-d float array: no conversion)
    else:
        array = np.asarray(values, dtype=np.float64).ravel()
    listed: list[float] = array.tolist()
    if math.isfinite(sum(listed)):  # (one C loop: a NaN or an infinity makes the sum NaN or infinite)
        return cast("list[float | None]", listed)
    return [v if math.isfinite(v) else None for v in listed]  # (also when finite values overflow the sum)


def finite_or_none(value: float) -> float | None:
    """One float, or ``None`` when it is not finite."""
    value = float(value)
    return value if math.isfinite(value) else None


def stieltjes_values(z: np.ndarray, m: np.ndarray) -> list[JsonObject]:
    """Pairs (z, m(z)) as ``StieltjesValue`` objects."""
    return [
        {"z": {"re": zi.real, "im": zi.imag}, "m": {"re": mi.real, "im": mi.imag}}
        for zi, mi in zip(np.asarray(z).tolist(), np.asarray(m).tolist(), strict=True)
    ]


def interval(lower: float, upper: float) -> JsonObject:
    """An ``Interval`` object."""
    return {"lower": float(lower), "upper": float(upper)}


def atom(location: float, mass: float) -> JsonObject:
    """An ``Atom`` object."""
    return {"location": float(location), "mass": float(mass)}


def provenance(reference: str, diagnostics: SolverDiagnostics | None = None) -> JsonObject:
    """A ``Provenance`` object: formula reference, service version, solver diagnostics."""
    return {
        "reference": reference,
        "service_version": SERVICE_VERSION,
        "diagnostics": None
        if diagnostics is None
        else {
            "iterations": int(diagnostics.iterations),
            "residual": finite_or_none(diagnostics.residual),
            "converged": bool(diagnostics.converged),
        },
    }
