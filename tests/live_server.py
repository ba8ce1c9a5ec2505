"""The service as a real uvicorn subprocess on a free loopback port, with its job store and data sets in a tmp folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

# The same subprocess helpers as the benchmarks (stdlib only): one place for the port and the terminate/kill.
from benchmarks._harness import REPO_ROOT, free_port, stop

__all__ = ["REPO_ROOT", "free_port", "live_process", "live_server", "stop"]


@contextmanager
def live_server(tmp_path: Path, *, timeout: float = 60.0, **settings: str) -> Iterator[str]:
    """Start ``uvicorn service.main:app`` with isolated RMT_JOBS_DATABASE and RMT_DATA_DIR; yield its base URL.

    Extra keyword arguments become RMT_<NAME> environment variables. The start-up wait is bounded
    (``timeout`` seconds on /healthz); the process is terminated (then killed) on exit, and its log
    is shown when it dies early.
    """
    with live_process(tmp_path, timeout=timeout, **settings) as (url, _):
        yield url


@contextmanager
def live_process(
    tmp_path: Path, *, timeout: float = 60.0, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`live_server`, yielding the process too (to signal it); its log is ``tmp_path / "uvicorn.log"``."""
    port = free_port()
    env = {
        **os.environ,
        "RMT_JOBS_DATABASE": str(tmp_path / "jobs.sqlite3"),
        "RMT_DATA_DIR": str(tmp_path / "data"),
        "RMT_DASK_WORKERS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **{f"RMT_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = tmp_path / "uvicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "service.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"uvicorn did not answer /healthz in {timeout} s:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield url, process
        finally:
            stop(process, timeout=15.0)
