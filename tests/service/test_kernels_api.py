"""HTTP tests of `/v1/kernels/matrix` and `/v1/spectra/kernel-matrix`: answers equal the solvers, bad input is a problem."""

from __future__ import annotations

import numpy as np
import pytest

from schemas.kernels import KernelMatrixResponse, KernelMatrixSpectrumResponse
from solvers.kernel_spectrum import kernel_matrix_spectrum
from solvers.kernels import kernel_matrix, make_kernel
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

MATRIX = "/v1/kernels/matrix"
SPECTRUM = "/v1/spectra/kernel-matrix"
X = [[1.0, -0.5, 0.3], [0.2, 1.1, -1.0], [-0.7, 0.4, 0.9]]


@pytest.mark.parametrize(
    "body, arguments",
    [
        ({"name": "linear"}, {"name": "linear"}),
        ({"name": "polynomial", "degree": 3}, {"name": "polynomial", "degree": 3, "offset": 1.0}),
        ({"name": "inner_product", "function": {"name": "exp"}}, {"name": "inner_product", "function": "exp"}),
        (
            {"name": "distance", "function": {"name": "leaky_relu", "negative_slope": 0.2}},
            {"name": "distance", "function": {"name": "leaky_relu", "negative_slope": 0.2}},
        ),
        ({"name": "random_features", "activation": {"name": "erf"}}, {"name": "random_features", "activation": "erf"}),
    ],
)
async def test_matrix_equals_the_solver(client, body, arguments):
    response = await client.post(MATRIX, json={"kernel": body, "x": X, "x_test": X[:1]})
    assert response.status_code == 200, response.text
    answer = KernelMatrixResponse.model_validate(response.json())
    expected = kernel_matrix(kernel=make_kernel(**arguments), x=np.array(X), x_test=np.array(X[:1]))
    np.testing.assert_allclose(answer.kernel, expected.kernel, rtol=1e-15)
    np.testing.assert_allclose(answer.cross_kernel, expected.cross_kernel, rtol=1e-15)


async def test_spectrum_equals_the_solver(client):
    body = {
        "kernel": {"name": "rbf", "bandwidth": 2.0},
        "n_samples": 1000,
        "n_features": 1500,
        "data_model": {"kind": "gaussian_mixture", "means": [[2.0, 0.0], [-1.0, 1.5]], "proportions": [0.4, 0.6]},
        "x": [0.1, 0.5, 1.0],
    }
    response = await client.post(SPECTRUM, json=body)
    assert response.status_code == 200, response.text
    answer = KernelMatrixSpectrumResponse.model_validate(response.json())
    expected = kernel_matrix_spectrum(
        kernel=make_kernel("rbf", bandwidth=2.0),
        ratio=1.5,
        x=[0.1, 0.5, 1.0],
        n_samples=1000,
        data_model="gaussian_mixture",
        means=[[2.0, 0.0], [-1.0, 1.5]],
        proportions=[0.4, 0.6],
    )
    assert answer.cdf == pytest.approx(expected.cdf.tolist(), rel=1e-15)
    assert [o.eigenvalue for o in answer.outliers] == pytest.approx([o.eigenvalue for o in expected.outliers])
    assert answer.outliers[0].order == "n" and answer.outliers[0].validity == "mean"
    assert answer.outliers[1].direction == "class_means" and 0 < answer.outliers[1].alignment < 1


async def test_ratio_form_leaves_the_order_n_outlier_unplaced(client):
    body = (await client.post(SPECTRUM, json={"kernel": {"name": "polynomial"}, "ratio": 2.0, "x": [1.0]})).json()
    assert body["outliers"][0]["eigenvalue"] is None and body["outliers"][0]["leading_coefficient"] == 1.0
    assert any("n_samples" in note for note in body["notes"])


async def test_population_and_default_model(client):
    body = (
        await client.post(
            SPECTRUM,
            json={
                "kernel": {"name": "cosine"},
                "ratio": 1.5,
                "grid": {"start": 0, "stop": 4, "num": 5},
                "data_model": {"kind": "population", "eigenvalues": [1.0, 3.0], "weights": [0.5, 0.5]},
            },
        )
    ).json()
    assert body["linearisation"]["tau"] == 2.0 and body["linearisation"]["slope"] == pytest.approx(0.5)
    assert body["cdf"][-1] == pytest.approx(1.0) and body["provenance"]["diagnostics"] is not None


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        (MATRIX, {"kernel": {"name": "spline"}, "x": X}, "kernel.name"),
        (MATRIX, {"kernel": {"name": "rbf", "bandwidth": 0}, "x": X}, "kernel.bandwidth"),
        (MATRIX, {"kernel": {"name": "rbf", "degree": 2}, "x": X}, "kernel.degree"),
        (MATRIX, {"kernel": {"name": "linear"}, "x": X, "x_test": [[1.0]]}, "x_test"),
        (
            MATRIX,
            {"kernel": {"name": "inner_product", "function": {"name": "relu", "a": 1}}, "x": X},
            "kernel.function.a",
        ),
        (
            SPECTRUM,
            {"kernel": {"name": "inner_product", "function": {"name": "abs"}}, "ratio": 1, "x": [1]},
            "kernel.function",
        ),
        (
            SPECTRUM,
            {"kernel": {"name": "linear"}, "ratio": 1, "x": [1], "data_model": {"kind": "lattice"}},
            "data_model.kind",
        ),
        (
            SPECTRUM,
            {
                "kernel": {"name": "linear"},
                "ratio": 1,
                "x": [1],
                "data_model": {"kind": "gaussian_mixture", "means": [[1.0], [2.0]], "proportions": [0.5, 0.6]},
            },
            "data_model.proportions",
        ),
        (
            SPECTRUM,
            {
                "kernel": {"name": "linear"},
                "n_samples": 10,
                "n_features": 1,
                "x": [1],
                "data_model": {"kind": "gaussian_mixture", "means": [[1.0, 0.0], [2.0, 0.0]]},
            },
            "data_model.means",
        ),
        (SPECTRUM, {"kernel": {"name": "linear"}, "ratio": 1}, "x"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(client, url, payload, field):
    response = await client.post(url, json=payload)
    assert_problem(response, 422, field=field)


RIDGE = "/v1/predictions/kernel-ridge"


async def test_kernel_ridge_equals_the_solver(client):
    from solvers.kernel_ridge import kernel_ridge_risk

    body = {
        "kernel": {"name": "polynomial"},
        "n_samples": 500,
        "n_features": 250,
        "ridge_penalty": {"start": 0, "stop": 0.01, "num": 3},
        "signal_strength": 2.0,
        "noise_variance": 0.5,
    }
    response = await client.post(RIDGE, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = kernel_ridge_risk(
        kernel=make_kernel("polynomial"),
        ratio=[0.5],
        ridge_penalty=[0, 0.005, 0.01],
        n_samples=500,
        signal_strength=2.0,
        noise_variance=0.5,
    )
    assert [p["test_mse"] for p in answer["points"]] == pytest.approx(expected.test_mse[0].tolist(), rel=1e-15)
    assert [p["ridge_penalty"] for p in answer["points"]] == [0.0, 0.005, 0.01]
    assert answer["optimal"][0]["ratio"] == 0.5 and answer["slope"] == pytest.approx(2.0)


async def test_kernel_ridge_with_a_population(client):
    body = {
        "kernel": {"name": "rbf", "bandwidth": 2.0},
        "n_samples": 1000,
        "ratio": 0.5,
        "ridge_penalty": 0.001,
        "noise_variance": 0.25,
        "population": {"eigenvalues": [0.5, 1.5], "weights": [0.5, 0.5]},
    }
    answer = (await client.post(RIDGE, json=body)).json()
    assert answer["points"][0]["test_mse"] == pytest.approx(
        0.7075, abs=1e-4
    )  # tests/solvers/test_kernel_ridge.py population case


async def test_kernel_ridge_undefined_points_are_null(client):
    body = {
        "kernel": {"name": "inner_product", "function": {"name": "tanh"}},
        "n_samples": 1000,
        "ratio": 0.5,
        "ridge_penalty": [0.0, 0.01],
    }
    answer = (await client.post(RIDGE, json=body)).json()
    assert answer["points"][0]["test_mse"] is None and answer["points"][1]["test_mse"] > 0
    assert any("γ" in note for note in answer["notes"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kernel": {"name": "linear"}, "ratio": 0.5, "ridge_penalty": 0.1}, "n_samples"),
        ({"kernel": {"name": "linear"}, "n_samples": 10, "ridge_penalty": 0.1}, "ratio"),
        ({"kernel": {"name": "linear"}, "n_samples": 10, "ratio": 1, "n_features": 5, "ridge_penalty": 0.1}, "ratio"),
        ({"kernel": {"name": "linear"}, "n_samples": 10, "ratio": 1, "ridge_penalty": -0.1}, "ridge_penalty"),
        (
            {"kernel": {"name": "rbf", "bandwidth": -1}, "n_samples": 10, "ratio": 1, "ridge_penalty": 0.1},
            "kernel.bandwidth",
        ),
    ],
)
async def test_kernel_ridge_bad_input(client, payload, field):
    assert_problem(await client.post(RIDGE, json=payload), 422, field=field)
