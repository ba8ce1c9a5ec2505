"""CSV and plots of the answers (`Accept`), the 406 problem, and their OpenAPI documentation.

The CSV is read back with the csv module and compared with the JSON answer of the same request;
SVGs are parsed with xml.etree and their marked elements (SVG ids set by service/plots.py) counted.
"""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from fastapi.routing import APIRoute

from schemas.jobs import SimulationJob
from service.exception_handlers import NotAcceptableError
from service.representations import (
    CSV,
    JSON,
    PNG,
    REPRESENTATIONS,
    SVG,
    RepresentationRoute,
    negotiate,
    render,
    to_csv,
)
from service.routers import ROUTERS, health
from tests.service.problems import PROBLEM

pytestmark = pytest.mark.anyio

SVG_NS = "{http://www.w3.org/2000/svg}"
OFFERED = (JSON, CSV, SVG, PNG)

# One small request per endpoint that has a table and a plot: (path, body, the list of points in
# the JSON answer, the columns of the CSV).
MP = {"ratio": 2.0, "grid": {"start": 0.0, "stop": 6.0, "num": 25}}
CASES = {
    "/v1/spectra/marchenko-pastur": (MP, None, ["x", "density", "cdf"]),
    "/v1/spectra/kernel-matrix": (
        {"kernel": {"name": "rbf", "bandwidth": 1.0}, "ratio": 0.5, "grid": {"start": 0.0, "stop": 3.0, "num": 16}},
        None,
        ["x", "density", "cdf"],
    ),
    "/v1/spectra/neural-tangent-kernel": (
        {
            "activation": {"name": "relu"},
            "ratio": 1.5,
            "neurons_per_sample": 2.0,
            "grid": {"start": 0.0, "stop": 4.0, "num": 12},
        },
        None,
        ["x", "density", "cdf"],
    ),
    "/v1/predictions/kernel-ridge": (
        {
            "kernel": {"name": "rbf", "bandwidth": 1.0},
            "n_samples": 500,
            "ratio": 0.5,
            "ridge_penalty": [0.0, 0.001],
            "signal_strength": 1.0,
            "noise_variance": 0.25,
        },
        "points",
        ["ratio", "ridge_penalty", "train_mse", "test_mse", "effective_ridge"],
    ),
    "/v1/spectra/sample-covariance": (
        {
            "ratio": 0.1,
            "population": {"eigenvalues": [1.0, 3.0, 10.0], "weights": [0.5, 0.3, 0.2]},
            "grid": {"start": 0, "stop": 14, "num": 30},
        },
        None,
        ["x", "density", "cdf"],
    ),
    "/v1/spectra/spiked-covariance": (
        {"ratio": 0.5, "spikes": [0.5, 2.0, 5.0]},
        "spikes",
        ["spike", "separated", "eigenvalue", "alignment", "sample_side_alignment"],
    ),
    "/v1/spectra/conjugate-kernel": (
        {
            "activation": {"name": "relu"},
            "ratio": 0.5,
            "neurons_per_sample": 0.75,
            "grid": {"start": 0.0, "stop": 3.0, "num": 12},
        },
        None,
        ["x", "density", "cdf"],
    ),
    "/v1/spectra/one-step-gradient": (
        {
            "activation": {"name": "tanh"},
            "n_samples": 2048,
            "n_features": 1024,
            "n_neurons": 1024,
            "teacher": {"link": {"name": "relu"}, "noise_variance": 0.04},
            "learning_rate": [0.0, 1.0, 2.0, 4.0, 6.0],
        },
        "points",
        ["learning_rate", "spike_strength", "top_singular_value", "separated", "alignment"],
    ),
    "/v1/predictions/linear-ridge": (
        {"ratio": {"start": 0.2, "stop": 3.0, "num": 8}, "ridge_penalty": [0.0, 0.1], "noise_variance": 0.25},
        "points",
        ["ratio", "ridge_penalty", "bias", "variance", "risk", "test_mse", "train_error", "effective_ridge", "note"],
    ),
    "/v1/predictions/random-features-ridge": (
        {
            "activation": {"name": "relu"},
            "data": {"kind": "gaussian_mixture", "n_samples": 128, "n_test": 64, "n_features": 64, "seed": 7},
            "neurons_per_sample": [0.5, 0.8, 1.0, 1.25, 2.0],
            "ridge_penalty": [1e-4, 1.0],
        },
        "points",
        ["n_neurons", "ridge_penalty", "train_mse", "test_mse", "effective_ridge", "delta"],
    ),
    "/v1/predictions/gradient-descent-classification": (
        {
            "ratio": 0.8,
            "mean_norm_squared": 1.0,
            "ridge_penalty": 1.0,
            "init_variance": 0.5,
            "time": [0.1, 1, 10, 1000],
        },
        "points",
        ["time", "train_error", "test_error", "e_train", "v_train", "e_test", "v_test"],
    ),
    "/v1/predictions/gradient-descent-regression": (
        {
            "ratio": 2.0,
            "noise_variance": 0.5,
            "learning_rate": 0.2,
            "init_variance": 0.5,
            "time": [0, 1, 2, 4, 10, 100, 1000],
            "mode": "gd",
        },
        "points",
        ["time", "bias", "variance", "initialization", "risk", "test_mse", "train_error"],
    ),
}


def rows_of(answer: dict, points: str | None, columns: list[str]) -> list[dict]:
    """The points of a JSON answer as records (spectra: the arrays x, density, cdf side by side)."""
    if points is None:
        return [dict(zip(columns, values, strict=True)) for values in zip(*(answer[c] for c in columns), strict=True)]
    return answer[points]


def cell(value) -> str:
    """How the CSV writes one JSON value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, int) else str(value)


def svg_ids(content: bytes) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(content)
    assert root.tag == f"{SVG_NS}svg"
    return root, {element.get("id"): element for element in root.iter() if element.get("id")}


def texts(root: ET.Element) -> str:
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG_NS}text"))


def vertices(group: ET.Element) -> int:
    """Points of the first path in a group: its move-to plus its line-to commands."""
    path = next(group.iter(f"{SVG_NS}path"))
    d = path.get("d")
    return d.count("L") + d.count("M")


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/*", JSON),
        ("text/csv", CSV),
        ("TEXT/CSV; charset=utf-8", CSV),
        ("text/*", CSV),
        ("image/*", SVG),
        ("image/png", PNG),
        ("application/json, text/csv", JSON),  # equal q: the service's order
        ("application/json;q=0.5, text/csv", CSV),
        ("text/csv;q=0.2, image/svg+xml;q=0.9, */*;q=0.1", SVG),
        ("*/*;q=0.1, image/png", PNG),
        ("image/*;q=0.3, image/png;q=0.8", PNG),  # the most specific range sets the q
        ("image/*, image/svg+xml;q=0", PNG),  # q = 0: not acceptable
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
        ("text/html", None),
        ("text/csv;q=0", None),
        ("application/json;q=0", None),
        ("garbage", JSON),  # nothing parseable: the header is disregarded
        ("text/csv;q=2, image/png", PNG),  # a malformed q drops its range only
        ("text/csv;q=nan", JSON),
    ],
)
def test_negotiate(accept, chosen):
    assert negotiate(accept, OFFERED) == chosen


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASES)
async def test_csv_has_one_row_per_point_and_the_point_fields_as_header(client, path):
    body, points, columns = CASES[path]
    answer = (await client.post(path, json=body)).json()
    response = await client.post(path, json=body, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    assert response.headers["vary"] == "Accept"
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == columns
    expected = rows_of(answer, points, columns)
    assert len(table) - 1 == len(expected) > 0
    for row, record in zip(table[1:], expected, strict=True):
        assert len(row) == len(columns)
        for column, text in zip(columns, row, strict=True):
            value = record[column]
            if isinstance(value, float):
                assert float(text) == value  # repr round-trips exactly
            else:
                assert text == cell(value)


def test_a_numeric_table_is_written_from_json_text_and_reads_back_exactly():
    # to_csv writes tables of numbers, booleans and nulls from the columns' JSON text (the fast path);
    # the cells must read back as the same values the csv-module path writes.
    values = [0.0, -0.0, 1e-5, 1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -2.5, 123456789.0, 3.0]
    rows = [[v, None if i % 3 == 0 else -v, i % 2 == 0, i] for i, v in enumerate(values)]
    text = to_csv((["a", "b", "c", "n"], rows)).decode()
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == ["a", "b", "c", "n"] and text.endswith("\r\n") and "\r\n" in text[:-2]
    for written, row in zip(table[1:], rows, strict=True):
        assert float(written[0]) == row[0] and str(written[0]).startswith("-") == str(row[0]).startswith("-")
        assert written[1] == "" if row[1] is None else float(written[1]) == row[1]
        assert written[2] == cell(row[2]) and written[3] == cell(row[3])


def test_a_table_with_text_is_quoted_by_the_csv_writer():
    text = to_csv((["label", "value"], [['say "hi", twice', 1.5], [None, None]])).decode()
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["label", "value"], ['say "hi", twice', "1.5"], ["", ""]]


def test_a_table_with_a_list_or_an_object_in_a_cell_keeps_one_cell_per_value():
    # (no table of the service holds one today; the JSON-text path must not split their commas)
    lists = to_csv((["a", "b"], [[[1.0, 2.0], 0.5], [[], None]])).decode()
    assert list(csv.reader(io.StringIO(lists, newline=""))) == [["a", "b"], ["[1.0, 2.0]", "0.5"], ["[]", ""]]
    objects = to_csv((["a"], [[{"k": 1}]])).decode()
    assert list(csv.reader(io.StringIO(objects, newline=""))) == [["a"], ["{'k': 1}"]]


async def test_csv_null_is_an_empty_cell(client):
    # ridgeless at c = 1 diverges: every error is null there, with a note
    response = await client.post(
        "/v1/predictions/linear-ridge",
        json={"ratio": [1.0], "ridge_penalty": [0.0, 0.1]},
        headers={"Accept": "text/csv"},
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["risk"] == "" and rows[0]["note"] and float(rows[1]["risk"]) > 0


# --- plots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CASES)
async def test_every_curve_has_an_svg_and_a_png(client, path):
    body = CASES[path][0]
    svg = await client.post(path, json=body, headers={"Accept": "image/svg+xml"})
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    root, _ = svg_ids(svg.content)
    assert len(list(root.iter(f"{SVG_NS}path"))) > 10
    png = await client.post(path, json=body, headers={"Accept": "image/png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["content-disposition"] == f'inline; filename="{path.rsplit("/", 1)[1]}.png"'


async def test_density_plot_marks_atom_edges_and_has_labelled_axes(client):
    # c = 2: an atom of mass 1/2 at 0, one support interval [(1 − √2)², (1 + √2)²]
    response = await client.post("/v1/spectra/marchenko-pastur", json=MP, headers={"Accept": "image/svg+xml"})
    root, ids = svg_ids(response.content)
    assert vertices(ids["density"]) == 25 and vertices(ids["cdf"]) == 25
    assert {"atom", "edge-0-lower", "edge-0-upper"} <= set(ids)
    words = texts(root)
    for label in ("eigenvalue x", "density", "CDF", "Marchenko–Pastur law", "atom at 0, mass 0.5"):
        assert label in words


async def test_sample_covariance_plot_marks_every_support_interval(client):
    body = CASES["/v1/spectra/sample-covariance"][0]
    intervals = (await client.post("/v1/spectra/sample-covariance", json=body)).json()["support_intervals"]
    assert len(intervals) == 3  # c = 0.1 separates the three population eigenvalues
    _, ids = svg_ids(
        (await client.post("/v1/spectra/sample-covariance", json=body, headers={"Accept": "image/svg+xml"})).content
    )
    assert {f"edge-{i}-{side}" for i in range(3) for side in ("lower", "upper")} <= set(ids)
    assert "atom" not in ids  # c < 1: no atom


async def test_conjugate_kernel_plot_marks_its_outliers(client):
    payload = {
        "activation": {"name": "quadratic", "a": 0.7071067811865476, "c": -0.7071067811865476},
        "ratio": 0.25,
        "neurons_per_sample": 1.0,
        "weight_distribution": "rademacher",
        "grid": {"start": 0, "stop": 8, "num": 40},
    }
    answer = (await client.post("/v1/spectra/conjugate-kernel", json=payload)).json()
    assert len(answer["outliers"]) == 1
    root, ids = svg_ids(
        (await client.post("/v1/spectra/conjugate-kernel", json=payload, headers={"Accept": "image/svg+xml"})).content
    )
    assert "outlier-0" in ids and "verified" in texts(root)
    # relu is not centred: its mean outlier (~(E σ)² N) is far right, named at the edge of the axes
    counts = {
        "activation": {"name": "relu"},
        "n_samples": 2000,
        "n_features": 1000,
        "n_neurons": 1500,
        "grid": {"start": 0, "stop": 3, "num": 12},
    }
    root, ids = svg_ids(
        (await client.post("/v1/spectra/conjugate-kernel", json=counts, headers={"Accept": "image/svg+xml"})).content
    )
    assert "outlier-0" in ids and "mean, heuristic" in texts(root)


async def test_spiked_plot_marks_outliers_bulk_and_threshold(client):
    _, ids = svg_ids(
        (
            await client.post(
                "/v1/spectra/spiked-covariance",
                json=CASES["/v1/spectra/spiked-covariance"][0],
                headers={"Accept": "image/svg+xml"},
            )
        ).content
    )
    assert {"bulk", "threshold", "outliers", "absorbed", "alignment"} <= set(ids)
    assert len(ids["outliers"].findall(f".//{SVG_NS}use")) == 2  # ℓ = 2 and 5 separate; ℓ = 0.5 < √0.5 does not


async def test_ridge_curve_marks_interpolation_threshold_peak_and_optimum(client):
    # ratios 0.2..3 for λ = 0 and 0.1: the ridgeless test MSE peaks next to c = 1
    root, ids = svg_ids(
        (
            await client.post(
                "/v1/predictions/linear-ridge",
                json=CASES["/v1/predictions/linear-ridge"][0],
                headers={"Accept": "image/svg+xml"},
            )
        ).content
    )
    assert {
        "test-mse-0",
        "test-mse-1",
        "train-error-0",
        "train-error-1",
        "interpolation-threshold",
        "peak-0",
        "optimum",
    } <= set(ids)
    assert "ratio c = p/n" in texts(root)
    # along λ instead (more penalties than ratios): one optimum star per ratio
    body = {"ratio": [0.5, 2.0], "ridge_penalty": {"start": 0.001, "stop": 10, "num": 9, "scale": "log"}}
    root, ids = svg_ids(
        (await client.post("/v1/predictions/linear-ridge", json=body, headers={"Accept": "image/svg+xml"})).content
    )
    assert len(ids["optimum"].findall(f".//{SVG_NS}use")) == 2 and vertices(ids["test-mse-0"]) == 9
    assert "ridge penalty γ" in texts(root)


async def test_double_descent_marks_n_equals_n_the_peak_and_the_best(client):
    root, ids = svg_ids(
        (
            await client.post(
                "/v1/predictions/random-features-ridge",
                json=CASES["/v1/predictions/random-features-ridge"][0],
                headers={"Accept": "image/svg+xml"},
            )
        ).content
    )
    assert {
        "test-mse-0",
        "test-mse-1",
        "train-mse-0",
        "interpolation-threshold",
        "peak-0",
        "optimum-curve",
        "optimum",
    } <= set(ids)
    assert "N = n = 128" in texts(root)  # n recovered from κ = γ(n/N)(1 + δ)


async def test_dynamics_plots_mark_the_optimal_time_and_the_limit(client):
    path = "/v1/predictions/gradient-descent-regression"
    root, ids = svg_ids((await client.post(path, json=CASES[path][0], headers={"Accept": "image/svg+xml"})).content)
    assert {"test-mse", "risk", "bias", "variance", "initialization", "train-error", "limit", "optimum"} <= set(ids)
    assert vertices(ids["test-mse"]) == 7 and "training time t (steps)" in texts(root)
    path = "/v1/predictions/gradient-descent-classification"
    _, ids = svg_ids((await client.post(path, json=CASES[path][0], headers={"Accept": "image/svg+xml"})).content)
    assert {"test-error", "train-error", "limit", "optimum"} <= set(ids)


async def test_one_step_plot_marks_threshold_and_bulk_edge(client):
    path = "/v1/spectra/one-step-gradient"
    answer = (await client.post(path, json=CASES[path][0])).json()
    _, ids = svg_ids((await client.post(path, json=CASES[path][0], headers={"Accept": "image/svg+xml"})).content)
    assert {"top-singular-value", "bulk-edge", "threshold"} <= set(ids)
    separated = sum(p["separated"] for p in answer["points"])
    assert separated > 0 and len(ids["outliers"].findall(f".//{SVG_NS}use")) == separated


# --- 406 and the rest of the contract ---------------------------------------------------------


async def test_unsupported_accept_is_a_406_problem_listing_the_types(client):
    response = await client.post("/v1/spectra/marchenko-pastur", json=MP, headers={"Accept": "text/html"})
    assert response.status_code == 406 and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:rmt-service:problem:not-acceptable"
    assert problem["supported_media_types"] == [JSON, CSV, SVG, PNG] and "text/html" in problem["detail"]


async def test_json_only_answers_refuse_csv(client):
    response = await client.post(
        "/v1/activations/moments", json={"activation": {"name": "tanh"}}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 406 and response.json()["supported_media_types"] == [JSON]
    assert (await client.get("/v1/simulations/kinds", headers={"Accept": "image/png"})).status_code == 406


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json;q=0.9, text/html;q=0.1"])
async def test_json_stays_the_default(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = await client.post("/v1/spectra/marchenko-pastur", json=MP, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json()["atom"]["mass"] == 0.5


async def test_errors_stay_problems_whatever_the_accept(client):
    response = await client.post(
        "/v1/spectra/marchenko-pastur", json={"ratio": -1, "x": [1.0]}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM


def test_every_api_route_negotiates():
    routes = [
        route
        for router in ROUTERS
        if router is not health.router
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert routes and all(isinstance(route, RepresentationRoute) for route in routes)


def test_openapi_lists_the_media_types_of_each_operation(app):
    document = app.openapi()
    rendered = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            route = next(
                r
                for router in ROUTERS
                for r in router.routes
                if isinstance(r, APIRoute) and r.path == path and method.upper() in r.methods
            )
            if not isinstance(route, RepresentationRoute):
                continue
            assert "406" in operation["responses"]
            if len(route.media_types) > 1:
                assert list(operation["responses"]["200"]["content"]) == list(route.media_types), path
            rendered += len(route.media_types) > 1
    assert rendered == len(CASES) + 2  # every case, and the two answers that are a job (GET and cancel)
    csv_schema = document["paths"]["/v1/predictions/linear-ridge"]["post"]["responses"]["200"]["content"][CSV]["schema"]
    assert "ratio,ridge_penalty,bias" in csv_schema["description"]


# --- simulation jobs --------------------------------------------------------------------------


def job(status: str, quantities: list[dict] | None = None, spectrum: dict | None = None) -> SimulationJob:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    result = None
    if quantities is not None:
        result = {
            "quantities": quantities,
            "spectrum": spectrum,
            "provenance": {
                "seed_entropy": 1,
                "trials": 64,
                "sizes": {"n_features": 100, "n_samples": 200},
                "chunks": 64,
                "reference": "r",
                "notes": [],
                "versions": {},
            },
        }
    return SimulationJob.model_validate(
        {
            "id": "abc",
            "kind": "linear_ridge",
            "status": status,
            "params": {},
            "trials": 64,
            "seed": 1,
            "sizes": {"n_features": 100, "n_samples": 200},
            "progress": {
                "trials_done": 64,
                "trials_total": 64,
                "chunks_done": 64,
                "chunks_total": 64,
                "fraction": 1.0,
                "eta_seconds": 0.0,
            },
            "created": now,
            "started": now,
            "updated": now,
            "finished": now,
            "result": result,
            "error": None,
        }
    )


def quantity(name: str, mean: float, se: float | None, prediction: float | None) -> dict:
    return {
        "name": name,
        "empirical_mean": mean,
        "standard_error": se,
        "prediction": prediction,
        "absolute_difference": None,
        "relative_difference": None,
        "z_score": None,
    }


RIDGE_QUANTITIES = [
    quantity(f"{q}[ridge_penalty={lam:g}]", 1.0 + lam, 0.01, 1.0 + lam + 0.005)
    for lam in (0.0, 0.1, 1.0)
    for q in ("risk", "test_mse")
]


def test_job_plot_has_the_empirical_points_with_error_bars_over_the_theory():
    body = job("successful", RIDGE_QUANTITIES).model_dump_json().encode()
    root, ids = svg_ids(render(SimulationJob, REPRESENTATIONS[SimulationJob], body, SVG))
    # one panel per quantity, each with three penalties: theory curve and empirical points with error bars
    assert {"theory-0", "theory-1", "empirical-0", "empirical-1"} <= set(ids) and "empirical-2" not in ids
    assert vertices(ids["theory-0"]) == 3
    words = texts(root)
    assert "risk" in words and "test_mse" in words and "ridge_penalty" in words and "simulation ± 2 SE" in words
    table = list(csv.reader(io.StringIO(render(SimulationJob, REPRESENTATIONS[SimulationJob], body, CSV).decode())))
    assert table[0][:4] == ["name", "empirical_mean", "standard_error", "prediction"] and len(table) == 7


def test_job_moments_and_scalars_get_their_panels_and_the_ks_distance():
    quantities = [
        quantity("moment_1", 1.0, 0.01, 1.0),
        quantity("moment_2", 1.5, 0.02, 1.5),
        quantity("outlier_0[source=mean]", 5.0, 0.1, None),
        quantity("top_eigenvalue[upper_edge]", 2.9, 0.01, 2.91),
    ]
    spectrum = {"ks_distance": 0.0123, "resolution": 0.001, "grid_points": 1024, "eigenvalues": 6400}
    root, ids = svg_ids(
        render(
            SimulationJob,
            REPRESENTATIONS[SimulationJob],
            job("successful", quantities, spectrum).model_dump_json().encode(),
            SVG,
        )
    )
    assert {"empirical-0", "empirical-1", "empirical-2"} <= set(ids) and "empirical-3" not in ids
    assert vertices(ids["theory-0"]) == 2  # moments 1 and 2 against k
    assert "0.0123" in texts(root)


def test_an_unfinished_job_has_only_json():
    body = job("running").model_dump_json().encode()
    for media_type in (CSV, SVG):
        with pytest.raises(NotAcceptableError) as raised:
            render(SimulationJob, REPRESENTATIONS[SimulationJob], body, media_type)
        assert raised.value.supported == [JSON] and "running" in raised.value.message


async def test_a_finished_job_over_http(tmp_path):
    from tests.service.test_simulations_api import (
        RIDGE_JOB,
        poll,
        running_app,
        settings_for,
        submit,
    )

    async with running_app(settings_for(tmp_path, dask_workers=1)) as (http, _):
        location = await submit(http, {**RIDGE_JOB, "trials": 8})
        early = await http.get(location, headers={"Accept": "text/csv"})
        body = await poll(http, location, lambda b: b["status"] == "successful")
        table = await http.get(location, headers={"Accept": "text/csv"})
        plot = await http.get(location, headers={"Accept": "image/svg+xml"})
    if early.status_code != 200:  # still running when asked
        assert early.status_code == 406 and early.json()["supported_media_types"] == [JSON]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["name"] for r in rows] == [q["name"] for q in body["result"]["quantities"]]
    assert all(
        math.isclose(float(r["empirical_mean"]), q["empirical_mean"])
        for r, q in zip(rows, body["result"]["quantities"], strict=True)
    )
    _, ids = svg_ids(plot.content)
    assert {"empirical-0", "theory-0"} <= set(ids)
