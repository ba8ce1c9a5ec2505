"""From a validated request model to a solver's keyword arguments: the one place a request is read.

One module per topic, one function per endpoint (``<endpoint>_arguments(request) -> dict``). Both the
route and the simulation kind (``service/jobs/kinds.py``) call it, so a job simulates exactly the
problem the endpoint answers. The values are solver types only: floats, lists or numpy arrays of
floats, :class:`solvers.activations.Activation`; never a pydantic model or a request dictionary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def mapped(*, solver: Callable[..., T], mapper: Callable[[Any], dict[str, Any]], request: Any) -> T:
    """``solver(**mapper(request))``: map the request where the solver runs (a worker thread or process).

    For requests whose mapping is itself work (drawing a Gaussian mixture, converting large inline
    arrays), so that it happens off the event loop. Module-level, hence picklable for a process.
    """
    return solver(**mapper(request))
