"""HTTP tests of `/v1/spectra/...`: answers agree with the solvers, and every kind of bad input is a problem."""

from __future__ import annotations

import math

import pytest

from schemas.spectra import MarchenkoPasturResponse, SampleCovarianceResponse, SpikedCovarianceResponse
from tests.service.problems import PROBLEM, assert_problem

pytestmark = pytest.mark.anyio

URL = "/v1/spectra/marchenko-pastur"


async def test_answer_validates_and_matches_closed_form(client):
    response = await client.post(URL, json={"ratio": 0.25, "variance": 2.0, "x": [0.5, 1.0, 5.0], "n_moments": 2})
    assert response.status_code == 200
    body = MarchenkoPasturResponse.model_validate(response.json())
    assert body.support.lower == pytest.approx(2.0 * 0.25) and body.support.upper == pytest.approx(2.0 * 2.25)
    # M1 = σ², M2 = σ⁴(1 + c) (docs/methods/spectra.md §1.3).
    assert body.moments == pytest.approx([2.0, 4.0 * 1.25])
    assert body.density[2] == 0.0 and body.cdf[2] == pytest.approx(1.0)
    assert "Marchenko" in body.provenance.reference and body.provenance.diagnostics is None


async def test_counts_are_equivalent_to_ratio(client):
    by_ratio = (await client.post(URL, json={"ratio": 0.5, "x": [1.0]})).json()
    by_counts = (await client.post(URL, json={"n_features": 500, "n_samples": 1000, "x": [1.0]})).json()
    assert by_ratio == by_counts


async def test_hard_edge_is_null_with_a_note(client):
    body = (await client.post(URL, json={"ratio": 1.0, "x": [0.0, 1.0]})).json()
    assert body["density"][0] is None and body["density"][1] > 0
    assert any("diverges" in note for note in body["notes"])


async def test_gram_law_atom(client):
    body = (await client.post(URL, json={"ratio": 0.25, "matrix": "gram", "x": [0.0, 10.0]})).json()
    assert body["atom"] == {"location": 0.0, "mass": 0.75}
    assert body["cdf"] == pytest.approx([0.75, 1.0])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ratio": 0.0, "x": [1.0]}, "ratio"),
        ({"ratio": -1.0, "x": [1.0]}, "ratio"),
        ({"n_features": 0, "n_samples": 10, "x": [1.0]}, "n_features"),
        ({"n_features": 10, "x": [1.0]}, "ratio"),
        ({"ratio": 0.5, "n_features": 10, "n_samples": 20, "x": [1.0]}, "ratio"),
        ({"ratio": 0.5}, "x"),
        ({"ratio": 0.5, "x": [1.0], "grid": {"start": 0, "stop": 1, "num": 2}}, "x"),
        ({"ratio": 0.5, "grid": {"start": 1, "stop": 0, "num": 5}}, "grid.stop"),
        ({"ratio": 0.5, "grid": {"start": 0, "stop": 1, "num": 10_001}}, "grid.num"),
        ({"ratio": 0.5, "x": [1.0], "stieltjes_at": [{"re": 1.0, "im": 0.0}]}, "stieltjes_at"),
        ({"ratio": 0.5, "x": [1.0], "colour": "blue"}, "colour"),
        ({"ratio": "half", "x": [1.0]}, "ratio"),
        ({"ratio": 0.5, "x": [1.0], "matrix": "square"}, "matrix"),
        ({"ratio": 0.5, "x": [1.0], "variance": 0}, "variance"),
        ({"ratio": 0.5, "x": [1.0], "n_moments": 21}, "n_moments"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(client, payload, field):
    assert_problem(await client.post(URL, json=payload), 422, field)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["ratio", "x", "variance"])
async def test_non_finite_numbers_are_refused(client, literal, where):
    fields = {"ratio": "0.5", "x": "[1.0]", "variance": "1.0"}
    fields[where] = f"[{literal}]" if where == "x" else literal
    raw = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    response = await client.post(URL, content=raw, headers={"content-type": "application/json"})
    body = assert_problem(response, 422, where if where != "x" else "x.0")
    assert all(error["rule"] == "finite_number" for error in body["errors"])


async def test_body_over_the_cap_is_413(client, settings):
    padding = " " * (settings.max_body_bytes + 1)
    response = await client.post(
        URL, content='{"ratio": 0.5, "x": [1.0]}' + padding, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:rmt-service:problem:body-too-large"


async def test_json_never_carries_non_finite_numbers(client):
    response = await client.post(URL, json={"ratio": 1.0, "grid": {"start": 0.0, "stop": 4.0, "num": 401}})
    assert "NaN" not in response.text and "Infinity" not in response.text
    assert all(v is None or math.isfinite(v) for v in response.json()["density"])


# --- /v1/spectra/sample-covariance -------------------------------------------------------------

GMP = "/v1/spectra/sample-covariance"
POPULATION = {"eigenvalues": [1.0, 3.0, 10.0], "weights": [0.5, 0.3, 0.2]}


async def test_sample_covariance_with_one_atom_is_marchenko_pastur(client):
    x = [0.2, 1.0, 2.5, 4.0]
    general = (
        await client.post(GMP, json={"ratio": 0.5, "population": {"eigenvalues": [2.0], "weights": [1.0]}, "x": x})
    ).json()
    plain = (await client.post(URL, json={"ratio": 0.5, "variance": 2.0, "x": x})).json()
    assert general["support_intervals"] == [pytest.approx(plain["support"], rel=1e-8)]
    assert general["density"] == pytest.approx(plain["density"], rel=1e-6, abs=1e-12)
    assert general["cdf"] == pytest.approx(plain["cdf"], abs=1e-8)


async def test_sample_covariance_resolves_gaps_and_reports_diagnostics(client):
    response = await client.post(
        GMP, json={"ratio": 0.1, "population": POPULATION, "grid": {"start": 0, "stop": 14, "num": 50}}
    )
    body = SampleCovarianceResponse.model_validate(response.json())
    assert len(body.support_intervals) == 3
    assert body.interval_masses == pytest.approx([0.5, 0.3, 0.2], abs=1e-9)
    assert body.provenance.diagnostics is not None and body.provenance.diagnostics.converged
    assert body.moments[0] == pytest.approx(0.5 * 1 + 0.3 * 3 + 0.2 * 10)


@pytest.mark.parametrize(
    ("population", "field"),
    [
        ({"eigenvalues": [1.0, 2.0], "weights": [0.5, 0.4]}, "population.weights"),
        ({"eigenvalues": [1.0, 2.0], "weights": [1.0]}, "population.weights"),
        ({"eigenvalues": [0.0], "weights": [1.0]}, "population.eigenvalues.0"),
        ({"eigenvalues": [1.0], "weights": [-1.0]}, "population.weights.0"),
        ({"eigenvalues": [], "weights": []}, "population.eigenvalues"),
        ({"eigenvalues": [1.0] * 1001, "weights": [1 / 1001] * 1001}, "population.eigenvalues"),
    ],
)
async def test_sample_covariance_bad_population(client, population, field):
    assert_problem(await client.post(GMP, json={"ratio": 0.5, "population": population, "x": [1.0]}), 422, field)


# --- /v1/spectra/spiked-covariance -------------------------------------------------------------

SPIKED = "/v1/spectra/spiked-covariance"


async def test_spiked_covariance_closed_forms(client):
    response = await client.post(
        SPIKED, json={"n_features": 500, "n_samples": 1000, "variance": 2.0, "spikes": [3.0, 0.5]}
    )
    body = SpikedCovarianceResponse.model_validate(response.json())
    c = 0.5
    above, below = body.spikes
    # docs/methods/spectra.md §3: σ²(1 + ℓ)(1 + c/ℓ) and (1 − c/ℓ²)/(1 + c/ℓ) above √c; the edge and 0 below.
    assert above.separated and above.eigenvalue == pytest.approx(2.0 * 4.0 * (1 + c / 3.0))
    assert above.alignment == pytest.approx((1 - c / 9.0) / (1 + c / 3.0))
    assert not below.separated and below.eigenvalue == pytest.approx(body.support.upper) and below.alignment == 0.0
    assert body.threshold == pytest.approx(c**0.5)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ratio": 0.5, "spikes": []}, "spikes"),
        ({"ratio": 0.5, "spikes": [0.0]}, "spikes.0"),
        ({"ratio": 0.5, "spikes": [-1.0]}, "spikes.0"),
        ({"ratio": 0.5, "spikes": [1.0] * 101}, "spikes"),
        ({"spikes": [1.0]}, "ratio"),
    ],
)
async def test_spiked_covariance_bad_input(client, payload, field):
    assert_problem(await client.post(SPIKED, json=payload), 422, field)
