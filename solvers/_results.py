"""Small result types shared by every solver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """How an iterative solver ended.

    Attributes
    ----------
    iterations
        Iterations (or continuation levels times inner steps) actually used; the maximum
        over the points of a vectorised solve.
    residual
        Largest absolute residual of the solved equation over all points.
    converged
        ``True`` when every point met its tolerance.
    """

    iterations: int
    residual: float
    converged: bool


def combine_diagnostics(*parts: Diagnostics) -> Diagnostics:
    """One summary of several solves: most iterations, largest residual, all converged."""
    residuals = [part.residual for part in parts]
    return Diagnostics(
        iterations=max(part.iterations for part in parts),
        residual=max(residuals, key=lambda r: (r != r, r)),  # a NaN residual wins: it must be seen
        converged=all(part.converged for part in parts),
    )
