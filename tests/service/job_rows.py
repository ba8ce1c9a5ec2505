"""Job rows written straight into a store, for tests that decide themselves when (and whether) a job ends."""

from __future__ import annotations

from service.jobs.store import JobRow, JobStore


def accepted_job(store: JobStore, *, job_id: str, owner: str = "anonymous") -> JobRow:
    """An ``accepted`` Marchenko–Pastur job of 4 trials in one chunk, which no supervisor runs unless one is started."""
    return store.create(
        job_id=job_id,
        kind="marchenko_pastur",
        params={"ratio": 0.5, "x": [1.0]},
        trials=4,
        seed=1,
        plan={"version": 2, "sizes": {"n_samples": 10, "n_features": 5}},
        chunk_trials=[4],
        owner=owner,
    )
