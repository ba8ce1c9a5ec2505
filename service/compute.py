"""Where solver calls run: a bounded compute pool, so that no request stalls another.

Every route calls ``await compute(solver, cost=costs.<fn>(request), **kwargs)``. With the estimate
``cost`` (:mod:`service.costs`) :class:`Compute`

1. refuses a request estimated above the time budget ``request_timeout_seconds`` at once
   (:class:`~service.exception_handlers.LimitExceededError`, 422, naming the dominant term);
2. runs it on the event loop only if it is estimated at most ``inline_max_microseconds``;
3. otherwise takes one of ``compute_workers`` slots (default: the number of cores), waiting in a
   queue of at most ``compute_queue_size`` requests. A full queue, or one that would not drain
   within the budget, is a 503 ``overloaded`` with ``Retry-After`` (the estimated backlog per
   worker), never unbounded latency;
4. runs the solver in the executor its cost names: a **thread** for numerics that release the GIL
   (BLAS/LAPACK), a **process** for Python-loop solvers that hold it (:mod:`service.costs` says
   which, and why);
5. stops it at the deadline (admission + budget): 503 ``deadline-exceeded``.

**Deadlines, threads and processes.** A worker process past the deadline is killed (SIGKILL) and
replaced, so its slot is free at once. A thread cannot be killed in Python: the request is
answered 503 at the deadline all the same, but the slot stays taken until the thread returns, so
the bound on concurrent work (and memory) holds even then. Only solvers of small, predictable cost
run in threads (today Marchenko–Pastur's closed forms), so an abandoned thread is the exception.

Slots are shared by both executors: at most ``compute_workers`` solver calls run at once, whatever
their kind, so peak memory is bounded by ``compute_workers`` × the largest request the caps allow.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import importlib
import math
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from service.costs import Cost
from service.exception_handlers import DeadlineExceededError, LimitExceededError, OverloadedError

T = TypeVar("T")

#: Modules imported once by the fork server, so that a new (or replacement) worker starts in
#: milliseconds with numpy, scipy, the schemas and every solver already loaded.
_PRELOAD = ["service.routers"]
#: Environment of the worker processes: one BLAS thread each, since there is one worker per core.
_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_FORKSERVER_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# worker processes


def _portable(exc: BaseException) -> tuple[str, str, str, dict]:
    """An exception as (module, class, message, attributes): solver exceptions take keyword
    arguments that plain pickling of exceptions loses."""
    return type(exc).__module__, type(exc).__qualname__, str(exc), dict(getattr(exc, "__dict__", {}))


def _rebuild(module: str, name: str, message: str, attributes: dict) -> BaseException:
    try:
        cls = getattr(importlib.import_module(module), name)
        exc = cls.__new__(cls)
        Exception.__init__(exc, message)
        exc.__dict__.update(attributes)
        return exc
    except Exception:
        return RuntimeError(f"{module}.{name}: {message}")


def _worker_main(conn) -> None:  # pragma: no cover - runs in the worker process
    """Serve (solver, kwargs) calls on ``conn`` until it is closed."""
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            solver, kwargs = pickle.loads(data)
            reply = ("ok", solver(**kwargs))
        except BaseException as exc:
            reply = ("error", _portable(exc))
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            payload = pickle.dumps(("error", _portable(exc)))
        conn.send_bytes(payload)


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context) -> None:
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True, name="rmt-compute")
        self.process.start()
        child.close()
        self.conn = parent

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


class ProcessWorkers:
    """Up to ``size`` worker processes, each running one call at a time; killable one by one.

    (``concurrent.futures.ProcessPoolExecutor`` cannot stop one running call: killing its process
    breaks the whole pool and every other call in it.)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self.started = 0  # processes started so far (replacements included)
        self.killed = 0

    @property
    def alive(self) -> int:
        """Worker processes currently running (idle or busy)."""
        return sum(1 for worker in self._all if worker.process.is_alive())

    def _context(self):
        context = multiprocessing.get_context("forkserver")
        with _FORKSERVER_LOCK:
            context.set_forkserver_preload(_PRELOAD)
            saved = {key: os.environ.get(key) for key in _WORKER_ENV}
            os.environ.update(_WORKER_ENV)  # inherited by the fork server only when it starts
            try:
                from multiprocessing import forkserver

                forkserver.ensure_running()
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        return context

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context())
        self.started += 1
        return worker

    async def run(self, solver: Callable[..., T], kwargs: dict[str, Any], *, timeout: float) -> T:
        """``solver(**kwargs)`` in a worker process; kill the worker if it runs past ``timeout``."""
        loop = asyncio.get_running_loop()
        worker = self._idle.pop() if self._idle else await asyncio.to_thread(self._spawn)
        self._all.add(worker)
        payload = pickle.dumps((solver, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            await asyncio.to_thread(worker.conn.send_bytes, payload)
            ready = loop.create_future()
            fd = worker.conn.fileno()

            def wake() -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(fd, wake)
            try:
                await asyncio.wait_for(ready, timeout=max(timeout, 0.0))
            finally:
                loop.remove_reader(fd)
                # uvloop's add_reader leaves the descriptor non-blocking; a large answer then arrives in
                # pieces and the blocking read below would fail with EAGAIN (BlockingIOError).
                os.set_blocking(fd, True)
            status, value = await asyncio.to_thread(lambda: pickle.loads(worker.conn.recv_bytes()))
        except BaseException:
            # Past the deadline, cancelled (the client went away), or the worker died: the process
            # is killed and forgotten, and the next call starts a fresh one.
            self._all.discard(worker)
            self.killed += 1
            await asyncio.to_thread(worker.kill)
            raise
        self._idle.append(worker)
        if status == "error":
            raise _rebuild(*value)
        return value

    def close(self) -> None:
        """Stop every worker process."""
        for worker in list(self._all) + self._idle:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(timeout=10)
            worker.conn.close()
        self._all.clear()
        self._idle.clear()


# --------------------------------------------------------------------------------------------
# the pool


class Compute:
    """The bounded compute pool of one app (see the module docstring)."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        queue_size: int = 64,
        timeout_seconds: float = 30.0,
        inline_max_microseconds: float = 200.0,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.queue_size = queue_size
        self.timeout_seconds = timeout_seconds
        self.inline_seconds = inline_max_microseconds * 1e-6
        #: How many calls ran where ("inline", "thread", "process") and how many were refused
        #: ("refused" 422, "overloaded" 503, "deadline_exceeded" 503): for tests and monitoring.
        self.counts: collections.Counter[str] = collections.Counter()
        self.busy = 0  # slots taken (running calls, abandoned threads included)
        self._waiters: collections.deque[tuple[asyncio.Future[None], float]] = collections.deque()
        self._backlog = 0.0  # estimated seconds of the running and queued calls
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self.processes = ProcessWorkers(self.workers)

    @classmethod
    def from_settings(cls, settings) -> Compute:
        """The pool the settings describe."""
        return cls(
            workers=settings.compute_workers,
            queue_size=settings.compute_queue_size,
            timeout_seconds=settings.request_timeout_seconds,
            inline_max_microseconds=settings.inline_max_microseconds,
        )

    @property
    def queued(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    async def __call__(self, solver: Callable[..., T], /, *, cost: Cost, **kwargs: Any) -> T:
        seconds = cost.seconds  # (a sum over the terms: once)
        if seconds > self.timeout_seconds:
            self.counts["refused"] += 1
            term = cost.dominant
            raise LimitExceededError(
                term.field,
                f"This request is estimated at {cost.seconds:.3g} s of computation, above this service's time budget of "
                f"{self.timeout_seconds:g} s per request (setting `request_timeout_seconds`). Dominant term: "
                f"{term.description} (~{term.seconds:.3g} s, field `{term.field}`). {cost.shrink}",
            )
        if seconds <= self.inline_seconds:
            self.counts["inline"] += 1
            return solver(**kwargs)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        await self._acquire(seconds, deadline)
        if cost.executor == "process":
            return await self._in_process(solver, kwargs, cost, deadline)
        return await self._in_thread(solver, kwargs, cost, deadline)

    # --- admission --------------------------------------------------------------------------

    def _retry_after(self) -> int:
        return max(1, math.ceil(self._backlog / self.workers))

    def _overloaded(self, why: str) -> OverloadedError:
        self.counts["overloaded"] += 1
        return OverloadedError(
            f"{why} ({self.busy} of {self.workers} compute workers busy, {self.queued} requests queued); "
            f"retry in {self._retry_after()} s.",
            retry_after=self._retry_after(),
        )

    async def _acquire(self, seconds: float, deadline: float) -> None:
        if self.busy < self.workers and not self._waiters:
            self.busy += 1
            self._backlog += seconds
            return
        if len(self._waiters) >= self.queue_size:
            raise self._overloaded("Every compute worker is busy and the queue is full")
        if self._backlog / self.workers + seconds > self.timeout_seconds:
            raise self._overloaded("The queued work would not finish within the time budget")
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        entry = (granted, seconds)
        self._waiters.append(entry)
        self._backlog += seconds
        try:
            await asyncio.wait_for(asyncio.shield(granted), timeout=max(deadline - loop.time(), 0.0))
        except BaseException as exc:
            if granted.done() and not granted.cancelled():
                self._release(seconds)  # the slot was handed over just as we gave up
            else:
                granted.cancel()
                self._waiters.remove(entry)
                self._backlog -= seconds
            if isinstance(exc, TimeoutError):
                raise self._overloaded("No compute worker became free within the time budget") from None
            raise

    def _release(self, seconds: float) -> None:
        """Give the slot to the first waiter still waiting, or free it."""
        self._backlog = max(0.0, self._backlog - seconds)
        while self._waiters:
            granted, _ = self._waiters.popleft()
            if not granted.done():
                granted.set_result(None)
                return
        self.busy -= 1

    def _deadline(self, cost: Cost, what: str) -> DeadlineExceededError:
        self.counts["deadline_exceeded"] += 1
        return DeadlineExceededError(
            f"The computation ran past this service's time budget of {self.timeout_seconds:g} s per request (setting "
            f"`request_timeout_seconds`) and {what}; it was estimated at {cost.seconds:.3g} s, mostly "
            f"{cost.dominant.description} (field `{cost.dominant.field}`). {cost.shrink}"
        )

    # --- executors --------------------------------------------------------------------------

    async def _in_process(self, solver: Callable[..., T], kwargs: dict[str, Any], cost: Cost, deadline: float) -> T:
        self.counts["process"] += 1
        loop = asyncio.get_running_loop()
        try:
            return await self.processes.run(solver, kwargs, timeout=deadline - loop.time())
        except TimeoutError:
            raise self._deadline(cost, "was stopped (its worker process was killed and replaced)") from None
        finally:
            self._release(cost.seconds)

    async def _in_thread(self, solver: Callable[..., T], kwargs: dict[str, Any], cost: Cost, deadline: float) -> T:
        self.counts["thread"] += 1
        loop = asyncio.get_running_loop()
        if self._threads is None:
            self._threads = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="rmt-compute"
            )
        future = loop.run_in_executor(self._threads, functools.partial(solver, **kwargs))

        def finished(done: asyncio.Future) -> None:
            # The slot is freed when the thread really ends, even after the request was answered.
            if not done.cancelled():
                done.exception()  # retrieved: an abandoned call's error is not logged as unhandled
            self._release(cost.seconds)

        future.add_done_callback(finished)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=max(deadline - loop.time(), 0.0))
        except TimeoutError:
            raise self._deadline(
                cost, "was answered now; its thread cannot be killed and keeps its worker slot until it returns"
            ) from None

    def close(self) -> None:
        """Stop the worker processes and the threads (a later call starts them again)."""
        self.processes.close()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
