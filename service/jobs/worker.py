"""What runs on a Dask worker: one chunk of trials, stopping early when its job is cancelled.

Imports only numpy, distributed and the solvers, so a remote worker needs the package installed
but no database and no web stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solvers.montecarlo.engine import ChunkStatistics, chunk_seed, simulate_chunk


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


def run_chunk(
    trial: Callable[..., Any],
    problem: Mapping[str, Any],
    entropy: int,
    chunk_index: int,
    trials: int,
    cdf_grid: Sequence[float] | None,
    job_id: str,
) -> ChunkStatistics:
    """Run chunk ``chunk_index`` of a job: child ``chunk_index`` of ``SeedSequence(entropy)``."""
    return simulate_chunk(
        trial,
        problem=problem,
        seed=chunk_seed(entropy, chunk_index),
        trials=trials,
        cdf_grid=cdf_grid,
        should_stop=_cancelled(job_id),
    )
