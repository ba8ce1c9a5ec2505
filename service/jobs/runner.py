"""The Dask side of the jobs: one asynchronous ``distributed.Client`` per API process.

Embedded mode (default): a ``LocalCluster`` of worker *processes* (one thread each, so BLAS and
the GIL never make two trials share a core). Remote mode (``RMT_DASK_SCHEDULER=tcp://host:port``):
a client of an existing cluster. After the client exists both modes take the same path.

The cluster is started lazily, on the first job (or the first job to resume): an app whose
routes never touch jobs — every other test module — never pays for starting workers.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import dask
import numpy as np
from dask.sizeof import sizeof
from distributed import Client, Event, Future, LocalCluster

from service.jobs.spans import SpanPruner
from service.jobs.worker import cancel_event_name, run_chunks

logger = logging.getLogger("rmt_service.jobs")

#: Seconds to wait for a remote scheduler (or the local cluster) to answer.
CONNECT_TIMEOUT = 30.0
#: Environment of the embedded cluster's worker processes (set before they import numpy).
WORKER_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Dask settings of the embedded cluster, whose scheduler and nannies live in the API process and
#: share the cores with the workers. Defaults: the event-loop latency tick every 20 ms in every Dask
#: server (scheduler, each nanny, each worker), the scheduler's system monitor every 0.5 s, each
#: nanny's memory check every 0.1 s, and each worker sampling its own stack every 10 ms for the
#: dashboard's profile page (the embedded cluster has no dashboard). Together about 3 % of a core
#: idle, and a few % of the workers' time while they compute.
EMBEDDED_CONFIG = {
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.worker.profile.enabled": False,
    # Every Dask server (here the scheduler and the nannies) keeps its last `log-length` log records
    # (default 10 000; ~2 per cancelled job, each with its arguments) for `get_scheduler_logs`.
    "distributed.admin.log-length": 200,
}
#: Dask settings of this process's client (both modes), and of the embedded cluster too. Dask keeps
#: its last `low-level-log-length` (default 1000) messages of every batched stream for debugging:
#: client → scheduler, scheduler → client and scheduler → each worker, each message with its task
#: specifications, arguments (a job's CDF grid) and the read buffers they point into: ~110 KiB per
#: job (tracemalloc, embedded cluster) until the logs fill, after several hundred jobs. The same
#: setting bounds the scheduler's transition log and its event topics. 50 keeps the last few
#: seconds of traffic for a post-mortem.
CLIENT_CONFIG = {"distributed.admin.low-level-log-length": 50}
#: Largest trial arguments (bytes, by ``dask.sizeof``) sent inside each task instead of broadcast once per job.
INLINE_PROBLEM_BYTES = 64 * 1024
#: Dask key prefix of every chunk task (``rmt-chunk-<job id>-<chunk index>``).
CHUNK_KEY_PREFIX = "rmt-chunk-"


class DaskRunner:
    """Owns the Dask client (and the embedded cluster, if any); submits and cancels chunks."""

    def __init__(self, *, scheduler_address: str | None, n_workers: int) -> None:
        self.scheduler_address = scheduler_address
        self.n_workers = n_workers
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._lock = asyncio.Lock()
        self._starting: asyncio.Task[Client] | None = None
        #: Chunks per submitted task key (a task runs a batch of chunks), for :meth:`chunks_in_flight`.
        self._batch_chunks: dict[str, int] = {}
        #: Jobs whose cancellation flag is set → the timer that clears it (None until one is armed).
        self._cancel_flags: dict[str, asyncio.TimerHandle | None] = {}
        #: Tasks started by those timers, referenced until they end (the loop keeps only weak references).
        self._clearing: set[asyncio.Task[None]] = set()
        #: Drops the embedded scheduler's finished spans (``grace_seconds`` after their tasks are forgotten).
        self.spans = SpanPruner()

    @property
    def started(self) -> bool:
        """Whether a client exists (jobs were submitted since start-up)."""
        return self._client is not None

    async def client(self) -> Client:
        """The client, connecting (remote) or starting the local cluster (embedded) on first use.

        The start-up runs in its own task: a caller cancelled meanwhile (e.g. at shutdown) never
        leaves a half-started cluster behind, and :meth:`close` waits for it before closing.
        """
        async with self._lock:
            failed = (
                self._starting is not None
                and self._starting.done()
                and (self._starting.cancelled() or self._starting.exception() is not None)
            )
            if self._starting is None or failed:  # a failed attempt is retried by the next job
                # In a fresh context: the cluster outlives the request that started it, and its
                # log lines must not all carry that request's id.
                self._starting = asyncio.create_task(
                    self._connect(), name="rmt-dask-start", context=contextvars.Context()
                )
            starting = self._starting
        return await asyncio.shield(starting)

    async def _connect(self) -> Client:
        if self.scheduler_address:
            logger.info("connecting to the Dask scheduler at %s", self.scheduler_address)
            with dask.config.set(CLIENT_CONFIG):  # read when the client's streams are built
                self._client = await Client(self.scheduler_address, asynchronous=True, timeout=CONNECT_TIMEOUT)
        else:
            # Read when the scheduler, nannies, workers and client (and their streams) are built.
            with dask.config.set({**EMBEDDED_CONFIG, **CLIENT_CONFIG}):
                if self._cluster is None:  # after reset() only the client is made anew
                    logger.info("starting a local Dask cluster of %d worker processes", self.n_workers)
                    self._cluster = await LocalCluster(
                        n_workers=self.n_workers,
                        threads_per_worker=1,
                        processes=True,
                        asynchronous=True,
                        dashboard_address=None,
                        worker_dashboard_address=None,
                        # One BLAS thread per worker: the workers already use every core. Dask's nanny sets
                        # these by default too (`distributed.nanny.pre-spawn-environ`); explicit here, so that a
                        # changed Dask configuration cannot oversubscribe the cores.
                        env=dict(WORKER_ENVIRONMENT),
                    )
                self._client = await Client(self._cluster, asynchronous=True, timeout=CONNECT_TIMEOUT)
        return self._client

    async def wait_started(self) -> None:
        """Wait for a start-up in progress (if any) to end, successfully or not."""
        if self._starting is not None:
            await asyncio.gather(asyncio.shield(self._starting), return_exceptions=True)

    async def share(self, problem: dict[str, Any]) -> Future | dict[str, Any]:
        """Make the trial's arguments available to every worker, once per job start; what to pass to :meth:`submit`.

        Arguments up to ``INLINE_PROBLEM_BYTES`` (the sizes and parameters of most kinds) are returned as
        they are and travel inside each task: a broadcast would cost a round trip through the scheduler
        to every worker at the start of each job, and a release at its end, for a few hundred bytes.
        Larger ones (data arrays) are broadcast, so that every worker already holds them: the scheduler
        then places each chunk task by the workers' load alone, instead of queueing the first tasks on
        the one worker that received them.
        """
        if sizeof(problem) <= INLINE_PROBLEM_BYTES:
            return problem
        client = await self.client()
        # Shielded: a scatter cancelled half-way (its job cancelled meanwhile) has already made the
        # scheduler hold the key for this client, but the future that would release it is never made:
        # the data would stay on every worker, and the task on the scheduler, for the client's lifetime.
        # Left to finish, its future is made and dropped with the task, which releases the key.
        scatter = asyncio.ensure_future(client.scatter([problem], hash=False, broadcast=True))
        scatter.add_done_callback(_retrieve)
        [shared] = await asyncio.shield(scatter)
        return shared

    @staticmethod
    async def result(future: Future) -> Any:
        """The result of a submitted task; cancelling the caller never cancels the transfer.

        The client serves concurrent results by one shared gather, started by the first caller:
        cancelling that caller (the supervisor of a job being cancelled) would cancel the gather for
        every caller, and another job's supervisor would receive a ``CancelledError`` it did not ask for.
        """
        gather = asyncio.ensure_future(_await(future))
        gather.add_done_callback(_retrieve)
        return await asyncio.shield(gather)

    async def submit(
        self,
        *,
        job_id: str,
        trial: Any,
        problem: Future | dict[str, Any],
        entropy: int,
        batches: Iterable[Sequence[tuple[int, int]]],
        cdf_grid: list[float] | None,
        attempt: int = 0,
    ) -> dict[Future, list[int]]:
        """Submit one task per batch of ``(chunk_index, trials)`` pairs; returns future → chunk indices.

        ``problem`` is what :meth:`share` returned (the arguments, or the future of their broadcast).
        A task's key names its job and its first chunk. ``attempt`` > 0 (a resubmission after a lost
        scheduler or the watchdog) gives the tasks new keys, so the scheduler cannot hand back the stuck
        task under the old key. The seed of chunk *i* does not depend on the key or on the batch, so the
        result does not either.
        """
        client = await self.client()
        # An array is one opaque argument to Dask; a list of 1024 floats is walked element by element
        # for every task spec, which cost the API process more CPU than the scheduling itself.
        grid = None if cdf_grid is None else np.asarray(cdf_grid, dtype=np.float64)
        futures: dict[Future, list[int]] = {}
        for batch in batches:
            chunks = [(int(index), int(trials)) for index, trials in batch]
            key = f"{CHUNK_KEY_PREFIX}{job_id}-{chunks[0][0]}" + (f"-r{attempt}" if attempt else "")
            future = client.submit(
                run_chunks, trial, problem, entropy, chunks, grid, job_id, key=key, pure=False, retries=1
            )
            self._batch_chunks[key] = len(chunks)
            futures[future] = [index for index, _ in chunks]
        return futures

    async def reset(self) -> None:
        """Drop a client whose scheduler was lost, so that the next :meth:`client` connects anew.

        Embedded mode keeps its cluster (only the client is rebuilt). Errors while closing a dead
        client are expected and ignored.
        """
        async with self._lock:
            client, self._client, self._starting = self._client, None, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), timeout=5)
            except Exception:
                logger.debug("closing a lost client failed", exc_info=True)

    async def scheduler_reachable(self) -> tuple[bool, str | None]:
        """Whether a remote scheduler accepts connections now (always true in embedded mode).

        A plain TCP connect, so that readiness never waits on Dask's own retries.
        """
        if not self.scheduler_address:
            return True, None
        address = self.scheduler_address.removeprefix("tcp://")
        host, _, port = address.rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout=1.0)
        except (OSError, TimeoutError, ValueError) as exc:
            return False, f"Dask scheduler {self.scheduler_address} unreachable: {type(exc).__name__}"
        writer.close()
        return True, None

    async def release(self, futures: Iterable[Future]) -> None:
        """Drop futures that are still queued (running ones finish their current trial, then stop)."""
        futures = list(futures)
        for future in futures:
            self._batch_chunks.pop(str(future.key), None)
        self.prune_spans()
        pending = [f for f in futures if not f.done()]
        if pending and self._client is not None:
            await self._client.cancel(pending)

    def prune_spans(self) -> int:
        """Drop the embedded scheduler's finished spans (:mod:`service.jobs.spans`); returns how many.

        Remote schedulers are left alone: their memory is not this process's, and their other clients
        may still look at their spans (their operator can load :mod:`service.jobs.spans` as a preload).
        """
        scheduler = None if self._cluster is None else self._cluster.scheduler
        if scheduler is None:
            return 0
        return self.spans.prune(scheduler, now=asyncio.get_running_loop().time())

    async def cancel(self, job_id: str) -> None:
        """Set the job's cancellation flag, which running chunks check between trials.

        The flag is a Dask ``Event``, which the scheduler keeps as long as it is set: call
        :meth:`clear_cancel_flag_later` once the job's tasks are released."""
        if self._client is not None:
            await Event(cancel_event_name(job_id), client=self._client).set()
            self._cancel_flags.setdefault(job_id, None)

    def clear_cancel_flag_later(self, job_id: str, delay: float) -> None:
        """Clear job ``job_id``'s cancellation flag (if set) after ``delay`` seconds, on the scheduler too.

        A task of the job still running when the flag is cleared no longer stops early: it runs its
        remaining chunks and its result is dropped (the job is already ``dismissed``). So ``delay``
        should exceed the time a running chunk takes to look at the flag (one trial).
        """
        if job_id not in self._cancel_flags:
            return
        timer = self._cancel_flags[job_id]
        if timer is not None:
            timer.cancel()
        self._cancel_flags[job_id] = asyncio.get_running_loop().call_later(delay, self._start_clearing, job_id)

    def _start_clearing(self, job_id: str) -> None:
        task = asyncio.create_task(self._clear_cancel_flag(job_id), name=f"rmt-clear-flag-{job_id}")
        self._clearing.add(task)
        task.add_done_callback(self._clearing.discard)

    async def _clear_cancel_flag(self, job_id: str) -> None:
        self._cancel_flags.pop(job_id, None)
        client = self._client
        if client is None:  # the client was dropped with its scheduler, and the flag with it
            return
        try:
            await Event(cancel_event_name(job_id), client=client).clear()
        except Exception:  # a lost scheduler lost the flag too
            logger.debug("could not clear the cancellation flag of job %s", job_id, exc_info=True)

    def cancel_flags(self) -> int:
        """Cancellation flags set and not yet cleared (for tests)."""
        return len(self._cancel_flags)

    async def busy_workers(self) -> int:
        """How many workers are executing a task right now (for tests and health)."""
        if self._client is None:
            return 0
        processing = await self._client.processing()
        return sum(1 for tasks in processing.values() if tasks)

    def chunks_in_flight(self) -> int:
        """Chunks in tasks submitted and not finished (for /metrics; reads the client's own table, no round trip).

        Call on the event loop, like every method of the asynchronous client."""
        client = self._client
        if client is None:
            return 0
        return sum(
            self._batch_chunks.get(str(key), 1)
            for key, state in list(client.futures.items())
            if str(key).startswith(CHUNK_KEY_PREFIX) and state.status == "pending"
        )

    def worker_count(self) -> int:
        """Workers the scheduler reported at the client's last periodic refresh (0 without a client).

        Call on the event loop: there the asynchronous client answers from its cache, elsewhere it
        would make a blocking round trip to the scheduler."""
        client = self._client
        if client is None:
            return 0
        return int(client.scheduler_info().get("n_workers", 0))

    async def close(self) -> None:
        """Close the client, and the local cluster if this process started it."""
        await self.wait_started()
        for timer in self._cancel_flags.values():
            if timer is not None:
                timer.cancel()
        self._cancel_flags.clear()
        for task in list(self._clearing):
            task.cancel()
        await asyncio.gather(*self._clearing, return_exceptions=True)
        client, cluster = self._client, self._cluster
        self._client = self._cluster = self._starting = None
        if client is not None:
            await client.close()
        if cluster is not None:
            closing = cluster.close()  # an awaitable, the cluster being asynchronous
            if closing is not None:
                await closing


async def _await(future: Future) -> Any:
    return await future


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a shielded task's outcome as seen: when its caller was cancelled nobody else reads it."""
    if not task.cancelled():
        task.exception()
