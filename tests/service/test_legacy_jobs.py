"""Jobs stored by the service before the plan had a version still resume, to the same numbers.

`tests/fixtures/legacy_jobs.sqlite3` was written by the pre-refactor code (main at 014cbdb, with
`tests/fixtures/make_legacy_jobs.py`): one small job per kind, as `POST /v1/simulations` stored it
(plan without `version`, the trial's JSON arguments under `problem`), with chunks 0, 2 and 4 of 6
saved and the status `running` — a service stopped mid-job. Started on a copy of that file, this
service resumes every job, runs only the missing chunks and must give exactly the result the old
code gives uninterrupted (`legacy_jobs_expected.json`, written by the same script): same seeds,
same draws, same merge order.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.service.test_simulations_api import FINAL, URL, poll, running_app, settings_for

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


async def test_jobs_stored_by_the_previous_version_resume_to_the_same_result(tmp_path):
    shutil.copy(FIXTURES / "legacy_jobs.sqlite3", tmp_path / "jobs.sqlite3")
    expected = json.loads((FIXTURES / "legacy_jobs_expected.json").read_text())
    async with running_app(settings_for(tmp_path)) as (http, _):
        for job_id, result in expected.items():
            body = await poll(http, f"{URL}/{job_id}", lambda b: b["status"] in FINAL)
            assert body["status"] == "successful", body
            assert body["progress"]["trials_done"] == 6 and body["progress"]["chunks_done"] == 6
            assert body["result"]["quantities"] == result["quantities"], job_id
            assert body["result"]["spectrum"] == result["spectrum"], job_id
            assert body["result"]["provenance"]["sizes"] == result["sizes"], job_id


def test_a_plan_of_an_unknown_version_is_refused(tmp_path):
    import dataclasses

    from service.jobs.results import PLAN_VERSIONS, trial_arguments
    from service.jobs.store import JobStore

    shutil.copy(FIXTURES / "legacy_jobs.sqlite3", tmp_path / "jobs.sqlite3")
    store = JobStore(tmp_path / "jobs.sqlite3")
    try:
        job = store.get("legacy-marchenko_pastur")
    finally:
        store.close()
    assert "version" not in job.plan and "problem" in job.plan  # as the old code stored it
    assert trial_arguments(job) == {**job.plan["problem"]}  # plain numbers: the same arguments as then
    future = dataclasses.replace(job, plan={**job.plan, "version": max(PLAN_VERSIONS) + 1})
    with pytest.raises(RuntimeError, match="plan of version"):
        trial_arguments(future)
