"""Trials per second of one simulation kind on 1 worker and on 2 workers, in the same run.

Each measurement runs the full service path (HTTP submit through the in-process app, Dask
LocalCluster of worker processes, SQLite store) on a warmed-up cluster, and times the job from
submission to `successful`. Target: 2 workers ≥ 1.7× the trials/s of 1 worker (on ≥ 2 cores).

    python -m benchmarks.bench_jobs
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
from typing import Any

import httpx

from service.app import create_app
from service.settings import Settings

KIND = "marchenko_pastur"
N_SAMPLES = 600  # p = 300: ~20 ms per trial, so scheduling and storage overhead stay visible but small
TRIALS = 256
TARGET_SPEEDUP = 1.7
ROUNDS = 3
#: Status polls are requests to the same process that supervises the job: poll like a client
#: would (not every 10 ms), so the benchmark measures the workers, not the polling.
POLL_SECONDS = 0.1


def _request(trials: int, seed: int) -> dict[str, Any]:
    return {
        "kind": KIND,
        "params": {"ratio": 0.5, "x": [1.0], "n_moments": 4},
        "trials": trials,
        "seed": seed,
        "size": {"n_samples": N_SAMPLES},
    }


async def _run_job(http: httpx.AsyncClient, payload: dict[str, Any], timeout: float = 300.0) -> float:
    started = time.perf_counter()
    response = await http.post("/v1/simulations", json=payload)
    response.raise_for_status()
    location = response.headers["location"]
    while True:
        body = (await http.get(location)).json()
        if body["status"] in ("successful", "failed", "dismissed"):
            if body["status"] != "successful":
                raise RuntimeError(f"job ended {body['status']}: {body.get('error')}")
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"job not finished after {timeout} s")
        await asyncio.sleep(POLL_SECONDS)


async def _measure(directory: str) -> tuple[list[float], list[float]]:
    """Trials/s on 1 and on 2 workers, ROUNDS times, alternating so that load drift hits both alike."""
    apps = [
        create_app(Settings(jobs_database=os.path.join(directory, f"bench-{w}.sqlite3"), dask_workers=w))
        for w in (1, 2)
    ]
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            )
            await _run_job(http, _request(trials=4, seed=1))  # start and warm the cluster
            clients.append(http)
        rates: tuple[list[float], list[float]] = ([], [])
        for round_ in range(ROUNDS):
            for side, http in enumerate(clients):
                rates[side].append(TRIALS / await _run_job(http, _request(trials=TRIALS, seed=2 + round_)))
    return rates


def run() -> dict[str, Any]:
    """Measure both worker counts in this run; one row in the format of benchmarks/README.md.

    ``ours_seconds`` is the job on 2 workers, ``reference_seconds`` the same job on 1 worker, and
    ``ratio`` = ours / reference, so the target speedup of 1.7× is ratio ≤ 1/1.7.
    """
    with tempfile.TemporaryDirectory() as directory:
        ones, twos = asyncio.run(_measure(directory))
    one, two = statistics.median(ones), statistics.median(twos)
    speedup = statistics.median(b / a for a, b in zip(ones, twos, strict=True))
    row = {
        "name": f"Simulation job {KIND} n={N_SAMPLES}, {TRIALS} trials: 2 workers vs 1",
        "status": "ok",
        "ours_seconds": TRIALS / two,
        "reference_seconds": TRIALS / one,
        "ratio": 1.0 / speedup,
        "target": f"speedup >= {TARGET_SPEEDUP} (ratio <= {1 / TARGET_SPEEDUP:.3f})",
        "met": speedup >= TARGET_SPEEDUP,
        "accuracy": None,
        "notes": f"median of {ROUNDS} alternating rounds; trials/s: 1 worker {one:.1f}, 2 workers {two:.1f}; speedup {speedup:.2f}x on {os.cpu_count()} CPUs",
        "trials_per_second_1_worker": one,
        "trials_per_second_2_workers": two,
        "speedup": speedup,
    }
    return {"benchmarks": [row]}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
