"""HTTP tests of `/v1/predictions/gradient-descent-*`: answers agree with the solvers, bad input is a problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schemas.dynamics import (
    GradientDescentClassificationRequest,
    GradientDescentClassificationResponse,
    GradientDescentRegressionRequest,
    GradientDescentRegressionResponse,
)
from solvers.dynamics import gradient_descent_classification, gradient_descent_regression
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

CLS = "/v1/predictions/gradient-descent-classification"
REG = "/v1/predictions/gradient-descent-regression"


def _example(model) -> dict:
    return model.model_config["json_schema_extra"]["examples"][0]


async def test_classification_example_matches_the_solver(client):
    example = _example(GradientDescentClassificationRequest)
    response = await client.post(CLS, json=example)
    assert response.status_code == 200, response.text
    body = GradientDescentClassificationResponse.model_validate(response.json())
    times = np.geomspace(0.1, 1000.0, 5)
    direct = gradient_descent_classification(
        ratio=0.8, mean_norm_squared=1.0, ridge_penalty=1.0, learning_rate=1.0, init_variance=0.5, time=times
    )
    assert [p.time for p in body.points] == pytest.approx(times.tolist())
    assert [p.test_error for p in body.points] == pytest.approx(direct.test_error.tolist(), rel=1e-12)
    assert [p.train_error for p in body.points] == pytest.approx(direct.train_error.tolist(), rel=1e-12)
    # docs/methods/dynamics.md §4.2: late train error 0.032 for this case
    assert body.points[-1].train_error == pytest.approx(0.032, abs=5e-4)
    # ρ = 1 > √0.8: the spike exists at λ_s = 1 + ρ + c + c/ρ = 3.6
    assert body.spike.exists is True and body.spike.location == pytest.approx(3.6)
    assert body.limit.test_error == pytest.approx(direct.limit.test_error)
    assert "Liao" in body.provenance.reference


async def test_regression_example_matches_the_solver(client):
    example = _example(GradientDescentRegressionRequest)
    response = await client.post(REG, json=example)
    assert response.status_code == 200, response.text
    body = GradientDescentRegressionResponse.model_validate(response.json())
    direct = gradient_descent_regression(
        ratio=2.0,
        signal_strength=1.0,
        noise_variance=0.5,
        learning_rate=0.2,
        init_variance=0.5,
        time=[0, 1, 10, 100, 1000],
        mode="gd",
    )
    assert [p.risk for p in body.points] == pytest.approx(direct.risk.tolist(), rel=1e-12)
    assert body.points[0].risk == pytest.approx(1.0 + 0.5)  # t = 0: r² + σ₀²
    # t → ∞, γ = 0, c = 2: min-norm (linear.md §4.3) + frozen σ₀²(1 − 1/c)
    assert body.limit.bias == pytest.approx(0.5) and body.limit.variance == pytest.approx(0.5)
    assert body.limit.initialization == pytest.approx(0.25) and body.limit.train_error == 0.0
    assert body.optimal_time.time == int(body.optimal_time.time)


async def test_counts_and_spike(client):
    payload = {"n_features": 500, "n_samples": 1000, "mean_norm_squared": 2.0, "time": 1.0}
    body = (await client.post(CLS, json=payload)).json()
    assert body["spike"] == {"exists": True, "location": pytest.approx(1 + 2 + 0.5 + 0.25)}
    same = (
        await client.post(
            CLS, json={**{k: v for k, v in payload.items() if k not in ("n_features", "n_samples")}, "ratio": 0.5}
        )
    ).json()
    assert body == same


async def test_undefined_and_divergent_values_are_null_with_notes(client):
    # t = 0 with σ₀² = 0 is undefined; c = 1, γ = 0 has an infinite limiting ‖w‖².
    response = await client.post(CLS, json={"ratio": 1.0, "mean_norm_squared": 1.0, "time": [0.0, 2.0]})
    body = response.json()
    assert body["points"][0]["test_error"] is None and body["points"][1]["test_error"] > 0
    assert body["limit"]["v_test"] is None and body["limit"]["test_error"] == 0.5
    assert len(body["notes"]) >= 2
    assert "NaN" not in response.text and "Infinity" not in response.text
    reg = (await client.post(REG, json={"ratio": 1.0, "noise_variance": 1.0, "time": [1.0]})).json()
    assert reg["limit"]["risk"] is None and reg["notes"]


async def test_never_stop_is_reported(client):
    body = (
        await client.post(
            CLS, json={"ratio": 4.0, "mean_norm_squared": 3.0, "ridge_penalty": 0.3, "init_variance": 0.7, "time": 1.0}
        )
    ).json()
    assert body["optimal_time"]["never_stop"] is True and body["optimal_time"]["time"] is None


async def test_gd_grid_is_rounded_to_step_counts(client):
    payload = {
        "ratio": 0.5,
        "mean_norm_squared": 1.0,
        "learning_rate": 0.3,
        "mode": "gd",
        "time": {"start": 1, "stop": 100, "num": 4, "scale": "log"},
    }
    body = (await client.post(CLS, json=payload)).json()
    assert [p["time"] for p in body["points"]] == [1.0, 5.0, 22.0, 100.0]


async def test_unstable_gd_is_a_problem_naming_the_stable_range(client):
    bound = 2 / ((1 + math.sqrt(0.5)) ** 2 + 0.1)
    payload = {
        "ratio": 0.5,
        "mean_norm_squared": 0.5,
        "ridge_penalty": 0.1,
        "learning_rate": 1.01 * bound,
        "time": [5],
        "mode": "gd",
    }
    body = assert_problem(await client.post(CLS, json=payload), 422, "learning_rate")
    assert body["type"].endswith("invalid-parameter") and f"{bound:.6g}" in body["detail"]
    reg = {"ratio": 0.5, "ridge_penalty": 0.1, "learning_rate": 1.01 * bound, "time": [5], "mode": "gd"}
    assert_problem(await client.post(REG, json=reg), 422, "learning_rate")


BASE = {"ratio": 0.5, "mean_norm_squared": 1.0, "time": [1.0]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**BASE, "time": [1.0, -1.0]}, "time.1"),
        ({**BASE, "time": -1.0}, "time"),
        ({**BASE, "time": {"start": -1.0, "stop": 1.0, "num": 3}}, "time"),
        ({**BASE, "time": []}, "time"),
        ({**BASE, "learning_rate": 0.0}, "learning_rate"),
        ({**BASE, "learning_rate": -0.1}, "learning_rate"),
        ({**BASE, "mean_norm_squared": -1.0}, "mean_norm_squared"),
        ({**BASE, "ridge_penalty": -1.0}, "ridge_penalty"),
        ({**BASE, "init_variance": -1.0}, "init_variance"),
        ({**BASE, "mode": "sgd"}, "mode"),
        ({**BASE, "mode": "gd", "time": [1.5]}, "time"),
        ({**BASE, "time": [1e7], "learning_rate": 1.0}, "time"),
        ({"mean_norm_squared": 1.0, "time": [1.0]}, "ratio"),
        ({"ratio": 0.5, "time": [1.0]}, "mean_norm_squared"),
        ({**BASE, "colour": "blue"}, "colour"),
    ],
)
async def test_bad_classification_input_is_a_problem_naming_the_field(client, payload, field):
    assert_problem(await client.post(CLS, json=payload), 422, field)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ratio": 0.5, "time": [-2.0]}, "time.0"),
        ({"ratio": 0.5, "time": [1.0], "learning_rate": 0}, "learning_rate"),
        ({"ratio": 0.5, "time": [1.0], "signal_strength": -1}, "signal_strength"),
        ({"ratio": 0.5, "time": [1.0], "noise_variance": -1}, "noise_variance"),
        ({"ratio": 0.5, "time": [2.5], "mode": "gd", "learning_rate": 0.1}, "time"),
    ],
)
async def test_bad_regression_input_is_a_problem_naming_the_field(client, payload, field):
    assert_problem(await client.post(REG, json=payload), 422, field)


@pytest.mark.parametrize("url", [CLS, REG])
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["ratio", "learning_rate", "init_variance", "time"])
async def test_non_finite_numbers_are_refused(client, url, literal, where):
    fields = {"ratio": "0.5", "learning_rate": "0.5", "init_variance": "0.1", "time": "[1.0]"}
    if url == CLS:
        fields["mean_norm_squared"] = "1.0"
    fields[where] = f"[{literal}]" if where == "time" else literal
    raw = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    response = await client.post(url, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 422, where if where != "time" else "time.0")


@pytest.mark.parametrize("url", [CLS, REG])
async def test_time_grid_over_the_cap_is_refused(client, settings, url):
    payload = {"ratio": 0.5, "time": {"start": 0.0, "stop": 10.0, "num": settings.max_points + 1}}
    if url == CLS:
        payload["mean_norm_squared"] = 1.0
    body = assert_problem(await client.post(url, json=payload), 422, "time")
    assert body["type"].endswith("limit-exceeded")
    too_long = {**payload, "time": [1.0] * (settings.max_points + 1)}
    assert_problem(await client.post(url, json=too_long), 422, "time")
