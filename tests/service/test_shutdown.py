"""A stopping server answers its long polls at once (`service/shutdown.py`, `JobManager.stop_waiting`).

uvicorn waits for the requests in progress before it runs the app's lifespan shutdown; a status
request waiting for its job (`?wait_seconds=`) must not hold that wait for up to 10 s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.jobs.store import JobStore
from service.shutdown import on_exit_signals
from tests.conftest import isolated_settings
from tests.live_server import live_process
from tests.service.job_rows import accepted_job

#: Only guards against a hang, never a speed claim: seconds for one blocking call, and looks at /metrics
#: (at least a minute of 20-ms pauses).
HANG_GUARD_SECONDS = 60.0
HANG_GUARD_LOOKS = 3000


@pytest.mark.anyio
async def test_an_exit_signal_schedules_the_callback_and_runs_the_servers_handler():
    seen: list[str] = []

    def server_handler(signum, frame):  # what uvicorn's Server.handle_exit stands for
        seen.append(f"server {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, server_handler)
    try:
        called = asyncio.Event()

        def callback() -> None:
            seen.append("app")
            called.set()

        with on_exit_signals(callback):
            signal.raise_signal(signal.SIGTERM)
            await asyncio.wait_for(called.wait(), HANG_GUARD_SECONDS)
        # The server's handler runs in the signal handler; the app's callback on the loop, after it.
        assert seen == ["server SIGTERM", "app"]
        assert signal.getsignal(signal.SIGTERM) is server_handler  # restored
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.anyio
async def test_a_default_or_ignored_signal_is_left_alone():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with on_exit_signals(lambda: None):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def _accepted_job(tmp_path: Path) -> str:
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        return accepted_job(store, job_id="waiting-job").id
    finally:
        store.close()


def _in_progress(url: str) -> float:
    """The `rmt_http_requests_in_progress` gauge (this /metrics request included)."""
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("rmt_http_requests_in_progress "):
            return float(line.split()[1])
    raise AssertionError("no rmt_http_requests_in_progress series")


def test_sigterm_answers_a_waiting_long_poll_before_the_lifespan_shutdown(tmp_path):
    # An `accepted` job nothing runs: this test holds the store's supervisor lock, so the server answers
    # GETs but supervises nothing (and starts no Dask). The job would stay `accepted` for ever.
    job_id = _accepted_job(tmp_path)
    lock = os.open(tmp_path / "jobs.sqlite3.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with live_process(tmp_path) as (url, process), concurrent.futures.ThreadPoolExecutor(1) as pool:
            poll = pool.submit(
                httpx.get, f"{url}/v1/simulations/{job_id}", params={"wait_seconds": 10}, timeout=HANG_GUARD_SECONDS
            )
            for _ in range(HANG_GUARD_LOOKS):  # until the long poll is being served
                if _in_progress(url) >= 2:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the long poll never reached the server")
            process.send_signal(signal.SIGTERM)
            response = poll.result(timeout=HANG_GUARD_SECONDS)
            # uvicorn shuts down gracefully, then raises the signal it caught again (its documented exit).
            assert process.wait(timeout=HANG_GUARD_SECONDS) == -signal.SIGTERM
    finally:
        os.close(lock)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    messages = [
        json.loads(line)["message"]
        for line in (tmp_path / "uvicorn.log").read_text().splitlines()
        if line.startswith("{")
    ]
    stopping = next(i for i, m in enumerate(messages) if m.startswith("stopping: "))
    # On the signal, not when the lifespan shutdown closes the job manager after the requests in progress.
    assert stopping < messages.index("Waiting for application shutdown.")


@pytest.mark.anyio
async def test_readyz_answers_stopping_from_the_exit_signal_on():
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # a server's handler, as uvicorn's
    try:
        app = create_app(isolated_settings())
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            signal.raise_signal(signal.SIGTERM)
            for _ in range(HANG_GUARD_LOOKS):  # the callback runs on the loop, soon after the handler
                response = await http.get("/readyz")
                if response.status_code == 503:
                    break
                await asyncio.sleep(0)
            assert response.status_code == 503 and response.json() == {"status": "stopping"}
            assert response.headers["content-type"] == "application/json"
    finally:
        signal.signal(signal.SIGTERM, previous)
