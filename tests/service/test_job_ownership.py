"""Who may see and change a job: each key only its own (404 for others), the cap on unfinished jobs
per key (429), cancel that never destroys a result, and DELETE that refuses a running job (409).

One app with a real LocalCluster of one worker; the long job (n = 1500, 2000 trials) cannot finish
before it is cancelled, and every wait is bounded.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from service.jobs.store import JobStore
from tests.service.test_simulations_api import FINAL, URL, mp_job, poll, running_app, settings_for

pytestmark = pytest.mark.anyio

ALICE, BOB = "alice-key-0123456789", "bob-key-0123456789"


def _entry(name: str, key: str) -> str:
    return f"{name}:{hashlib.sha256(key.encode()).hexdigest()}"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_jobs_belong_to_their_key(tmp_path):
    settings = settings_for(
        tmp_path, dask_workers=1, api_keys=f"{_entry('alice', ALICE)},{_entry('bob', BOB)}", max_active_jobs_per_key=1
    )
    async with running_app(settings) as (http, _):
        long = await http.post(URL, json=mp_job(trials=2000, n_samples=1500), headers=_auth(ALICE))
        assert long.status_code == 202, long.text
        location = long.headers["location"]

        # Another key: the job does not exist for it, in every verb and in the list.
        for response in (
            await http.get(location, headers=_auth(BOB)),
            await http.post(f"{location}/cancel", headers=_auth(BOB)),
            await http.delete(location, headers=_auth(BOB)),
        ):
            assert response.status_code == 404 and response.json()["type"] == "urn:rmt-service:problem:not-found"
        assert (await http.get(URL, headers=_auth(BOB))).json()["total"] == 0
        assert [j["id"] for j in (await http.get(URL, headers=_auth(ALICE))).json()["items"]] == [long.json()["id"]]

        # The cap on unfinished jobs is per key.
        second = await http.post(URL, json=mp_job(trials=4, n_samples=50), headers=_auth(ALICE))
        assert second.status_code == 429 and second.json()["type"] == "urn:rmt-service:problem:rate-limited"
        assert int(second.headers["retry-after"]) >= 1 and "RMT_MAX_ACTIVE_JOBS_PER_KEY" in second.json()["detail"]
        bobs = await http.post(URL, json=mp_job(trials=4, n_samples=50), headers=_auth(BOB))
        assert bobs.status_code == 202

        # DELETE never cancels: a running job is a 409, and is still running afterwards.
        refused = await http.delete(location, headers=_auth(ALICE))
        assert refused.status_code == 409 and refused.json()["type"] == "urn:rmt-service:problem:conflict"
        assert "cancel" in refused.json()["detail"]
        assert (await http.get(location, headers=_auth(ALICE))).json()["status"] in {"accepted", "running"}

        cancelled = await http.post(f"{location}/cancel", headers=_auth(ALICE))
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "dismissed"
        # A slot is free again.
        third = await http.post(URL, json=mp_job(trials=4, n_samples=50), headers=_auth(ALICE))
        assert third.status_code == 202

        # Cancel of a finished job changes nothing and keeps its result.
        for key, response in ((BOB, bobs), (ALICE, third)):
            finished_location = response.headers["location"]
            finished = await _poll_as(http, finished_location, key)
            assert finished["status"] == "successful"
            again = await http.post(f"{finished_location}/cancel", headers=_auth(key))
            assert again.status_code == 200 and again.json() == finished
            assert (await http.delete(finished_location, headers=_auth(key))).status_code == 204
            assert (await http.get(finished_location, headers=_auth(key))).status_code == 404
        assert (await http.delete(location, headers=_auth(ALICE))).status_code == 204


async def _poll_as(http, location: str, key: str) -> dict:
    return await poll(http, location, lambda body: body["status"] in FINAL, headers=_auth(key))


def test_a_database_from_before_keys_is_migrated(tmp_path):
    # The jobs table as the previous version wrote it (no `owner` column).
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(path)
    store.create(job_id="old", kind="marchenko_pastur", params={}, trials=1, seed=1, plan={}, chunk_trials=[1])
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX jobs_owner")
        db.execute("ALTER TABLE jobs DROP COLUMN owner")
        assert "owner" not in {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
    store = JobStore(path)
    job = store.get("old")
    rows, total = store.page(owner="anonymous")
    store.close()
    assert job is not None and job.owner == "anonymous" and total == 1 and rows[0].id == "old"
