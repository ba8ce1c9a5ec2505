"""HTTP tests of `/v1/predictions/linear-ridge`."""

from __future__ import annotations

import pytest

from schemas.linear_regression import LinearRidgeResponse
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

URL = "/v1/predictions/linear-ridge"


async def test_grid_is_ratio_major_and_matches_the_double_descent_formula(client):
    response = await client.post(
        URL,
        json={
            "ratio": [0.5, 2.0],
            "ridge_penalty": {"start": 0.0, "stop": 1.0, "num": 3},
            "signal_strength": 4.0,
            "noise_variance": 1.0,
        },
    )
    body = LinearRidgeResponse.model_validate(response.json())
    assert [(p.ratio, p.ridge_penalty) for p in body.points] == [
        (0.5, 0.0),
        (0.5, 0.5),
        (0.5, 1.0),
        (2.0, 0.0),
        (2.0, 0.5),
        (2.0, 1.0),
    ]
    # Ridgeless (docs/methods/linear_ridge.md §3): σ²γ/(1 − γ) for γ < 1; r²(1 − 1/γ) + σ²/(γ − 1) for γ > 1.
    assert body.points[0].risk == pytest.approx(1.0)
    assert body.points[3].risk == pytest.approx(4.0 * 0.5 + 1.0)
    assert body.points[3].train_error == pytest.approx(0.0, abs=1e-12)
    # Isotropic optimum λ* = σ²γ/r² (docs/methods/linear_ridge.md §2).
    assert [o.ridge_penalty for o in body.optimal] == pytest.approx([0.125, 0.5])
    assert body.provenance.diagnostics.converged


async def test_ridgeless_at_ratio_one_is_null_with_a_note(client):
    body = (await client.post(URL, json={"ratio": 1.0, "ridge_penalty": [0.0, 0.01]})).json()
    diverging, finite = body["points"]
    assert diverging["risk"] is None and diverging["test_mse"] is None and diverging["note"]
    assert finite["risk"] is not None and finite["note"] is None


async def test_counts_and_population(client):
    payload = {
        "n_features": 300,
        "n_samples": 100,
        "ridge_penalty": 0.0,
        "population": {"eigenvalues": [1.0, 4.0], "weights": [0.5, 0.5]},
        "signal_weights": [1.0, 0.0],
    }
    body = (await client.post(URL, json=payload)).json()
    (point,) = body["points"]
    assert point["ratio"] == pytest.approx(3.0) and point["train_error"] == pytest.approx(0.0, abs=1e-12)
    assert point["bias"] > 0 and point["effective_ridge"] > 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ratio": 0.5}, "ridge_penalty"),
        ({"ratio": 0.5, "ridge_penalty": -0.1}, "ridge_penalty"),
        ({"ratio": [0.5, -1.0], "ridge_penalty": 0.1}, "ratio.1"),
        ({"ratio": [], "ridge_penalty": 0.1}, "ratio"),
        ({"ratio": 0.5, "n_samples": 10, "n_features": 5, "ridge_penalty": 0.1}, "ratio"),
        ({"ratio": {"start": 0.0, "stop": 1.0, "num": 5}, "ridge_penalty": 0.1}, "ratio"),
        ({"ratio": 0.5, "ridge_penalty": {"start": -1.0, "stop": 1.0, "num": 5}}, "ridge_penalty"),
        ({"ratio": 0.5, "ridge_penalty": 0.1, "signal_strength": -1}, "signal_strength"),
        ({"ratio": 0.5, "ridge_penalty": 0.1, "noise_variance": -1}, "noise_variance"),
        ({"ratio": 0.5, "ridge_penalty": 0.1, "signal_weights": [1.0]}, "signal_weights"),
        (
            {
                "ratio": 0.5,
                "ridge_penalty": 0.1,
                "population": {"eigenvalues": [1.0, 2.0], "weights": [0.5, 0.5]},
                "signal_weights": [0.2, 0.2],
            },
            "signal_weights",
        ),
        (
            {
                "ratio": {"start": 0.1, "stop": 2.0, "num": 200},
                "ridge_penalty": {"start": 0.0, "stop": 1.0, "num": 100},
            },
            "ridge_penalty",
        ),
    ],
)
async def test_bad_input(client, payload, field):
    assert_problem(await client.post(URL, json=payload), 422, field)
