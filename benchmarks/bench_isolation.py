"""Isolation under load (issue 10 §2): no request stalls another.

Every figure comes from a real ``uvicorn`` subprocess on 127.0.0.1 (one worker, uvloop + httptools
when installed, the default settings: one compute slot per core) loaded by an ``httpx`` async
client from this process, every phase bounded in time.

1. ``/healthz`` latency while 4 of the heaviest requests the default budget allows are in flight:
   * 4 × random-features ridge at n = n̂ = p = 2048 (the ``max_samples`` cap; process executor,
     and the same forced into threads, where numpy's eigh releases the GIL);
   * 4 × sample covariance with 1000 population atoms (the ``max_population_atoms`` cap; process
     executor), and the same forced into threads (``benchmarks/isolation_app.py``), which is why
     it runs in processes;
   * 4 × conjugate kernel at 10 000 points (``max_points``; process executor), likewise vs threads.
   A probe GETs ``/healthz`` back to back (one at a time) while the heavy requests run; reported:
   p50 / p99 / max of the probe. Target p99 ≤ 50 ms.
2. Mixed-endpoint load: the same work list (every POST example of the README, ``MIXED_CYCLES``
   times, in one seeded shuffled order) drained by 4 and by 32 concurrent clients, in alternated
   runs (4, 32, 32, 4). The same requests at both concurrencies: a fixed time per run would compare
   different work, since 32 clients cycling through the examples finish fewer cycles each and
   over-weight the examples they started at (a 350-ms neural-tangent-kernel request weighs 70 closed
   forms; measured: up to 12 % more heavy requests at 32 than at 4 in the same 12 s). Reported:
   successful requests per second, p50 / p99 latency, 503s by problem type (documented
   back-pressure), anything else as errors. Target: throughput at 32 ≥ throughput at 4 (median of
   the per-pair ratios), no errors but documented 503s.
3. Memory: the peak RSS of the server process plus its children (compute workers, fork server),
   sampled every 100 ms during each phase.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import os
import random
import re
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter

from benchmarks import _harness as h

HEALTH_TARGET_SECONDS = 0.050
#: Times each README example is in the mixed work list (~10 s per run at ~85 requests per second).
MIXED_CYCLES = int(os.environ.get("RMT_BENCH_MIXED_CYCLES", "40"))
MIXED_CONCURRENCIES = (4, 32, 32, 4)  # alternated, so that drift of the machine's load hits both alike
MIXED_SEED = 20261207
#: Each of the 4 heavy clients sends its request again until this long has passed: a case the
#: solvers have made fast (the conjugate kernel at 10⁴ points now answers in ~0.1 s) still keeps
#: the pool busy while /healthz is probed, instead of ending before the first probe.
HEAVY_MIN_SECONDS = 3.0
HEAVY_TIMEOUT = 180.0  # per phase: the heavy requests are ~5-20 s each, two at a time on 2 slots
CLIENT_TIMEOUT = 90.0

RIDGE_2048 = (
    "/v1/predictions/random-features-ridge",
    {
        "activation": {"name": "relu"},
        "data": {"kind": "gaussian_mixture", "n_samples": 2048, "n_test": 2048, "n_features": 2048, "seed": 7},
        "neurons_per_sample": [0.5, 1.0, 2.0],
        "ridge_penalty": [1e-4, 1e-2, 1.0],
    },
)
SAMPLE_COVARIANCE_1000 = (
    "/v1/spectra/sample-covariance",
    {
        "ratio": 0.3,
        "population": {"eigenvalues": [0.5 + 0.0095 * k for k in range(1000)], "weights": [0.001] * 1000},
        "x": [1.0],
    },
)
CONJUGATE_KERNEL_10000 = (
    "/v1/spectra/conjugate-kernel",
    {
        "activation": {"name": "tanh"}, "n_samples": 2000, "n_features": 1000, "n_neurons": 1500,
        "matrix": "features", "grid": {"start": 0.0, "stop": 3.0, "num": 10000},
    },
)  # fmt: skip


def readme_examples() -> list[tuple[str, dict]]:
    """(path, body) of every POST example of the README on a prediction endpoint."""
    text = (h.REPO_ROOT / "README.md").read_text()
    examples = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        words = shlex.split(block.replace("\\\n", " "), comments=True)
        for i, word in enumerate(words):
            if word in ("-d", "--data"):
                url = next(w for w in reversed(words[:i]) if w.startswith("http://127.0.0.1:8000/"))
                path = url.removeprefix("http://127.0.0.1:8000")
                if not path.startswith("/v1/simulations"):
                    examples.append((path, json.loads(words[i + 1])))
    return examples


def _uvicorn_command(port: int) -> list[str]:
    try:
        import httptools  # noqa: F401  (imported only to probe that it is installed)
        import uvloop  # noqa: F401  (imported only to probe that it is installed)

        loop, http = "uvloop", "httptools"
    except ImportError:
        loop, http = "asyncio", "h11"
    return [
        sys.executable, "-m", "uvicorn", "benchmarks.isolation_app:app", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


class RssSampler:
    """Peak RSS (MB) of a process and its descendants, sampled in a background thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> float:
        import psutil

        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # the process exited while we walked the tree
                total += proc.memory_info().rss
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a sampling failure must not end the sampler thread
                self.peak = max(self.peak, self.current())
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def _healthz_under(base: str, heavy: tuple[str, dict], count: int) -> dict:
    """Probe /healthz back to back while ``count`` clients send ``heavy`` (each again and again for at
    least HEAVY_MIN_SECONDS); statuses and times of the heavy answers."""
    import httpx

    path, body = heavy
    limits = httpx.Limits(max_connections=count + 2)
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT, limits=limits) as client:

        async def one() -> tuple[int, str, float]:
            start = time.perf_counter()
            try:
                response = await client.post(path, json=body)
                kind = response.json().get("type", "") if response.status_code >= 400 else ""
                return response.status_code, kind.rsplit(":", 1)[-1], time.perf_counter() - start
            except httpx.HTTPError as error:
                return -1, type(error).__name__, time.perf_counter() - start

        async def heavy_client() -> list[tuple[int, str, float]]:
            answers = []
            started = time.perf_counter()
            while not answers or time.perf_counter() - started < HEAVY_MIN_SECONDS:
                answers.append(await one())
            return answers

        tasks = [asyncio.create_task(heavy_client()) for _ in range(count)]
        latencies: list[float] = []
        await asyncio.sleep(0.2)  # let them reach the pool
        while not all(task.done() for task in tasks):
            start = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200
            await asyncio.sleep(0.005)
        results = [answer for task in tasks for answer in task.result()]
    seconds = sorted(seconds for _, _, seconds in results)
    return {
        "probes": len(latencies),
        "p50": statistics.median(latencies) if latencies else None,
        "p99": _percentile(latencies, 0.99) if latencies else None,
        "max": max(latencies) if latencies else None,
        "statuses": dict(Counter(f"{status}{' ' + kind if kind else ''}" for status, kind, _ in results)),
        "heavy_seconds": [round(seconds[0], 2), round(statistics.median(seconds), 2), round(seconds[-1], 2)],
    }


async def _mixed(base: str, work: list[tuple[str, dict]], concurrency: int) -> dict:
    """Send every request of ``work`` once, from ``concurrency`` clients taking the next one as they finish."""
    import httpx

    counts = {"ok": 0, "errors": 0}
    problems: dict[str, int] = {}
    latencies: list[float] = []
    queue = collections.deque(work)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT, limits=limits) as client:

        async def user() -> None:
            while queue:
                path, body = queue.popleft()
                start = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.HTTPError as error:
                    counts["errors"] += 1
                    problems[type(error).__name__] = problems.get(type(error).__name__, 0) + 1
                    continue
                if 200 <= response.status_code < 300:  # 201: the README's data set uploads
                    counts["ok"] += 1
                    latencies.append(time.perf_counter() - start)
                else:
                    kind = f"{response.status_code} {response.json().get('type', '?').rsplit(':', 1)[-1]}"
                    problems[kind] = problems.get(kind, 0) + 1
                    if response.status_code != 503:
                        counts["errors"] += 1

        start = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "ok": counts["ok"],
        "rps": counts["ok"] / elapsed,
        "errors": counts["errors"],
        "problems": problems,
        "p50": statistics.median(latencies) if latencies else None,
        "p99": _percentile(latencies, 0.99) if latencies else None,
    }


def _serve(env_extra: dict[str, str]):
    port = h.free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(h.REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(env_extra)
    path, body = readme_examples()[0]
    command = _uvicorn_command(port)
    server = h.served(
        command, ready_url=f"http://127.0.0.1:{port}{path}", ready_body=json.dumps(body).encode(), env=env
    )
    return server, f"http://127.0.0.1:{port}"


async def _warm(base: str) -> None:
    """One request per endpoint: starts the fork server and the workers, fills caches."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT) as client:
        for path, body in readme_examples():
            await client.post(path, json=body)


async def _idle_probe(base: str, seconds: float) -> dict:
    """/healthz latency with nothing else running: this machine's floor at this moment."""
    import httpx

    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.perf_counter()
            await client.get("/healthz")
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.005)
    return {"p50": statistics.median(latencies), "p99": _percentile(latencies, 0.99)}


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _health_row(label: str, executor: str, result: dict, idle: dict, rss: float, idle_rss: float, load: str) -> dict:
    p99 = result["p99"]
    return h.entry(
        f"/healthz p99 under 4 × {label} ({executor})",
        ours_seconds=p99,
        reference_seconds=idle["p99"],
        ratio=None if not p99 else p99 / idle["p99"],
        target="p99 ≤ 50 ms (reference: p99 of the idle server)",
        met=None if p99 is None else p99 <= HEALTH_TARGET_SECONDS,
        notes=(
            f"{result['probes']} probes: p50 {1e3 * (result['p50'] or 0):.1f} ms, p99 {1e3 * (p99 or 0):.1f} ms, "
            f"max {1e3 * (result['max'] or 0):.1f} ms (idle server just before: p50 {1e3 * idle['p50']:.1f} ms, "
            f"p99 {1e3 * idle['p99']:.1f} ms); heavy answers {result['statuses']} in {result['heavy_seconds']} s (min, median, max); "
            f"RSS server + workers: {idle_rss:.0f} MB idle, peak {rss:.0f} MB; {load}"
        ),
        rss_peak_mb=rss,
        **{k: v for k, v in result.items() if k in ("p50", "p99", "max", "probes")},
    )


HEAVY_CASES = [
    ("random-features ridge n = 2048", RIDGE_2048, "as chosen (process)", None),
    ("random-features ridge n = 2048", RIDGE_2048, "forced into threads", "thread"),
    ("sample covariance, 1000 atoms", SAMPLE_COVARIANCE_1000, "as chosen (process)", None),
    ("sample covariance, 1000 atoms", SAMPLE_COVARIANCE_1000, "forced into threads", "thread"),
    ("conjugate kernel, 10 000 points", CONJUGATE_KERNEL_10000, "as chosen (process)", None),
    ("conjugate kernel, 10 000 points", CONJUGATE_KERNEL_10000, "forced into threads", "thread"),
]


def run() -> dict:
    rows: list[dict] = []
    patterns = [p for p in os.environ.get("RMT_BENCH_ISOLATION_CASES", "").split(",") if p]
    with tempfile.TemporaryDirectory(prefix="rmt-bench-isolation-") as workdir:
        # A fresh server per case: a thread past its deadline keeps its slot until it returns,
        # and must not weigh on the next case.
        for index, (label, heavy, executor, forced) in enumerate(HEAVY_CASES):
            if patterns and not any(p in f"{label} {executor}" for p in patterns):
                continue
            env = {"RMT_JOBS_DATABASE": os.path.join(workdir, f"jobs-{index}.sqlite3")}
            if forced:
                env["RMT_BENCH_FORCE_EXECUTOR"] = forced
            try:
                server, base = _serve(env)
                with server as proc:
                    asyncio.run(_warm(base))
                    idle_rss = RssSampler(proc.pid).current()
                    idle = asyncio.run(_idle_probe(base, 3.0))
                    load = _load()
                    with RssSampler(proc.pid) as rss:
                        result = asyncio.run(asyncio.wait_for(_healthz_under(base, heavy, 4), HEAVY_TIMEOUT))
                    rows.append(_health_row(label, executor, result, idle, rss.peak, idle_rss, load))
            except Exception as error:
                rows.append(h.failed(f"/healthz under 4 × {label} ({executor})", "p99 ≤ 50 ms", repr(error)))
        if not patterns or any(p in "mixed" for p in patterns):
            try:
                server, base = _serve({"RMT_JOBS_DATABASE": os.path.join(workdir, "jobs-mixed.sqlite3")})
                with server as proc:
                    asyncio.run(_warm(base))
                    rows.extend(_mixed_rows(base, proc.pid))
            except Exception as error:
                rows.append(h.failed("mixed README examples, concurrency 32 vs 4", "-", repr(error)))
    return {"benchmarks": rows}


def _mixed_rows(base: str, pid: int) -> list[dict]:
    examples = readme_examples()
    work = [example for _ in range(MIXED_CYCLES) for example in examples]
    random.Random(MIXED_SEED).shuffle(work)
    runs: dict[int, list[dict]] = {4: [], 32: []}
    peaks: dict[int, float] = {4: 0.0, 32: 0.0}
    for concurrency in MIXED_CONCURRENCIES:
        with RssSampler(pid) as rss:
            result = asyncio.run(asyncio.wait_for(_mixed(base, work, concurrency), HEAVY_TIMEOUT))
        runs[concurrency].append(result)
        peaks[concurrency] = max(peaks[concurrency], rss.peak)
    # Pairs in running order: (4, 32) then (32, 4).
    ratios = [high["rps"] / low["rps"] for low, high in zip(runs[4], runs[32], strict=True) if low["rps"]]
    ratio = statistics.median(ratios) if ratios else None
    no_errors = all(r["errors"] == 0 for r in runs[4] + runs[32])

    def describe(concurrency: int) -> str:
        rs = runs[concurrency]
        seconds = ", ".join(f"{r['seconds']:.1f}" for r in rs)
        return (
            f"c={concurrency}: "
            + ", ".join(f"{r['rps']:.1f}" for r in rs)
            + f" req/s ({rs[0]['ok']} ok in {seconds} s), "
            f"p50 {1e3 * statistics.median(r['p50'] or 0 for r in rs):.0f} ms, "
            f"p99 {1e3 * max(r['p99'] or 0 for r in rs):.0f} ms, errors {sum(r['errors'] for r in rs)}, "
            f"non-200 {[r['problems'] for r in rs if r['problems']] or 'none'}, peak RSS {peaks[concurrency]:.0f} MB"
        )

    rps = {c: statistics.median(r["rps"] for r in runs[c]) for c in runs}
    return [
        h.entry(
            f"mixed README examples ({len(examples)} endpoints), concurrency 32 vs 4",
            ours_seconds=1.0 / rps[32] if rps[32] else None,
            reference_seconds=1.0 / rps[4] if rps[4] else None,
            ratio=ratio,
            target="throughput(32)/throughput(4) ≥ 1.0 on the same requests, no errors but documented 503s",
            met=None if ratio is None else (ratio >= 1.0 and no_errors),
            notes=(
                f"the same {len(work)} requests ({MIXED_CYCLES} × each example, seeded shuffled order) per run, "
                f"runs at concurrency {', '.join(map(str, MIXED_CONCURRENCIES))}; per-pair ratios "
                f"{', '.join(f'{x:.3f}' for x in ratios)}; {describe(4)}; {describe(32)}. "
                f"Throughput counts 2xx answers; {_load()}."
            ),
            mixed={str(c): rs for c, rs in runs.items()},
            rss_peak_mb=peaks,
        )
    ]


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
