"""Where solver calls run: inline when tiny, in a worker thread otherwise.

The event loop must never be blocked for long, so every route calls its solver through
:class:`Compute` with an estimate of the work (``cost``, in evaluation points).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")


class Compute:
    """Run a solver on the event loop if ``cost <= inline_cost_limit``, else in the thread pool."""

    def __init__(self, *, inline_cost_limit: int) -> None:
        self.inline_cost_limit = inline_cost_limit

    async def __call__(self, solver: Callable[..., T], /, *, cost: int, **kwargs: Any) -> T:
        if cost <= self.inline_cost_limit:
            return solver(**kwargs)
        return await anyio.to_thread.run_sync(functools.partial(solver, **kwargs))
