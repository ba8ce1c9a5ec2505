"""The one supervisor of simulation jobs in an API process: validation, store, runner, progress.

Each unfinished job has one asyncio task here (its *supervisor*): it submits the job's missing
chunks to Dask, saves every chunk as it arrives, and when all are saved merges them in chunk
order into the result. On start-up the supervisors of jobs left ``accepted``/``running`` are
restarted: they submit only the chunks that are not in the store, so the result is the same as
an uninterrupted run. Routes call :meth:`submit`, :meth:`get`, :meth:`page` and :meth:`delete`.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
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
from distributed import as_completed
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from schemas.jobs import Progress, SimulationJob, SimulationJobList, SimulationRequest, SimulationResult
from schemas.problem import Problem
from service.limits import check_cap
from service.settings import Settings
from solvers.exceptions import DivergentLimitError, InvalidParameterError
from solvers.montecarlo.jobs_trials import chunk_sizes

from .kinds import KINDS, Kind
from .results import build_result, failure, prediction_plan
from .runner import DaskRunner
from .store import FINISHED, JobRow, JobStore

logger = logging.getLogger("rmt_service.jobs")
T = TypeVar("T")

#: Seconds a shutdown waits for running jobs to finish before leaving them to resume at the next start.
SHUTDOWN_GRACE = 2.0
#: Seconds a DELETE waits for the job's supervisor to release its queued chunks.
CANCEL_WAIT = 5.0


@dataclass(slots=True)
class _Rate:
    """Progress rate of a job since its supervisor (re)started, for the ETA."""

    since: float
    trials_at_start: int


class JobManager:
    """Jobs of one API process (the only writer of the store)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = Path(settings.jobs_database)
        self.runner = DaskRunner(scheduler_address=settings.dask_scheduler, n_workers=settings.dask_workers or os.cpu_count() or 1)
        self._store: JobStore | None = None
        self._store_lock = asyncio.Lock()
        self._supervisors: dict[str, asyncio.Task[None]] = {}
        self._rates: dict[str, _Rate] = {}
        self.shutdown_grace = SHUTDOWN_GRACE
        self._lock_fd: int | None = None

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
            raise HTTPException(503, f"Another process supervises the jobs of {self.database.name}; run the API as one worker.")

    async def store(self) -> JobStore:
        """The store, opened (and the file created) on first use."""
        async with self._store_lock:
            if self._store is None:
                self._store = await anyio.to_thread.run_sync(JobStore, self.database)
            return self._store

    async def _db(self, method: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(method, *args))

    # --- the API --------------------------------------------------------------------------------

    async def submit(self, request: SimulationRequest) -> SimulationJob:
        """Validate ``request`` against its kind, compute the prediction, store the job, start it."""
        kind = _kind(request.kind)
        params = _validated_params(kind, request.params)
        check_cap(field="trials", size=request.trials, cap=self.settings.max_trials, what="trials")
        dump = params.model_dump(mode="json")
        dimensions = kind.dimensions(params, request.size)
        sizes = dimensions.sizes
        for name, value in sizes.items():
            # Each kind says which request field a dimension comes from (params.ratio, params.data.n_samples, size.n_samples, ...).
            field = dimensions.fields[name]
            check_cap(field=field, size=value, cap=self.settings.max_simulation_size, what=f"as the dimension `{name}`")
        try:
            prediction = await anyio.to_thread.run_sync(
                functools.partial(kind.prediction, **kind.arguments(kind.prediction, dump, sizes))
            )
        except (InvalidParameterError, DivergentLimitError) as exc:
            raise type(exc)(f"params.{exc.parameter}", exc.message) from exc
        plan = prediction_plan(prediction, problem=kind.arguments(kind.trial, dump, sizes), sizes=sizes)
        self._require_supervisor()
        store = await self.store()
        job = await self._db(
            functools.partial(
                store.create,
                job_id=uuid.uuid4().hex,
                kind=request.kind,
                params=dump,
                trials=request.trials,
                seed=request.seed if request.seed is not None else secrets.randbits(63),
                plan=plan,
                chunk_trials=chunk_sizes(request.trials),
            )
        )
        self._supervise(job.id)
        return self._resource(job)

    async def get(self, job_id: str) -> SimulationJob:
        """One job, or 404."""
        return self._resource(await self._row(job_id))

    async def page(self, *, statuses: Sequence[str] | None, limit: int, offset: int) -> SimulationJobList:
        """Jobs newest first, optionally only those with one of ``statuses``."""
        if not self.database.exists() and self._store is None:
            return SimulationJobList(items=[], total=0, limit=limit, offset=offset, next=None)
        store = await self.store()
        rows, total = await self._db(functools.partial(store.page, statuses=statuses, limit=limit, offset=offset))
        following = None
        if offset + len(rows) < total:
            query = "".join(f"&status={s}" for s in statuses or ())
            following = f"/v1/simulations?limit={limit}&offset={offset + limit}{query}"
        return SimulationJobList(items=[self._resource(r) for r in rows], total=total, limit=limit, offset=offset, next=following)

    async def delete(self, job_id: str) -> SimulationJob | None:
        """Cancel an unfinished job (→ ``dismissed``, returned) or delete a finished one (→ ``None``)."""
        job = await self._row(job_id)
        store = await self.store()
        if job.status in FINISHED:
            if not await self._db(store.delete, job_id):
                raise HTTPException(404, f"No simulation job {job_id!r}.")
            return None
        self._require_supervisor()
        await self._db(store.dismiss, job_id)
        await self.runner.cancel(job_id)
        task = self._supervisors.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=CANCEL_WAIT)
        return self._resource(await self._row(job_id))

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
        store = await self.store()
        futures: dict[Any, int] = {}
        try:
            job = await self._db(store.get, job_id)
            if job is None or job.status in FINISHED:
                return
            saved = await self._db(store.chunk_indices, job_id)
            missing = [(i, n) for i, n in enumerate(job.chunk_trials) if i not in saved]
            self._rates[job_id] = _Rate(since=time.monotonic(), trials_at_start=job.trials_done)
            if missing:
                futures = await self.runner.submit(
                    job_id=job_id,
                    trial=KINDS[job.kind].trial,
                    problem=job.plan["problem"],
                    entropy=job.seed,
                    chunks=missing,
                    cdf_grid=job.plan["cdf_grid"],
                )
            if not await self._db(store.mark_running, job_id):
                return
            if futures:
                async for future in as_completed(list(futures)):
                    stats = await future
                    if stats.completed and not await self._db(store.save_chunk, job_id, futures[future], stats):
                        return  # dismissed meanwhile
            job = await self._db(store.get, job_id)
            if job is None or job.status in FINISHED:
                return
            chunks = await self._db(store.chunks, job_id)
            if len(chunks) != job.n_chunks:
                raise RuntimeError(f"job {job_id} has {len(chunks)} of {job.n_chunks} chunks after all completed")
            result = await anyio.to_thread.run_sync(build_result, job, chunks)
            await self._db(store.succeed, job_id, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("simulation job %s failed", job_id)
            await self._db(store.fail, job_id, failure(job_id, exc))
        finally:
            self._rates.pop(job_id, None)
            if futures:
                await asyncio.shield(self._release(futures))

    async def _release(self, futures: dict[Any, int]) -> None:
        try:
            await self.runner.release(futures)
        except Exception:  # the cluster may already be gone at shutdown
            logger.debug("could not release futures", exc_info=True)

    # --- mapping --------------------------------------------------------------------------------

    async def _row(self, job_id: str) -> JobRow:
        job = None
        if self._store is not None or self.database.exists():
            store = await self.store()
            job = await self._db(store.get, job_id)
        if job is None:
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
            status=job.status,  # type: ignore[arg-type]
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
            ),
            created=datetime.fromisoformat(job.created),
            started=None if job.started is None else datetime.fromisoformat(job.started),
            updated=datetime.fromisoformat(job.updated),
            finished=None if job.finished is None else datetime.fromisoformat(job.finished),
            result=None if job.result is None else SimulationResult.model_validate(job.result),
            error=None if job.error is None else Problem.model_validate(job.error),
        )


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        known = ", ".join(sorted(KINDS))
        raise RequestValidationError(
            [{"type": "unknown_kind", "loc": ("body", "kind"), "msg": f"`kind` {name!r} is not a simulation kind; one of: {known}", "input": name}]
        )
    return kind


def _validated_params(kind: Kind, params: dict[str, Any]) -> BaseModel:
    """``params`` through the kind's request schema; errors are reported under ``params.``."""
    try:
        return kind.params.model_validate(params)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", "params", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
