"""Prometheus metrics of one app (prometheus-client), served at ``GET /metrics``.

Each app has its own :class:`Metrics` (its own ``CollectorRegistry``, in ``app.state.metrics``), so
apps built by tests never share or collide on counters. Two kinds of series:

* **counted as requests pass** (by :class:`service.observability.ObservabilityMiddleware`):
  ``rmt_http_requests_total`` and ``rmt_http_request_duration_seconds`` by method, route *template*
  (``/v1/simulations/{job_id}``, never the raw path; ``unmatched`` for paths no route serves) and
  status; ``rmt_problems_total`` by problem ``type`` and status; ``rmt_http_requests_in_progress``;
* **read at scrape time** (by :class:`ServiceCollector`): ``rmt_compute_queue_depth``,
  ``rmt_jobs{state}``, ``rmt_job_chunks_in_flight``, ``rmt_dask_workers``; plus the standard
  ``process_*`` (RSS, CPU, open files) and ``python_*`` series.

**The compute pool's hook.** The queue depth comes from ``app.state.compute``: if that object has a
method ``queue_depth() -> int`` (calls waiting for a worker of the pool, not those running; see
:class:`QueueDepthSource`), it is called at each scrape, on the event loop, so it must be cheap and
must not block. Without it, the gauge reports the calls waiting for anyio's default thread limiter,
where today's ``Compute`` sends its solver calls. See :func:`compute_queue_depth`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.jobs.store import FINISHED, UNFINISHED

logger = logging.getLogger("rmt_service.metrics")

#: The states of a simulation job (one ``rmt_jobs`` series each, 0 included).
JOB_STATES = UNFINISHED + FINISHED
#: Latency buckets (seconds): closed forms answer in ~1 ms, random-features requests in up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The route label of requests no route matched (a raw path would make the label set unbounded).
UNMATCHED = "unmatched"
#: Answered requests recorded between two updates of the series (:meth:`Metrics.flush`): it bounds the
#: memory they take (~25 kB) when nothing scrapes, and the pause of one batch (~0.4 ms) on the event loop.
FLUSH_EVERY = 256


@runtime_checkable
class QueueDepthSource(Protocol):
    """What ``app.state.compute`` implements to report its own queue (the pool's hook)."""

    def queue_depth(self) -> int:
        """Calls submitted to the pool and not yet started (called on the event loop; must not block)."""
        ...


def compute_queue_depth(compute: object) -> int:
    """The compute pool's queue depth: ``compute.queue_depth()`` if it has one, else the calls
    waiting for anyio's default thread limiter (where today's ``Compute`` runs solver calls).
    Call on the event loop."""
    if isinstance(compute, QueueDepthSource):
        return int(compute.queue_depth())
    return anyio.to_thread.current_default_thread_limiter().statistics().tasks_waiting


@dataclass(frozen=True, slots=True)
class ServiceSnapshot:
    """The state of the service read by :meth:`ServiceCollector.refresh`."""

    compute_queue_depth: int
    jobs_by_state: dict[str, int] | None  # None: the store is another process's (see JobManager.status_counts)
    chunks_in_flight: int
    dask_workers: int


class ServiceCollector(Collector):
    """Series read from the app's state at scrape time (nothing is counted in advance).

    Reading is asynchronous (the job store is queried in a worker thread; the Dask client is read on
    the event loop, where it answers from its cache), so the /metrics route awaits :meth:`refresh`
    and the synchronous :meth:`collect` renders that snapshot.
    """

    def __init__(self, state: Any) -> None:
        self.state = state  # the app's ``app.state``
        self.snapshot: ServiceSnapshot | None = None

    async def refresh(self) -> None:
        """Read the compute pool, the job store and Dask now."""
        jobs = getattr(self.state, "jobs", None)
        counts: dict[str, int] | None = None
        chunks = workers = 0
        if jobs is not None:  # between start-up and shutdown
            try:
                counts = await jobs.status_counts()
            except Exception:  # a scrape never fails because the store does; the log says why
                logger.warning("could not count the jobs for /metrics", exc_info=True)
            chunks, workers = jobs.runner.chunks_in_flight(), jobs.runner.worker_count()
        self.snapshot = ServiceSnapshot(
            compute_queue_depth=compute_queue_depth(getattr(self.state, "compute", None)),
            jobs_by_state=counts,
            chunks_in_flight=chunks,
            dask_workers=workers,
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield GaugeMetricFamily(
            "rmt_compute_queue_depth",
            "Solver calls waiting for a worker of the compute pool.",
            value=snapshot.compute_queue_depth,
        )
        if snapshot.jobs_by_state is not None:
            family = GaugeMetricFamily("rmt_jobs", "Simulation jobs in the store by state.", labels=["state"])
            for state in JOB_STATES:
                family.add_metric([state], snapshot.jobs_by_state.get(state, 0))
            yield family
        yield GaugeMetricFamily(
            "rmt_job_chunks_in_flight",
            "Chunks of trials submitted to Dask and not finished yet (queued or running).",
            value=snapshot.chunks_in_flight,
        )
        yield GaugeMetricFamily(
            "rmt_dask_workers",
            "Dask workers known to the scheduler (0 until the first job connects to or starts the cluster; "
            "refreshed by the Dask client every few seconds).",
            value=snapshot.dask_workers,
        )


class Metrics:
    """The registry and the request-time metrics of one app."""

    def __init__(self, state: Any) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        labels = ("method", "route", "status")
        self.requests = Counter(
            "rmt_http_requests", "HTTP requests answered, by route template and status.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "rmt_http_request_duration_seconds",
            "Time from request to the end of the response, by route template and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge("rmt_http_requests_in_progress", "HTTP requests being served.", registry=self.registry)
        #: Requests being served, counted by the middleware on the event loop (a plain int: the gauge's own
        #: inc/dec take a lock each, ~2 µs per request in-process) and read by the gauge at scrape time.
        self.in_flight = 0
        self.in_progress.set_function(lambda: self.in_flight)
        self.problems = Counter(
            "rmt_problems",
            "application/problem+json responses by problem type and status.",
            ("type", "status"),
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._pending: list[tuple[str, str, int, float, str | None]] = []
        self.service = ServiceCollector(state)
        self.registry.register(self.service)

    def observe(self, *, method: str, route: str, status: int, seconds: float, problem_type: str | None) -> None:
        """Record one answered request (applied to the series at the next :meth:`flush`)."""
        pending = self._pending
        pending.append((method, route, status, seconds, problem_type))
        if len(pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Apply the requests recorded since the last flush to the Prometheus series.

        Requests are recorded as tuples and applied in batches, at every scrape and every
        :data:`FLUSH_EVERY` requests. Each update takes locks and walks the buckets (~1.6 µs in a
        loop); done inside every request, between the app's own code, it cost ~3.6 µs of a ~84 µs
        Marchenko–Pastur answer in-process, and batching saved ~2.7 µs of it (A/B, issue 13). A
        scrape flushes first, so it sees every answered request.
        """
        pending, self._pending = self._pending, []
        children = self._children
        for method, route, status, seconds, problem_type in pending:
            key = (method, route, status)
            child = children.get(key)
            if child is None:  # labels() validates and locks: once per label set, not per request
                labels = (method, route, str(status))
                child = children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
            child[0].inc()
            child[1].observe(seconds)
            if problem_type is not None:
                self.problems.labels(problem_type, str(status)).inc()

    async def exposition(self) -> bytes:
        """Read the service's state, then render the registry in the Prometheus text format (:data:`CONTENT_TYPE`)."""
        await self.service.refresh()
        self.flush()  # (after the await: a request answered meanwhile is in this scrape too)
        return generate_latest(self.registry)


#: Media type of :meth:`Metrics.exposition`: the text format 0.0.4, which every Prometheus version
#: reads (our metric and label names need none of the 1.0.0 format's escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
