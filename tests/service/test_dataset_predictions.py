"""Stored data sets in predictions: `{"kind": "dataset", "id"}` gives exactly the inline answer, the
spectral decomposition is computed once per (data set, activation), unknown or foreign ids are a 404
naming `data.id`, and a simulation job runs on the stored arrays."""

from __future__ import annotations

import hashlib

import httpx
import numpy as np
import pytest

from service.app import create_app
from tests.conftest import isolated_settings
from tests.service.test_simulations_api import FINAL, poll

pytestmark = pytest.mark.anyio

RNG = np.random.default_rng(5)
N, P, NT = 96, 24, 48
X = RNG.standard_normal((N, P)) / np.sqrt(P)
Y = np.sign(X[:, 0] + 0.3 * RNG.standard_normal(N))
XT = RNG.standard_normal((NT, P)) / np.sqrt(P)
YT = np.sign(XT[:, 0] + 0.3 * RNG.standard_normal(NT))
INLINE = {"kind": "inline", "x": X.tolist(), "y": Y.tolist(), "x_test": XT.tolist(), "y_test": YT.tolist()}
UPLOAD = {"x": X.tolist(), "y": Y.tolist(), "x_test": XT.tolist(), "y_test": YT.tolist()}
RIDGE = "/v1/predictions/random-features-ridge"


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


def ridge_body(data: dict, n_neurons: list[int], gammas: list[float], activation: str = "relu") -> dict:
    return {"activation": {"name": activation}, "data": data, "n_neurons": n_neurons, "ridge_penalty": gammas}


async def test_a_stored_data_set_answers_as_inline_data_and_is_decomposed_once():
    app = create_app(isolated_settings())
    async with app.router.lifespan_context(app), client(app) as http:
        dataset = (await http.post("/v1/datasets", json=UPLOAD)).json()
        reference = {"kind": "dataset", "id": dataset["id"]}
        cache = app.state.spectral_cache
        inline = (await http.post(RIDGE, json=ridge_body(INLINE, [48, 96], [0.01, 0.1]))).json()
        stored = (await http.post(RIDGE, json=ridge_body(reference, [48, 96], [0.01, 0.1]))).json()
        assert (cache.misses, cache.hits, len(cache)) == (1, 0, 1)
        assert stored["points"] == inline["points"] and stored["optimal"] == inline["optimal"]
        # New N and γ on the same (data set, activation): served from the cache.
        again = (await http.post(RIDGE, json=ridge_body(reference, [150], [0.05]))).json()
        fresh = (await http.post(RIDGE, json=ridge_body(INLINE, [150], [0.05]))).json()
        assert (cache.misses, cache.hits) == (1, 1)
        assert again["points"] == fresh["points"]
        # Another activation is another entry.
        await http.post(RIDGE, json=ridge_body(reference, [48], [0.1], activation="tanh"))
        assert (cache.misses, len(cache)) == (2, 2)
        # The deterministic equivalent reads the stored rows too.
        de = {"activation": {"name": "relu"}, "n_neurons": 64, "ridge_penalty": 0.1}
        by_ref = (
            await http.post("/v1/deterministic-equivalents/random-features", json={**de, "data": reference})
        ).json()
        by_val = (await http.post("/v1/deterministic-equivalents/random-features", json={**de, "data": INLINE})).json()
        assert by_ref["delta"] == by_val["delta"] and by_ref["effective_ridge"] == by_val["effective_ridge"]


async def test_unknown_and_foreign_data_sets_are_404_naming_data_id():
    alice, bob = "alice-key", "bob-key"
    keys = ",".join(f"{n}:{hashlib.sha256(k.encode()).hexdigest()}" for n, k in (("alice", alice), ("bob", bob)))
    app = create_app(isolated_settings(api_keys=keys))
    async with app.router.lifespan_context(app), client(app) as http:
        auth = lambda k: {"Authorization": f"Bearer {k}"}
        dataset = (await http.post("/v1/datasets", json=UPLOAD, headers=auth(alice))).json()
        for key, dataset_id in ((bob, dataset["id"]), (alice, "f" * 32)):
            response = await http.post(
                RIDGE, json=ridge_body({"kind": "dataset", "id": dataset_id}, [48], [0.1]), headers=auth(key)
            )
            assert response.status_code == 404, response.text
            body = response.json()
            assert body["type"] == "urn:rmt-service:problem:not-found" and body["errors"][0]["field"] == "data.id"
        bad = await http.post(
            RIDGE, json=ridge_body({"kind": "dataset", "id": "nope"}, [48], [0.1]), headers=auth(alice)
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "data.id"


async def test_a_data_set_without_test_rows_cannot_give_a_test_mse():
    app = create_app(isolated_settings())
    async with app.router.lifespan_context(app), client(app) as http:
        dataset = (await http.post("/v1/datasets", json={"x": X.tolist(), "y": Y.tolist()})).json()
        response = await http.post(RIDGE, json=ridge_body({"kind": "dataset", "id": dataset["id"]}, [48], [0.1]))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "data.id"


async def test_a_simulation_job_runs_on_a_stored_data_set(tmp_path):
    app = create_app(isolated_settings(dask_workers=1))
    async with app.router.lifespan_context(app), client(app) as http:
        dataset = (await http.post("/v1/datasets", json=UPLOAD)).json()
        params = ridge_body({"kind": "dataset", "id": dataset["id"]}, [96], [0.1])
        submitted = await http.post(
            "/v1/simulations", json={"kind": "random_features_ridge", "params": params, "trials": 8, "seed": 3}
        )
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["sizes"] == {"n_samples": N, "n_features": P, "n_test": NT, "n_neurons": 96}
        body = await poll(http, submitted.headers["location"], lambda b: b["status"] in FINAL)
        assert body["status"] == "successful", body
        missing = await http.post(
            "/v1/simulations",
            json={
                "kind": "random_features_ridge",
                "params": ridge_body({"kind": "dataset", "id": "e" * 32}, [96], [0.1]),
                "trials": 8,
            },
        )
        assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "params.data.id"


async def test_batch_answers_each_item_in_order_and_shares_the_decomposition():
    app = create_app(isolated_settings(max_batch=8))
    async with app.router.lifespan_context(app), client(app) as http:
        dataset = (await http.post("/v1/datasets", json=UPLOAD)).json()
        reference = {"kind": "dataset", "id": dataset["id"]}
        items = [{"path": RIDGE, "body": ridge_body(reference, [n], [g])} for n in (48, 96) for g in (0.01, 0.1)]
        items += [
            {"path": "/v1/spectra/marchenko-pastur", "body": {"ratio": -1.0, "x": [1.0]}},
            {"path": "/v1/simulations", "body": {}},
            {"path": RIDGE, "body": ridge_body({"kind": "dataset", "id": "a" * 32}, [48], [0.1])},
        ]
        response = await http.post("/v1/batch", json={"requests": items})
        assert response.status_code == 200, response.text
        answers = response.json()["responses"]
        assert [a["status"] for a in answers] == [200, 200, 200, 200, 422, 404, 404]
        assert answers[4]["body"]["errors"][0]["field"] == "ratio"
        assert answers[6]["body"]["errors"][0]["field"] == "data.id"
        assert app.state.spectral_cache.misses == 1  # four settings, one eigendecomposition
        alone = (await http.post(RIDGE, json=items[3]["body"])).json()
        assert answers[3]["body"]["points"] == alone["points"]
        too_many = await http.post("/v1/batch", json={"requests": items + items})
        assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "requests"
