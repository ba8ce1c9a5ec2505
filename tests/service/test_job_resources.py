"""What the API process keeps once its jobs have ended: nothing per job.

Counts, not bytes or seconds (RSS depends on the allocator and the machine): after a stream of small
jobs, half of them cancelled, the manager's and the runner's per-job tables are empty, the client holds
no future, the scheduler (embedded, so in this process) no task, no scattered problem, no
cancellation flag and no span of an ended job, and Dask's debugging logs hold no more than the
bounds the runner sets. Sizes:
Marchenko–Pastur, n = 60 (p = 30), 8 trials per job, one worker; a few seconds in all.

A separate scheduler started with the span-pruning preload (``dask scheduler --preload
service.jobs.spans``, docs/jobs.md) drops its finished spans too: real scheduler and worker processes.

Also the race that let a job's cancellation end another job's supervisor (its job then stayed
`running` for ever): the client serves concurrent results by one shared gather, which cancelling the
caller that started it used to cancel for every caller.
"""

from __future__ import annotations

import asyncio
import operator
import os
import subprocess
import sys
import time

import pytest
from distributed import Client, wait

from service.jobs import manager as manager_module
from service.jobs import runner as runner_module
from service.jobs.runner import CLIENT_CONFIG, EMBEDDED_CONFIG, DaskRunner
from service.jobs.worker import cancel_event_name
from tests.live_server import REPO_ROOT, free_port, stop
from tests.service.test_simulations_api import FINAL, mp_job, poll, running_app, settings_for, submit

pytestmark = pytest.mark.anyio

JOBS = 12


@pytest.mark.parametrize("inline_bytes", [runner_module.INLINE_PROBLEM_BYTES, 0], ids=["inline", "broadcast"])
async def test_finished_jobs_leave_nothing_behind(tmp_path, monkeypatch, inline_bytes):
    # The trial's arguments travel inside each task (small, as here) or are broadcast once per job start
    # (data arrays; forced here by a threshold of 0 bytes): neither leaves anything behind.
    monkeypatch.setattr(runner_module, "INLINE_PROBLEM_BYTES", inline_bytes)
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, app):
        jobs = app.state.jobs
        jobs.cancel_flag_seconds = 0.0  # clear each flag as soon as its job's supervisor has ended
        jobs.runner.spans.grace_seconds = 0.0  # drop each span as soon as its tasks are forgotten
        locations = []
        for seed in range(JOBS):
            location = await submit(http, mp_job(trials=8, n_samples=60, seed=seed))
            if seed % 2:  # cancelled at different moments: queued, sharing its problem, running
                await asyncio.sleep(0.01 * (seed % 5))
                assert (await http.post(f"{location}/cancel")).status_code == 200
            locations.append(location)
        bodies = [await poll(http, location, lambda b: b["status"] in FINAL) for location in locations]
        assert [b["status"] for b in bodies[::2]] == ["successful"] * (JOBS // 2)
        assert all(b["status"] in {"dismissed", "successful"} for b in bodies[1::2])  # a cancel may find it done

        runner = jobs.runner
        client = runner._client
        scheduler = runner._cluster.scheduler
        events = scheduler.extensions["events"]
        # Releases and flag clearings travel to the scheduler asynchronously: wait for them (bounded).
        for _ in range(500):
            if not client.futures and not scheduler.tasks and not runner.cancel_flags() and not events._events:
                break
            await asyncio.sleep(0.02)

        assert jobs._supervisors == {} and jobs._rates == {} and jobs._notes == {}
        assert runner._batch_chunks == {} and runner.cancel_flags() == 0
        assert dict(client.futures) == {} and dict(client.refcount) == {}
        assert list(scheduler.tasks) == []  # no chunk task and no scattered problem of an ended job
        assert [name for name in events._events if str(name).startswith(cancel_event_name(""))] == []
        # Dask's debugging logs are bounded by the runner's setting, not by the number of jobs.
        bound = CLIENT_CONFIG["distributed.admin.low-level-log-length"]
        streams = [client.scheduler_comm, *scheduler.client_comms.values(), *scheduler.stream_comms.values()]
        assert all(stream.recent_message_log.maxlen == bound for stream in streams)
        assert scheduler.transition_log.maxlen == bound
        assert scheduler._deque_handler.deque.maxlen == EMBEDDED_CONFIG["distributed.admin.log-length"]
        # Dask's spans (one per burst of work, each with its task groups) are dropped as jobs end: only
        # those of the last jobs are left, and none once their tasks are forgotten.
        spans = scheduler.extensions["spans"]
        assert len(spans.spans) < JOBS // 2
        runner.prune_spans()
        assert spans.spans == {} and spans.root_spans == [] and not spans.spans_search_by_name


def _identity(x: int) -> int:
    return x


async def test_cancelling_one_result_never_cancels_another():
    # Two finished tasks, both results asked for, the first asker cancelled after 0-7 turns of the event
    # loop: the first asker starts the client's shared gather, the second joins it. Before the fix the
    # second asker received a CancelledError from 4 turns on.
    runner = DaskRunner(scheduler_address=None, n_workers=1)
    try:
        client = await runner.client()
        for turns in range(8):
            first, second = client.submit(_identity, 1, pure=False), client.submit(_identity, 2, pure=False)
            await wait([first, second])
            cancelled = asyncio.ensure_future(runner.result(first))
            kept = asyncio.ensure_future(runner.result(second))
            for _ in range(turns):
                await asyncio.sleep(0)
            cancelled.cancel()
            assert await kept == 2, turns
    finally:
        await runner.close()


async def test_a_client_whose_results_are_all_cancelled_is_replaced(tmp_path, monkeypatch):
    # The state the race above left behind before the fix: Dask's client keeps its cancelled shared
    # gather, and answers every later result with a CancelledError. (Set here by hand, Dask's private
    # attribute: the fix no longer lets this state arise.) Every job's supervisor then ended and its job
    # stayed `running`; now the supervisor makes a new client, on the same embedded cluster, and its job
    # ends with the result of an undisturbed run. n = 60, 8 trials.
    monkeypatch.setattr(manager_module, "RECONNECT_BACKOFF", (0.1, 0.2))
    job = mp_job(trials=8, n_samples=60, seed=4)
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, app):
        undisturbed = await poll(http, await submit(http, job), lambda b: b["status"] in FINAL)
        runner = app.state.jobs.runner
        client, cluster = runner._client, runner._cluster
        poisoned = asyncio.get_running_loop().create_future()
        poisoned.cancel()
        client._gather_future, client._gather_keys = poisoned, set()  # as the cancelled gather left them
        body = await poll(http, await submit(http, job), lambda b: b["status"] in FINAL)
        assert body["status"] == undisturbed["status"] == "successful"
        assert body["result"] == undisturbed["result"]
        assert runner._client is not client and runner._cluster is cluster


def _span_count(dask_scheduler) -> int:
    return len(dask_scheduler.extensions["spans"].spans)


def test_a_separate_scheduler_with_the_preload_drops_finished_spans(tmp_path):
    # Grace 0 and a pruning every 0.1 s, so that the test takes seconds; the defaults are 60 s and 10 s.
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_RMT__SPAN_GRACE_SECONDS": "0", "DASK_RMT__SPAN_PRUNE_INTERVAL": "100ms"}
    dask = [sys.executable, "-m", "dask"]
    preload = ["--preload", "service.jobs.spans"]
    with (tmp_path / "dask.log").open("w") as log:
        scheduler = subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", *preload],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        worker = subprocess.Popen(
            [*dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny", "--host", "127.0.0.1"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            with Client(address, timeout=30) as client:
                client.wait_for_workers(1, timeout=30)
                assert client.run_on_scheduler(
                    lambda dask_scheduler: "rmt-prune-spans" in dask_scheduler.periodic_callbacks
                )
                kept = client.submit(operator.neg, 1, pure=False)
                assert kept.result() == -1
                time.sleep(0.5)  # five prunings: a span whose task is still held is kept
                assert client.run_on_scheduler(_span_count) >= 1
                kept.release()
                deadline = time.monotonic() + 20
                while client.run_on_scheduler(_span_count) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert client.run_on_scheduler(_span_count) == 0
        finally:
            stop(worker, timeout=10.0)
            stop(scheduler, timeout=10.0)
