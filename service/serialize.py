"""Turn solver arrays into JSON-safe values (NaN and ±inf become null, never invalid JSON)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from schemas.common import Atom, ComplexValue, Diagnostics, Interval, Provenance, StieltjesValue
from service.version import SERVICE_VERSION
from solvers._results import Diagnostics as SolverDiagnostics


def floats(values: Iterable[float] | np.ndarray) -> list[float | None]:
    """A list of Python floats with non-finite entries replaced by ``None``."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).ravel().tolist()]


def finite_or_none(value: float) -> float | None:
    """One float, or ``None`` when it is not finite."""
    value = float(value)
    return value if math.isfinite(value) else None


def stieltjes_values(z: np.ndarray, m: np.ndarray) -> list[StieltjesValue]:
    """Pairs (z, m(z)) as response objects."""
    return [
        StieltjesValue(z=ComplexValue(re=zi.real, im=zi.imag), m=ComplexValue(re=mi.real, im=mi.imag))
        for zi, mi in zip(np.asarray(z).tolist(), np.asarray(m).tolist(), strict=True)
    ]


def interval(lower: float, upper: float) -> Interval:
    """An interval response object."""
    return Interval(lower=float(lower), upper=float(upper))


def atom(location: float, mass: float) -> Atom:
    """An atom response object."""
    return Atom(location=float(location), mass=float(mass))


def provenance(reference: str, diagnostics: SolverDiagnostics | None = None) -> Provenance:
    """Provenance of a prediction: formula reference, service version, solver diagnostics."""
    return Provenance(
        reference=reference,
        service_version=SERVICE_VERSION,
        diagnostics=None
        if diagnostics is None
        else Diagnostics(
            iterations=int(diagnostics.iterations),
            residual=finite_or_none(diagnostics.residual),
            converged=bool(diagnostics.converged),
        ),
    )
