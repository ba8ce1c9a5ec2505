"""HTTP tests of `/v1/spectra/conjugate-kernel` and `/v1/spectra/one-step-gradient`."""

from __future__ import annotations

import math

import pytest

from schemas.conjugate_kernel import ConjugateKernelResponse, OneStepGradientResponse
from solvers.conjugate_kernel import conjugate_kernel_spectrum
from tests.service.problems import assert_problem

pytestmark = pytest.mark.anyio

CK = "/v1/spectra/conjugate-kernel"
ONE = "/v1/spectra/one-step-gradient"
BASE = {"activation": {"name": "relu"}, "n_samples": 2000, "n_features": 1000, "n_neurons": 1500, "x": [0.5, 1.0, 2.5]}


async def test_answer_matches_the_solver(client):
    response = await client.post(CK, json={**BASE, "matrix": "features"})
    assert response.status_code == 200, response.text
    body = ConjugateKernelResponse.model_validate(response.json())
    direct = conjugate_kernel_spectrum(
        activation="relu", ratio=0.5, neurons_per_sample=0.75, matrix="features", x=[0.5, 1.0, 2.5], n_neurons=1500
    )
    assert body.density == pytest.approx(direct.density.tolist(), rel=1e-14)
    assert body.support[-1].upper == pytest.approx(2.0316, abs=6e-5)  # docs/methods/conjugate_kernel.md §3 table
    assert body.centred and any("not centred" in n for n in body.notes)
    assert body.outliers[0].source == "mean" and body.outliers[0].validity == "heuristic"
    assert body.provenance.diagnostics is not None and body.provenance.diagnostics.converged


async def test_ratios_are_equivalent_to_counts(client):
    by_counts = (await client.post(CK, json=BASE)).json()
    by_ratio = (
        await client.post(
            CK, json={"activation": {"name": "relu"}, "ratio": 0.5, "neurons_per_sample": 0.75, "x": [0.5, 1.0, 2.5]}
        )
    ).json()
    assert by_counts["density"] == by_ratio["density"] and by_counts["cdf"] == by_ratio["cdf"]


async def test_heuristic_outliers_are_labelled(client):
    payload = {
        "activation": {"name": "quadratic", "a": 0.7071067811865476, "c": -0.7071067811865476},
        "ratio": 0.25,
        "neurons_per_sample": 1.0,
        "x": [1.0],
    }
    pair = (await client.post(CK, json=payload)).json()["outliers"]
    assert [o["validity"] for o in pair] == ["heuristic", "heuristic"] and all(o["caveat"] for o in pair)
    single = (await client.post(CK, json={**payload, "weight_distribution": "rademacher"})).json()["outliers"]
    assert len(single) == 1 and single[0]["validity"] == "verified" and single[0]["location"] == pytest.approx(6.25)


async def test_hard_edge_is_null_with_a_note(client):
    body = (
        await client.post(
            CK, json={"activation": {"name": "tanh"}, "ratio": 0.5, "neurons_per_sample": 1.0, "x": [0.0, 1.0]}
        )
    ).json()
    assert body["density"][0] is None and body["density"][1] > 0 and any("diverges" in n for n in body["notes"])
    assert "NaN" not in str(body)


async def test_one_step_answer(client):
    payload = {
        "activation": {"name": "tanh"},
        "ratio": 0.5,
        "neurons_per_sample": 0.5,
        "teacher": {"link": {"name": "relu"}, "noise_variance": 0.04},
        "learning_rate": {"start": 0.0, "stop": 6.0, "num": 7},
    }
    response = await client.post(ONE, json=payload)
    body = OneStepGradientResponse.model_validate(response.json())
    assert body.threshold == pytest.approx(2.289, abs=1e-3) and body.bulk_edge == 2.0
    assert [p.separated for p in body.points] == [False, False, False, True, True, True, True]
    assert body.alignment_validity == "heuristic"
    one = (await client.post(ONE, json={**payload, "learning_rate": 3.0})).json()
    assert one["points"][0]["top_singular_value"] == pytest.approx(body.points[3].top_singular_value)


async def test_no_spike_gives_a_null_threshold(client):
    payload = {
        "activation": {"name": "cos"},
        "ratio": 0.5,
        "neurons_per_sample": 0.5,
        "teacher": {"link": {"name": "relu"}},
        "learning_rate": 1.0,
    }
    body = (await client.post(ONE, json=payload)).json()
    assert body["threshold"] is None and body["points"][0]["separated"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**BASE, "activation": {"name": "softsign"}}, "activation.name"),
        ({**BASE, "n_neurons": 0}, "n_neurons"),
        ({**BASE, "n_neurons": None}, "n_neurons"),
        ({"activation": {"name": "relu"}, "ratio": 0.5, "x": [1.0]}, "neurons_per_sample"),
        (
            {"activation": {"name": "relu"}, "ratio": 0.5, "neurons_per_sample": 0.5, "n_neurons": 10, "x": [1.0]},
            "neurons_per_sample",
        ),
        ({**BASE, "matrix": "covariance"}, "matrix"),
        ({**BASE, "weight_distribution": "cauchy"}, "weight_distribution"),
        ({**BASE, "x": None, "grid": {"start": 0, "stop": 3, "num": 10_001}}, "grid.num"),
        ({"activation": {"name": "relu"}, "ratio": 500.0, "neurons_per_sample": 1.0, "x": [1.0]}, "ratio"),
        ({**BASE, "activation": {"name": "quadratic", "a": 0.0, "b": 0.0, "c": 1.0}}, "activation"),
    ],
)
async def test_bad_conjugate_kernel_input_is_a_problem_naming_the_field(client, payload, field):
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_problem(await client.post(CK, json=payload), 422, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate": {"start": 0, "stop": 1, "num": 10_001}}, "learning_rate"),
        ({"activation": {"name": "sign"}}, "activation"),
        ({"teacher": {"link": {"name": "relu"}, "noise_variance": -1}}, "teacher.noise_variance"),
    ],
)
async def test_bad_one_step_input_is_a_problem_naming_the_field(client, change, field):
    payload = {
        "activation": {"name": "tanh"},
        "ratio": 0.5,
        "neurons_per_sample": 0.5,
        "teacher": {"link": {"name": "relu"}},
        "learning_rate": 1.0,
        **change,
    }
    assert_problem(await client.post(ONE, json=payload), 422, field)


@pytest.mark.parametrize("where", ["ratio", "x"])
async def test_non_finite_numbers_are_refused(client, where):
    fields = {"activation": '{"name": "relu"}', "ratio": "0.5", "neurons_per_sample": "0.75", "x": "[1.0]"}
    fields[where] = "[NaN]" if where == "x" else "NaN"
    raw = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    response = await client.post(CK, content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 422, where if where != "x" else "x.0")
    assert math.isfinite(1.0)
