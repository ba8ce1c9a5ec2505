"""HTTP tests of the random-features endpoints: kernels, moments, deterministic equivalent, predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from schemas.random_features import (
    ActivationMomentsResponse,
    ExpectedKernelResponse,
    RandomFeaturesDeterministicEquivalentResponse,
    RandomFeaturesRidgeResponse,
)
from solvers.activations import expected_kernel, make_activation
from solvers.random_features import deterministic_equivalent, gaussian_mixture, random_features_ridge
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

KERNEL = "/v1/kernels/expected"
MOMENTS = "/v1/activations/moments"
DE = "/v1/deterministic-equivalents/random-features"
RIDGE = "/v1/predictions/random-features-ridge"

GMM = {"kind": "gaussian_mixture", "n_samples": 96, "n_test": 48, "n_features": 64, "seed": 3}


def inline(n=40, n_test=20, p=16, seed=0, outputs=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p)) / np.sqrt(p)
    x_test = rng.standard_normal((n_test, p)) / np.sqrt(p)
    shape = (n,) if outputs is None else (n, outputs)
    y = rng.standard_normal(shape)
    y_test = rng.standard_normal((n_test,) if outputs is None else (n_test, outputs))
    return {"kind": "inline", "x": x.tolist(), "y": y.tolist(), "x_test": x_test.tolist(), "y_test": y_test.tolist()}


async def test_kernel_matches_the_solver(client):
    rng = np.random.default_rng(1)
    x, x_test = rng.standard_normal((5, 3)) / 2, rng.standard_normal((2, 3)) / 2
    payload = {"activation": {"name": "leaky_relu", "negative_slope": 0.2}, "x": x.tolist(), "x_test": x_test.tolist()}
    response = await client.post(KERNEL, json=payload)
    body = ExpectedKernelResponse.model_validate(response.json())
    ref = expected_kernel(activation=make_activation("leaky_relu", negative_slope=0.2), x=x, x_test=x_test)
    np.testing.assert_allclose(body.kernel, ref.kernel, rtol=1e-15)
    np.testing.assert_allclose(body.cross_kernel, ref.cross_kernel, rtol=1e-15)
    assert body.method == "closed_form" and body.error_bound == 0.0


async def test_kernel_series_and_raw_data_warning(client):
    rng = np.random.default_rng(2)
    raw = rng.standard_normal((20, 100))  # rows of norm ≈ √p = 10: outside the theorem's scaling
    body = (await client.post(KERNEL, json={"activation": {"name": "tanh"}, "x": raw.tolist()})).json()
    assert body["method"] == "hermite_series" and body["cross_kernel"] is None
    assert any("√p" in w for w in body["warnings"])


async def test_moments(client):
    body = ActivationMomentsResponse.model_validate(
        (await client.post(MOMENTS, json={"activation": {"name": "relu"}})).json()
    )
    assert (
        body.mean == pytest.approx(1 / np.sqrt(2 * np.pi)) and body.mean_square == 0.5 and body.method == "closed_form"
    )
    quad = (await client.post(MOMENTS, json={"activation": {"name": "quadratic", "a": 1.0, "c": -1.0}})).json()
    assert quad["second_hermite"] == pytest.approx(2.0) and quad["mean"] == pytest.approx(0.0)


async def test_deterministic_equivalent_matches_the_solver_on_generated_data(client):
    payload = {"activation": {"name": "erf"}, "data": GMM, "n_neurons": 200, "ridge_penalty": 0.05}
    body = RandomFeaturesDeterministicEquivalentResponse.model_validate((await client.post(DE, json=payload)).json())
    data = gaussian_mixture(n_samples=96, n_test=48, n_features=64, rng=3)
    ref = deterministic_equivalent(activation="erf", x=data.x, n_neurons=200, ridge_penalty=0.05)
    assert body.delta == ref.delta and body.effective_ridge == ref.effective_ridge
    assert body.provenance.diagnostics.converged
    assert any("finite-size" in w for w in body.warnings)  # n = 96 < 128


async def test_predictions_grid_is_n_major_and_matches_the_solver(client):
    data = inline(outputs=2)
    payload = {"activation": {"name": "relu"}, "data": data, "n_neurons": [20, 80], "ridge_penalty": [0.01, 1.0]}
    response = await client.post(RIDGE, json=payload)
    body = RandomFeaturesRidgeResponse.model_validate(response.json())
    assert [(p.n_neurons, p.ridge_penalty) for p in body.points] == [(20, 0.01), (20, 1.0), (80, 0.01), (80, 1.0)]
    ref = random_features_ridge(
        activation="relu",
        x=np.array(data["x"]),
        y=np.array(data["y"]),
        x_test=np.array(data["x_test"]),
        y_test=np.array(data["y_test"]),
        n_neurons=[20, 80],
        ridge_penalty=[0.01, 1.0],
    )
    np.testing.assert_array_equal([p.test_mse for p in body.points], ref.test_mse.ravel())
    assert [o.n_neurons for o in body.optimal.per_n_neurons] == [20, 80]
    assert body.optimal.search_interval.lower == 0.01 and body.optimal.search_interval.upper == 1.0
    assert body.optimal.best.test_mse == min(o.test_mse for o in body.optimal.per_n_neurons)


async def test_neurons_per_sample_and_double_descent_peak(client):
    payload = {
        "activation": {"name": "relu"},
        "data": {**GMM, "n_samples": 128, "n_test": 64},
        "neurons_per_sample": [0.5, 1.0, 2.0],
        "ridge_penalty": 1e-5,
    }
    body = (await client.post(RIDGE, json=payload)).json()
    tests = {p["n_neurons"]: p["test_mse"] for p in body["points"]}
    assert sorted(tests) == [64, 128, 256]
    assert tests[128] > 2 * max(tests[64], tests[256])  # the interpolation peak at N = n


async def test_generated_data_are_reproducible(client):
    payload = {"activation": {"name": "tanh"}, "data": GMM, "n_neurons": 100, "ridge_penalty": 0.1}
    first, second = (await client.post(RIDGE, json=payload)).json(), (await client.post(RIDGE, json=payload)).json()
    assert first["points"] == second["points"]


async def test_heavy_work_leaves_the_event_loop(app, client):
    compute = app.state.compute
    before = compute.counts["process"]
    payload = {"activation": {"name": "relu"}, "data": GMM, "n_neurons": 100, "ridge_penalty": 0.1}
    assert (await client.post(RIDGE, json=payload)).status_code == 200
    assert (await client.post(DE, json=payload)).status_code == 200
    assert compute.counts["process"] == before + 2  # the compute pool's worker processes, not the event loop


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        (MOMENTS, {"activation": {"name": "swishy"}}, "activation.name"),
        (MOMENTS, {"activation": {"name": "relu", "negative_slope": 0.1}}, "activation.negative_slope"),
        (KERNEL, {"activation": {"name": "relu"}, "x": [[1.0, 2.0], [1.0]]}, "x"),
        (KERNEL, {"activation": {"name": "relu"}, "x": [[1.0, 2.0]], "x_test": [[1.0]]}, "x_test"),
        (KERNEL, {"activation": {"name": "relu"}, "x": [[1.0, 2e7]]}, "x.0.1"),
        (DE, {"activation": {"name": "relu"}, "data": GMM, "n_neurons": 10, "ridge_penalty": 0.0}, "ridge_penalty"),
        (DE, {"activation": {"name": "relu"}, "data": GMM, "n_neurons": 10**10, "ridge_penalty": 0.1}, "n_neurons"),
        (
            DE,
            {"activation": {"name": "relu"}, "data": {**GMM, "n_samples": 5000}, "n_neurons": 10, "ridge_penalty": 0.1},
            "data.n_samples",
        ),
        (
            DE,
            {"activation": {"name": "relu"}, "data": {**GMM, "kind": "csv"}, "n_neurons": 10, "ridge_penalty": 0.1},
            "data.kind",
        ),
        (RIDGE, {"activation": {"name": "relu"}, "data": GMM, "n_neurons": 10, "ridge_penalty": -1.0}, "ridge_penalty"),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": GMM,
                "n_neurons": 10,
                "neurons_per_sample": 1.0,
                "ridge_penalty": 0.1,
            },
            "n_neurons",
        ),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": {**inline(), "y": [1.0] * 39},
                "n_neurons": 10,
                "ridge_penalty": 0.1,
            },
            "data.y",
        ),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": {**inline(), "x_test": [[0.0] * 15] * 20},
                "n_neurons": 10,
                "ridge_penalty": 0.1,
            },
            "data.x_test",
        ),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": {**inline(), "y_test": None},
                "n_neurons": 10,
                "ridge_penalty": 0.1,
            },
            "data.y",
        ),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": {**GMM, "proportions": [0.2, 0.2]},
                "n_neurons": 10,
                "ridge_penalty": 0.1,
            },
            "data.proportions",
        ),
        (
            RIDGE,
            {
                "activation": {"name": "relu"},
                "data": GMM,
                "n_neurons": {"start": 1, "stop": 10_000, "num": 200},
                "ridge_penalty": {"start": 0.01, "stop": 1.0, "num": 100},
            },
            "n_neurons",
        ),
    ],
)
async def test_bad_input(client, url, payload, field):
    assert_problem(await client.post(url, json=payload), 422, field)


async def test_non_finite_data_is_refused(client):
    data = inline()
    body = json.dumps({"activation": {"name": "relu"}, "data": data, "n_neurons": 10, "ridge_penalty": 0.1})
    body = body.replace(str(data["x"][0][0]), "NaN", 1)
    response = await client.post(RIDGE, content=body, headers={"content-type": "application/json"})
    problem = assert_problem(response, 422, "data.x.0.0")
    assert problem["type"].endswith("validation-error")


async def test_body_above_the_size_cap_is_413(client, settings):
    rows = settings.max_body_bytes // 200 + 10
    payload = {"activation": {"name": "relu"}, "x": [[0.123456789] * 20] * rows}
    response = await client.post(KERNEL, json=payload)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_limit_exceeded_tells_the_client_to_shrink(client):
    payload = {
        "activation": {"name": "relu"},
        "data": {**GMM, "n_samples": 3000, "n_features": 8},
        "n_neurons": 10,
        "ridge_penalty": 0.1,
    }
    problem = assert_problem(await client.post(RIDGE, json=payload), 422, "data.n_samples")
    assert problem["type"].endswith("limit-exceeded") and "at most" in problem["detail"]


async def test_optimize_false_answers_the_same_points_without_the_optimum(client):
    """`optimize: false` skips γ*(N) (what a trial of a hyper-parameter search needs) and changes no point."""
    payload = {
        "activation": {"name": "relu"},
        "data": {"kind": "gaussian_mixture", "n_samples": 128, "n_test": 64, "n_features": 64, "seed": 3},
        "n_neurons": [64, 256],
        "ridge_penalty": [1e-2, 1.0],
    }
    full = (await client.post(RIDGE, json=payload)).json()
    lean = await client.post(RIDGE, json={**payload, "optimize": False})
    assert lean.status_code == 200 and lean.json()["optimal"] is None and full["optimal"] is not None
    assert lean.json()["points"] == full["points"]
    assert lean.json()["warnings"] == full["warnings"]
