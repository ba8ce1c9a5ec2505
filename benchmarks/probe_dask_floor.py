"""How much of the 2-vs-1-worker speedup of ``bench_jobs``' separate-scheduler row Dask itself leaves: the job's
chunks sent by a minimal client, as Dask tasks and as calls to one Dask actor per worker, beside bare processes.

Not a benchmark (``bin/bench`` does not run it): a diagnosis tool, run by hand::

    python -m benchmarks.probe_dask_floor                 # 7 rounds, both modes
    python -m benchmarks.probe_dask_floor --rounds 11 --modes tasks

Two clusters of subprocesses on 127.0.0.1, exactly as ``bench_jobs`` starts them (a ``dask scheduler`` with
one single-threaded worker, another with two). Each round runs, on the 1-worker then the 2-worker cluster,
the benchmark's job (``marchenko_pastur``, n = 600, 256 trials in 64 chunks of 4) once per mode, then the
same trials in 1 and 2 bare processes. A job here is only its chunks: the service's own task function
(``service.jobs.worker.run_chunks``, which also looks at the job's cancellation flag) in the batches the
service's sizer makes (``_BatchSizer``, with the cost of the job's first run as its prior), at most two in
flight per worker; no HTTP, no store, no supervisor. The modes:

* ``tasks``: one ``Client.submit`` per batch, its result awaited, as ``service.jobs.runner`` does. Per task
  the scheduler handles the submission, the worker's report, the client's gather and the release.
* ``actor``: one ``ChunkActor`` per worker, created once; a batch is a method call on the actor of the worker
  with the fewest calls in flight. The call and its result go straight between this process and the
  worker: the scheduler sees none of it. (The actor's single thread runs the calls one after the other.)

Reported per mode: the median over rounds of the speedup (1-worker job time / 2-worker job time) and its
quartiles, the bare processes' speedup in the same rounds, and the median of the per-round ratio of the
two (1.0: the mode loses nothing to Dask beyond what the machine loses anyway). Measured figures are in
benchmarks/README.md, "Jobs".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import tempfile
import time
from typing import Any

import numpy as np

from benchmarks import bench_jobs
from service.jobs.manager import TASK_SECONDS, TASKS_PER_WORKER, _BatchSizer
from service.jobs.worker import run_chunks

MODES = ("tasks", "actor")
CHUNKS = 64


class ChunkActor:
    """Runs batches of chunks on the worker that holds it (``run_chunks``, in the actor's thread)."""

    def run(self, *arguments: Any) -> Any:
        return run_chunks(*arguments)


class Floor:
    """One cluster's client (and its actors); runs the benchmark job's chunks in either mode."""

    def __init__(self, client: Any, workers: int, actors: list[Any]) -> None:
        self.client = client
        self.workers = workers
        self.actors = actors
        trial, problem, grid = bench_jobs.job_arguments()
        self.arguments = (trial, problem, np.asarray(grid, dtype=np.float64))
        self.prior: float | None = None

    @classmethod
    async def connect(cls, address: str, workers: int) -> Floor:
        from distributed import Client

        client = await Client(address, asynchronous=True)
        addresses = list((await client.scheduler.identity())["workers"])
        actors = [await client.submit(ChunkActor, actor=True, workers=[a], pure=False) for a in addresses]
        return cls(client, workers, actors)

    async def job(self, mode: str, seed: int) -> tuple[float, int]:
        """Seconds for the job's 64 chunks in ``mode``, and how many tasks (or calls) carried them."""
        trial, problem, grid = self.arguments
        pending = collections.deque((index, bench_jobs.TRIALS // CHUNKS) for index in range(CHUNKS))
        sizer = _BatchSizer(TASK_SECONDS, prior=self.prior)
        waiting: dict[asyncio.Future[Any], int] = {}  # result → index of the actor it runs on (tasks: -1)
        tasks = 0
        started = time.perf_counter()
        while pending or waiting:
            for batch in sizer.take(
                pending, tasks=TASKS_PER_WORKER * self.workers - len(waiting), workers=self.workers
            ):
                arguments = (trial, problem, seed, batch, grid, f"floor-{seed}")
                tasks += 1
                if mode == "actor":
                    busy = collections.Counter(waiting.values())
                    chosen = min(range(len(self.actors)), key=lambda index: busy[index])
                    waiting[asyncio.ensure_future(self.actors[chosen].run(*arguments))] = chosen
                else:
                    future = self.client.submit(run_chunks, *arguments, pure=False, retries=1)
                    waiting[asyncio.ensure_future(future.result())] = -1
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for result in done:
                del waiting[result]
                sizer.observe(result.result())
        self.prior = sizer.seconds_per_trial
        return time.perf_counter() - started, tasks


async def _measure(addresses: list[str], modes: list[str], rounds: int, pool: Any) -> dict[str, list[float]]:
    floors = [await Floor.connect(address, workers) for workers, address in enumerate(addresses, start=1)]
    times: dict[str, list[float]] = collections.defaultdict(list)
    try:
        for floor in floors:  # warm the workers and measure the prior
            for mode in modes:
                await floor.job(mode, 1)
        for round_ in range(rounds):
            for mode in modes:
                for floor in floors:
                    seconds, tasks = await floor.job(mode, 2 + round_)
                    times[f"{mode}_{floor.workers}"].append(seconds)
                    times[f"{mode}_tasks_{floor.workers}"].append(tasks)
            one, two = await asyncio.to_thread(bench_jobs._bare_round, pool)
            times["bare_1"].append(one)
            times["bare_2"].append(two)
    finally:
        for floor in floors:
            await floor.client.close()
    return times


def _report(times: dict[str, list[float]], modes: list[str]) -> None:
    bare = [one / two for one, two in zip(times["bare_1"], times["bare_2"], strict=True)]
    print(f"bare processes: speedup {statistics.median(bare):.3f} (per round {', '.join(f'{x:.2f}' for x in bare)})")
    for mode in modes:
        speedups = [one / two for one, two in zip(times[f"{mode}_1"], times[f"{mode}_2"], strict=True)]
        low, _, high = statistics.quantiles(speedups, n=4)
        kept = statistics.median(s / b for s, b in zip(speedups, bare, strict=True))
        print(
            f"{mode:6s}: speedup {statistics.median(speedups):.3f} (quartiles {low:.2f}–{high:.2f}), ÷ bare {kept:.3f}; "
            f"job {statistics.median(times[f'{mode}_1']):.3f} s on 1 worker, {statistics.median(times[f'{mode}_2']):.3f} s "
            f"on 2; {statistics.mean(times[f'{mode}_tasks_2']):.1f} tasks per 2-worker job"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    with (
        tempfile.TemporaryDirectory() as directory,
        bench_jobs._bare_processes() as pool,
        bench_jobs._separate_clusters(directory) as addresses,
    ):
        times = asyncio.run(_measure(addresses, modes, args.rounds, pool))
    _report(times, modes)


if __name__ == "__main__":
    main()
