"""The one supervisor of simulation jobs in an API process: validation, store, runner, progress.

Each unfinished job has one asyncio task here (its *supervisor*): it submits the job's missing
chunks to Dask (several consecutive chunks per task, a bounded window at a time), saves the chunks
as they arrive, and when all are saved merges them in chunk order into the result. On start-up
the supervisors of jobs left ``accepted``/``running`` are restarted: they submit only the chunks that are not in the store, so the result is the same as
an uninterrupted run. Routes call :meth:`submit`, :meth:`get`, :meth:`page`, :meth:`cancel` and :meth:`delete`,
always with the caller's principal as ``owner``: a job is visible only to the key that created it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import math
import os
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from distributed.client import ClosedClientError, FutureCancelledError
from distributed.comm.core import CommClosedError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from schemas.jobs import Progress, SimulationJob, SimulationJobList, SimulationRequestBase, SimulationResult
from schemas.problem import Problem
from service.auth import ANONYMOUS
from service.datasets import DatasetStore, resolve_data
from service.limits import check_cap
from service.settings import Settings
from solvers.exceptions import DivergentLimitError, InvalidParameterError
from solvers.montecarlo.engine import ChunkStatistics, chunk_sizes

from .kinds import KINDS
from .results import build_result, failure, prediction_plan, trial_arguments
from .runner import DaskRunner
from .store import FINISHED, ActiveJobsLimitError, JobRow, JobStore, StorageUnavailableError

logger = logging.getLogger("rmt_service.jobs")
T = TypeVar("T")

#: Seconds a shutdown waits for running jobs to finish before leaving them to resume at the next start.
SHUTDOWN_GRACE = 2.0
#: Backoff (first, largest; seconds) between attempts to reach a lost Dask scheduler.
RECONNECT_BACKOFF = (1.0, 30.0)
#: Backoff (first, largest; seconds) between attempts to write to an unwritable job store.
STORAGE_BACKOFF = (0.5, 30.0)
#: The watchdog resubmits a job's chunks after this many times its slowest chunk without progress ...
WATCHDOG_FACTOR = 10.0
#: ... and never sooner than this (seconds); it looks every WATCHDOG_POLL_SECONDS.
WATCHDOG_MIN_SECONDS = 120.0
WATCHDOG_POLL_SECONDS = 1.0

#: Seconds of work one Dask task aims at (several short chunks per task): each task costs this process
#: a few milliseconds of scheduling and a store write, which should stay small against the work.
TASK_SECONDS = 0.5
#: Tasks of one job in flight per worker: one running and one queued behind it.
TASKS_PER_WORKER = 2
#: Trial costs remembered (one per kind, parameters and sizes; least recently used dropped first), so that
#: a job like an earlier one sizes its first tasks by that job's measured cost instead of running one
#: chunk per task until its own first chunk has finished.
TRIAL_COSTS_KEPT = 256

#: Longest `wait_seconds` of a status request (a long poll): a client waiting for a job asks again after
#: at most this long, well within the idle timeouts of common proxies (30–60 s). A stopping server
#: answers the waiting requests at once (:meth:`JobManager.stop_waiting`).
MAX_WAIT_SECONDS = 10.0
#: A waiting status request reads the store again at least this often: a job supervised by another
#: process (a second API worker answers GETs too) ends without waking this one.
WAIT_RECHECK_SECONDS = 1.0

#: `Retry-After` (seconds) of a 429 for too many unfinished jobs: about one short job's lifetime.
ACTIVE_JOBS_RETRY_AFTER = 10
#: Seconds a cancel waits for the job's supervisor to release its queued chunks.
CANCEL_WAIT = 5.0
#: A cancelled job's flag (a Dask Event the scheduler keeps while it is set) is cleared after this
#: many seconds, or WATCHDOG_FACTOR times the job's slowest task if longer: by then every chunk that
#: was running has looked at it (it does so between trials) and stopped.
CANCEL_FLAG_SECONDS = 120.0


@dataclass(slots=True)
class _Rate:
    """Progress rate of a job since its supervisor (re)started, for the ETA."""

    since: float
    trials_at_start: int
    #: Seconds of the job's slowest task so far (sizes the life of its cancellation flag).
    slowest_task: float = 0.0


class JobManager:
    """Jobs of one API process (the only writer of the store)."""

    def __init__(self, settings: Settings, *, datasets: DatasetStore | None = None) -> None:
        self.settings = settings
        #: Where `{"kind": "dataset"}` references in `params.data` are resolved (with the job's owner).
        self.datasets = datasets
        self.database = Path(settings.jobs_database)
        self.runner = DaskRunner(
            scheduler_address=settings.dask_scheduler, n_workers=settings.dask_workers or os.cpu_count() or 1
        )
        self._store: JobStore | None = None
        self._store_lock = asyncio.Lock()
        self._supervisors: dict[str, asyncio.Task[None]] = {}
        self._rates: dict[str, _Rate] = {}
        #: Why a job is not progressing right now (scheduler lost, store full, resubmitted), shown in its progress.
        self._notes: dict[str, str] = {}
        #: Seconds per trial last measured for a job of the same kind, parameters and sizes (:func:`_cost_key`).
        self._trial_seconds: collections.OrderedDict[str, float] = collections.OrderedDict()
        self.task_seconds = TASK_SECONDS
        self.watchdog_factor = WATCHDOG_FACTOR
        self.watchdog_min_seconds = WATCHDOG_MIN_SECONDS
        self.shutdown_grace = SHUTDOWN_GRACE
        self.cancel_flag_seconds = CANCEL_FLAG_SECONDS
        self._lock_fd: int | None = None
        #: Status requests waiting for a job to end (a long poll): job id → one event per request, set to
        #: make it read the job again. Each request clears only its own, so no wake-up is lost.
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._closing = False

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume the unfinished jobs of an existing database (none to resume if there is no file yet)."""
        if not self.database.exists() or not self._supervisor_lock():
            return
        store = await self.store()
        for job in await self._db(store.unfinished):
            logger.info("resuming job %s (%d/%d trials saved)", job.id, job.trials_done, job.trials)
            self._supervise(job.id)

    async def close(self) -> None:
        """Stop supervising (unfinished jobs stay unfinished in the store, to resume), close Dask and the store."""
        self.stop_waiting()  # (they would keep the store open)
        # Let jobs about to finish land (a tiny job submitted just before shutdown would otherwise
        # be resumed, and start a cluster, at every later start-up); then stop the others.
        await self.runner.wait_started()
        tasks = list(self._supervisors.values())
        if tasks:
            await asyncio.wait(tasks, timeout=self.shutdown_grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.runner.close()
        if self._store is not None:
            await self._db(self._store.close)
            self._store = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _supervisor_lock(self) -> bool:
        """Become the one supervisor of this database (an exclusive ``flock`` held until :meth:`close`).

        The store has one writer: a second API process (e.g. a second uvicorn worker) on the same
        file still answers GETs, but refuses to run jobs instead of running them twice.
        """
        if self._lock_fd is None:
            path = self.database.with_name(self.database.name + ".lock")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._lock_fd = fd
        return True

    def _require_supervisor(self) -> None:
        if not self._supervisor_lock():
            raise HTTPException(
                503, f"Another process supervises the jobs of {self.database.name}; run the API as one worker."
            )

    async def store(self) -> JobStore:
        """The store, opened (and the file created) on first use."""
        async with self._store_lock:
            if self._store is None:
                self._store = await anyio.to_thread.run_sync(JobStore, self.database)
            return self._store

    async def _db(self, method: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(method, *args))

    # --- the API --------------------------------------------------------------------------------

    async def submit(self, request: SimulationRequestBase, *, owner: str = ANONYMOUS) -> SimulationJob:
        """Check ``request`` (one kind's model of :data:`~service.jobs.kinds.SimulationRequest`) against the caps,
        compute the prediction, store the job of ``owner``, start it."""
        kind = KINDS[request.kind]  # type: ignore[attr-defined]  # every member of the union has `kind` and `params`
        params: BaseModel = request.params  # type: ignore[attr-defined]  # every member of the run-time union has `kind` and `params`
        self._resolver(owner)(params)
        check_cap(field="trials", size=request.trials, cap=self.settings.max_trials, what="trials")
        dimensions = kind.dimensions(params, request.size)
        sizes = dimensions.sizes
        for name, value in sizes.items():
            # Each kind says which request field a dimension comes from (params.ratio, params.data.n_samples, size.n_samples, ...).
            field = dimensions.fields[name]
            check_cap(field=field, size=value, cap=self.settings.max_simulation_size, what=f"as the dimension `{name}`")
        try:
            prediction = await anyio.to_thread.run_sync(
                functools.partial(kind.prediction, **kind.arguments(kind.prediction, params, sizes))
            )
        except (InvalidParameterError, DivergentLimitError) as exc:
            raise type(exc)(f"params.{exc.parameter}", exc.message) from exc
        plan = prediction_plan(prediction, sizes=sizes)
        dump = params.model_dump(mode="json")
        self._require_supervisor()
        store = await self.store()
        try:
            job = await self._db(
                functools.partial(
                    store.create,
                    owner=owner,
                    max_active=self.settings.max_active_jobs_per_key,
                    job_id=uuid.uuid4().hex,
                    kind=request.kind,  # type: ignore[attr-defined]  # every member of the run-time union has `kind` and `params`
                    params=dump,
                    trials=request.trials,
                    seed=request.seed if request.seed is not None else secrets.randbits(63),
                    plan=plan,
                    chunk_trials=chunk_sizes(request.trials),
                )
            )
        except ActiveJobsLimitError as exc:
            raise HTTPException(
                429,
                f"This key has {exc.active} unfinished simulation jobs, the most allowed (RMT_MAX_ACTIVE_JOBS_PER_KEY = "
                f"{exc.cap}); wait for one to finish or cancel one.",
                headers={"Retry-After": str(ACTIVE_JOBS_RETRY_AFTER)},
            ) from None
        self._supervise(job.id)
        return self._resource(job)

    async def get(self, job_id: str, *, owner: str = ANONYMOUS, wait: float = 0.0) -> SimulationJob:
        """One job of ``owner``, or 404 (also for another owner's job: its existence is not revealed).

        With ``wait`` > 0 (seconds, a long poll), an unfinished job is answered as soon as it ends, or
        as it is after ``wait`` seconds, whichever comes first: a client waiting for a result makes one
        request where it would make many polls, each of which costs this process CPU that the workers
        could use.
        """
        if wait <= 0:
            return self._resource(await self._row(job_id, owner))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        event = asyncio.Event()
        # Registered before the first read, so that a job ending during that read wakes this request.
        waiting = self._waiting.setdefault(job_id, set())
        waiting.add(event)
        try:
            while True:
                event.clear()
                job = await self._row(job_id, owner)
                remaining = deadline - loop.time()
                if job.status in FINISHED or remaining <= 0 or self._closing:
                    return self._resource(job)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, WAIT_RECHECK_SECONDS))
                if self._closing:
                    return self._resource(job)
        finally:
            waiting.discard(event)
            if not waiting and self._waiting.get(job_id) is waiting:
                del self._waiting[job_id]

    def stop_waiting(self) -> None:
        """Answer every status request waiting for a job now, and every later one at once: the server is stopping.

        Called on the exit signal (:mod:`service.shutdown`), when the server starts waiting for its
        requests in progress, and again by :meth:`close`.
        """
        if not self._closing:
            self._closing = True
            waiting = sum(len(events) for events in self._waiting.values())
            logger.info("stopping: %d waiting status requests answered now, later ones at once", waiting)
        for job_id in list(self._waiting):
            self._wake(job_id)

    def _wake(self, job_id: str) -> None:
        """Make the status requests waiting for ``job_id`` read it again (its status may have changed)."""
        for event in self._waiting.get(job_id, ()):
            event.set()

    async def page(
        self, *, statuses: Sequence[str] | None, limit: int, offset: int, owner: str = ANONYMOUS
    ) -> SimulationJobList:
        """Jobs of ``owner`` newest first, optionally only those with one of ``statuses``."""
        if not self.database.exists() and self._store is None:
            return SimulationJobList(items=[], total=0, limit=limit, offset=offset, next=None)
        store = await self.store()
        rows, total = await self._db(
            functools.partial(store.page, statuses=statuses, limit=limit, offset=offset, owner=owner)
        )
        following = None
        if offset + len(rows) < total:
            query = "".join(f"&status={s}" for s in statuses or ())
            following = f"/v1/simulations?limit={limit}&offset={offset + limit}{query}"
        return SimulationJobList(
            items=[self._resource(r) for r in rows], total=total, limit=limit, offset=offset, next=following
        )

    async def delete(self, job_id: str, *, owner: str = ANONYMOUS) -> None:
        """Delete a finished (``successful``, ``failed`` or ``dismissed``) job with its chunks; 409 while it is unfinished.

        Deleting never cancels: a client that meant to stop a job and raced its completion must not
        lose the result, so stopping is :meth:`cancel` and deleting a running job is refused.
        """
        job = await self._row(job_id, owner)
        if job.status not in FINISHED:
            raise HTTPException(
                409,
                f"Simulation job {job_id!r} is {job.status}; cancel it first (POST /v1/simulations/{job_id}/cancel).",
            )
        store = await self.store()
        if not await self._db(store.delete, job_id):
            raise HTTPException(404, f"No simulation job {job_id!r}.")

    async def cancel(self, job_id: str, *, owner: str = ANONYMOUS) -> SimulationJob:
        """Stop an unfinished job (→ ``dismissed``); on a finished job change nothing. Idempotent; answers the job."""
        job = await self._row(job_id, owner)
        if job.status in FINISHED:
            return self._resource(job)
        self._require_supervisor()
        store = await self.store()
        await self._db(store.dismiss, job_id)
        self._wake(job_id)
        await self.runner.cancel(job_id)
        rate = self._rates.get(job_id)
        slowest = 0.0 if rate is None else rate.slowest_task
        task = self._supervisors.get(job_id)
        try:
            if task is not None:
                task.cancel()
                await asyncio.wait([task], timeout=CANCEL_WAIT)
        finally:  # also when this request is cancelled meanwhile: a flag is never left set for ever
            self.runner.clear_cancel_flag_later(job_id, max(self.cancel_flag_seconds, self.watchdog_factor * slowest))
        return self._resource(await self._row(job_id, owner))

    async def status_counts(self) -> dict[str, int] | None:
        """Jobs per status (for /metrics); None if this process has not opened the store although
        the database exists (another process supervises it)."""
        store = self._store
        if store is None:
            return None if self.database.exists() else {}
        return await self._db(store.status_counts)

    async def busy_workers(self) -> int:
        """Workers executing a chunk right now."""
        return await self.runner.busy_workers()

    # --- supervision ----------------------------------------------------------------------------

    def _supervise(self, job_id: str) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"rmt-job-{job_id}")
        self._supervisors[job_id] = task
        task.add_done_callback(lambda _: self._supervisors.pop(job_id, None))

    async def _run(self, job_id: str) -> None:
        """Supervise one job until it is finished, surviving a lost scheduler, a full disk and stuck chunks.

        Three faults are waited out instead of failing the job (each sets a progress ``note``):

        - **scheduler lost** (connection errors, futures cancelled by Dask, a closed client): the
          runner's client is dropped, and after a backoff the missing chunks are submitted again to
          a new client; chunks already saved are never recomputed;
        - **store unwritable** (disk full or read-only): a computed chunk is kept in memory and its
          save retried with backoff, so nothing computed is lost and nothing half-written is stored;
        - **stuck** (no chunk finished for ``watchdog_factor`` × the slowest chunk so far, at least
          ``watchdog_min_seconds``, while no worker is busy): the missing chunks are resubmitted
          under new keys, with a log line.

        Only an error raised by a trial itself fails the job.
        """
        store = await self.store()
        job = await self._storage_retry(job_id, store.get, job_id)
        if job is None or job.status in FINISHED:
            return
        self._rates[job_id] = _Rate(since=time.monotonic(), trials_at_start=job.trials_done)
        backoff = RECONNECT_BACKOFF[0]
        attempt = 0
        #: The chunks this supervisor saved (the first result of each), kept to merge at the end
        #: without reading them back: decoding a job's 64 stored chunks took longer than the merge.
        computed: dict[int, ChunkStatistics] = {}
        try:
            while True:
                try:
                    outcome = await self._run_chunks(job_id, job, attempt, computed)
                except _SchedulerLost as lost:
                    attempt += 1
                    self._notes[job_id] = f"Waiting for the Dask scheduler ({lost}); retrying in {backoff:.0f} s."
                    logger.warning("job %s: scheduler lost (%s); reconnecting in %.1f s", job_id, lost, backoff)
                    await self.runner.reset()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, RECONNECT_BACKOFF[1])
                    continue
                if outcome == "stuck":
                    attempt += 1
                    continue
                break
            if outcome != "complete":
                return
            job = await self._storage_retry(job_id, store.get, job_id)
            if job is None or job.status in FINISHED:
                return
            if len(computed) == job.n_chunks:
                chunks = [computed[index] for index in range(job.n_chunks)]
            else:  # a resumed job: the chunks saved before this supervisor started are in the store only
                chunks = await self._storage_retry(job_id, store.chunks, job_id)
            if len(chunks) != job.n_chunks:
                raise RuntimeError(f"job {job_id} has {len(chunks)} of {job.n_chunks} chunks after all completed")
            result = await anyio.to_thread.run_sync(build_result, job, chunks)
            await self._storage_retry(job_id, store.succeed, job_id, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("simulation job %s failed", job_id)
            await self._storage_retry(job_id, store.fail, job_id, failure(job_id, exc))
        finally:
            self._rates.pop(job_id, None)
            self._notes.pop(job_id, None)
            self._wake(job_id)  # ended, failed or stopped: a waiting status request reads it again

    async def _run_chunks(self, job_id: str, job: JobRow, attempt: int, computed: dict[int, ChunkStatistics]) -> str:
        """Submit the job's missing chunks in batches, a bounded window at a time, and save each batch as it arrives.

        At most ``TASKS_PER_WORKER`` tasks per worker are in flight (one running, one queued, so that no
        worker waits for the round trip to this process). The first tasks run one chunk each; then a
        task runs as many consecutive chunks as take about ``TASK_SECONDS`` by the chunks measured so far,
        and never more than its share of the rest (so that the last tasks are short and the workers
        finish together). Chunk *i* keeps its seed whatever task runs it, so the grouping (which depends
        on timing and on the number of workers) never changes the result.

        Each chunk saved is also put in ``computed`` (chunk index → statistics; the first one saved, as
        the store keeps). Returns ``"complete"`` (every chunk saved), ``"gone"`` (dismissed or deleted meanwhile) or
        ``"stuck"`` (the watchdog fired; the caller resubmits). Raises :class:`_SchedulerLost` (also when
        Dask cancelled a result this supervisor did not cancel).
        """
        store = await self.store()
        saved = await self._storage_retry(job_id, store.chunk_indices, job_id)
        pending = collections.deque((i, n) for i, n in enumerate(job.chunk_trials) if i not in saved)
        futures: dict[Any, list[int]] = {}
        waiting: dict[asyncio.Future[Any], Any] = {}
        sizer = _BatchSizer(self.task_seconds)
        cost_key = None
        try:
            shared = None
            if pending:
                # In a thread, with the trial's arguments: the key hashes `params`, which may hold data arrays.
                problem, cost_key = await anyio.to_thread.run_sync(
                    lambda: (trial_arguments(job, resolve=self._resolver(job.owner)), _cost_key(job))
                )
                sizer.prior = self._trial_seconds.get(cost_key)
                try:
                    shared = await self.runner.share(problem)
                except _LOST_SCHEDULER_ERRORS as exc:
                    raise _SchedulerLost(type(exc).__name__) from exc
            if not await self._storage_retry(job_id, store.mark_running, job_id):
                return "gone"
            self._notes.pop(job_id, None)
            last_progress = time.monotonic()
            slowest = 0.0
            while pending or waiting:
                workers = max(1, self.runner.worker_count())
                batches = sizer.take(pending, tasks=TASKS_PER_WORKER * workers - len(waiting), workers=workers)
                if batches and shared is not None:
                    try:
                        submitted = await self.runner.submit(
                            job_id=job_id,
                            trial=KINDS[job.kind].trial,
                            problem=shared,
                            entropy=job.seed,
                            batches=batches,
                            cdf_grid=job.plan["cdf_grid"],
                            attempt=attempt,
                        )
                    except _LOST_SCHEDULER_ERRORS as exc:
                        raise _SchedulerLost(type(exc).__name__) from exc
                    futures.update(submitted)
                    waiting.update({asyncio.ensure_future(self.runner.result(future)): future for future in submitted})
                done, _ = await asyncio.wait(
                    waiting, timeout=WATCHDOG_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                finished: list[tuple[int, ChunkStatistics]] = []
                for task in done:
                    indices = futures[waiting.pop(task)]
                    try:
                        results: list[ChunkStatistics] = task.result()
                    except _LOST_SCHEDULER_ERRORS as exc:
                        raise _SchedulerLost(type(exc).__name__) from exc
                    except asyncio.CancelledError as exc:
                        # Only this supervisor's own cancellation may end it; a result cancelled inside the
                        # client would otherwise end the supervisor silently, and leave its job `running`.
                        # A client whose shared gather was cancelled answers every later result so: a new
                        # client, as for a lost scheduler.
                        if _being_cancelled():
                            raise
                        raise _SchedulerLost("a result cancelled inside the Dask client") from exc
                    last_progress = time.monotonic()
                    slowest = max(slowest, sum(stats.seconds for stats in results))
                    if (rate := self._rates.get(job_id)) is not None:
                        rate.slowest_task = slowest
                    sizer.observe(results)
                    # A task stopped by a cancellation returns fewer results than it had chunks.
                    finished += [(i, stats) for i, stats in zip(indices, results, strict=False) if stats.completed]
                if finished:
                    if not await self._storage_retry(job_id, store.save_chunks, job_id, finished):
                        return "gone"  # dismissed meanwhile
                    for index, stats in finished:
                        computed.setdefault(index, stats)
                if not done and await self._stuck(last_progress, slowest):
                    logger.warning(
                        "job %s: no chunk finished for %.0f s while no worker is busy; resubmitting its %d missing chunks",
                        job_id,
                        time.monotonic() - last_progress,
                        len(pending) + sum(len(futures[future]) for future in waiting.values()),
                    )
                    self._notes[job_id] = "Resubmitted chunks that made no progress while the cluster was idle."
                    return "stuck"
            return "complete"
        finally:
            if cost_key is not None and (measured := sizer.seconds_per_trial) is not None:
                self._trial_seconds[cost_key] = measured
                self._trial_seconds.move_to_end(cost_key)
                while len(self._trial_seconds) > TRIAL_COSTS_KEPT:
                    self._trial_seconds.popitem(last=False)
            for task in waiting:
                task.cancel()
            if futures:
                await asyncio.shield(self._release(futures))

    def _resolver(self, owner: str) -> Callable[[Any], None]:
        """Attach stored data sets to a kind's params (as ``owner``, the key that submitted the job)."""
        return lambda params: resolve_data(params, self.datasets, owner=owner, prefix="params.")

    async def _stuck(self, last_progress: float, slowest: float) -> bool:
        """Whether chunks have made no progress for far longer than chunks take, with every worker idle."""
        limit = max(self.watchdog_min_seconds, self.watchdog_factor * slowest)
        if time.monotonic() - last_progress < limit:
            return False
        try:
            return await self.runner.busy_workers() == 0
        except Exception:  # cannot even ask: the scheduler handling decides, not the watchdog
            logger.debug("watchdog could not count busy workers", exc_info=True)
            return False

    async def _storage_retry(self, job_id: str, method: Callable[..., T], *args: Any) -> T:
        """Call a store method, pausing (not failing) the job while the store cannot be written."""
        delay = STORAGE_BACKOFF[0]
        while True:
            try:
                value = await self._db(method, *args)
            except StorageUnavailableError as exc:
                self._notes[job_id] = f"Paused: {exc}; retrying in {delay:.0f} s."
                logger.warning("job %s paused: %s", job_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, STORAGE_BACKOFF[1])
                continue
            if self._notes.get(job_id, "").startswith("Paused:"):
                self._notes.pop(job_id, None)
            return value

    async def _release(self, futures: dict[Any, list[int]]) -> None:
        try:
            await self.runner.release(futures)
        except Exception:  # the cluster may already be gone at shutdown
            logger.debug("could not release futures", exc_info=True)

    # --- mapping --------------------------------------------------------------------------------

    async def _row(self, job_id: str, owner: str) -> JobRow:
        job = None
        if self._store is not None or self.database.exists():
            store = await self.store()
            job = await self._db(store.get, job_id)
        if job is None or job.owner != owner:
            raise HTTPException(404, f"No simulation job {job_id!r}.")
        return job

    def _resource(self, job: JobRow) -> SimulationJob:
        eta = None
        rate = self._rates.get(job.id)
        if job.status == "successful":
            eta = 0.0
        elif rate is not None and job.trials_done > rate.trials_at_start:
            per_second = (job.trials_done - rate.trials_at_start) / max(time.monotonic() - rate.since, 1e-9)
            eta = (job.trials - job.trials_done) / per_second
        return SimulationJob(
            id=job.id,
            kind=job.kind,
            status=job.status,
            params=job.params,
            trials=job.trials,
            seed=job.seed,
            sizes=job.plan["sizes"],
            progress=Progress(
                trials_done=job.trials_done,
                trials_total=job.trials,
                chunks_done=job.chunks_done,
                chunks_total=job.n_chunks,
                fraction=job.trials_done / job.trials,
                eta_seconds=eta,
                note=self._notes.get(job.id) if job.status not in FINISHED else None,
            ),
            created=datetime.fromisoformat(job.created),
            started=None if job.started is None else datetime.fromisoformat(job.started),
            updated=datetime.fromisoformat(job.updated),
            finished=None if job.finished is None else datetime.fromisoformat(job.finished),
            result=None if job.result is None else SimulationResult.model_validate(job.result),
            error=None if job.error is None else Problem.model_validate(job.error),
        )


class _BatchSizer:
    """How many consecutive chunks the next task runs: about ``target`` seconds of work by the chunks seen so far.

    The cost of a trial is what this job's finished chunks measured; before any has finished, it is
    ``prior`` (seconds per trial, measured by the last job of the same kind, parameters and sizes), and
    without one a task runs one chunk. A task never takes more than 1/(2 × workers) of the chunks still
    to submit (guided self-scheduling), so tasks shrink towards the end of a job and no worker is left
    with a long task while the others are idle.
    """

    def __init__(self, target: float, *, prior: float | None = None) -> None:
        self.target = target
        self.prior = prior
        self.seconds = 0.0
        self.trials = 0

    def observe(self, results: Sequence[ChunkStatistics]) -> None:
        for stats in results:
            if stats.completed:
                self.seconds += stats.seconds
                self.trials += stats.count

    @property
    def seconds_per_trial(self) -> float | None:
        """Seconds one trial took on average in the chunks observed, or ``None`` before the first."""
        return self.seconds / self.trials if self.trials else None

    def size(self, remaining: int, workers: int, *, chunk_trials: int = 1) -> int:
        per_trial = self.seconds_per_trial if self.trials else self.prior
        if per_trial is None or remaining <= 0:
            return 1
        per_chunk = per_trial * chunk_trials
        by_cost = remaining if per_chunk <= 0 else int(self.target / per_chunk)
        return max(1, min(by_cost, math.ceil(remaining / (2 * workers))))

    def take(
        self, pending: collections.deque[tuple[int, int]], *, tasks: int, workers: int
    ) -> list[list[tuple[int, int]]]:
        """Up to ``tasks`` batches from the front of ``pending`` (removed from it), in chunk order."""
        batches: list[list[tuple[int, int]]] = []
        while pending and len(batches) < tasks:
            size = self.size(len(pending), workers, chunk_trials=pending[0][1])
            batches.append([pending.popleft() for _ in range(min(size, len(pending)))])
        return batches


def _cost_key(job: JobRow) -> str:
    """What a trial's cost depends on: the kind, its parameters and the finite sizes (hashed: `params` may
    hold a data set's arrays inline)."""
    text = json.dumps([job.kind, job.params, job.plan["sizes"]], sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class _SchedulerLost(Exception):
    """The Dask scheduler cannot be reached (or dropped this client's futures)."""


# What a lost scheduler looks like from the client: a refused or dropped connection, a client that
# was closed under us, futures cancelled by Dask itself, a connect timeout.
_LOST_SCHEDULER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    CommClosedError,
    ClosedClientError,
    FutureCancelledError,
    concurrent.futures.CancelledError,
)


def _being_cancelled() -> bool:
    """Whether the current task has been asked to stop (``Task.cancel``), as opposed to having received
    a ``CancelledError`` from something it awaited."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
