"""What the API process keeps per simulation job: tracemalloc growth grouped by traceback, RSS, and counts
of per-job objects (scheduler tasks, task prefixes, distributed Events, the manager's and runner's tables).

Not a benchmark (``bin/bench`` does not run it): a diagnosis tool, run by hand::

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.probe_job_memory            # 50 then 200 jobs, 1 worker
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.probe_job_memory 30 100 --workers 2 --top 25

The app runs in-process (as in tests/service/test_simulations_api.py) with its embedded LocalCluster,
whose scheduler and nannies live in this process, as in production. The jobs are those of
``bench_load``'s jobs phase (Marchenko–Pastur, 16 trials of n = 100, in 16 chunks), every other
one cancelled shortly after it is submitted, each waited for before the next (so that the counts
after a round are those of finished jobs only). tracemalloc starts after a warm-up round (the
cluster's start-up is not per-job growth); after each round: ``gc.collect()``, a snapshot, RSS.
RSS includes tracemalloc's own bookkeeping: compare rounds, or use the server-level figures in
benchmarks/README.md. A job that does not end within 60 s stops the run with a dump of what the
scheduler, the client and the worker hold for it; a supervisor that ends without being cancelled
prints its traceback (how the stuck jobs of the gather race were found).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import linecache
import logging
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

JOB_BODY = {
    "kind": "marchenko_pastur",
    "params": {"ratio": 0.5, "x": [1.0], "n_moments": 3},
    "trials": 16,
    "size": {"n_samples": 100},
}
FINAL = {"successful", "failed", "dismissed"}


def rss_mb() -> float:
    """Resident set size of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def counts(app: Any) -> dict[str, int]:
    """Per-job objects the process could keep: each should stay flat as jobs finish."""
    jobs = app.state.jobs
    runner = jobs.runner
    out = {
        "manager._supervisors": len(jobs._supervisors),
        "manager._rates": len(jobs._rates),
        "manager._notes": len(jobs._notes),
        "runner._batch_chunks": len(runner._batch_chunks),
    }
    client = runner._client
    if client is not None:
        out["client.futures"] = len(client.futures)
        out["client.refcount"] = len(client.refcount)
    cluster = runner._cluster
    if cluster is not None:
        scheduler = cluster.scheduler
        for name in (
            "tasks",
            "task_prefixes",
            "task_groups",
            "computations",
            "transition_log",
            "task_metadata",
            "erred_tasks",
            "clients",
            "replicated_tasks",
            "unrunnable",
            "queued",
        ):
            if hasattr(scheduler, name):
                out[f"scheduler.{name}"] = len(getattr(scheduler, name))
        out["scheduler.events(topics)"] = len(scheduler._broker._topics)
        out["scheduler.events(entries)"] = sum(len(t.events) for t in scheduler._broker._topics.values())
        spans = scheduler.extensions.get("spans")
        if spans is not None:
            out["scheduler.spans"] = len(spans.spans)
            out["scheduler.spans(groups)"] = sum(len(span.groups) for span in spans.spans.values())
        streams = list(scheduler.client_comms.values())
        streams += [scheduler.stream_comms.get(address) for address in scheduler.workers]
        streams += [getattr(client, "scheduler_comm", None) if client is not None else None]
        out["batched_send_logs(entries)"] = sum(len(b.recent_message_log) for b in streams if b is not None)
        events = scheduler.extensions.get("events")
        if events is not None:
            out["scheduler.distributed_events"] = len(events._events)
        variables = scheduler.extensions.get("variables")
        if variables is not None:
            out["scheduler.variables"] = len(variables.variables)
    out["gc.objects"] = len(gc.get_objects())
    return out


def leftover_tasks(app: Any) -> list[str]:
    """Tasks the scheduler still has after every job ended (each should have been released)."""
    cluster = app.state.jobs.runner._cluster
    if cluster is None:
        return []
    return [
        f"{key}: {ts.state} who_wants={len(ts.who_wants or ())} who_has={len(ts.who_has or ())}"
        for key, ts in list(cluster.scheduler.tasks.items())[:10]
    ]


def referrer_chains(type_name: str, *, samples: int = 3, depth: int = 6) -> None:
    """For a few live objects of ``type_name``, the types of their referrers, ``depth`` levels up."""
    import types

    objects = [o for o in gc.get_objects() if f"{type(o).__module__}.{type(o).__qualname__}".endswith(type_name)]
    print(f"  {len(objects)} live {type_name}")
    skip = (types.FrameType,)
    for obj in objects[-samples:]:
        level = [obj]
        for d in range(depth):
            nxt = []
            desc = []
            for o in level:
                for r in gc.get_referrers(o):
                    if r is level or r is objects or r is nxt or isinstance(r, skip):
                        continue
                    nxt.append(r)
                    extra = ""
                    if isinstance(r, dict):
                        extra = "{" + ",".join(str(k)[:30] for k in list(r)[:5]) + "}"
                    desc.append(type(r).__qualname__ + extra)
            print(f"    level {d + 1}: {desc[:8]}")
            level = nxt[:4]
            if not level:
                break


def type_counts() -> collections.Counter[str]:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def show_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, *, jobs: int, top: int) -> None:
    """The tracebacks whose retained size grew most between two snapshots, per job."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    stats = after.compare_to(before, "traceback")
    total = sum(s.size_diff for s in stats)
    print(f"  tracemalloc: {total / 1024:+.0f} KiB over {jobs} jobs = {total / jobs / 1024:+.2f} KiB/job")
    by_file = collections.Counter()
    for s in after.compare_to(before, "filename"):
        by_file[s.traceback[0].filename.split("site-packages/")[-1]] += s.size_diff
    print("  by allocating file (KiB/job):")
    for name, size in by_file.most_common(12):
        print(f"    {size / jobs / 1024:+8.2f}  {name}")
    print(f"  top {top} tracebacks (KiB/job, blocks/job):")
    for s in sorted(stats, key=lambda s: -s.size_diff)[:top]:
        print(f"    {s.size_diff / jobs / 1024:+8.2f} KiB  {s.count_diff / jobs:+7.1f} blocks")
        for frame in list(s.traceback)[-8:]:  # outermost ... innermost
            short = frame.filename.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
            print(f"        {short}:{frame.lineno}")


def trace_supervisors() -> None:
    """Print how a job's supervisor ended when it ended without finishing the job (a stuck job's cause)."""
    import traceback

    from service.jobs import manager

    run, cancel = manager.JobManager._run, manager.JobManager.cancel

    async def traced_run(self: Any, job_id: str) -> None:
        try:
            await run(self, job_id)
        except BaseException as exc:
            if asyncio.current_task().cancelling() == 0:  # not cancelled by JobManager.cancel or close
                print(f"SUPERVISOR {job_id} ended by {type(exc).__name__} without being cancelled")
                traceback.print_exc(limit=-6)
            raise

    async def traced_cancel(self: Any, job_id: str, **kwargs: Any) -> Any:
        return await cancel(self, job_id, **kwargs)

    manager.JobManager._run, manager.JobManager.cancel = traced_run, traced_cancel


async def dump_stuck(app: Any, job_id: str) -> None:
    """What the scheduler, the client and the worker hold for a job that does not end."""
    runner = app.state.jobs.runner
    scheduler = runner._cluster.scheduler
    print(f"STUCK {job_id}: supervisor {app.state.jobs._supervisors.get(job_id)}")
    for key, ts in scheduler.tasks.items():
        print(f"  scheduler task {key}: {ts.state} on {ts.processing_on} who_wants={ts.who_wants} waiters={ts.waiters}")
    for ws in scheduler.workers.values():
        print(f"  worker {ws.address}: processing={list(ws.processing)} status={ws.status}")
    for key, state in runner._client.futures.items():
        print(f"  client future {key}: {state.status}")

    def worker_state(dask_worker: Any) -> dict:
        return {
            "tasks": {str(k): ts.state for k, ts in dask_worker.state.tasks.items()},
            "executing": [str(ts.key) for ts in dask_worker.state.executing],
            "ready": len(dask_worker.state.ready),
        }

    print("  workers:", await runner._client.run(worker_state))


async def run_jobs(http: Any, n: int, start: int, app: Any = None) -> collections.Counter[str]:
    """Submit ``n`` jobs one after the other, cancelling every other one, and wait for each to end."""
    outcome: collections.Counter[str] = collections.Counter()
    for index in range(start, start + n):
        response = await http.post("/v1/simulations", json={**JOB_BODY, "seed": index})
        assert response.status_code == 202, response.text
        location = response.headers["location"]
        if index % 2:
            await asyncio.sleep(0.05 * (index % 5))
            await http.post(f"{location}/cancel")
        for _ in range(3000):  # 60 s of 20 ms pauses: each job is ~0.1 s of work
            body = (await http.get(location)).json()
            if body["status"] in FINAL:
                outcome[body["status"]] += 1
                break
            await asyncio.sleep(0.02)
        else:
            if app is not None:
                await dump_stuck(app, location.rsplit("/", 1)[-1])
            raise RuntimeError(f"job {location} hung: {body['status']} {body['progress']}")
    await asyncio.sleep(0.5)  # let the last releases reach the scheduler
    return outcome


async def main(rounds: list[int], *, workers: int, top: int, frames: int, referrers: list[str]) -> None:
    import httpx

    from service.app import create_app
    from service.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="rmt-probe-"))
    settings = Settings(jobs_database=str(folder / "jobs.sqlite3"), data_dir=str(folder / "data"), dask_workers=workers)
    trace_supervisors()
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        print("warm-up:", dict(await run_jobs(http, 20, 0, app)))
        gc.collect()
        tracemalloc.start(frames)
        snapshot, done, rss = tracemalloc.take_snapshot(), 20, rss_mb()
        before_counts, before_types = counts(app), type_counts()
        print(f"after warm-up: RSS {rss:.1f} MB; {before_counts}")
        for n in rounds:
            outcome = await run_jobs(http, n, done, app)
            done += n
            gc.collect()
            now, now_rss, now_counts, now_types = tracemalloc.take_snapshot(), rss_mb(), counts(app), type_counts()
            print(
                f"\n=== +{n} jobs ({dict(outcome)}), {done} in all: RSS {now_rss:.1f} MB ({(now_rss - rss) / n * 1024:+.1f} KiB/job)"
            )
            growth = {k: v - before_counts.get(k, 0) for k, v in now_counts.items()}
            print("  counts now:", now_counts)
            print("  counts growth:", {k: v for k, v in growth.items() if v})
            grown = (now_types - before_types).most_common(15)
            print("  object types grown (per job):", [(t, round(c / n, 2)) for t, c in grown])
            print("  leftover scheduler tasks:", leftover_tasks(app))
            show_growth(snapshot, now, jobs=n, top=top)
            snapshot, rss, before_counts, before_types = now, now_rss, now_counts, now_types
        tracemalloc.stop()
        for name in referrers:
            referrer_chains(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="*", type=int, default=[50, 200], help="jobs per measured round")
    parser.add_argument("--workers", type=int, default=1, help="Dask worker processes (default 1)")
    parser.add_argument("--top", type=int, default=15, help="tracebacks to show per round")
    parser.add_argument("--frames", type=int, default=12, help="frames kept per traceback")
    parser.add_argument("--referrers", nargs="*", default=[], help="type names whose referrers to show at the end")
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.rounds,
            workers=arguments.workers,
            top=arguments.top,
            frames=arguments.frames,
            referrers=arguments.referrers,
        )
    )
