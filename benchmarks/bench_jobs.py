"""Trials per second of one simulation job on 1 worker and on 2 workers, in the same run, in two deployments.

* **embedded**: the service starts its own Dask ``LocalCluster`` (scheduler and nannies in the API
  process, one single-threaded worker process per worker). Target: 2 workers ≥ 1.7× 1 worker.
* **separate**: ``dask scheduler`` and ``dask worker --nthreads 1`` subprocesses on 127.0.0.1, the
  service a client of them (``RMT_DASK_SCHEDULER``). Target: 2 workers ≥ 1.85× 1 worker.

Each measurement runs the full service path (HTTP submit through the in-process app, Dask, SQLite
store) on a warmed-up cluster. The two clusters of a deployment (1 and 2 workers) are both running
and the rounds alternate between them, so load drift on the shared machine hits both alike; the
idle one costs its scheduler's periodic work (about 1 % of a core). A job's time is its own
``created`` → ``finished`` (stored by the service); the client's submit → seen-``successful`` time is
reported beside it. The client waits as docs/jobs.md recommends, with long polls
(``GET …?wait_seconds=``, answered when the job ends): every status request is CPU taken from the
workers when they use every core, and a client polling every 0.1 s would make ~10 per job.

The job: ``marchenko_pastur``, n = 600 (p = 300), 256 trials in 64 chunks of 4. One trial is a
300 × 600 Gaussian draw, its 300 × 300 Gram matrix and eigenvalues: about 7.5 ms on one core of the
2-core machine (about 1.9 s of work per job on one worker). That is the size of job the issue
measured; trials are not made heavier to hide the per-job overhead.

    python -m benchmarks.bench_jobs
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from benchmarks._harness import entry, failed, free_port, stop, summarize
from service.app import create_app
from service.jobs.manager import MAX_WAIT_SECONDS
from service.jobs.runner import EMBEDDED_CONFIG, WORKER_ENVIRONMENT
from service.settings import Settings

KIND = "marchenko_pastur"
N_SAMPLES = 600  # p = 300: ~7.5 ms per trial on this machine
TRIALS = 256
TARGETS = {"embedded": 1.7, "separate": 1.85}
ROUNDS = 7
#: Seconds each status request may wait for the job to end: a long poll, as long as the service allows.
WAIT_SECONDS = MAX_WAIT_SECONDS


def _dask_environment() -> dict[str, str]:
    """Environment of the separate scheduler and workers: what docs/jobs.md recommends for a deployment, i.e.
    the embedded cluster's own settings (one BLAS thread per worker, Dask's background work thinned out)."""
    environment = dict(WORKER_ENVIRONMENT)
    for key, value in EMBEDDED_CONFIG.items():
        name = "DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split("."))
        environment[name] = str(value)
    return environment


def _request(trials: int, seed: int) -> dict[str, Any]:
    return {
        "kind": KIND,
        "params": {"ratio": 0.5, "x": [1.0], "n_moments": 4},
        "trials": trials,
        "seed": seed,
        "size": {"n_samples": N_SAMPLES},
    }


async def _run_job(http: httpx.AsyncClient, payload: dict[str, Any], timeout: float = 300.0) -> tuple[float, float]:
    """Run one job; (its own created → finished seconds, the client's submit → seen-successful seconds)."""
    started = time.perf_counter()
    response = await http.post("/v1/simulations", json=payload)
    response.raise_for_status()
    location = response.headers["location"]
    while True:
        body = (await http.get(location, params={"wait_seconds": WAIT_SECONDS})).json()
        if body["status"] in ("successful", "failed", "dismissed"):
            if body["status"] != "successful":
                raise RuntimeError(f"job ended {body['status']}: {body.get('error')}")
            seen = time.perf_counter() - started
            server = (
                datetime.fromisoformat(body["finished"]) - datetime.fromisoformat(body["created"])
            ).total_seconds()
            return server, seen
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"job not finished after {timeout} s")


def job_arguments() -> tuple[Any, dict[str, Any], Any]:
    """The job's trial function, its arguments and its CDF grid (an array), as the service computes them."""
    from schemas.jobs import SimulationSize
    from service.jobs.kinds import KINDS

    kind = KINDS[KIND]
    request = _request(TRIALS, 0)
    params = kind.params.model_validate(request["params"])
    sizes = kind.dimensions(params, SimulationSize(**request["size"])).sizes
    grid = kind.prediction(**kind.arguments(kind.prediction, params, sizes)).cdf_grid
    return kind.trial, kind.arguments(kind.trial, params, sizes), grid


def _bare_trials(trials: int) -> float:
    """Seconds for ``trials`` of the job's trials in this process: the engine call a worker makes, without
    Dask or the service (the hardware's and the machine's load's share of the speedup)."""
    from solvers.montecarlo.engine import simulate_chunk

    trial, problem, grid = job_arguments()
    started = time.perf_counter()
    simulate_chunk(trial, problem=problem, seed=0, trials=trials, cdf_grid=grid)
    return time.perf_counter() - started


@contextlib.contextmanager
def _bare_processes() -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """Two warm worker processes with one BLAS thread each (the variables are read when numpy loads)."""
    saved = {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}
    os.environ.update(WORKER_ENVIRONMENT)
    try:
        pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
        list(pool.map(_bare_trials, [4, 4]))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _bare_round(pool: concurrent.futures.ProcessPoolExecutor) -> tuple[float, float]:
    """Seconds for the job's trials in 1 bare process, and split over 2 at once."""
    one = pool.submit(_bare_trials, TRIALS).result()
    two = max(pool.map(_bare_trials, [TRIALS // 2, TRIALS - TRIALS // 2]))
    return one, two


async def _measure(settings: list[Settings]) -> dict[str, list[float]]:
    """Job seconds on 1 and on 2 workers (``settings`` in that order), ROUNDS times, alternating; in each
    round also the same trials in 1 and 2 bare processes."""
    apps = [create_app(s) for s in settings]
    times: dict[str, list[float]] = {
        "server_1": [],
        "server_2": [],
        "client_1": [],
        "client_2": [],
        "bare_1": [],
        "bare_2": [],
        "load": [],
    }
    async with contextlib.AsyncExitStack() as stack:
        pool = stack.enter_context(_bare_processes())
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            )
            await _run_job(http, _request(trials=16, seed=1))  # start/connect and warm the workers
            clients.append(http)
        for round_ in range(ROUNDS):
            for workers, http in enumerate(clients, start=1):
                server, seen = await _run_job(http, _request(trials=TRIALS, seed=2 + round_))
                times[f"server_{workers}"].append(server)
                times[f"client_{workers}"].append(seen)
            one, two = await asyncio.to_thread(_bare_round, pool)
            times["bare_1"].append(one)
            times["bare_2"].append(two)
            times["load"].append(os.getloadavg()[0])
    return times


#: The scheduler's preload that drops finished spans (docs/jobs.md), as a deployment would load it.
PRELOAD = ("--preload", "service.jobs.spans")


def _start(arguments: list[str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *arguments],
        stdout=log,
        stderr=log,
        env={**os.environ, **_dask_environment()},
    )


async def _wait_for_workers(address: str, workers: int, timeout: float = 60.0) -> None:
    from distributed import Client

    async with Client(address, asynchronous=True, timeout=timeout) as client:
        await client.wait_for_workers(workers, timeout=timeout)


@contextlib.contextmanager
def _separate_clusters(directory: str) -> Iterator[list[str]]:
    """Two clusters of subprocesses on 127.0.0.1 (a scheduler with 1 worker, a scheduler with 2); always stopped."""
    processes: list[subprocess.Popen[bytes]] = []
    with open(os.path.join(directory, "dask.log"), "wb") as log:
        try:
            addresses = []
            for workers in (1, 2):
                port = free_port()
                address = f"tcp://127.0.0.1:{port}"
                processes.append(
                    _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", *PRELOAD], log)
                )
                processes.append(
                    _start(
                        [
                            "worker",
                            address,
                            "--nworkers",
                            str(workers),
                            "--nthreads",
                            "1",
                            "--host",
                            "127.0.0.1",
                            "--no-dashboard",
                        ],
                        log,
                    )
                )
                asyncio.run(_wait_for_workers(address, workers))
                addresses.append(address)
            yield addresses
        finally:
            for process in reversed(processes):  # workers before their scheduler
                stop(process, timeout=15)


def _row(mode: str, times: dict[str, list[float]]) -> dict[str, Any]:
    target = TARGETS[mode]
    summary = summarize(times["server_2"], times["server_1"])  # ratio = 2-worker time / 1-worker time
    speedups = [one / two for one, two in zip(times["server_1"], times["server_2"], strict=True)]
    speedup = statistics.median(speedups)
    quartiles = statistics.quantiles(speedups, n=4)
    seen = statistics.median(one / two for one, two in zip(times["client_1"], times["client_2"], strict=True))
    bare = [one / two for one, two in zip(times["bare_1"], times["bare_2"], strict=True)]
    bare_quartiles = statistics.quantiles(bare, n=4)
    efficiency = statistics.median(a / b for a, b in zip(speedups, bare, strict=True))
    per_round = ", ".join(
        f"{TRIALS / one:.0f}/{TRIALS / two:.0f}" for one, two in zip(times["server_1"], times["server_2"], strict=True)
    )
    where = (
        "LocalCluster in the API process"
        if mode == "embedded"
        else "separate `dask scheduler` + `dask worker` processes on 127.0.0.1"
    )
    return entry(
        f"Simulation job {KIND} n={N_SAMPLES}, {TRIALS} trials, {mode} scheduler: 2 workers vs 1",
        ours_seconds=summary["ours_seconds"],
        reference_seconds=summary["reference_seconds"],
        ratio=summary["ratio"],
        target=f"speedup >= {target} (ratio <= {1 / target:.3f})",
        met=speedup >= target,
        notes=(
            f"{where}; median of {ROUNDS} alternating rounds of the job's own created→finished time: speedup "
            f"{speedup:.2f}x (quartiles {quartiles[0]:.2f}–{quartiles[2]:.2f}), per round "
            + ", ".join(f"{x:.2f}" for x in speedups)
            + f"; trials/s per round (1 worker/2 workers) "
            f"{per_round}; client-observed (submit → seen successful, long polls of up to {WAIT_SECONDS:g} s) speedup "
            f"{seen:.2f}x; the same trials in bare processes (no Dask, no service) in the same rounds: 2 vs 1 "
            f"{statistics.median(bare):.2f}x (quartiles {bare_quartiles[0]:.2f}–{bare_quartiles[2]:.2f}), per round "
            + ", ".join(f"{x:.2f}" for x in bare)
            + f"; service ÷ bare speedup, median over rounds {efficiency:.2f}"
            + f"; load average during the rounds {min(times['load']):.2f}–{max(times['load']):.2f} on "
            f"{os.cpu_count()} CPUs"
        ),
        speedup=speedup,
        speedup_quartiles=[quartiles[0], quartiles[2]],
        speedup_client_observed=seen,
        speedup_bare_processes=statistics.median(bare),
        speedup_over_bare=efficiency,
        trials_per_second_1_worker=TRIALS / summary["reference_seconds"],
        trials_per_second_2_workers=TRIALS / summary["ours_seconds"],
        raw=times,
    )


def run() -> dict[str, Any]:
    """Both deployments, each measured on 1 and 2 workers in this run; one row each (format of benchmarks/README.md).

    ``ours_seconds`` is the job on 2 workers, ``reference_seconds`` the same job on 1 worker (medians),
    and ``ratio`` the median per-round ours / reference, so a speedup target s is ratio ≤ 1/s.
    """
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for mode in ("embedded", "separate"):
            name = f"Simulation job {KIND} n={N_SAMPLES}, {TRIALS} trials, {mode} scheduler: 2 workers vs 1"
            target = f"speedup >= {TARGETS[mode]}"
            try:
                databases = [os.path.join(directory, f"{mode}-{w}.sqlite3") for w in (1, 2)]
                if mode == "embedded":
                    settings = [
                        Settings(jobs_database=db, dask_workers=w) for db, w in zip(databases, (1, 2), strict=True)
                    ]
                    times = asyncio.run(_measure(settings))
                else:
                    with _separate_clusters(directory) as addresses:
                        settings = [
                            Settings(jobs_database=db, dask_scheduler=a)
                            for db, a in zip(databases, addresses, strict=True)
                        ]
                        times = asyncio.run(_measure(settings))
                rows.append(_row(mode, times))
            except Exception as error:  # one deployment failing must not hide the other
                rows.append(failed(name, target, f"{type(error).__name__}: {error}"))
    return {"benchmarks": rows}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
