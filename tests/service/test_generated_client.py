"""A typed Python client generated from /openapi.json calls every operation of a live service.

openapi-python-client (pinned in the test extra) generates the client into a tmp folder from the
app's own document; the service runs as a real uvicorn on a free loopback port (tests/live_server.py)
with one API key, since the document declares a bearer scheme. Every operation is called through
the client with the example body of its request model (the README's examples; the data set is the
README's four-sample upload), in an order that creates the job and the data set that the
path-parameter operations need. A new operation that this test does not call fails
`test_every_operation_is_called`, so any drift between the document and the server fails CI.

Then one 4xx per operation family (tag): its body must be RFC 9457 and load into the generated
`Problem` model, and the client itself must hand it back as a `Problem` (``response.parsed``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest

from service.app import create_app
from tests.conftest import isolated_settings
from tests.live_server import live_server

API_KEY = "client-test-key"
OPENAPI = create_app(isolated_settings()).openapi()
OPERATION_IDS = {operation["operationId"] for item in OPENAPI["paths"].values() for operation in item.values()}
#: The README's data set example (4 training and 2 test samples).
DATASET = {
    "x": [[0.1, -0.2], [0.3, 0.05], [-0.2, 0.1], [0.05, 0.3]],
    "y": [1, -1, 1, -1],
    "x_test": [[0.2, 0.1], [-0.1, -0.3]],
    "y_test": [1, -1],
}
FINAL = {"successful", "failed", "dismissed"}


def snake(operation_id: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation_id)


def example(operation_id: str) -> dict:
    """The one example of the operation's request model, from the document."""
    for item in OPENAPI["paths"].values():
        for operation in item.values():
            if operation["operationId"] == operation_id:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                return OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]]["examples"][0]
    raise KeyError(operation_id)


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """Generate the client (``rmt_client``) from the app's document and import it."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(OPENAPI))
    # No post hooks: the generator would shell out to `ruff` for formatting, which this test does not need.
    (folder / "config.yaml").write_text(
        "package_name_override: rmt_client\nproject_name_override: rmt_client\npost_hooks: []\n"
    )
    generator = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            "rmt_client",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module("rmt_client")
        modules = {}
        for path in (folder / "rmt_client" / "api").glob("*/*.py"):
            if path.stem != "__init__":
                modules[path.stem] = importlib.import_module(f"rmt_client.api.{path.parent.name}.{path.stem}")
        yield SimpleNamespace(package=package, models=importlib.import_module("rmt_client.models"), api=modules)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == "rmt_client" or name.startswith("rmt_client.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def service(tmp_path_factory, client_package):
    """The live service and an authenticated generated client for it."""
    entry = f"client-test:{hashlib.sha256(API_KEY.encode()).hexdigest()}"
    with live_server(tmp_path_factory.mktemp("server"), api_keys=entry) as url:
        client = client_package.package.AuthenticatedClient(
            base_url=url, token=API_KEY, raise_on_unexpected_status=True, timeout=None
        )
        with client as open_client:
            yield SimpleNamespace(url=url, client=open_client)


def call(client_package, service, called, operation_id, **kwargs):
    """Call one operation through the generated client; record it."""
    called.add(operation_id)
    return client_package.api[snake(operation_id)].sync_detailed(client=service.client, **kwargs)


def body_of(client_package, operation_id: str, data: dict):
    """The request model of an operation, built from a dict by the generated ``from_dict``.

    A discriminated union (the simulation kinds) is one generated class per member: the one named
    after ``data["kind"]`` is used.
    """
    annotation = client_package.api[snake(operation_id)].sync_detailed.__annotations__["body"]
    candidates = [arg for arg in typing.get_args(annotation) or (annotation,) if hasattr(arg, "from_dict")]
    if len(candidates) > 1:
        prefix = "".join(part.title() for part in str(data["kind"]).split("_"))
        candidates = [arg for arg in candidates if arg.__name__.startswith(prefix)]
    (model,) = candidates
    return model.from_dict(data)


CALLED: set[str] = set()


def test_every_example_through_the_client(client_package, service):
    models = client_package.models
    ok = {}

    def run(operation_id, expected=200, **kwargs):
        response = call(client_package, service, CALLED, operation_id, **kwargs)
        assert response.status_code == expected, (operation_id, response.status_code, response.content[:500])
        ok[operation_id] = response
        return response

    run("getHealth")
    run("getReadiness")
    for operation_id in (
        "computeMarchenkoPasturSpectrum",
        "computeSampleCovarianceSpectrum",
        "computeSpikedCovarianceOutliers",
        "predictLinearRidgeRisk",
        "predictGradientDescentClassification",
        "predictGradientDescentRegression",
        "computeExpectedKernel",
        "computeActivationMoments",
        "computeRandomFeaturesDeterministicEquivalent",
        "predictRandomFeaturesRidge",
        "computeConjugateKernelSpectrum",
        "computeOneStepGradientSpike",
        "computeKernelMatrix",
        "computeKernelMatrixSpectrum",
        "predictKernelRidgeRisk",
        "computeNeuralTangentKernelSpectrum",
        "runBatch",
    ):
        response = run(operation_id, body=body_of(client_package, operation_id, example(operation_id)))
        assert response.parsed is not None and not isinstance(response.parsed, models.Problem), operation_id

    # Data sets: upload the README's example, read it back, list, and use it in a prediction.
    uploaded = run("uploadDataset", 201, body=models.DatasetUpload.from_dict(DATASET)).parsed
    assert isinstance(uploaded, models.Dataset) and uploaded.n_samples == 4
    assert run("getDataset", dataset_id=uploaded.id).parsed.id == uploaded.id
    assert uploaded.id in [item.id for item in run("listDatasets").parsed.items]
    on_dataset = {
        "activation": {"name": "relu"},
        "data": {"kind": "dataset", "id": uploaded.id},
        "n_neurons": [2, 8],
        "ridge_penalty": [0.1],
    }
    points = call(
        client_package,
        service,
        CALLED,
        "predictRandomFeaturesRidge",
        body=models.RandomFeaturesRidgeRequest.from_dict(on_dataset),
    )
    assert points.status_code == 200 and len(points.parsed.points) == 2

    # Simulation jobs: submit the example, list kinds and jobs, wait for it, cancel (a finished job is unchanged), delete.
    job = run(
        "submitSimulation", 202, body=body_of(client_package, "submitSimulation", example("submitSimulation"))
    ).parsed
    assert run("listSimulationKinds").parsed is not None
    assert job.id in [item.id for item in run("listSimulations").parsed.items]
    # The generated client's long poll (`wait_seconds`, a keyword of the generated function).
    for _ in range(100):  # a hang guard (at least 15 minutes of 10-s waits), not a speed claim
        if (state := run("getSimulation", job_id=job.id, wait_seconds=10.0).parsed).status.value in FINAL:
            break
    else:
        pytest.fail("the example simulation job never finished")
    assert state.status.value == "successful"
    assert run("cancelSimulation", job_id=job.id).parsed.status.value == "successful"
    run("deleteSimulation", 204, job_id=job.id)
    run("deleteDataset", 204, dataset_id=uploaded.id)


def test_every_operation_is_called(client_package, service):
    """A new operation in the document must be added to the test above."""
    if not CALLED:
        pytest.skip("runs after test_every_example_through_the_client")
    assert not OPERATION_IDS - CALLED, f"operations the client test does not call: {sorted(OPERATION_IDS - CALLED)}"


#: One failing call per operation family (tag); health has no 4xx (its probes answer 200/503 and need no key).
FAILURES = {
    "spectra": (
        "computeMarchenkoPasturSpectrum",
        422,
        lambda p: {"body": body_of(p, "computeMarchenkoPasturSpectrum", {"ratio": -1.0, "x": [1.0]})},
    ),
    "predictions": (
        "predictLinearRidgeRisk",
        422,
        lambda p: {"body": body_of(p, "predictLinearRidgeRisk", {"ratio": 2.0, "ridge_penalty": -0.1})},
    ),
    "simulations": ("getSimulation", 404, lambda p: {"job_id": "0" * 32}),
    "datasets": ("getDataset", 404, lambda p: {"dataset_id": "0" * 32}),
    "batch": ("runBatch", 422, lambda p: {"body": body_of(p, "runBatch", {"requests": []})}),
    "random-features": (
        "computeActivationMoments",
        422,
        lambda p: {"body": body_of(p, "computeActivationMoments", {"activation": {"name": "relu", "a": 1.0}})},
    ),
    "kernels": (
        "computeKernelMatrix",
        422,
        lambda p: {
            "body": body_of(
                p, "computeKernelMatrix", {"kernel": {"name": "rbf", "bandwidth": -1.0}, "x": [[1.0], [2.0]]}
            )
        },
    ),
}


def test_every_family_is_covered():
    tags = {tag for item in OPENAPI["paths"].values() for operation in item.values() for tag in operation["tags"]}
    assert tags - set(FAILURES) == {"health"}


@pytest.mark.parametrize("family", sorted(FAILURES))
def test_a_4xx_per_family_is_a_problem(client_package, service, family):
    operation_id, status, kwargs = FAILURES[family]
    response = call(client_package, service, set(), operation_id, **kwargs(client_package))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = client_package.models.Problem.from_dict(json.loads(response.content))
    assert problem.status == status and problem.type_ and problem.title


@pytest.mark.parametrize("family", sorted(FAILURES))
def test_the_client_parses_problems_into_the_typed_problem(client_package, service, family):
    operation_id, status, kwargs = FAILURES[family]
    response = call(client_package, service, set(), operation_id, **kwargs(client_package))
    assert response.status_code == status
    assert isinstance(response.parsed, client_package.models.Problem)
