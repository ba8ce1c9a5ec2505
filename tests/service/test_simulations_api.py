"""HTTP tests of `/v1/simulations`: lifecycle, cancellation, restart, remote cluster, many jobs,
determinism across worker counts, and validation.

Every app here gets its own SQLite file under `tmp_path` and its own Dask cluster (a LocalCluster of
1–2 worker processes, or subprocesses for the remote test); every wait is bounded. Sizes are small
(n ≤ 400 except the cancellation test) so the module stays well under a minute of compute on 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.jobs import SimulationJob
from service.app import create_app
from service.jobs import manager as manager_module
from service.jobs.store import JobStore
from service.settings import Settings
from tests.live_server import free_port, stop

pytestmark = pytest.mark.anyio

URL = "/v1/simulations"
PROBLEM = "application/problem+json"
FINAL = {"successful", "failed", "dismissed"}


def mp_job(*, trials: int, n_samples: int, seed: int | None = 2026, **params: Any) -> dict[str, Any]:
    """A Marchenko–Pastur simulation request (c = 0.5, σ² = 1.5 unless overridden)."""
    body = {"ratio": 0.5, "variance": 1.5, "x": [1.0], "n_moments": 3, **params}
    return {
        "kind": "marchenko_pastur",
        "params": body,
        "trials": trials,
        "seed": seed,
        "size": {"n_samples": n_samples},
    }


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app with its lifespan entered (closing it stops Dask), and an in-process client."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http, app


#: Only a guard against a hung job (a test must end), never a speed claim: a count of polls far above
#: any expected run even on a loaded machine (at least 15 minutes of 20 ms pauses). Tests assert counts
#: (trials, chunks), never seconds.
HANG_GUARD_POLLS = 45_000


async def poll(
    http: httpx.AsyncClient,
    url: str,
    until: Callable[[dict], bool],
    *,
    seen: list | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """GET ``url`` every 20 ms until ``until(body)``; fail only if the job seems hung."""
    for _ in range(HANG_GUARD_POLLS):
        response = await http.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if seen is not None:
            seen.append(body)
        if until(body):
            return body
        await asyncio.sleep(0.02)
    pytest.fail(f"hung: no change after {HANG_GUARD_POLLS} polls of {url}: {body['status']} {body['progress']}")


async def long_poll(http: httpx.AsyncClient, url: str) -> dict:
    """GET ``url`` with ``wait_seconds`` (the service's longest wait) until the job has ended."""
    for _ in range(HANG_GUARD_POLLS // 500):  # at least 15 minutes of 10-s waits
        response = await http.get(url, params={"wait_seconds": manager_module.MAX_WAIT_SECONDS})
        assert response.status_code == 200, response.text
        if (body := response.json())["status"] in FINAL:
            return body
    pytest.fail(f"hung: {url} did not end: {body['status']} {body['progress']}")


async def submit(http: httpx.AsyncClient, payload: dict) -> str:
    response = await http.post(URL, json=payload)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{URL}/{response.json()['id']}"
    SimulationJob.model_validate(response.json())
    return response.headers["location"]


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        jobs_database=str(tmp_path / "jobs.sqlite3"),
        data_dir=str(tmp_path / "data"),
        **{"dask_workers": 2, **overrides},
    )


def assert_agrees_with_marchenko_pastur(result: dict, *, n_samples: int, n_features: int) -> None:
    # The tolerances of tests/solvers/test_marchenko_pastur.py::test_monte_carlo_spectrum: moments within
    # 3 SE + (k²/n)·M_k (O(1/n) finite-size bias), KS of the pooled ESD below 5/dim (docs/methods/spectra.md §4: ∝ 1/p),
    # plus the grid's resolution since the KS here is taken on a 1024-point grid.
    for k, quantity in enumerate(result["quantities"], start=1):
        assert quantity["name"] == f"moment_{k}"
        bound = 3 * quantity["standard_error"] + k**2 / n_samples * quantity["prediction"]
        assert quantity["absolute_difference"] <= bound, quantity
        assert quantity["z_score"] == pytest.approx(
            (quantity["empirical_mean"] - quantity["prediction"]) / quantity["standard_error"]
        )
    spectrum = result["spectrum"]
    assert spectrum["ks_distance"] < 5.0 / n_features + spectrum["resolution"]
    assert result["provenance"]["sizes"] == {"n_features": n_features, "n_samples": n_samples}


RIDGE_JOB = {
    "kind": "linear_ridge",
    "params": {"ratio": 0.5, "ridge_penalty": [0.0, 0.5], "signal_strength": 1.0, "noise_variance": 0.25},
    "trials": 64,
    "seed": 3,
    "size": {"n_samples": 200},
}


def assert_agrees_with_ridge_prediction(body: dict, *, n_samples: int) -> None:
    # n = 200, p = 100, 64 designs. Tolerance 3 SE + (3/n)·|prediction|: the finite-n bias is O(1/n),
    # e.g. the ridgeless variance is exactly σ²p/(n − p − 1) = (1 + 1/99)·σ²γ/(1 − γ) here.
    assert body["status"] == "successful", body
    quantities = body["result"]["quantities"]
    assert {q["name"] for q in quantities} >= {"risk[ridge_penalty=0]", "train_error[ridge_penalty=0.5]"}
    for q in quantities:
        assert (
            q["absolute_difference"]
            <= 3 * (q["standard_error"] or 0.0) + 3.0 / n_samples * abs(q["prediction"]) + 1e-12
        ), q


async def test_lifecycle_submit_progress_result(tmp_path):
    # n = 400, p = 200, 192 trials in 64 chunks of 3: ~2 s of work on 2 workers, long enough to see
    # progress between submission and the end.
    async with running_app(settings_for(tmp_path)) as (http, _):
        location = await submit(http, mp_job(trials=192, n_samples=400))
        ridge = await submit(http, RIDGE_JOB)
        seen: list[dict] = []
        body = await poll(http, location, lambda b: b["status"] in FINAL, seen=seen)
        ridge_body = await long_poll(http, ridge)
    assert_agrees_with_ridge_prediction(ridge_body, n_samples=200)
    assert body["status"] == "successful", body
    statuses = [b["status"] for b in seen]
    assert statuses.index("running") < statuses.index("successful")
    done = [b["progress"]["trials_done"] for b in seen]
    assert done == sorted(done), "progress never goes back"
    assert any(b["status"] == "running" and 0 < b["progress"]["trials_done"] < 192 for b in seen), (
        "no intermediate progress seen"
    )
    assert any(b["progress"]["eta_seconds"] is not None for b in seen if b["status"] == "running")
    assert body["progress"] == {
        "trials_done": 192,
        "trials_total": 192,
        "chunks_done": 64,
        "chunks_total": 64,
        "fraction": 1.0,
        "eta_seconds": 0.0,
        "note": None,
    }
    assert body["finished"] >= body["started"] >= body["created"]
    assert body["result"]["provenance"]["seed_entropy"] == 2026 and body["result"]["provenance"]["trials"] == 192
    assert_agrees_with_marchenko_pastur(body["result"], n_samples=400, n_features=200)


def _flag_seen_by_a_worker(job_id: str) -> bool:
    """Run on a Dask worker: the cancellation check that chunks of ``job_id`` make between trials. A look
    never waits for the scheduler's answer (it arrives for a later look), so look until it has (bounded)."""
    from service.jobs.worker import _cancelled

    check = _cancelled(job_id)
    for _ in range(1000):
        if check():
            return True
        time.sleep(0.01)
    return False


def _looks_until_seen(job_id: str) -> tuple[bool, int]:
    """Run on a Dask worker: the first look at a job's flag, and how many looks it took to see it set."""
    from service.jobs.worker import _cancelled

    check = _cancelled(job_id)
    first = check()
    for looks in range(2, 1000):
        if check():
            return first, looks
        time.sleep(0.01)
    return first, -1


async def test_a_look_at_the_flag_never_waits_for_the_scheduler(tmp_path):
    """A chunk's look at its job's flag sends the question and answers from what the worker heard before: the
    first look at a set flag says 'not cancelled' (no answer yet), a later one says 'cancelled', and a task of the
    same job that starts on that worker afterwards sees it at its first look."""
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, app):
        await poll(http, await submit(http, mp_job(trials=2, n_samples=20)), lambda b: b["status"] in FINAL)
        runner = app.state.jobs.runner
        await runner.cancel("flagged")
        first, looks = await runner._client.submit(_looks_until_seen, "flagged", pure=False)
        assert first is False and looks >= 2
        first, looks = await runner._client.submit(_looks_until_seen, "flagged", pure=False)
        assert first is True  # the worker's answer for this job, kept across tasks
        runner.clear_cancel_flag_later("flagged", 0.0)


async def test_cancel_while_running_frees_the_workers(tmp_path, monkeypatch):
    # n = 2000 (p = 1000): ~0.3–0.5 s per trial, 20 trials per chunk, so a chunk would keep its worker
    # busy for several seconds if the cancellation flag were not checked between trials.
    # A status request waiting for the job is answered by the cancel's wake-up: the store's recheck
    # (60 s here) would only come after its 10-s wait, which would answer `running`.
    monkeypatch.setattr(manager_module, "WAIT_RECHECK_SECONDS", 60.0)
    async with running_app(settings_for(tmp_path)) as (http, app):
        location = await submit(http, mp_job(trials=1280, n_samples=2000))
        await poll(http, location, lambda b: b["status"] == "running")
        job_id = location.rsplit("/", 1)[-1]
        waiting = asyncio.create_task(http.get(location, params={"wait_seconds": 10}))
        await asyncio.sleep(1.0)  # both workers are inside a chunk now, and the request waits
        assert app.state.jobs._waiting.get(job_id)
        response = await http.post(f"{location}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "dismissed"
        assert (await waiting).json()["status"] == "dismissed"
        at_cancel = response.json()["progress"]
        # The flag the running chunks check between trials is set, and a worker sees it (a chunk
        # then stops at its next check: test_jobs_store.test_should_stop_ends_a_chunk_between_trials).
        client = app.state.jobs.runner._client
        assert await client.submit(_flag_seen_by_a_worker, job_id, pure=False) is True
        # The workers are free: a small job submitted now runs to the end.
        small = await submit(http, mp_job(trials=4, n_samples=50))
        body = await poll(http, small, lambda b: b["status"] in FINAL)
        assert body["status"] == "successful" and body["progress"]["trials_done"] == 4
        # Counts, not seconds: no chunk of the dismissed job was recorded after the cancel.
        after = (await http.get(location)).json()
        assert after["status"] == "dismissed"
        assert after["progress"]["chunks_done"] == at_cancel["chunks_done"] < at_cancel["chunks_total"]
        assert after["progress"]["trials_done"] == at_cancel["trials_done"]
        # Cancel is idempotent: on a finished (here dismissed) job it changes nothing.
        again = await http.post(f"{location}/cancel")
        assert again.status_code == 200 and again.json()["status"] == "dismissed"
        # DELETE of a finished (here dismissed) job removes it.
        assert (await http.delete(location)).status_code == 204
        gone = await http.get(location)
        assert gone.status_code == 404 and gone.headers["content-type"].startswith(PROBLEM)
        assert gone.json()["type"] == "urn:rmt-service:problem:not-found"


async def test_restart_resumes_and_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    # 1 worker before the restart, 2 after: the result must not depend on either. n = 400, 192 trials.
    monkeypatch.setattr(manager_module, "SHUTDOWN_GRACE", 0.0)
    request = mp_job(trials=192, n_samples=400, seed=99)
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, _):
        location = await submit(http, request)
        await poll(http, location, lambda b: b["progress"]["chunks_done"] >= 2)
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.get(location.rsplit("/", 1)[1])
    store.close()
    assert job is not None and job.status == "running" and 2 <= job.chunks_done < 64, job

    # The resumed job merges chunks read back from the store (some were saved before the restart); the
    # fresh one merges the chunks its supervisor kept in memory. Both give the same bits.
    read_back: list[str] = []
    chunks = JobStore.chunks

    def counting_chunks(self, job_id):
        read_back.append(job_id)
        return chunks(self, job_id)

    monkeypatch.setattr(JobStore, "chunks", counting_chunks)
    async with running_app(settings_for(tmp_path, dask_workers=2)) as (http, _):
        resumed = await poll(http, location, lambda b: b["status"] in FINAL)
        fresh_location = await submit(http, request)
        fresh = await poll(http, fresh_location, lambda b: b["status"] in FINAL)
    assert resumed["status"] == fresh["status"] == "successful"
    assert read_back == [job.id]
    assert resumed["result"] == fresh["result"]  # bit-identical, including the KS distance


async def test_one_and_two_workers_give_the_same_result(tmp_path, monkeypatch):
    from service.jobs import runner as runner_module

    request = mp_job(trials=40, n_samples=120, seed=5, matrix="gram")
    results = []
    for workers in (1, 2):
        # One worker with the trial's arguments inside each task, two with them broadcast once (as data arrays are).
        monkeypatch.setattr(runner_module, "INLINE_PROBLEM_BYTES", 64 * 1024 if workers == 1 else 0)
        async with running_app(settings_for(tmp_path / str(workers), dask_workers=workers)) as (http, _):
            body = await poll(http, await submit(http, request), lambda b: b["status"] in FINAL)
        assert body["status"] == "successful"
        results.append(body["result"])
    assert results[0] == results[1]


async def test_a_job_like_an_earlier_one_starts_with_tasks_sized_by_its_cost(tmp_path):
    """The first job runs one chunk per task until its first chunk is measured; a second job of the same kind,
    parameters and sizes starts with tasks sized by that measurement (guided: at most half of its chunks on one
    worker); a job with other parameters starts again from one chunk. The grouping never changes a result."""
    first_batches: list[int] = []
    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, app):
        runner = app.state.jobs.runner
        submit_batches = runner.submit

        async def spy(*, batches, **kwargs):
            if not first_batches or kwargs["job_id"] != first_batches[-1][0]:
                first_batches.append((kwargs["job_id"], len(batches[0])))
            return await submit_batches(batches=batches, **kwargs)

        runner.submit = spy
        request = mp_job(trials=64, n_samples=60, seed=7)
        bodies = []
        for payload in (request, {**request, "seed": 7}, mp_job(trials=64, n_samples=60, seed=7, n_moments=2)):
            bodies.append(await poll(http, await submit(http, payload), lambda b: b["status"] in FINAL))
        assert [b["status"] for b in bodies] == ["successful"] * 3
    # 64 one-trial chunks of well under 0.5 s each: the cost bound never binds, the guided bound ⌈64 / 2⌉ does.
    assert [size for _, size in first_batches] == [1, 32, 1]
    assert bodies[0]["result"] == bodies[1]["result"]  # other task boundaries, the same numbers


async def test_twenty_jobs_at_once_all_finish_and_the_store_is_consistent(tmp_path):
    async with running_app(settings_for(tmp_path)) as (http, _):
        payloads = [mp_job(trials=6, n_samples=60, seed=i) for i in range(20)]
        locations = await asyncio.gather(*(submit(http, p) for p in payloads))
        bodies = await asyncio.gather(*(poll(http, url, lambda b: b["status"] in FINAL) for url in locations))
        assert all(b["status"] == "successful" for b in bodies)
        assert len({b["result"]["quantities"][0]["empirical_mean"] for b in bodies}) == 20  # different seeds

        listing = (await http.get(URL, params={"status": "successful", "limit": 7})).json()
        assert (
            listing["total"] == 20
            and len(listing["items"]) == 7
            and listing["next"].endswith("offset=7&status=successful")
        )
        last = (await http.get(URL, params={"status": "successful", "limit": 7, "offset": 14})).json()
        assert len(last["items"]) == 6 and last["next"] is None
        assert (await http.get(URL, params={"status": "running"})).json()["total"] == 0
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        assert store.check() == []
        assert all(len(store.chunks(url.rsplit("/", 1)[1])) == 6 for url in locations)
    finally:
        store.close()


async def test_remote_scheduler_and_worker(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    log = (tmp_path / "dask.log").open("w")
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], stdout=log, stderr=log
    )
    worker = None
    try:
        worker = subprocess.Popen(
            [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            stdout=log,
            stderr=log,
        )
        async with running_app(settings_for(tmp_path, dask_scheduler=address)) as (http, app):
            location = await submit(http, mp_job(trials=64, n_samples=200))
            body = await poll(http, location, lambda b: b["status"] in FINAL)
            assert body["status"] == "successful", body
            assert_agrees_with_marchenko_pastur(body["result"], n_samples=200, n_features=100)
            assert app.state.jobs.runner._cluster is None  # no local cluster was started
    finally:
        if worker is not None:
            stop(worker, timeout=10.0)
        stop(scheduler, timeout=10.0)
        log.close()


# --- validation (no cluster is started: it is only started by the first accepted job) --------------


@pytest.fixture
async def http(tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings_for(tmp_path, max_trials=1_000, max_simulation_size=500)) as (client, app):
        yield client
        assert not app.state.jobs.runner.started


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if field is not None:
        assert field in {error["field"] for error in body["errors"]}, body
    return body


GOOD = mp_job(trials=10, n_samples=100)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**GOOD, "kind": "tracy_widom"}, "kind"),
        ({k: v for k, v in GOOD.items() if k != "kind"}, "kind"),
        ({**GOOD, "params": {**GOOD["params"], "ratio": -1.0}}, "params.ratio"),
        ({**GOOD, "params": {"ratio": 0.5}}, "params.x"),
        ({**GOOD, "params": {**GOOD["params"], "colour": "blue"}}, "params.colour"),
        ({**GOOD, "params": {**GOOD["params"], "n_features": 10, "n_samples": 20}}, "params.ratio"),
        ({**GOOD, "params": {**GOOD["params"], "matrix": "square"}}, "params.matrix"),
        ({**GOOD, "trials": 0}, "trials"),
        ({**GOOD, "trials": 1_001}, "trials"),
        ({**GOOD, "size": {"n_samples": 501}}, "size.n_samples"),
        ({**GOOD, "size": {"n_samples": 1}}, "size.n_samples"),
        ({**GOOD, "size": None, "params": {**GOOD["params"], "ratio": 10.0}}, "params.ratio"),
        ({**GOOD, "seed": -1}, "seed"),
        ({**GOOD, "priority": "high"}, "priority"),
    ],
)
async def test_bad_submissions_are_422_naming_the_field(http, payload, field):
    assert_problem(await http.post(URL, json=payload), 422, field)


async def test_unknown_job_is_a_404_problem(http):
    for method in ("GET", "DELETE"):
        body = assert_problem(await http.request(method, f"{URL}/no-such-job"), 404)
        assert body["type"] == "urn:rmt-service:problem:not-found"
    # A long poll of an unknown job is the same 404, answered at once (there is nothing to wait for).
    assert_problem(await http.get(f"{URL}/no-such-job", params={"wait_seconds": 10}), 404)


@pytest.mark.parametrize(
    ("wait", "rule"),
    [
        ("-1", "greater_than_equal"),
        ("10.5", "less_than_equal"),
        ("inf", "less_than_equal"),
        ("nan", "less_than_equal"),
        ("soon", "float_parsing"),
    ],
)
async def test_a_bad_wait_is_a_422_naming_it(http, wait, rule):
    body = assert_problem(await http.get(f"{URL}/no-such-job", params={"wait_seconds": wait}), 422, "wait_seconds")
    assert [error["rule"] for error in body["errors"]] == [rule]


async def test_list_is_empty_and_filters_are_validated(http):
    assert (await http.get(URL)).json() == {"items": [], "total": 0, "limit": 20, "offset": 0, "next": None}
    assert_problem(await http.get(URL, params={"status": "paused"}), 422, "status.0")
    assert_problem(await http.get(URL, params={"limit": 0}), 422, "limit")


async def test_kinds_are_listed(http):
    kinds = {k["kind"]: k for k in (await http.get(f"{URL}/kinds")).json()}
    assert kinds["marchenko_pastur"]["params_schema"] == "MarchenkoPasturRequest"
