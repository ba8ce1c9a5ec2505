"""The cost model against the solvers' own time: is every estimate an upper bound?

``service/costs.py`` estimates each request's solver work before running it, and says its constants
are rounded up so that "an estimate is an upper bound in ordinary conditions". The estimate decides
what runs on the event loop, what is refused at once (422) and the ``Retry-After`` of a 503. This
module checks the claim on the requests users send: every prediction endpoint's README example,
the heavy requests of ``bench_isolation`` (random features at n = 2048, sample covariance with
1000 atoms, the conjugate kernel at 10 000 points), and the slowest cases a sweep found for the
kernel and activation routes (``_worst_cases``).

Each request goes through the in-process app (validation, the route's request-to-solver mapping and
its cost function) with the app's compute pool replaced by a recorder, which runs the solver here,
in this process, with one BLAS thread (as the worker processes do): once cold, then
``REPEATS`` times; the time compared with the estimate is the median of those. A route that calls
the pool several times (``/v1/batch``) contributes one line per call.

What the estimates leave out on purpose: HTTP and the hop to a worker process, about 0.5–1 ms per
request here, which the time budget covers and the model does not price.

    python -m benchmarks.bench_costs
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import statistics
import tempfile
import time
from typing import Any

import httpx
import numpy as np

from benchmarks import _harness as h
from benchmarks.bench_isolation import HEAVY_CASES
from benchmarks.bench_load import prediction_posts
from service.app import create_app
from service.settings import Settings

#: Runs of each solver after its cold one; the median is compared with the estimate.
REPEATS = 3
TARGET = "<= 1 for every call (solver time / estimate: service/costs.py's estimates are upper bounds)"


class _Recorder:
    """Stands in for the app's ``Compute``: runs the solver here and records (estimate, times)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, float, str, float, float]] = []

    async def __call__(self, solver: Any, /, *, cost: Any, **kwargs: Any) -> Any:
        times = []
        for _ in range(1 + REPEATS):
            started = time.perf_counter()
            result = solver(**kwargs)
            times.append(time.perf_counter() - started)
        self.calls.append(
            (getattr(solver, "__name__", "solver"), cost.seconds, cost.executor, times[0], statistics.median(times[1:]))
        )
        return result

    def close(self) -> None:
        self.inner.close()


def _matrix(rows: int, columns: int, norm: float, seed: int) -> list[list[float]]:
    """Rows of Gaussian entries scaled to norm ≈ ``norm``·√p (the kernel routes divide by √p where the
    theory expects rows of norm O(1))."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((rows, columns)) * norm).round(6).tolist()


def _worst_cases() -> list[tuple[str, bytes]]:
    """Requests at the slow end of their cost functions, found by a sweep over every activation, kernel and size
    up to n = 2048 (2026-12-07; ``service/costs.py`` states the measurements): the Hermite-series kernels at norms
    where the series reaches its cap of 600 terms (the former constants were up to 6.6 × short there), a polynomial
    kernel with a negative base (libm's slow ``pow``), a wide kernel matrix (2 × 40 000: the passes over the
    inputs are the work), and the cheap requests that now run on the event loop, at
    their most expensive activations."""
    x, x_test = _matrix(40, 10, 2.0, 1), _matrix(10, 10, 2.0, 2)
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("/v1/kernels/expected", {"activation": {"name": "tanh"}, "x": (np.array(x) / np.sqrt(10)).tolist()}),
        ("/v1/kernels/expected", {"activation": {"name": "sigmoid"}, "x": _matrix(300, 50, 2.0 / np.sqrt(50), 3)}),
        ("/v1/kernels/matrix", {"kernel": {"name": "random_features", "activation": {"name": "tanh"}}, "x": x, "x_test": x_test}),
        ("/v1/kernels/matrix", {"kernel": {"name": "polynomial", "degree": 7, "offset": -0.7}, "x": x, "x_test": x_test}),
        ("/v1/kernels/matrix", {"kernel": {"name": "distance", "function": {"name": "gelu"}}, "x": x, "x_test": x_test}),
        ("/v1/kernels/matrix", {"kernel": {"name": "rbf"}, "x": np.round(np.array(_matrix(2, 40_000, 1.0, 4)), 2).tolist()}),
        ("/v1/activations/moments", {"activation": {"name": "tanh"}}),
        ("/v1/activations/moments", {"activation": {"name": "relu"}}),
        (
            "/v1/spectra/one-step-gradient",
            {
                "activation": {"name": "tanh"}, "n_samples": 2048, "n_features": 1024, "n_neurons": 1024,
                "teacher": {"link": {"name": "tanh"}, "noise_variance": 0.04}, "learning_rate": [0.5 * k for k in range(20)],
            },
        ),
        (
            "/v1/spectra/one-step-gradient",
            {
                "activation": {"name": "relu"}, "n_samples": 2048, "n_features": 1024, "n_neurons": 1024,
                "teacher": {"link": {"name": "relu"}, "noise_variance": 0.04}, "learning_rate": [1.0],
            },
        ),
    ]  # fmt: skip
    return [(path, json.dumps(body).encode()) for path, body in bodies]


def _cases() -> list[tuple[str, bytes]]:
    cases = list(prediction_posts()) + _worst_cases()
    seen = set()
    for _label, (path, body), _executor, _forced in HEAVY_CASES:
        key = (path, json.dumps(body, sort_keys=True))
        if key not in seen:
            seen.add(key)
            cases.append((path, json.dumps(body).encode()))
    return cases


async def _measure(workdir: str) -> list[dict[str, Any]]:
    settings = Settings(
        jobs_database=os.path.join(workdir, "jobs.sqlite3"), data_dir=workdir, request_timeout_seconds=600
    )
    app = create_app(settings)
    lines = []
    async with app.router.lifespan_context(app):
        recorder = _Recorder(app.state.compute)
        app.state.compute = recorder
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            for path, body in _cases():
                first = len(recorder.calls)
                response = await client.post(path, content=body, headers={"content-type": "application/json"})
                for solver, estimate, executor, cold, median in recorder.calls[first:]:
                    lines.append(
                        {
                            "path": path,
                            "status": response.status_code,
                            "solver": solver,
                            "executor": executor,
                            "estimate": estimate,
                            "cold": cold,
                            "median": median,
                            "ratio": median / estimate,
                        }
                    )
    return lines


def run() -> dict:
    name = "cost model: solver time / estimate, README examples + isolation's heavy requests"
    try:
        logging.disable(logging.WARNING)  # the app's start-up warnings (no API keys) are expected here
        with h.blas_single_thread(), tempfile.TemporaryDirectory(prefix="rmt-bench-costs-") as workdir:
            lines = asyncio.run(_measure(workdir))
    except Exception as error:
        return {"benchmarks": [h.failed(name, TARGET, repr(error))]}
    finally:
        logging.disable(logging.NOTSET)
    worst = max(lines, key=lambda line: line["ratio"])
    not_ok = [line for line in lines if line["status"] >= 300]
    detail = "; ".join(
        f"{line['path'].removeprefix('/v1/')} ({line['solver']}, {line['executor']}): "
        f"{h.fmt_seconds(line['median'])} / {h.fmt_seconds(line['estimate'])} = {line['ratio']:.2f}"
        for line in sorted(lines, key=lambda line: -line["ratio"])
    )
    row = h.entry(
        name,
        ours_seconds=worst["median"],
        reference_seconds=worst["estimate"],
        ratio=worst["ratio"],
        target=TARGET,
        met=worst["ratio"] <= 1.0 and not not_ok,
        notes=(
            f"{len(lines)} solver calls from {len(_cases())} requests; worst shown as ours (median of {REPEATS} "
            f"runs after a cold one, one BLAS thread) / reference (the estimate); all, worst first: {detail}"
            + (f"; requests not answered 2xx: {[(line['path'], line['status']) for line in not_ok]}" if not_ok else "")
            + f"; {h.environment_notes()}"
        ),
        calls=lines,
    )
    return {"benchmarks": [row]}


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        print(json.dumps(run(), indent=2, default=str))
