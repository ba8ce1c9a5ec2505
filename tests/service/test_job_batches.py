"""Several chunks per Dask task, without Dask: the grouping never changes a chunk's numbers, the task sizes
follow the measured chunk time and shrink towards the end of a job, and a batch is saved in one transaction.

Sizes: Marchenko–Pastur at p = 20, n = 40 (a trial takes well under a millisecond); counts, never seconds.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from service.jobs import worker as worker_module
from service.jobs.manager import _BatchSizer
from service.jobs.store import JobStore
from service.jobs.worker import run_chunks
from solvers.montecarlo.engine import ChunkStatistics, chunk_seed, simulate_chunk
from solvers.montecarlo.spectra import marchenko_pastur_prediction, marchenko_pastur_trial

PROBLEM = {"n_features": 20, "n_samples": 40, "variance": 1.0, "matrix": "covariance", "n_moments": 2}


def _chunk(seconds: float, *, completed: bool = True) -> ChunkStatistics:
    return ChunkStatistics(
        count=1, mean=np.zeros(1), m2=np.zeros(1), cdf_counts=None, eigenvalues=0, seconds=seconds, completed=completed
    )


def _same(a: ChunkStatistics, b: ChunkStatistics) -> bool:
    return (
        a.count == b.count
        and a.eigenvalues == b.eigenvalues
        and a.mean.tobytes() == b.mean.tobytes()
        and a.m2.tobytes() == b.m2.tobytes()
        and (a.cdf_counts is None) == (b.cdf_counts is None)
        and (a.cdf_counts is None or a.cdf_counts.tobytes() == b.cdf_counts.tobytes())
    )


def test_a_batch_gives_each_chunk_exactly_its_own_statistics():
    grid = marchenko_pastur_prediction(**PROBLEM).cdf_grid
    chunks = [(3, 2), (4, 5), (5, 1)]
    batch = run_chunks(marchenko_pastur_trial, PROBLEM, 11, chunks, grid, "no-such-job")
    alone = [
        simulate_chunk(marchenko_pastur_trial, problem=PROBLEM, seed=chunk_seed(11, i), trials=n, cdf_grid=grid)
        for i, n in chunks
    ]
    assert len(batch) == 3 and all(s.completed for s in batch)
    assert all(_same(a, b) for a, b in zip(batch, alone, strict=True))  # bit for bit


def test_a_cancelled_batch_stops_between_chunks(monkeypatch):
    asked: list[str] = []

    def cancelled(job_id: str):
        def check() -> bool:  # set from the second look on
            asked.append(job_id)
            return len(asked) > 1

        return check

    monkeypatch.setattr(worker_module, "STOP_CHECK_INTERVAL", 0.0)
    monkeypatch.setattr(worker_module, "_cancelled", cancelled)
    monkeypatch.setattr("solvers.montecarlo.engine.STOP_CHECK_INTERVAL", 10.0)  # no check inside a chunk
    batch = run_chunks(marchenko_pastur_trial, PROBLEM, 11, [(0, 2), (1, 2), (2, 2), (3, 2)], None, "job")
    # Asked before chunk 1 (not cancelled yet), then before chunk 2 (cancelled): chunks 0 and 1 ran.
    assert len(batch) == 2 and all(s.completed for s in batch) and asked == ["job", "job"]


def _batches(sizer: _BatchSizer, chunks: int, workers: int, seconds: float) -> list[list[int]]:
    """Every batch a job of ``chunks`` one-trial chunks gets, each finishing (in ``seconds`` per chunk) before the next is taken."""
    pending = collections.deque((i, 1) for i in range(chunks))
    taken = sizer.take(pending, tasks=2 * workers, workers=workers)
    out = [[i for i, _ in batch] for batch in taken]
    while pending:
        for batch in taken:
            sizer.observe([_chunk(seconds) for _ in batch])
        taken = sizer.take(pending, tasks=1, workers=workers)
        out += [[i for i, _ in batch] for batch in taken]
    return out


def test_batches_cover_every_chunk_once_in_order_and_shrink_at_the_end():
    batches = _batches(_BatchSizer(0.5), chunks=64, workers=2, seconds=0.03)
    assert [i for batch in batches for i in batch] == list(range(64))
    sizes = [len(b) for b in batches]
    assert sizes[:4] == [1, 1, 1, 1]  # nothing measured yet: one chunk per task
    assert max(sizes) == 15  # min(⌊0.5 s / 0.03 s⌋ = 16 chunks of work, ⌈60 left / (2 × 2 workers)⌉ = 15)
    assert sizes[4:] == sorted(sizes[4:], reverse=True) and sizes[-1] == 1  # guided: short tasks at the end
    assert len(batches) < 20  # instead of 64 tasks


def test_a_known_cost_sizes_the_first_tasks():
    """With a prior (seconds per trial, from an earlier job like this one) the first tasks are sized at once:
    0.5 s / (4 trials × 7.5 ms) = 16 chunks, capped by the guided share ⌈left / (2 × 2 workers)⌉."""
    pending = collections.deque((i, 4) for i in range(64))
    sizer = _BatchSizer(0.5, prior=0.0075)
    assert [len(b) for b in sizer.take(pending, tasks=4, workers=2)] == [16, 12, 9, 7]
    sizer.observe([_chunk(0.5)])  # then this job's own chunks decide: 0.5 s for one trial
    assert sizer.seconds_per_trial == 0.5 and sizer.size(20, 2, chunk_trials=4) == 1


def test_slow_chunks_run_one_per_task():
    assert all(len(b) == 1 for b in _batches(_BatchSizer(0.5), chunks=16, workers=2, seconds=2.0))


def test_interrupted_chunks_do_not_count_in_the_estimate():
    sizer = _BatchSizer(0.5)
    sizer.observe([_chunk(0.001, completed=False)])
    assert sizer.size(64, 1) == 1


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


def test_a_batch_is_saved_in_one_transaction_and_counted_once(store):
    store.create(
        job_id="a", kind="marchenko_pastur", params={}, trials=4, seed=1, plan={"cdf": None}, chunk_trials=[1] * 4
    )
    stats = simulate_chunk(marchenko_pastur_trial, problem=PROBLEM, seed=1, trials=1)
    assert store.mark_running("a")
    assert store.save_chunks("a", [(0, stats), (2, stats)])
    assert store.save_chunks("a", [(2, stats), (3, stats)])  # chunk 2 again: kept once
    job = store.get("a")
    assert (job.trials_done, job.chunks_done) == (3, 3) and store.chunk_indices("a") == {0, 2, 3}
    assert store.check() == []
    assert store.dismiss("a") and not store.save_chunks("a", [(1, stats)])
    assert store.chunk_indices("a") == {0, 2, 3}
