"""Shared helpers of the benchmarks: interleaved timing, result entries, venvs and servers.

Only the standard library and numpy are imported at module level: this module is also imported
by worker subprocesses running in the benchmark-only virtualenvs (``.venv-bench*``), which have a
different numpy and none of the service's dependencies.

The result format every ``benchmarks/bench_*.py`` module returns from ``run()`` is described in
``benchmarks/README.md``; :func:`entry` builds one row of it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# result rows


def entry(
    name: str,
    *,
    ours_seconds: float | None,
    reference_seconds: float | None,
    ratio: float | None,
    target: str,
    met: bool | None,
    accuracy: str | None = None,
    notes: str = "",
    status: str = "ok",
    **extra: object,
) -> dict:
    """One row of the result format (see benchmarks/README.md); extra keys are kept as they are."""
    row = {
        "name": name,
        "status": status,
        "ours_seconds": ours_seconds,
        "reference_seconds": reference_seconds,
        "ratio": ratio,
        "target": target,
        "met": met,
        "accuracy": accuracy,
        "notes": notes,
    }
    row.update(extra)
    return row


def skipped(name: str, target: str, why: str) -> dict:
    """A row for a benchmark that could not run here (e.g. its competitor's venv is missing)."""
    return entry(
        name,
        ours_seconds=None,
        reference_seconds=None,
        ratio=None,
        target=target,
        met=None,
        notes=why,
        status="skipped",
    )


def failed(name: str, target: str, why: str, **extra: object) -> dict:
    """A row for a benchmark that raised or whose worker died."""
    return entry(
        name,
        ours_seconds=None,
        reference_seconds=None,
        ratio=None,
        target=target,
        met=None,
        notes=why,
        status="failed",
        **extra,
    )


# --------------------------------------------------------------------------------------------
# timing


def calibrate(func: Callable[[], object], *, min_time: float = 0.02, max_number: int = 1_000_000) -> int:
    """Loops per measurement so that one measurement lasts at least ``min_time`` (timeit.autorange)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= max_number:
            return number
        number = min(max_number, max(number * 2, int(number * 1.2 * min_time / max(elapsed, 1e-9))))


def interleaved_timings(
    funcs: dict[str, Callable[[], object]], *, rounds: int = 15, min_time: float = 0.02
) -> dict[str, list[float]]:
    """Seconds per call of each function, measured in ``rounds`` interleaved rounds (A B C A B C ...).

    Each function is called once first (warm-up: imports, caches), its loop count is calibrated
    like ``timeit`` so that one measurement lasts ``min_time``, then every round measures every
    function once, in an order rotated each round, so that slow drifts of the shared machine's
    load hit all of them alike. Garbage collection stays enabled (as in the service).
    """
    numbers = {}
    for label, func in funcs.items():
        func()
        numbers[label] = calibrate(func, min_time=min_time)
    labels = list(funcs)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for round_index in range(rounds):
        shift = round_index % len(labels)
        for label in labels[shift:] + labels[:shift]:
            func, number = funcs[label], numbers[label]
            start = time.perf_counter()
            for _ in range(number):
                func()
            samples[label].append((time.perf_counter() - start) / number)
    return samples


def summarize(ours: Sequence[float], reference: Sequence[float]) -> dict:
    """Median and best of each side, and the ratios ours/reference.

    ``ratio`` is the median of the per-round ratios (each round measured both sides back to back,
    so it cancels load drift between rounds); ``ratio_best`` is best-of-N over best-of-N (timeit's
    convention: noise only ever adds time).
    """
    per_round = [o / r for o, r in zip(ours, reference, strict=True)]
    quartiles = statistics.quantiles(per_round, n=4) if len(per_round) >= 2 else [per_round[0]] * 3
    return {
        "ours_seconds": statistics.median(ours),
        "reference_seconds": statistics.median(reference),
        "ours_best_seconds": min(ours),
        "reference_best_seconds": min(reference),
        "ratio": statistics.median(per_round),
        "ratio_best": min(ours) / min(reference),
        "ratio_quartiles": [quartiles[0], quartiles[2]],
        "rounds": len(per_round),
    }


def blas_single_thread() -> contextlib.AbstractContextManager[object]:
    """BLAS limited to one thread for the block, as in the service's worker processes (a no-op
    without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fmt_seconds(seconds: float | None) -> str:
    """Human-readable duration (``12.3 µs``, ``4.56 ms``, ``1.23 s``)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# --------------------------------------------------------------------------------------------
# benchmark-only virtualenvs (made by bin/bench) and worker subprocesses


def venv_python(name: str) -> Path | None:
    """The interpreter of the benchmark venv ``REPO_ROOT/name`` if bin/bench has made it."""
    python = REPO_ROOT / name / "bin" / "python"
    return python if python.exists() else None


def run_worker(python: Path | str, module: str, args: Sequence[str], *, timeout: float = 300.0) -> dict:
    """Run ``python -m module args...`` from the repository root and parse the JSON it prints last.

    The repository root is put first on ``PYTHONPATH`` so that our solvers are imported from the
    working tree (not from whatever is installed in that venv). Raises ``RuntimeError`` with the
    worker's stderr tail if it fails.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("PYTHONHOME", None)
    proc = subprocess.run(
        [str(python), "-m", module, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"worker {python} -m {module} {' '.join(args)} exited {proc.returncode}: {tail}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"worker {python} -m {module} printed nothing; stderr: {proc.stderr.strip()[-500:]}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------------
# servers on 127.0.0.1


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """POST a JSON body; return (status, response body), HTTP errors included."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def served(
    command: Sequence[str], *, ready_url: str, ready_body: bytes, timeout: float = 30.0, env: dict | None = None
) -> Iterator[subprocess.Popen]:
    """Start a server subprocess, wait until POSTing ``ready_body`` to ``ready_url`` answers 200,
    yield it, and always terminate it (then kill it if it does not stop within 10 s)."""
    # stderr goes to a file, never a pipe: nobody reads a pipe while the server runs, and once its
    # 64 KiB buffer is full the server's next log line blocks its event loop for good.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen(
            list(command), cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True
        )

        def stderr_tail() -> str:
            stderr.flush()
            stderr.seek(0)
            return stderr.read()[-800:]

        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server {' '.join(command)} exited {proc.returncode}: {stderr_tail()}")
                try:
                    status, payload = post(ready_url, ready_body, timeout=2.0)
                    if status == 200:
                        break
                    raise RuntimeError(f"server at {ready_url} answered {status}: {payload[:300]!r}")
                except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server {' '.join(command)} not ready after {timeout} s") from None
                    time.sleep(0.1)
            yield proc
        finally:
            stop(proc, timeout=10)


def stop(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Terminate ``process`` if it still runs; kill it if it has not exited ``timeout`` seconds later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def environment_notes() -> str:
    """Python, numpy and BLAS-related settings of this interpreter, for the notes of a row."""
    import numpy

    blas = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS") if k in os.environ}
    return f"python {sys.version.split()[0]}, numpy {numpy.__version__}" + (f", env {blas}" if blas else "")


# --------------------------------------------------------------------------------------------
# bounded Python load generator (fallback when wrk is not installed)


def python_load(url: str, body: bytes, *, concurrency: int, seconds: float, max_requests: int) -> dict:
    """POST ``body`` to ``url`` from ``concurrency`` keep-alive connections until ``seconds`` have
    passed or ``max_requests`` were sent, whichever comes first (both bounds always hold)."""
    import asyncio

    import httpx

    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"load tests only target the loopback interface, not {url}")

    async def main() -> dict:
        counts = {"ok": 0, "errors": 0}
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(limits=limits, timeout=5.0) as client:

            async def user() -> None:
                while time.perf_counter() < deadline and counts["ok"] + counts["errors"] < max_requests:
                    try:
                        response = await client.post(url, content=body, headers=headers)
                        counts["ok" if response.status_code < 400 else "errors"] += 1
                    except httpx.HTTPError:
                        counts["errors"] += 1

            start = time.perf_counter()
            await asyncio.gather(*(user() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        total = counts["ok"] + counts["errors"]
        return {"requests": total, "errors": counts["errors"], "seconds": elapsed, "rps": total / elapsed}

    return asyncio.run(main())


if __name__ == "__main__":
    # python -m benchmarks._harness load URL BODY_FILE CONCURRENCY SECONDS MAX_REQUESTS
    if len(sys.argv) == 7 and sys.argv[1] == "load":
        _, _, url, body_file, concurrency, seconds, max_requests = sys.argv
        print(
            json.dumps(
                python_load(
                    url,
                    Path(body_file).read_bytes(),
                    concurrency=int(concurrency),
                    seconds=float(seconds),
                    max_requests=int(max_requests),
                )
            )
        )
    else:
        sys.exit("usage: python -m benchmarks._harness load URL BODY_FILE CONCURRENCY SECONDS MAX_REQUESTS")
