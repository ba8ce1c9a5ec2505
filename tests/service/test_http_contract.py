"""The exact HTTP contract (issue 10 §3, §4): what a body must be, how small an error stays, what the
OpenAPI document promises, and documentation pages that work without internet."""

from __future__ import annotations

import json
import re

import pytest

from service.routers import ROUTERS
from tests.service.problems import PROBLEM, assert_problem

pytestmark = pytest.mark.anyio

MP = "/v1/spectra/marchenko-pastur"
JSON = {"content-type": "application/json"}
MALFORMED = "urn:rmt-service:problem:malformed-body"


def assert_malformed(response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == MALFORMED


# --- the body ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"ratio": 0.5, "x": [1.0]',  # truncated
        b'{"ratio": 0.5, "x": [1.0],}',  # trailing comma in an object
        b'{"ratio": 0.5, "x": [1.0,]}',  # trailing comma in an array
        b"{'ratio': 0.5, 'x': [1.0]}",  # single quotes
        b'{"ratio": 0.5, "x": [1.0]} {}',  # two documents
        b'{"ratio": 0.5, "x": [\xff]}',  # not UTF-8
    ],
    ids=["truncated", "trailing-comma-object", "trailing-comma-array", "single-quotes", "extra-data", "not-utf8"],
)
async def test_malformed_json_is_400(client, body):
    assert_malformed(await client.post(MP, content=body, headers=JSON))


@pytest.mark.parametrize(
    "body",
    [
        b'{"ratio": 0.5, "ratio": 0.7, "x": [1.0]}',
        b'{"ratio": 0.5, "x": [1.0], "ratio": NaN}',  # the last one used to win, even a NaN
        b'{"ratio": 0.5, "grid": {"start": 0, "stop": 1, "num": 3, "num": 4}}',  # nested object
    ],
    ids=["top-level", "over-a-nan", "nested"],
)
async def test_duplicate_keys_are_400(client, body):
    response = await client.post(MP, content=body, headers=JSON)
    assert_malformed(response)
    assert "duplicate key" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"ratio": ' + b"1" * 5000 + b', "x": [1.0]}',
        b'{"ratio": 0.5, "x": [' + b"9" * 4301 + b"]}",
    ],
    ids=["ratio", "x"],
)
async def test_an_integer_longer_than_python_converts_is_400_not_500(client, body):
    response = await client.post(MP, content=body, headers=JSON)
    assert_malformed(response)
    detail = response.json()["detail"]
    # The body is valid JSON (RFC 8259 sets no limit on digits): the detail says what is refused instead.
    assert "more than 4300 digits" in detail and detail.startswith("The body is valid JSON, but an integer")


async def test_a_long_integer_within_the_cap_is_judged_by_the_schema(client):
    # 4300 digits: parsed (an int of ~14 000 bits), then refused by the field's bound, naming it
    assert_problem(
        await client.post(MP, content=b'{"ratio": ' + b"1" * 4300 + b', "x": [1.0]}', headers=JSON), 422, "ratio"
    )


@pytest.mark.parametrize("value", ["0.5", True, "1e-3", None], ids=["string", "true", "string-exponent", "null"])
async def test_numbers_must_be_json_numbers(client, value):
    assert_problem(await client.post(MP, json={"ratio": value, "x": [1.0]}), 422, "ratio")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ratio": 0.5, "x": ["1.0"]}, "x.0"),
        ({"ratio": 0.5, "x": [False]}, "x.0"),
        ({"ratio": 0.5, "x": [1.0], "n_moments": 4.5}, "n_moments"),  # an integer field takes no fraction
        ({"ratio": 0.5, "x": [1.0], "n_moments": "4"}, "n_moments"),
        ({"ratio": 0.5, "grid": {"start": 0, "stop": 1, "num": True}}, "grid.num"),
    ],
)
async def test_strict_types_in_lists_integers_and_nested_models(client, body, field):
    assert_problem(await client.post(MP, json=body), 422, field)


async def test_integers_are_accepted_where_floats_are_expected(client):
    response = await client.post(MP, json={"ratio": 1, "variance": 2, "x": [0, 1, 2]})
    assert response.status_code == 200, response.text


async def test_integral_numbers_are_integers_as_in_json_schema(client):
    # JSON Schema's "integer" accepts 4.0, so the service does (a generated client may send it).
    response = await client.post(MP, json={"n_features": 500.0, "n_samples": 1000, "x": [1.0], "n_moments": 4.0})
    assert response.status_code == 200, response.text
    assert len(response.json()["moments"]) == 4


def test_cross_field_rules_are_in_the_json_schema():
    # The rules the validators enforce, stated where a generator can see them (oneOf / dependentRequired).
    from schemas.linear_regression import LinearRidgeRequest
    from schemas.random_features import ActivationSpec, RandomFeaturesRidgeRequest
    from schemas.spectra import MarchenkoPasturRequest

    mp = MarchenkoPasturRequest.model_json_schema()
    assert mp["dependentRequired"] == {"n_features": ["n_samples"], "n_samples": ["n_features"]}
    assert len(mp["allOf"]) == 2 and all("oneOf" in rule for rule in mp["allOf"])
    assert LinearRidgeRequest.model_json_schema()["dependentRequired"]["signal_weights"] == ["population"]
    branches = ActivationSpec.model_json_schema()["allOf"][0]["oneOf"]
    assert {"const": "leaky_relu"} in [branch["properties"]["name"] for branch in branches]
    assert "oneOf" in RandomFeaturesRidgeRequest.model_json_schema()["allOf"][0]


@pytest.mark.parametrize(
    "schema_invalid",
    [
        {"ratio": 0.5, "x": [1.0], "grid": {"start": 0, "stop": 1, "num": 2}},
        {"ratio": 0.5, "n_features": 5, "n_samples": 10, "x": [1.0]},
        {"n_features": 5, "x": [1.0]},
        {"ratio": None, "x": [1.0]},
    ],
)
async def test_what_the_schema_refuses_the_service_refuses(client, schema_invalid):
    import jsonschema

    document = (await client.get("/openapi.json")).json()
    # The request schema, with the document's components so that its $refs resolve.
    schema = {**document["components"]["schemas"]["MarchenkoPasturRequest"], "components": document["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid(schema_invalid)
    assert (await client.post(MP, json=schema_invalid)).status_code == 422


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
async def test_a_body_that_is_not_labelled_json_is_415(client, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    response = await client.post(MP, content=b'{"ratio": 0.5, "x": [1.0]}', headers=headers)
    assert response.status_code == 415 and response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == "urn:rmt-service:problem:unsupported-media-type"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
async def test_json_media_types_with_parameters_or_suffix_are_accepted(client, content_type):
    response = await client.post(MP, content=b'{"ratio": 0.5, "x": [1.0]}', headers={"content-type": content_type})
    assert response.status_code == 200, response.text


# --- small error bodies -------------------------------------------------------------------------


async def test_a_huge_unknown_key_is_not_echoed(client):
    # 900 KB of key name used to come back three times (2.7 MB of problem).
    key = "k" * 900_000
    body = json.dumps({"ratio": 0.5, "x": [1.0], key: 1}).encode()
    response = await client.post(MP, content=body, headers=JSON)
    assert response.status_code in (413, 422)
    assert len(response.content) < 2_000, len(response.content)


async def test_a_long_unknown_key_within_the_body_cap_is_cut(client):
    key = "k" * 100_000
    response = await client.post(MP, json={"ratio": 0.5, "x": [1.0], key: 1})
    assert response.status_code == 422
    assert len(response.content) < 2_000, len(response.content)
    (error,) = response.json()["errors"]
    assert (
        error["rule"] == "extra_forbidden"
        and error["field"].startswith("kkkk")
        and error["location"][1].endswith("… (100000 characters)")
    )


async def test_many_invalid_entries_list_only_the_first_errors(client):
    response = await client.post(MP, json={"ratio": 0.5, "x": ["bad"] * 5_000})
    assert response.status_code == 422 and len(response.content) < 10_000, len(response.content)
    body = response.json()
    assert len(body["errors"]) == 20 and body["detail"].startswith("5000 fields are invalid (the first 20 listed)")


async def test_a_long_path_is_cut_in_the_problem(client):
    response = await client.get("/v1/simulations/" + "a" * 20_000)
    assert response.status_code == 404 and len(response.content) < 2_000


@pytest.mark.parametrize(
    ("url", "body", "field", "bound"),
    [
        (
            "/v1/deterministic-equivalents/random-features",
            {
                "activation": {"name": "relu"},
                "data": {"kind": "gaussian_mixture", "n_samples": 8, "n_features": 4},
                "n_neurons": 8,
                "ridge_penalty": 0.0,
            },
            "ridge_penalty",
            "greater than or equal to 1e-300",
        ),
        (MP, {"ratio": 1e-13, "x": [1.0]}, "ratio", "greater than or equal to 1e-12"),
        (MP, {"ratio": 1e7, "x": [1.0]}, "ratio", "less than or equal to 1e+06"),
    ],
)
async def test_bounds_print_in_short_notation(client, url, body, field, bound):
    problem = assert_problem(await client.post(url, json=body), 422, field)
    (message,) = [error["message"] for error in problem["errors"] if error["field"] == field]
    assert message == f"Input should be {bound}"


# --- methods ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("OPTIONS", "/v1/simulations", "GET, POST"),
        ("PUT", "/v1/simulations", "GET, POST"),
        ("POST", "/v1/simulations/some-id", "GET, DELETE"),
        ("GET", MP, "POST"),
        ("DELETE", "/healthz", "GET"),
        ("PUT", "/docs-assets/swagger-ui.css", "GET, HEAD"),  # the static files' own answer
    ],
)
async def test_405_lists_every_method_of_the_path(client, method, url, allow):
    response = await client.request(method, url)
    assert response.status_code == 405 and response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["allow"] == allow
    assert response.json()["type"] == "urn:rmt-service:problem:method-not-allowed"


# --- the OpenAPI document ------------------------------------------------------------------------


def operations(app):
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_response_carries_the_problem_schema_under_its_media_type(app):
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in operations(app):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path, status) == ("/readyz", "503"):  # not ready: a readiness body
                continue
            assert response.get("content") == {PROBLEM: {"schema": problem}}, (method, path, status)
        assert "405" in operation["responses"], (method, path)
        assert "Allow" in operation["responses"]["405"]["headers"]


def test_post_operations_say_what_they_compute(app):
    # One verb scheme: compute (spectra, kernels, moments, deterministic equivalents), predict
    # (errors of learning algorithms), submit (asynchronous jobs), upload (data sets), cancel (a job),
    # run (a batch); get/list for GET and delete for DELETE.
    for path, method, operation in operations(app):
        verb = re.match(r"[a-z]+", operation["operationId"]).group(0)
        if method == "post":
            assert verb in {"compute", "predict", "submit", "upload", "cancel", "run"}, (path, operation["operationId"])
        else:
            assert verb in {"get", "list", "delete"}, (path, operation["operationId"])


def test_kernels_moments_and_deterministic_equivalents_are_not_predictions(app):
    document = app.openapi()
    for path in ("/v1/kernels/expected", "/v1/activations/moments", "/v1/deterministic-equivalents/random-features"):
        assert document["paths"][path]["post"]["tags"] == ["random-features"]
    declared = {tag["name"] for tag in document["tags"]}
    assert {tag for _, _, operation in operations(app) for tag in operation["tags"]} <= declared
    assert ROUTERS  # the registry the tags belong to


# --- documentation pages without internet -------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_every_asset_from_the_service(client, page):
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from outside the service"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0, url
    assert "http://" not in html and "https://" not in html, "no absolute URL at all in the page"


# --- numerical edges found by fuzzing -------------------------------------------------------------

SAMPLE_COVARIANCE = "/v1/spectra/sample-covariance"
POPULATION = {"eigenvalues": [1.0, 3.0, 10.0], "weights": [0.5, 0.3, 0.2]}


@pytest.mark.parametrize("im", [1e-308, 5e-324, -1e-320])
async def test_stieltjes_points_on_the_brink_of_the_axis(client, im):
    # Was a 500 (OverflowError in the continuation's level count).
    body = {
        "ratio": 0.1,
        "population": POPULATION,
        "x": [1.0],
        "stieltjes_at": [{"re": 2.0, "im": im}, {"re": 5.0, "im": im}],
    }
    response = await client.post(SAMPLE_COVARIANCE, json=body)
    assert response.status_code == 200, response.text
    for value in response.json()["stieltjes"]:
        assert value["m"]["im"] == 0 or (value["m"]["im"] > 0) == (im > 0)


async def test_a_population_beyond_the_supported_dynamic_range_is_refused(client):
    # Was answered with interval masses summing to 0.499 and a decreasing CDF.
    body = {"ratio": 0.1, "population": {"eigenvalues": [1e-300, 3.0, 10.0], "weights": [0.5, 0.3, 0.2]}, "x": [1.0]}
    problem = assert_problem(await client.post(SAMPLE_COVARIANCE, json=body), 422, "population.eigenvalues")
    assert "1e+08" in problem["errors"][0]["message"]
    document = (await client.get("/openapi.json")).json()
    assert (
        "1e+08"
        in document["components"]["schemas"]["SampleCovarianceRequest"]["properties"]["population"]["description"]
    )


@pytest.mark.parametrize(
    "energies",
    [
        {"signal_strength": 5e-324, "noise_variance": 1.0},
        {"signal_strength": 1.0, "noise_variance": 5e-324},
        {"signal_strength": 1e-310, "noise_variance": 1e-310},
    ],
)
@pytest.mark.parametrize("population", [None, POPULATION], ids=["isotropic", "general"])
async def test_every_null_of_linear_ridge_has_a_note(client, energies, population):
    body = {"ratio": [0.5, 1.0, 2.0], "ridge_penalty": [0.0, 1e-300, 0.1], **energies}
    if population:
        body["population"] = population
    response = await client.post("/v1/predictions/linear-ridge", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    for point in answer["points"]:
        if None in [value for key, value in point.items() if key != "note"]:
            assert point["note"], point
    if any(None in optimum.values() for optimum in answer["optimal"]):
        assert answer["notes"]


def test_bounds_are_json_schema_keywords(app):
    # A validator placed before a constraint makes pydantic print it as "ge"/"le", which no JSON
    # Schema tool reads: generators then sent n_features = 0 as a valid request.
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            found.extend(f"{path}/{key}" for key in ("ge", "le", "gt", "lt") if isinstance(node.get(key), (int, float)))
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(app.openapi(), "")
    assert not found
