"""Load and soak of the real server (issue 11 §3): three phases against one uvicorn subprocess.

1. **closed form**: ``POST /v1/spectra/marchenko-pastur`` (the README's body) at concurrency 32;
2. **mix**: every prediction endpoint, round-robin, with the README's example bodies, concurrency 32;
3. **jobs**: a stream of simulation-job submissions, half of them cancelled (``POST .../cancel``) shortly
   after, then every job waited for (bounded).

Each phase reports req/s, latency p50/p95/p99, answers by status (errors: anything but 2xx, and the
documented 429/503 are counted apart), and the resident memory (RSS) of the server process before,
at its peak during, and after the phase (2 s after the load stops; sampled every 0.2 s). The
per-route answers and mean server time come from the server's own ``/metrics``.

Targets: 0 errors except documented 429/503; closed-form p99 ≤ 200 ms; RSS after ≤ 1.2 × RSS before.

Load: ``wrk`` when installed (``apt-get install -y wrk``; a Lua script round-robins the bodies and
counts statuses), else a bounded Python generator (httpx, asyncio, same concurrency, capped in time
and number). Only 127.0.0.1 is targeted; every phase is bounded in time; the server is always stopped.

    python -m benchmarks.bench_load                     # alone (prints the rows as JSON)
    bin/bench load                                      # through the runner (table)
    RMT_BENCH_LOAD_SECONDS=10 RMT_BENCH_JOB_SECONDS=10 bin/bench load   # a quick run

Settings (environment): ``RMT_BENCH_LOAD_SECONDS`` (60: each of phases 1 and 2),
``RMT_BENCH_LOAD_CONCURRENCY`` (32), ``RMT_BENCH_JOB_SECONDS`` (30: submissions of phase 3),
``RMT_BENCH_LOAD_TOOL`` (``wrk`` or ``python``; default: wrk if installed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks import _harness as h

SECONDS = int(os.environ.get("RMT_BENCH_LOAD_SECONDS", "60"))
CONCURRENCY = int(os.environ.get("RMT_BENCH_LOAD_CONCURRENCY", "32"))
JOB_SECONDS = float(os.environ.get("RMT_BENCH_JOB_SECONDS", "30"))
TOOL = os.environ.get("RMT_BENCH_LOAD_TOOL") or ("wrk" if shutil.which("wrk") else "python")
#: Bound of the Python generator (wrk is bounded by -d).
MAX_REQUESTS = 2_000_000
REQUEST_TIMEOUT = 10.0
#: Answers that are documented refusals under load, not errors (rate limit, overload / not ready).
DOCUMENTED = {429, 503}
P99_TARGET = 0.200
RSS_TARGET = 1.2
CLOSED_FORM = "/v1/spectra/marchenko-pastur"
#: Phase 3: a small job (16 trials of n = 100 in 16 chunks) every JOB_INTERVAL s; every other one is cancelled.
JOB_BODY = {
    "kind": "marchenko_pastur",
    "params": {"ratio": 0.5, "x": [1.0], "n_moments": 3},
    "trials": 16,
    "size": {"n_samples": 100},
}
JOB_INTERVAL = 0.25
JOB_DRAIN_SECONDS = 120.0
README = h.REPO_ROOT / "README.md"


# --------------------------------------------------------------------------------------------
# the README's bodies


def readme_posts() -> list[tuple[str, bytes]]:
    """(path, body) of every ``curl -X POST`` in the README's bash blocks, in order."""
    posts = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        words = shlex.split(block.replace("\\\n", " "), comments=True)
        starts = [i for i, word in enumerate(words) if word == "curl"] + [len(words)]
        for start, end in itertools.pairwise(starts):
            command = words[start:end]
            if "-X" not in command or command[command.index("-X") + 1] != "POST" or "-d" not in command:
                continue
            url = next(word for word in command if word.startswith("http://127.0.0.1:8000"))
            body = json.loads(command[command.index("-d") + 1])
            posts.append((url.removeprefix("http://127.0.0.1:8000"), json.dumps(body).encode()))
    return posts


def prediction_posts() -> list[tuple[str, bytes]]:
    """The README's bodies of every prediction endpoint (one per path; jobs excluded)."""
    seen: dict[str, bytes] = {}
    for path, body in readme_posts():
        if not path.startswith("/v1/simulations"):
            seen.setdefault(path, body)
    return list(seen.items())


# --------------------------------------------------------------------------------------------
# resident memory of the server


class RssSampler:
    """Samples the RSS of one process every ``interval`` s in a thread; marks phases."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.now()
            self._stop.wait(self.interval)

    def now(self) -> int:
        rss = self.process.memory_info().rss
        self.samples.append((time.monotonic(), rss))
        return rss

    def children_rss(self) -> int:
        return sum(child.memory_info().rss for child in self.process.children(recursive=True))

    def peak_since(self, since: float) -> int:
        return max((rss for t, rss in self.samples if t >= since), default=self.now())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def measure_phase(rss: RssSampler, run) -> dict:
    """Run one phase: RSS before, the phase (``run()`` → its figures), RSS peak and 2 s after."""
    before = rss.now()
    started = time.monotonic()
    figures = run()
    time.sleep(2.0)
    after = rss.now()
    figures["rss_mb"] = {"before": before / 2**20, "peak": rss.peak_since(started) / 2**20, "after": after / 2**20}
    figures["rss_ratio"] = after / before
    return figures


# --------------------------------------------------------------------------------------------
# load generators


WRK_SCRIPT = """
local bodies = {%(bodies)s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  statuses = {}
  counter = 0
  requests_ = {}
  for i, item in ipairs(bodies) do
    requests_[i] = wrk.format("POST", item[1], {["Content-Type"] = "application/json"}, item[2])
  end
end
function request()
  counter = counter + 1
  return requests_[(counter - 1) %% #requests_ + 1]
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do merged[key] = (merged[key] or 0) + count end
  end
  local parts = {}
  for key, count in pairs(merged) do table.insert(parts, string.format('"%%s": %%d', key, count)) end
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"socket_errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, "statuses": {%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ", ")))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def wrk_load(base: str, targets: list[tuple[str, bytes]], *, seconds: int, concurrency: int, workdir: str) -> dict:
    """``wrk`` for ``seconds`` at ``concurrency`` connections, round-robin over ``targets``."""
    bodies = ", ".join(f"{{{_lua_string(path)}, {_lua_string(body.decode())}}}" for path, body in targets)
    script = os.path.join(workdir, "load.lua")
    Path(script).write_text(WRK_SCRIPT % {"bodies": bodies}, encoding="utf-8")
    proc = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", f"{int(REQUEST_TIMEOUT)}s", "-s", script, base],
        capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited {proc.returncode}: {proc.stderr.strip()[-300:]} {proc.stdout.strip()[-300:]}")
    raw = json.loads(
        next(line for line in proc.stdout.splitlines() if line.startswith("WRKJSON ")).removeprefix("WRKJSON ")
    )
    seconds_run = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    socket_errors = sum(raw["socket_errors"].values())
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "seconds": seconds_run,
        "rps": raw["requests"] / seconds_run,
        "p50_ms": raw["p50_us"] / 1e3,
        "p95_ms": raw["p95_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "max_ms": raw["max_us"] / 1e3,
        "statuses": statuses,
        "socket_errors": socket_errors,
        "socket_error_kinds": raw["socket_errors"],
    }


def python_load(base: str, targets: list[tuple[str, bytes]], *, seconds: float, concurrency: int, workdir: str) -> dict:
    """Bounded asyncio/httpx generator: ``concurrency`` keep-alive connections, round-robin over
    ``targets``, until ``seconds`` have passed or MAX_REQUESTS were sent."""
    import httpx

    async def main() -> dict:
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        socket_errors = 0
        sent = 0
        deadline = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=REQUEST_TIMEOUT) as client:

            async def user(offset: int) -> None:
                nonlocal socket_errors, sent
                index = offset
                while time.perf_counter() < deadline and sent < MAX_REQUESTS:
                    path, body = targets[index % len(targets)]
                    index += 1
                    sent += 1
                    start = time.perf_counter()
                    try:
                        response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
                        statuses[response.status_code] += 1
                        latencies.append(time.perf_counter() - start)
                    except httpx.HTTPError:
                        socket_errors += 1

            start = time.perf_counter()
            await asyncio.gather(*(user(i) for i in range(concurrency)))
            elapsed = time.perf_counter() - start
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
        return {
            "tool": "python-httpx",
            "requests": sum(statuses.values()) + socket_errors,
            "seconds": elapsed,
            "rps": (sum(statuses.values()) + socket_errors) / elapsed,
            "p50_ms": quantiles[49] * 1e3,
            "p95_ms": quantiles[94] * 1e3,
            "p99_ms": quantiles[98] * 1e3,
            "max_ms": max(latencies, default=float("nan")) * 1e3,
            "statuses": dict(statuses),
            "socket_errors": socket_errors,
        }

    return asyncio.run(main())


def load(base: str, targets: list[tuple[str, bytes]], *, seconds: int, workdir: str) -> dict:
    runner = wrk_load if TOOL == "wrk" else python_load
    figures = runner(base, targets, seconds=seconds, concurrency=CONCURRENCY, workdir=workdir)
    figures["errors"] = errors_of(figures["statuses"], figures["socket_errors"])
    figures["documented_refusals"] = sum(count for status, count in figures["statuses"].items() if status in DOCUMENTED)
    return figures


def errors_of(statuses: dict[int, int], socket_errors: int) -> int:
    """Answers that are neither 2xx nor a documented refusal (429/503), plus socket errors."""
    return socket_errors + sum(
        count for status, count in statuses.items() if not 200 <= status < 300 and status not in DOCUMENTED
    )


# --------------------------------------------------------------------------------------------
# the server's own view (/metrics)


def server_counts(base: str) -> dict[tuple[str, str], tuple[float, float]]:
    """(route, status) -> (requests, seconds summed) from the server's /metrics."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(base + "/metrics", timeout=10).text
    table: dict[tuple[str, str], list[float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "rmt_http_request_duration_seconds":
            continue
        for sample in family.samples:
            key = (sample.labels.get("route", ""), sample.labels.get("status", ""))
            if sample.name.endswith("_count"):
                table.setdefault(key, [0.0, 0.0])[0] = sample.value
            elif sample.name.endswith("_sum"):
                table.setdefault(key, [0.0, 0.0])[1] = sample.value
    return {key: (count, total) for key, (count, total) in table.items()}


def per_route(before: dict, after: dict) -> dict[str, dict]:
    """Requests by status and mean server time per route between two /metrics reads."""
    routes: dict[str, dict] = {}
    for key, (count, total) in after.items():
        count0, total0 = before.get(key, (0.0, 0.0))
        if count - count0 <= 0 or key[0] == "/metrics":
            continue
        route = routes.setdefault(key[0], {"statuses": {}, "requests": 0, "server_seconds": 0.0})
        route["statuses"][key[1]] = int(count - count0)
        route["requests"] += int(count - count0)
        route["server_seconds"] += total - total0
    for route in routes.values():
        route["mean_server_ms"] = 1e3 * route.pop("server_seconds") / route["requests"]
    return routes


# --------------------------------------------------------------------------------------------
# phase 3: jobs


def job_stream(base: str, *, seconds: float) -> dict:
    """Submit a job every JOB_INTERVAL s for ``seconds``; cancel every other one 0-0.5 s later;
    then wait (at most JOB_DRAIN_SECONDS) until every remaining job is finished."""
    import httpx

    async def main() -> dict:
        statuses: dict[str, Counter[int]] = {"submit": Counter(), "cancel": Counter(), "poll": Counter()}
        latency: dict[str, list[float]] = {"submit": [], "cancel": [], "poll": []}
        socket_errors = 0
        kept: list[str] = []
        cancelled_running = cancelled_finished = 0
        async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT) as client:

            async def timed(kind: str, method: str, url: str, **kwargs) -> httpx.Response | None:
                nonlocal socket_errors
                start = time.perf_counter()
                try:
                    response = await client.request(method, url, **kwargs)
                except httpx.HTTPError:
                    socket_errors += 1
                    return None
                latency[kind].append(time.perf_counter() - start)
                statuses[kind][response.status_code] += 1
                return response

            async def cancel_later(location: str, delay: float) -> None:
                nonlocal cancelled_running, cancelled_finished
                await asyncio.sleep(delay)
                response = await timed("cancel", "POST", f"{location}/cancel")
                if response is not None and response.status_code == 200:
                    if response.json().get("status") == "dismissed":
                        cancelled_running += 1
                    else:
                        cancelled_finished += 1  # finished first: cancel changed nothing and the result is kept

            tasks = []
            started = time.perf_counter()
            index = 0
            while time.perf_counter() - started < seconds:
                response = await timed("submit", "POST", "/v1/simulations", json={**JOB_BODY, "seed": index})
                if response is not None and response.status_code == 202:
                    location = response.headers["location"]
                    if index % 2:
                        tasks.append(asyncio.create_task(cancel_later(location, 0.5 * ((index * 7) % 10) / 10)))
                    else:
                        kept.append(location)
                index += 1
                await asyncio.sleep(max(0.0, started + index * JOB_INTERVAL - time.perf_counter()))
            submitted_seconds = time.perf_counter() - started
            await asyncio.gather(*tasks)
            final: Counter[str] = Counter()
            deadline = time.perf_counter() + JOB_DRAIN_SECONDS
            pending = list(kept)
            while pending and time.perf_counter() < deadline:
                still = []
                for location in pending:
                    response = await timed("poll", "GET", location)
                    body = response.json() if response is not None and response.status_code == 200 else {}
                    if body.get("status") in ("successful", "failed", "dismissed"):
                        final[body["status"]] += 1
                    else:
                        still.append(location)
                pending = still
                if pending:
                    await asyncio.sleep(0.5)
            drained_seconds = time.perf_counter() - started - submitted_seconds
        every = Counter()
        for counter in statuses.values():
            every.update(counter)
        submit_q = statistics.quantiles(latency["submit"], n=100) if len(latency["submit"]) > 1 else [float("nan")] * 99
        cancel_q = statistics.quantiles(latency["cancel"], n=100) if len(latency["cancel"]) > 1 else [float("nan")] * 99
        return {
            "submitted": sum(statuses["submit"].values()),
            "submit_rps": sum(statuses["submit"].values()) / submitted_seconds,
            "submit_p50_ms": submit_q[49] * 1e3, "submit_p95_ms": submit_q[94] * 1e3, "submit_p99_ms": submit_q[98] * 1e3,
            "cancel_p50_ms": cancel_q[49] * 1e3, "cancel_p95_ms": cancel_q[94] * 1e3, "cancel_p99_ms": cancel_q[98] * 1e3,
            "statuses": {kind: dict(counter) for kind, counter in statuses.items()},
            "socket_errors": socket_errors,
            "errors": errors_of(dict(every), socket_errors),
            "documented_refusals": sum(count for status, count in every.items() if status in DOCUMENTED),
            "cancelled_while_unfinished": cancelled_running,
            "cancel_found_a_finished_job": cancelled_finished,
            "kept_jobs_final": dict(final),
            "kept_jobs_unfinished_after_drain": len(pending),
            "drain_seconds": drained_seconds,
        }  # fmt: skip

    return asyncio.run(main())


# --------------------------------------------------------------------------------------------
# rows


def _fmt_statuses(statuses: dict) -> str:
    return ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items(), key=lambda kv: str(kv[0])))


def _rss_note(figures: dict) -> str:
    rss = figures["rss_mb"]
    return f"RSS {rss['before']:.0f} → peak {rss['peak']:.0f} → after {rss['after']:.0f} MB (after/before {figures['rss_ratio']:.3f})"


def _load_row(name: str, figures: dict, *, p99_target: bool) -> dict:
    ok_errors = figures["errors"] == 0
    ok_rss = figures["rss_ratio"] <= RSS_TARGET
    ok_p99 = figures["p99_ms"] <= P99_TARGET * 1e3
    met = ok_errors and ok_rss and (ok_p99 or not p99_target)
    target = ("p99 ≤ 200 ms, " if p99_target else "") + "0 errors except 429/503, RSS after ≤ 1.2 × before"
    notes = (
        f"{figures['tool']}, concurrency {CONCURRENCY}, {figures['seconds']:.0f} s: {figures['requests']} requests, "
        f"{figures['rps']:.0f} req/s; latency p50 {figures['p50_ms']:.1f} / p95 {figures['p95_ms']:.1f} / "
        f"p99 {figures['p99_ms']:.1f} / max {figures['max_ms']:.0f} ms; statuses {{{_fmt_statuses(figures['statuses'])}}}, "
        f"socket errors {figures['socket_errors']}; errors {figures['errors']} (+{figures['documented_refusals']} documented "
        f"429/503); {_rss_note(figures)}"
    )
    if figures.get("routes"):
        notes += "; per route (server side): " + "; ".join(
            f"{route} {{{_fmt_statuses(data['statuses'])}}} mean {data['mean_server_ms']:.1f} ms"
            for route, data in sorted(figures["routes"].items())
        )
    return h.entry(
        name, ours_seconds=1.0 / figures["rps"] if figures["rps"] else None, reference_seconds=None,
        ratio=figures["p99_ms"] / (P99_TARGET * 1e3) if p99_target else figures["rss_ratio"],
        target=target + (" (ratio: p99 / 200 ms)" if p99_target else " (ratio: RSS after/before)"),
        met=met, notes=notes, figures=figures,
    )  # fmt: skip


def _jobs_row(figures: dict) -> dict:
    ok = (
        figures["errors"] == 0
        and figures["kept_jobs_unfinished_after_drain"] == 0
        and figures["rss_ratio"] <= RSS_TARGET
    )
    notes = (
        f"{figures['submitted']} submissions in {JOB_SECONDS:.0f} s ({figures['submit_rps']:.1f}/s; 16 trials of n = 100 each), "
        f"every other one cancelled 0–0.45 s later: submit p50 {figures['submit_p50_ms']:.1f} / p95 {figures['submit_p95_ms']:.1f} / "
        f"p99 {figures['submit_p99_ms']:.1f} ms, cancel p50 {figures['cancel_p50_ms']:.1f} / p95 {figures['cancel_p95_ms']:.1f} / "
        f"p99 {figures['cancel_p99_ms']:.1f} ms; statuses {figures['statuses']}; socket errors {figures['socket_errors']}; "
        f"errors {figures['errors']} (+{figures['documented_refusals']} documented 429/503); cancelled while unfinished "
        f"{figures['cancelled_while_unfinished']}, cancels that found the job already finished (result kept) "
        f"{figures['cancel_found_a_finished_job']}; kept jobs {figures['kept_jobs_final']}, unfinished after "
        f"{figures['drain_seconds']:.0f} s of draining: {figures['kept_jobs_unfinished_after_drain']}; {_rss_note(figures)} "
        f"(API process; the Dask cluster was started by a warm-up job before 'before'; workers' RSS after: "
        f"{figures['workers_rss_mb']:.0f} MB)"
    )
    return h.entry(
        "jobs: submissions and cancels", ours_seconds=1.0 / figures["submit_rps"] if figures["submit_rps"] else None,
        reference_seconds=None, ratio=figures["rss_ratio"],
        target="0 errors except 429/503, every job finishes, RSS after ≤ 1.2 × before (ratio: RSS after/before)",
        met=ok, notes=notes, figures=figures,
    )  # fmt: skip


def _uvicorn_command(port: int) -> list[str]:
    try:
        import httptools  # noqa: F401  (imported only to probe that it is installed)
        import uvloop  # noqa: F401  (imported only to probe that it is installed)

        loop, http = "uvloop", "httptools"
    except ImportError:
        loop, http = "asyncio", "h11"
    return [
        sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def run() -> dict:
    rows: list[dict] = []
    posts = dict(readme_posts())
    closed = [(CLOSED_FORM, posts[CLOSED_FORM])]
    mix = prediction_posts()
    port = h.free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rmt-bench-load-") as workdir:
        env = {
            **os.environ,
            "RMT_JOBS_DATABASE": os.path.join(workdir, "jobs.sqlite3"),
            "RMT_DASK_WORKERS": "2",
            "RMT_LOG_LEVEL": "WARNING",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        with h.served(
            _uvicorn_command(port), ready_url=base + CLOSED_FORM, ready_body=closed[0][1], env=env, timeout=60
        ) as server:
            # Warm-up: one request of each body, so lazy imports and caches are in "before".
            for path, body in mix:
                h.post(base + path, body, timeout=60)
            with RssSampler(server.pid) as rss:
                for name, targets, p99_target in (
                    ("closed form: marchenko-pastur", closed, True),
                    (f"mix: {len(mix)} prediction endpoints (README bodies)", mix, False),
                ):
                    try:
                        before = server_counts(base)
                        figures = measure_phase(
                            rss, lambda targets=targets: load(base, targets, seconds=SECONDS, workdir=workdir)
                        )
                        figures["routes"] = per_route(before, server_counts(base))
                        rows.append(_load_row(name, figures, p99_target=p99_target))
                    except Exception as error:
                        rows.append(h.failed(name, "-", f"{type(error).__name__}: {error}"))
                try:
                    # Warm-up job: starts the Dask LocalCluster, so its one-off cost is not counted as growth.
                    job_stream(base, seconds=JOB_INTERVAL)
                    figures = measure_phase(rss, lambda: job_stream(base, seconds=JOB_SECONDS))
                    figures["workers_rss_mb"] = rss.children_rss() / 2**20
                    rows.append(_jobs_row(figures))
                except Exception as error:
                    rows.append(h.failed("jobs: submissions and cancels", "-", f"{type(error).__name__}: {error}"))
    return {"benchmarks": rows}


if __name__ == "__main__":
    result = run()
    for row in result["benchmarks"]:
        print(f"== {row['name']}: met={row['met']} status={row['status']}\n   {row['notes']}")
    print(json.dumps(result, default=str))
