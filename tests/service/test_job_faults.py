"""Faults a job must survive, each with real processes: a lost Dask scheduler, a full disk under the
job store, and chunks stuck on an idle cluster (the watchdog).

In every case the job is waited out, not failed, and its result is bit-identical to an uninterrupted
run with the same seed (chunk i always draws from child i of SeedSequence(seed)), with the store's
integrity check clean. Sizes: Marchenko–Pastur, n = 400 (p = 200), 320 trials in 64 chunks of 5,
about 0.1 s per chunk; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.jobs import manager as manager_module
from service.jobs.runner import DaskRunner
from service.jobs.store import JobStore
from tests.service.test_simulations_api import (
    FINAL,
    URL,
    free_port,
    mp_job,
    poll,
    running_app,
    settings_for,
    stop,
    submit,
)

pytestmark = pytest.mark.anyio

JOB = mp_job(trials=320, n_samples=400, seed=77)


async def reference_result(tmp_path: Path) -> dict:
    """The same job, run without any fault (embedded cluster)."""
    async with running_app(settings_for(tmp_path / "reference")) as (http, _):
        body = await poll(http, await submit(http, JOB), lambda b: b["status"] in FINAL)
    assert body["status"] == "successful", body
    return body["result"]


def assert_store_consistent(path: Path) -> None:
    store = JobStore(path)
    try:
        assert store.check() == []
    finally:
        store.close()


# --- lost scheduler ----------------------------------------------------------------------------------


def start_scheduler(port: int, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=log,
        stderr=log,
    )


def start_worker(address: str, log) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "worker",
            address,
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
        ],
        stdout=log,
        stderr=log,
    )


async def test_lost_scheduler_jobs_wait_and_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(manager_module, "RECONNECT_BACKOFF", (0.5, 2.0))
    expected = await reference_result(tmp_path)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    processes: list[subprocess.Popen] = []
    try:
        processes += [start_scheduler(port, log), start_worker(address, log)]
        async with running_app(settings_for(tmp_path, dask_scheduler=address)) as (http, _app):
            location = await submit(http, JOB)
            await poll(http, location, lambda b: b["progress"]["chunks_done"] >= 3)

            for process in processes:  # the scheduler dies (kill -9), and with it its worker
                process.kill()
                process.wait(timeout=10)
            processes.clear()

            waiting = await poll(http, location, lambda b: (b["progress"]["note"] or "").startswith("Waiting"))
            assert waiting["status"] == "running"  # not failed
            ready = await http.get("/readyz")
            assert (
                ready.status_code == 503 and ready.json()["status"] == "degraded" and address in ready.json()["reason"]
            )
            # Predictions are still served while the cluster is gone.
            assert (await http.post("/v1/spectra/marchenko-pastur", json={"ratio": 0.5, "x": [1.0]})).status_code == 200

            processes += [start_scheduler(port, log)]
            processes += [start_worker(address, log)]
            body = await poll(http, location, lambda b: b["status"] in FINAL)
            assert (await http.get("/readyz")).status_code == 200
            # A later job runs on the new client too (the old one is never reused).
            later = await poll(http, await submit(http, mp_job(trials=4, n_samples=50)), lambda b: b["status"] in FINAL)
    finally:
        for process in processes:
            stop(process, timeout=10.0)
        log.close()
    assert body["status"] == "successful", body
    assert body["result"] == expected
    assert later["status"] == "successful"
    assert_store_consistent(tmp_path / "jobs.sqlite3")


# --- full disk ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path):
    """A 4 MiB tmpfs at ``path`` when this process may mount one (root on Linux); else None."""
    path.mkdir(parents=True)
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], capture_output=True
            ).returncode
            == 0
        )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


class DiskFiller:
    """Fills the store's disk (a tmpfs: a file up to ENOSPC) or, without one, caps SQLite's page count,
    which makes SQLite itself answer SQLITE_FULL ("database or disk is full")."""

    def __init__(self, directory: Path, *, tmpfs: bool, store: JobStore) -> None:
        self.directory, self.tmpfs, self.store = directory, tmpfs, store

    def fill(self) -> None:
        if self.tmpfs:
            with contextlib.suppress(OSError), (self.directory / "filler").open("wb") as filler:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
        else:
            with self.store._lock:
                pages = self.store._db.execute("PRAGMA page_count").fetchone()[0]
                self.store._db.execute(f"PRAGMA max_page_count = {pages}")

    def free(self) -> None:
        if self.tmpfs:
            (self.directory / "filler").unlink()
        else:
            with self.store._lock:
                self.store._db.execute("PRAGMA max_page_count = 1073741823")


async def test_full_disk_refuses_submissions_pauses_jobs_and_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(manager_module, "STORAGE_BACKOFF", (0.2, 1.0))
    expected = await reference_result(tmp_path)
    directory = tmp_path / "store"
    with small_disk(directory) as tmpfs:
        async with running_app(settings_for(directory, dask_workers=2)) as (http, app):
            location = await submit(http, JOB)
            await poll(http, location, lambda b: b["progress"]["chunks_done"] >= 3)
            disk = DiskFiller(directory, tmpfs=tmpfs, store=await app.state.jobs.store())
            disk.fill()
            try:
                paused = await poll(http, location, lambda b: (b["progress"]["note"] or "").startswith("Paused"))
                assert paused["status"] == "running"
                refused = await http.post(URL, json={**JOB, "params": {**JOB["params"], "x": [0.5, 1.0, 1.5] * 300}})
                assert refused.status_code == 507, refused.text
                problem = refused.json()
                assert (
                    problem["type"] == "urn:rmt-service:problem:insufficient-storage"
                    and "jobs.sqlite3" in problem["detail"]
                )
                done_while_full = paused["progress"]["chunks_done"]
                await asyncio.sleep(1.0)
                assert (await http.get(location)).json()["progress"]["chunks_done"] == done_while_full
            finally:
                disk.free()
            body = await poll(http, location, lambda b: b["status"] in FINAL)
        assert body["status"] == "successful", body
        assert body["result"] == expected
        assert_store_consistent(directory / "jobs.sqlite3")


# --- watchdog ----------------------------------------------------------------------------------------


async def test_watchdog_resubmits_chunks_stuck_on_an_idle_cluster(tmp_path, monkeypatch, caplog):
    # The first submission is pinned to a worker that does not exist: its tasks wait forever while
    # every real worker is idle, which is what a lost task looks like to the supervisor.
    expected = await reference_result(tmp_path)  # before the fault is installed
    original = DaskRunner.submit

    attempts: list[int] = []

    async def stuck_first(self, **kwargs):
        attempts.append(kwargs.get("attempt", 0))
        if kwargs.get("attempt", 0) > 0:
            return await original(self, **kwargs)
        client = await self.client()
        client.submit = functools.partial(
            type(client).submit, client, workers=["tcp://127.0.0.1:9"], allow_other_workers=False
        )
        try:
            return await original(self, **kwargs)
        finally:
            del client.submit

    monkeypatch.setattr(DaskRunner, "submit", stuck_first)
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, app):
        app.state.jobs.watchdog_min_seconds = 2.0
        with caplog.at_level(logging.WARNING, logger="rmt_service.jobs"):
            body = await poll(http, await submit(http, JOB), lambda b: b["status"] in FINAL)
    assert body["status"] == "successful", body
    assert body["result"] == expected
    assert attempts[:2] == [0, 1]  # the stuck submission, then the watchdog's resubmission under new keys
    assert any("resubmitting" in record.getMessage() for record in caplog.records)
