"""HTTP tests of `/v1/spectra/marchenko-pastur`: answers, and every kind of bad input."""

from __future__ import annotations

import math

import pytest

from schemas.spectra import MarchenkoPasturResponse

pytestmark = pytest.mark.anyio

URL = "/v1/spectra/marchenko-pastur"
PROBLEM = "application/problem+json"


def assert_problem(response, status: int, field: str) -> dict:
    """The response is an RFC 9457 problem of ``status`` whose errors name ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:rmt-service:problem:")
    assert field in {error["field"] for error in body["errors"]}, body
    return body


async def test_answer_validates_and_matches_closed_form(client):
    response = await client.post(URL, json={"ratio": 0.25, "variance": 2.0, "x": [0.5, 1.0, 5.0], "n_moments": 2})
    assert response.status_code == 200
    body = MarchenkoPasturResponse.model_validate(response.json())
    assert body.support.lower == pytest.approx(2.0 * 0.25) and body.support.upper == pytest.approx(2.0 * 2.25)
    # M1 = σ², M2 = σ⁴(1 + c) (spec §1.3).
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
    response = await client.post(URL, content='{"ratio": 0.5, "x": [1.0]}' + padding, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:rmt-service:problem:body-too-large"


async def test_malformed_json_is_422(client):
    response = await client.post(URL, content=b'{"ratio": 0.5,', headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)


async def test_json_never_carries_non_finite_numbers(client):
    response = await client.post(URL, json={"ratio": 1.0, "grid": {"start": 0.0, "stop": 4.0, "num": 401}})
    assert "NaN" not in response.text and "Infinity" not in response.text
    assert all(v is None or math.isfinite(v) for v in response.json()["density"])
