"""The job store and the chunk statistics, without Dask: seeds, merging, stopping, consistency."""

from __future__ import annotations

import numpy as np
import pytest

from service.jobs.kinds import KINDS
from service.jobs.store import JobStore, decode_chunk, encode_chunk
from solvers.montecarlo.engine import ChunkStatistics, chunk_seed, chunk_sizes, merge_chunks, simulate_chunk
from solvers.montecarlo.spectra import marchenko_pastur_prediction, marchenko_pastur_trial

PROBLEM = {"n_features": 20, "n_samples": 40, "variance": 1.0, "matrix": "covariance", "n_moments": 2}


def test_chunk_seed_is_the_spawned_child():
    children = np.random.SeedSequence(1234).spawn(5)
    for index, child in enumerate(children):
        assert chunk_seed(1234, index).generate_state(4).tolist() == child.generate_state(4).tolist()


def test_chunk_sizes_depend_on_trials_only():
    assert chunk_sizes(10) == [1] * 10
    assert chunk_sizes(130) == [3, 3] + [2] * 62 and sum(chunk_sizes(130)) == 130
    assert len(chunk_sizes(10**6)) == 64


def test_merging_chunks_equals_one_pass_statistics():
    grid = marchenko_pastur_prediction(**PROBLEM).cdf_grid
    chunks = [
        simulate_chunk(marchenko_pastur_trial, problem=PROBLEM, seed=chunk_seed(7, i), trials=n, cdf_grid=grid)
        for i, n in enumerate([3, 2, 4])
    ]
    merged = merge_chunks(chunks, cdf=np.zeros_like(grid))
    rows = []
    for i, n in enumerate([3, 2, 4]):
        rng = np.random.default_rng(chunk_seed(7, i))
        rows += [marchenko_pastur_trial(rng=rng, **PROBLEM).values for _ in range(n)]
    values = np.array(rows)
    np.testing.assert_allclose(merged.mean, values.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(merged.standard_error, values.std(axis=0, ddof=1) / 3.0, rtol=1e-12)
    assert merged.count == 9 and merged.eigenvalues == 9 * 20


def test_should_stop_ends_a_chunk_between_trials(monkeypatch):
    monkeypatch.setattr("solvers.montecarlo.engine.STOP_CHECK_INTERVAL", 0.0)
    stats = simulate_chunk(marchenko_pastur_trial, problem=PROBLEM, seed=1, trials=50, should_stop=lambda: True)
    assert not stats.completed and stats.count == 0


def test_every_kind_names_its_arguments():
    for name, kind in KINDS.items():
        assert kind.params.model_json_schema().get("examples"), name


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


def _job(store: JobStore, job_id: str = "a", chunks: int = 3):
    return store.create(
        job_id=job_id,
        kind="marchenko_pastur",
        params={},
        trials=chunks,
        seed=2**62 + 1,
        plan={"cdf": None},
        chunk_trials=[1] * chunks,
    )


def test_store_lifecycle_and_guards(store):
    job = _job(store)
    assert job.status == "accepted" and job.seed == 2**62 + 1 and store.unfinished()[0].id == "a"
    stats = simulate_chunk(marchenko_pastur_trial, problem=PROBLEM, seed=1, trials=1)
    assert store.mark_running("a")
    assert store.save_chunk("a", 0, stats) and store.save_chunk("a", 0, stats)  # idempotent
    assert store.get("a").trials_done == 1 and store.chunk_indices("a") == {0}
    assert store.check() == []
    assert not store.delete("a")  # unfinished jobs are dismissed, not deleted
    assert store.dismiss("a") and not store.dismiss("a")
    assert not store.save_chunk("a", 1, stats) and not store.succeed("a", {})  # nothing lands on a dismissed job
    assert store.get("a").status == "dismissed" and store.check() == []
    assert store.delete("a") and store.get("a") is None and store.chunks("a") == []


def test_chunk_statistics_round_trip_bit_for_bit_and_read_the_older_encoding():
    """Every double comes back as the same bits (NaN, ±inf, -0.0, subnormals, 17-digit values), the counts as
    integers; a chunk written by the ``json.dumps`` encoder of earlier versions reads back the same."""
    import json

    rng = np.random.default_rng(5)
    special = [np.nan, np.inf, -np.inf, -0.0, 5e-324, 2.2250738585072014e-308, 0.1, 1 / 3, 1e308]
    mean = np.concatenate([special, rng.standard_normal(50) * 10.0 ** rng.integers(-300, 300, 50)])
    m2 = rng.random(mean.size) ** 7
    stats = ChunkStatistics(
        count=4, mean=mean, m2=m2, cdf_counts=rng.integers(0, 2**40, 1024), eigenvalues=2**53 + 1, seconds=0.25
    )
    older = json.dumps(
        {
            "count": 4,
            "mean": mean.tolist(),
            "m2": m2.tolist(),
            "cdf_counts": stats.cdf_counts.tolist(),
            "eigenvalues": stats.eigenvalues,
        }
    )
    for text in (encode_chunk(stats), older):
        back = decode_chunk(text, 0.25)
        assert back.mean.tobytes() == mean.tobytes() and back.m2.tobytes() == m2.tobytes()
        assert back.cdf_counts.dtype == np.int64 and np.array_equal(back.cdf_counts, stats.cdf_counts)
        assert back.count == 4 and back.eigenvalues == 2**53 + 1 and back.seconds == 0.25


def test_params_and_plan_read_back_bit_for_bit_as_the_older_encoder_wrote_them(store):
    """A job's ``params``, ``plan`` and ``chunk_trials`` come back as the values stored (every double as the
    same bits, integers of any size, non-ASCII text), and read the same as the ``json.dumps`` text that
    earlier versions wrote into the same columns."""
    import json

    rng = np.random.default_rng(6)
    grid = np.concatenate(
        [[-0.0, 5e-324, 0.1, 1 / 3, 1e308], rng.standard_normal(1019) * 10.0 ** rng.integers(-300, 300, 1019)]
    )
    params = {"data": {"x": grid.tolist()}, "seed_like": 2**70 + 3, "label": "σ² = 0.5 \u2028", "flags": [True, None]}
    plan = {"version": 2, "sizes": {"n_samples": 600}, "cdf_grid": grid.tolist(), "missing": float("nan")}
    job = store.create(
        job_id="new", kind="marchenko_pastur", params=params, trials=3, seed=1, plan=plan, chunk_trials=[2, 1]
    )
    store.create(job_id="old", kind="marchenko_pastur", params={}, trials=3, seed=1, plan={}, chunk_trials=[3])
    with store._lock:  # the columns as an earlier version wrote them
        store._db.execute(
            "UPDATE jobs SET params = ?, plan = ?, chunk_trials = ? WHERE id = 'old'",
            (json.dumps(params), json.dumps(plan), json.dumps([2, 1])),
        )
    for read in (job, store.get("new"), store.get("old")):
        assert np.asarray(read.params["data"]["x"]).tobytes() == grid.tobytes()
        assert np.asarray(read.plan["cdf_grid"]).tobytes() == grid.tobytes()
        assert read.params["seed_like"] == 2**70 + 3 and read.params["label"] == params["label"]
        assert read.params["flags"] == [True, None] and read.plan["sizes"] == {"n_samples": 600}
        assert np.isnan(read.plan["missing"]) and read.chunk_trials == [2, 1]


def test_store_pages_newest_first(store):
    for i in range(5):
        _job(store, f"j{i}")
    store.dismiss("j1")
    rows, total = store.page(limit=2, offset=0)
    assert [r.id for r in rows] == ["j4", "j3"] and total == 5
    rows, total = store.page(statuses=["dismissed"], limit=10, offset=0)
    assert [r.id for r in rows] == ["j1"] and total == 1
    assert store.path.with_suffix(".sqlite3-wal").exists()  # WAL mode
