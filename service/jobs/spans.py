"""Dropping a Dask scheduler's finished spans, in the embedded scheduler and as a preload of a separate one.

Dask keeps every span, and with it every task group it ever aggregated, for the scheduler's lifetime
(dask/distributed#7977): a new ``default`` span each time the cluster starts work after being idle,
i.e. about one per job here, ~5 KiB each. A span's groups are only statistics once none of them is
still the scheduler's group of its name; :class:`SpanPruner` drops such spans after a grace period.

The embedded scheduler is pruned by the runner (``DaskRunner.prune_spans``). A separate scheduler
lives in another process: its operator loads this module into it,

    dask scheduler --preload service.jobs.spans

which prunes every ``rmt.span-prune-interval`` (default 10 s) with a grace of
``rmt.span-grace-seconds`` (default 60 s); both are Dask settings, e.g.
``DASK_RMT__SPAN_GRACE_SECONDS=120``. Spans feed the dashboard's and ``Client.get_task_stream``'s
per-computation views: a scheduler shared with other applications that use them may prefer not to
load it.
"""

from __future__ import annotations

import time
from typing import Any

import dask
from tornado.ioloop import PeriodicCallback

#: Seconds a finished span must have had no task left on the scheduler before it is dropped.
#: Workers report metrics per span at each heartbeat (about every second): one arriving for a span
#: already dropped would fail that heartbeat.
SPAN_GRACE_SECONDS = 60.0
#: Seconds between two prunings of a separate scheduler (the preload).
PRUNE_INTERVAL_SECONDS = 10.0
_CALLBACK = "rmt-prune-spans"


class SpanPruner:
    """Drops a scheduler's spans whose tasks have all been forgotten for ``grace_seconds``."""

    def __init__(self, grace_seconds: float = SPAN_GRACE_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        #: Root spans found finished and forgotten → when first found so (``now``'s clock).
        self._idle: dict[str, float] = {}

    def prune(self, scheduler: Any, *, now: float) -> int:
        """Drop the finished spans of ``scheduler`` (a ``distributed.Scheduler``); returns how many."""
        extension = scheduler.extensions.get("spans")
        if extension is None:
            return 0
        live = {id(group) for group in scheduler.task_groups.values()}
        idle: dict[str, float] = {}
        dropped = 0
        for root in list(extension.root_spans):
            if any(id(group) in live for group in root.traverse_groups()):
                continue
            since = idle[root.id] = self._idle.get(root.id, now)
            if now - since < self.grace_seconds:
                continue
            del idle[root.id]
            extension.root_spans.remove(root)
            for span in list(root.traverse_spans()):
                extension.spans.pop(span.id, None)
                _unlist(extension.spans_search_by_name, span.name, span)
                for tag in span.name:
                    _unlist(extension.spans_search_by_tag, tag, span)
                dropped += 1
        self._idle = idle
        return dropped


def _unlist(index: dict[Any, list[Any]], key: Any, item: Any) -> None:
    """Remove ``item`` (by identity) from the list ``index[key]``, and the key once its list is empty."""
    found = index.get(key)
    if found is not None:
        found[:] = [other for other in found if other is not item]
        if not found:
            del index[key]


def dask_setup(scheduler: Any) -> None:
    """Preload entry point (``dask scheduler --preload service.jobs.spans``): prune periodically."""
    pruner = SpanPruner(float(dask.config.get("rmt.span-grace-seconds", SPAN_GRACE_SECONDS)))
    interval = dask.utils.parse_timedelta(dask.config.get("rmt.span-prune-interval", PRUNE_INTERVAL_SECONDS), "s")

    def prune() -> None:
        pruner.prune(scheduler, now=time.monotonic())

    callback = PeriodicCallback(prune, interval * 1000)
    scheduler.periodic_callbacks[_CALLBACK] = callback
    callback.start()


def dask_teardown(scheduler: Any) -> None:
    """Preload exit point: stop the pruning."""
    callback = scheduler.periodic_callbacks.pop(_CALLBACK, None)
    if callback is not None:
        callback.stop()
