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
