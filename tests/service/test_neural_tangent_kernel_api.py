"""HTTP tests of `/v1/spectra/neural-tangent-kernel`."""

from __future__ import annotations

import pytest

from schemas.neural_tangent_kernel import NeuralTangentKernelResponse
from solvers.neural_tangent_kernel import neural_tangent_kernel_spectrum
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

NTK = "/v1/spectra/neural-tangent-kernel"
BASE = {"activation": {"name": "tanh"}, "n_samples": 1000, "n_features": 1500, "n_neurons": 500, "x": [0.5, 1.0, 2.5]}


async def test_answer_matches_the_solver(client):
    response = await client.post(NTK, json=BASE)
    assert response.status_code == 200, response.text
    body = NeuralTangentKernelResponse.model_validate(response.json())
    direct = neural_tangent_kernel_spectrum(activation="tanh", ratio=1.5, neurons_per_sample=0.5, x=[0.5, 1.0, 2.5])
    assert body.density == pytest.approx(direct.density.tolist(), rel=1e-14)
    assert body.cdf == pytest.approx(direct.cdf.tolist(), rel=1e-14)
    assert len(body.support) == 1 and body.atom.mass == 0.0
    assert body.provenance.diagnostics is not None and body.provenance.diagnostics.converged


async def test_ratios_are_equivalent_to_counts(client):
    by_counts = (await client.post(NTK, json=BASE)).json()
    by_ratio = (
        await client.post(
            NTK, json={"activation": {"name": "tanh"}, "ratio": 1.5, "neurons_per_sample": 0.5, "x": [0.5, 1.0, 2.5]}
        )
    ).json()
    assert by_counts["density"] == by_ratio["density"] and by_counts["cdf"] == by_ratio["cdf"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**BASE, "activation": {"name": "step"}}, "activation"),
        ({**BASE, "activation": {"name": "quadratic", "a": 0.0, "b": 0.0, "c": 1.0}}, "activation"),
        ({"activation": {"name": "relu"}, "ratio": 20.0, "neurons_per_sample": 1.0, "x": [1.0]}, "ratio"),
        ({"activation": {"name": "relu"}, "ratio": 1.0, "neurons_per_sample": 0.05, "x": [1.0]}, "neurons_per_sample"),
        ({**BASE, "x": None, "grid": {"start": 0, "stop": 3, "num": 10_001}}, "grid.num"),
        ({**BASE, "n_neurons": None}, "n_neurons"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(client, payload, field):
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_problem(await client.post(NTK, json=payload), 422, field)
