"""What runs on a Dask worker: a run of consecutive chunks of trials, stopping early when its job is cancelled.

Imports only numpy, distributed and the solvers, so a remote worker needs the package installed
but no database and no web stack.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from distributed import get_worker

from solvers.montecarlo.engine import STOP_CHECK_INTERVAL, ChunkStatistics, chunk_seed, simulate_chunk


def cancel_event_name(job_id: str) -> str:
    """Name of the Dask ``Event`` that is set when job ``job_id`` is cancelled."""
    return f"rmt-cancel-{job_id}"


#: Jobs whose flag this worker process has looked at, least recently looked at first (bounded: a worker
#: runs many jobs in its lifetime, and a flag is only looked at while a job's chunks run here).
LOOKS_KEPT = 64


class _Look:
    """What this worker process knows of one job's flag: the last answer, and the question in flight."""

    __slots__ = ("answer", "pending")

    def __init__(self) -> None:
        self.answer = False
        self.pending: concurrent.futures.Future[Any] | None = None


_looks: collections.OrderedDict[str, _Look] = collections.OrderedDict()
_looks_lock = threading.Lock()


def _cancelled(job_id: str) -> Callable[[], bool]:
    """The job's flag as this worker last heard it; each call also asks the scheduler again, without waiting.

    A chunk never waits for the scheduler's answer (a round trip through the worker's event loop and
    the scheduler, each woken): the question is sent off, the trial goes on, and the answer is there at
    the next look, one ``STOP_CHECK_INTERVAL`` later. So a cancelled chunk stops within about two
    intervals. The answer is kept per worker process and job, so a job's next task here starts from
    what its previous one heard. Any failure to ask (no scheduler, not on a Dask worker) counts as
    'not cancelled'.
    """

    def check() -> bool:
        try:
            worker = get_worker()
        except ValueError:  # not on a Dask worker: nothing can cancel this run
            return False
        with _looks_lock:
            look = _looks.get(job_id)
            if look is None:
                look = _looks[job_id] = _Look()
                while len(_looks) > LOOKS_KEPT:
                    _looks.popitem(last=False)
            _looks.move_to_end(job_id)
            pending = look.pending
            if pending is not None and pending.done():
                look.pending = None
                with contextlib.suppress(Exception):  # the scheduler could not answer: no news
                    look.answer = look.answer or bool(pending.result())  # a set flag is never unset for this job
            if look.pending is None:
                question = None
                try:
                    question = worker.scheduler.event_is_set(name=cancel_event_name(job_id))
                    loop = worker.loop.asyncio_loop  # type: ignore[attr-defined]  # tornado's IOLoop runs on asyncio
                    look.pending = asyncio.run_coroutine_threadsafe(question, loop)
                except Exception:  # the worker is closing: no news, and no question left unawaited
                    if question is not None:
                        question.close()
            return look.answer

    return check


def _at_most_every(seconds: float, check: Callable[[], bool]) -> Callable[[], bool]:
    """``check``, asked at most once per ``seconds`` (each look sends a message to the scheduler); ``False`` in between."""
    last = time.perf_counter()

    def throttled() -> bool:
        nonlocal last
        now = time.perf_counter()
        if now - last < seconds:
            return False
        last = now
        return check()

    return throttled


def run_chunks(
    trial: Callable[..., Any],
    problem: Mapping[str, Any],
    entropy: int,
    chunks: Sequence[tuple[int, int]],
    cdf_grid: Sequence[float] | None,
    job_id: str,
) -> list[ChunkStatistics]:
    """Run the ``(chunk_index, trials)`` pairs of ``chunks`` in order, each seeded by child ``chunk_index`` of
    ``SeedSequence(entropy)``, and return their statistics in the same order.

    One Dask task runs several short chunks so that the scheduler, the network and the store handle
    one message per ~``TASK_SECONDS`` of work instead of one per chunk; each chunk keeps its own seed
    and statistics, so the result does not depend on how chunks are grouped. The job's cancellation
    flag is looked at between trials and between chunks, at most every ``STOP_CHECK_INTERVAL`` seconds:
    when it is set, the list ends with the interrupted chunk (``completed=False``) or before the next one.
    """
    should_stop = _at_most_every(STOP_CHECK_INTERVAL, _cancelled(job_id))
    results: list[ChunkStatistics] = []
    for index, trials in chunks:
        if results and should_stop():
            break
        stats = simulate_chunk(
            trial,
            problem=problem,
            seed=chunk_seed(entropy, index),
            trials=trials,
            cdf_grid=cdf_grid,
            should_stop=should_stop,
        )
        results.append(stats)
        if not stats.completed:
            break
    return results
