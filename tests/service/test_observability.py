"""Observability: `/metrics` (Prometheus text format), request ids (`X-Request-ID`), JSON logs.

The metrics are read back with prometheus-client's own parser, so a test also checks the format.
One test runs a tiny simulation job (1 Dask worker, 8 trials of n = 50) to see the job and Dask
gauges move; one starts the real server (uvicorn subprocess on 127.0.0.1) to see its JSON access log.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from asgi_correlation_id import correlation_id
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.logs import configure_logging
from service.metrics import CONTENT_TYPE, FLUSH_EVERY, Metrics
from service.observability import ObservabilityMiddleware, new_request_id
from tests.conftest import isolated_settings
from tests.service.test_simulations_api import FINAL, poll

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
MP = "/v1/spectra/marchenko-pastur"
MP_BODY = {"ratio": 0.5, "x": [1.0, 2.0]}
GENERATED = re.compile(r"[0-9a-f]{32}")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics body: (name, labels) -> value (the parser rejects a malformed body)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(table: dict, name: str, **labels: str) -> float | None:
    return table.get((name, frozenset(labels.items())))


async def scrape(http: httpx.AsyncClient) -> dict:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    return samples(response.text)


def failing_app() -> FastAPI:
    """The service plus one route that raises, for the unexpected-error path."""
    app = create_app(isolated_settings(max_body_bytes=1024))

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


async def test_metrics_count_requests_by_route_template_status_and_problem_type(client):
    before = await scrape(client)
    for _ in range(3):
        assert (await client.post(MP, json=MP_BODY)).status_code == 200
    assert (await client.post(MP, json={"ratio": -1.0, "x": [1.0]})).status_code == 422
    for job_id in ("a" * 32, "b" * 32):  # two raw paths, one template
        assert (await client.get(f"/v1/simulations/{job_id}")).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return (value(after, name, **labels) or 0.0) - (value(before, name, **labels) or 0.0)

    assert delta("rmt_http_requests_total", method="POST", route=MP, status="200") == 3
    assert delta("rmt_http_requests_total", method="POST", route=MP, status="422") == 1
    assert delta("rmt_http_requests_total", method="GET", route="/v1/simulations/{job_id}", status="404") == 2
    assert delta("rmt_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert not any("a" * 32 in dict(labels).get("route", "") for _, labels in after)  # never a raw path
    assert delta("rmt_http_request_duration_seconds_count", method="POST", route=MP, status="200") == 3
    assert delta("rmt_http_request_duration_seconds_bucket", method="POST", route=MP, status="200", le="+Inf") == 3
    assert delta("rmt_problems_total", type="urn:rmt-service:problem:validation-error", status="422") == 1
    assert delta("rmt_problems_total", type="urn:rmt-service:problem:not-found", status="404") == 3
    # Read at scrape time: no job yet, no Dask; the compute pool is idle; the process series exist.
    assert value(after, "rmt_compute_queue_depth") == 0
    for state in ("accepted", "running", "successful", "failed", "dismissed"):
        assert value(after, "rmt_jobs", state=state) == 0
    assert value(after, "rmt_job_chunks_in_flight") == 0 and value(after, "rmt_dask_workers") == 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "rmt_http_requests_total", method="GET", route="/metrics", status="200") >= 1
    # In progress: the scrape itself, and only it (the requests above are all counted out again).
    assert value(after, "rmt_http_requests_in_progress") == 1.0


async def test_metrics_is_not_in_the_openapi_document(client):
    assert "/metrics" not in (await client.get("/openapi.json")).json()["paths"]


async def test_the_compute_pool_reports_its_own_queue_depth_through_the_hook(app, client):
    class Pool:
        def queue_depth(self) -> int:
            return 7

    original = app.state.compute
    app.state.compute = Pool()
    try:
        assert value(await scrape(client), "rmt_compute_queue_depth") == 7
    finally:
        app.state.compute = original


async def test_request_id_is_echoed_generated_or_replaced(client):
    sent = await client.post(MP, json=MP_BODY, headers={"X-Request-ID": "checkout-42.retry:1"})
    assert sent.headers["x-request-id"] == "checkout-42.retry:1"
    absent = await client.post(MP, json=MP_BODY)
    assert GENERATED.fullmatch(absent.headers["x-request-id"])
    assert absent.headers["x-request-id"] != (await client.post(MP, json=MP_BODY)).headers["x-request-id"]
    # Unsafe values (spaces, quotes, > 128 characters) are not copied into logs and headers.
    for bad in ('a "quoted" id', "x" * 129):
        replaced = await client.get("/healthz", headers={"X-Request-ID": bad})
        assert GENERATED.fullmatch(replaced.headers["x-request-id"])
    # Problems carry it too.
    problem = await client.post(MP, json={"ratio": -1.0, "x": [1.0]}, headers={"X-Request-ID": "p-1"})
    assert problem.status_code == 422 and problem.headers["x-request-id"] == "p-1"


async def test_requests_are_applied_to_the_series_in_batches_and_every_scrape_sees_them_all():
    metrics = Metrics(object())
    route = "/v1/spectra/marchenko-pastur"

    def answered() -> float | None:
        return metrics.registry.get_sample_value(
            "rmt_http_requests_total", {"method": "POST", "route": route, "status": "200"}
        )

    for _ in range(FLUSH_EVERY - 1):
        metrics.observe(method="POST", route=route, status=200, seconds=0.003, problem_type=None)
    assert answered() is None  # (recorded, not applied yet: the series does not exist)
    metrics.observe(method="POST", route=route, status=422, seconds=0.5, problem_type="invalid-parameter")
    assert answered() == FLUSH_EVERY - 1  # the batch is full: applied
    metrics.observe(method="POST", route=route, status=200, seconds=0.02, problem_type=None)
    table = samples((await metrics.exposition()).decode())  # a scrape applies the rest first
    labels = {"method": "POST", "route": route, "status": "200"}
    assert value(table, "rmt_http_requests_total", **labels) == FLUSH_EVERY
    assert value(table, "rmt_http_request_duration_seconds_bucket", le="0.005", **labels) == FLUSH_EVERY - 1
    assert value(table, "rmt_http_request_duration_seconds_sum", **labels) == pytest.approx(
        0.003 * (FLUSH_EVERY - 1) + 0.02
    )
    assert value(table, "rmt_problems_total", type="invalid-parameter", status="422") == 1


async def test_the_request_id_replaces_the_requests_own_header_and_is_in_the_log_context():
    """What the app behind the middleware sees (a batch passes the header on to its items): an
    ``x-request-id`` first among its headers, equal to the response's and to the log context's,
    whatever the client sent (a sane id is kept as sent, the first of several; any other is replaced)."""
    seen: list[tuple[list[bytes], str | None]] = []

    async def echo(scope, receive, send):
        seen.append(([v for k, v in scope["headers"] if k == b"x-request-id"], correlation_id.get()))
        await send({"type": "http.response.start", "status": 204, "headers": [(b"x-other", b"1")]})
        await send({"type": "http.response.body", "body": b""})

    app = ObservabilityMiddleware(echo, metrics=Metrics(object()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for sent in (None, "kept-1", "bad id", "x" * 129, ""):
            headers = [] if sent is None else [("X-Request-ID", sent), ("X-Request-ID", "second")]
            response = await http.get("/", headers=headers)
            request_headers, context = seen.pop()
            answered = response.headers.get_list("x-request-id")
            assert request_headers[0] == answered[0].encode() and context == answered[0] and len(answered) == 1
            assert len(request_headers) == (2 if sent == "kept-1" else 1)
            assert response.headers["x-other"] == "1"
            if sent == "kept-1":
                assert answered == ["kept-1"]
            else:
                assert GENERATED.fullmatch(answered[0]), (sent, answered)


def test_generated_request_ids_are_unique_and_a_forked_worker_does_not_repeat_its_parents():
    # Ids come from a per-process generator seeded by the OS (not a system call per request); a uvicorn
    # worker is a fork, whose generator would otherwise continue the parent's sequence id for id.
    ids = [new_request_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids) and all(GENERATED.fullmatch(i) for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # (the child only writes its next ids and leaves, without running pytest's exit hooks)
        os.write(write, " ".join(new_request_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        from_child = pipe.read().split()
    mine = [new_request_id() for _ in range(5)]
    assert len(from_child) == 5 and not set(from_child) & set(mine)


async def test_unexpected_error_and_too_large_body_carry_the_request_id_and_are_counted():
    app = failing_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        boom = await http.get("/boom", headers={"X-Request-ID": "boom-1"})
        assert boom.status_code == 500 and boom.headers["x-request-id"] == "boom-1"
        assert boom.json()["type"] == "urn:rmt-service:problem:internal-error"
        large = await http.post(MP, content=b"[" + b"0," * 1000 + b"0]", headers={"content-type": "application/json"})
        assert large.status_code == 413 and GENERATED.fullmatch(large.headers["x-request-id"])
        table = await scrape(http)
    assert value(table, "rmt_http_requests_total", method="GET", route="/boom", status="500") == 1
    assert value(table, "rmt_problems_total", type="urn:rmt-service:problem:internal-error", status="500") == 1
    assert value(table, "rmt_problems_total", type="urn:rmt-service:problem:body-too-large", status="413") == 1
    assert value(table, "rmt_http_requests_in_progress") == 1.0  # the scrape: the failed request is counted out


async def test_log_lines_are_json_with_the_request_id():
    app = failing_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    stream = io.StringIO()
    async with app.router.lifespan_context(app):
        configure_logging(log_format="json", level="INFO", stream=stream)  # as the lifespan did, into a buffer
        try:
            # (before the request: the in-process transport serves it in this very task and context)
            logging.getLogger("rmt_service").info("outside any request")
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                assert (await http.get("/boom", headers={"X-Request-ID": "trace-me"})).status_code == 500
                replaced = (await http.get("/healthz", headers={"X-Request-ID": "a bad id"})).headers["x-request-id"]
        finally:
            configure_logging(log_format="json", level="INFO")  # back to stderr
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # every line is one JSON object
    error = next(line for line in lines if line["message"].startswith("unexpected error on GET /boom"))
    assert error["request_id"] == "trace-me" and error["level"] == "ERROR" and error["logger"] == "rmt_service"
    assert "RuntimeError: boom" in error["exc_info"] and "timestamp" in error
    refused = next(line for line in lines if line["message"].startswith("refused the client's X-Request-ID"))
    assert refused["request_id"] == replaced and replaced in refused["message"] and refused["level"] == "WARNING"
    outside = next(line for line in lines if line["message"] == "outside any request")
    assert outside["request_id"] is None


@pytest.mark.parametrize(("level", "per_item_lines"), [("INFO", 0), ("DEBUG", 3)])
async def test_a_batch_logs_its_items_only_at_debug(level, per_item_lines):
    app = create_app(isolated_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    stream = io.StringIO()
    items = [{"path": "/v1/spectra/marchenko-pastur", "body": {"ratio": 0.5, "x": [1.0]}}] * 3
    async with app.router.lifespan_context(app):
        configure_logging(log_format="json", level=level, stream=stream)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                assert (await http.post("/v1/batch", json={"requests": items})).status_code == 200
        finally:
            configure_logging(log_format="json", level="INFO")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    items_logged = [line for line in lines if line["logger"] == "httpx" and "http://batch/" in line["message"]]
    assert len(items_logged) == per_item_lines, lines


async def test_job_and_dask_gauges_follow_a_simulation(tmp_path):
    settings = isolated_settings(dask_workers=1, jobs_database=str(tmp_path / "jobs.sqlite3"))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    job = {
        "kind": "marchenko_pastur",
        "params": {"ratio": 0.5, "x": [1.0]},
        "trials": 8,
        "seed": 1,
        "size": {"n_samples": 50},
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        response = await http.post("/v1/simulations", json=job)
        assert response.status_code == 202
        body = await poll(http, response.headers["location"], lambda b: b["status"] in FINAL)
        assert body["status"] == "successful", body
        table = await scrape(http)
    assert value(table, "rmt_jobs", state="successful") == 1 and value(table, "rmt_jobs", state="running") == 0
    assert value(table, "rmt_dask_workers") == 1
    assert value(table, "rmt_job_chunks_in_flight") == 0
    assert value(table, "rmt_http_requests_total", method="POST", route="/v1/simulations", status="202") == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_server_writes_json_access_logs_with_the_request_id(tmp_path):
    port = _free_port()
    env = {**os.environ, "RMT_JOBS_DATABASE": str(tmp_path / "jobs.sqlite3"), "RMT_LOG_FORMAT": "json"}
    log = tmp_path / "stderr.log"
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server's logging
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            text=True,
        )
    try:
        for _ in range(600):  # a hang guard (at least a minute of 0.1 s pauses), not a speed claim
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the server never became ready")
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "from-the-client"}, timeout=5)
        assert response.headers["x-request-id"] == "from-the-client"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    stderr = log.read_text()
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access" and "/healthz" in line["message"]]
    assert access and access[0]["request_id"] == "from-the-client", stderr[-2000:]
    # After start-up every line of the server is JSON (uvicorn's own lines included).
    started = next(i for i, line in enumerate(stderr.splitlines()) if "Application startup complete" in line)
    assert all(line.startswith("{") for line in stderr.splitlines()[started:] if line.strip())


def test_chunks_in_flight_counts_pending_chunk_futures_only():
    from types import SimpleNamespace

    from service.jobs.runner import DaskRunner

    runner = DaskRunner(scheduler_address=None, n_workers=1)
    assert runner.chunks_in_flight() == 0 and runner.worker_count() == 0  # no client yet
    futures = {
        "rmt-chunk-a-0": SimpleNamespace(status="pending"),
        "rmt-chunk-a-1": SimpleNamespace(status="finished"),
        "rmt-chunk-b-0": SimpleNamespace(status="pending"),
        "something-else": SimpleNamespace(status="pending"),
    }
    runner._client = SimpleNamespace(futures=futures, scheduler_info=lambda: {"n_workers": 3})
    assert runner.chunks_in_flight() == 2 and runner.worker_count() == 3
