"""What runs on a Dask worker: a run of consecutive chunks of trials, stopping early when its job is cancelled.

Imports only numpy, distributed and the solvers, so a remote worker needs the package installed
but no database and no web stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solvers.montecarlo.engine import STOP_CHECK_INTERVAL, ChunkStatistics, chunk_seed, simulate_chunk


def cancel_event_name(job_id: str) -> str:
    """Name of the Dask ``Event`` that is set when job ``job_id`` is cancelled."""
    return f"rmt-cancel-{job_id}"


def _cancelled(job_id: str) -> Callable[[], bool]:
    """A flag check against the scheduler; any failure to ask counts as 'not cancelled'."""
    event = None

    def check() -> bool:
        nonlocal event
        try:
            if event is None:
                from distributed import Event

                event = Event(cancel_event_name(job_id))
            return bool(event.is_set())
        except Exception:  # no scheduler reachable (e.g. run outside Dask): keep going
            return False

    return check


def _at_most_every(seconds: float, check: Callable[[], bool]) -> Callable[[], bool]:
    """``check``, asked at most once per ``seconds`` (a round trip to the scheduler); ``False`` in between."""
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
