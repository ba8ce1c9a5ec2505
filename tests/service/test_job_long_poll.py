"""`GET /v1/simulations/{id}?wait_seconds=`: the long poll of `JobManager.get`, without Dask.

The jobs here are rows written straight into the store; no supervisor runs them, so the test decides
when a job ends. Whether a waiting request woke up or ran out of time is read from what it did (how
many times it read the job), never from a clock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException

from service.jobs import manager as manager_module
from service.jobs.manager import JobManager
from service.jobs.store import JobStore
from service.settings import Settings
from tests.service.job_rows import accepted_job as create_accepted_job

pytestmark = pytest.mark.anyio

#: Bounded wait for a request to register as waiting (event-loop turns, not seconds).
TURNS = 10_000
#: A wait and a recheck interval no test outlives: a request that answers at all answered because it was woken.
FOREVER = 3600.0
#: Only a guard against a hang (a lost wake-up would otherwise wait FOREVER), never a speed claim.
HANG_GUARD_SECONDS = 60.0


async def answered(request):
    try:
        return await asyncio.wait_for(request, HANG_GUARD_SECONDS)
    except TimeoutError:
        pytest.fail("the waiting request was never woken")


@pytest.fixture
async def jobs(tmp_path: Path):
    manager = JobManager(Settings(jobs_database=str(tmp_path / "jobs.sqlite3"), data_dir=str(tmp_path / "data")))
    yield manager
    await manager.close()


async def accepted_job(jobs: JobManager, job_id: str = "job-1", owner: str = "alice") -> str:
    return create_accepted_job(await jobs.store(), job_id=job_id, owner=owner).id


def count_reads(jobs: JobManager, monkeypatch) -> list[str]:
    reads: list[str] = []
    row = jobs._row

    async def counting(job_id, owner):
        job = await row(job_id, owner)
        reads.append(job_id)  # after the read: a job that ends from now on is not seen by this read
        return job

    monkeypatch.setattr(jobs, "_row", counting)
    return reads


async def until_waiting(jobs: JobManager, job_id: str, reads: list[str] | None = None) -> None:
    """Until a request waits for ``job_id`` (and, given ``reads``, has read it once)."""
    for _ in range(TURNS):
        if jobs._waiting.get(job_id) and (reads is None or reads):
            return
        await asyncio.sleep(0)
    pytest.fail(f"no request registered as waiting for {job_id}")


async def test_a_waiting_request_answers_when_the_job_ends(jobs, monkeypatch):
    # Neither the wait nor the store's recheck ends while the test runs: only the wake-up can answer.
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", FOREVER)
    job_id = await accepted_job(jobs)
    reads = count_reads(jobs, monkeypatch)
    waiting = asyncio.create_task(jobs.get(job_id, owner="alice", wait=FOREVER))
    await until_waiting(jobs, job_id, reads)
    await asyncio.to_thread((await jobs.store()).dismiss, job_id)
    jobs._wake(job_id)  # what the supervisor and `cancel` do when a job ends
    job = await answered(waiting)
    assert job.status == "dismissed"
    assert reads == [job_id, job_id]  # the first look, and one after the wake-up
    assert jobs._waiting == {}  # nothing left behind


async def test_a_wait_that_runs_out_answers_the_job_as_it_is(jobs, monkeypatch):
    job_id = await accepted_job(jobs)
    reads = count_reads(jobs, monkeypatch)
    job = await jobs.get(job_id, owner="alice", wait=0.05)
    assert job.status == "accepted"
    assert len(reads) >= 2  # the first look, and the last one when the wait is over
    assert jobs._waiting == {}


async def test_a_job_ended_by_another_process_is_seen_at_the_next_reread(jobs, monkeypatch):
    # No wake-up (another API process ended it): the request reads the store again every recheck.
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", 0.01)
    job_id = await accepted_job(jobs)
    reads = count_reads(jobs, monkeypatch)
    waiting = asyncio.create_task(jobs.get(job_id, owner="alice", wait=10.0))
    await until_waiting(jobs, job_id, reads)
    other = JobStore(jobs.database)
    try:
        await asyncio.to_thread(other.dismiss, job_id)
    finally:
        other.close()
    job = await answered(waiting)
    assert job.status == "dismissed" and len(reads) >= 2


async def test_a_wake_up_during_the_read_is_not_lost(jobs, monkeypatch):
    # The job ends (and wakes its waiters) while the request is reading it: the request must read again at
    # once instead of sleeping until the next recheck or the end of the wait (neither comes during the test).
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", FOREVER)
    job_id = await accepted_job(jobs)
    reads: list[str] = []
    row = jobs._row

    async def read_then_end(job_id, owner):
        job = await row(job_id, owner)
        reads.append(job.status)
        if len(reads) == 1:  # the first read saw `accepted`; the job ends before the request waits
            await asyncio.to_thread((await jobs.store()).dismiss, job_id)
            jobs._wake(job_id)
        return job

    monkeypatch.setattr(jobs, "_row", read_then_end)
    job = await answered(jobs.get(job_id, owner="alice", wait=FOREVER))
    assert reads == ["accepted", "dismissed"] and job.status == "dismissed"


async def test_the_wait_never_applies_to_a_finished_or_foreign_job(jobs, monkeypatch):
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", FOREVER)
    job_id = await accepted_job(jobs)
    # Another key's job: 404 at once, as without a wait.
    with pytest.raises(HTTPException) as foreign:
        await answered(jobs.get(job_id, owner="mallory", wait=FOREVER))
    assert foreign.value.status_code == 404
    await asyncio.to_thread((await jobs.store()).dismiss, job_id)
    reads = count_reads(jobs, monkeypatch)
    assert (await answered(jobs.get(job_id, owner="alice", wait=FOREVER))).status == "dismissed"
    assert reads == [job_id]  # finished: answered after one read
    assert jobs._waiting == {}


async def test_closing_answers_the_waiting_requests(jobs, monkeypatch):
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", FOREVER)
    job_id = await accepted_job(jobs)
    reads = count_reads(jobs, monkeypatch)
    waiting = [asyncio.create_task(jobs.get(job_id, owner="alice", wait=FOREVER)) for _ in range(3)]
    for _ in range(TURNS):  # every request has read the job once and waits
        if len(reads) == 3:
            break
        await asyncio.sleep(0)
    await jobs.close()
    assert [job.status for job in await answered(asyncio.gather(*waiting))] == ["accepted"] * 3
    assert jobs._waiting == {}
