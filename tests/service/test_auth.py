"""API keys and the per-key rate limit: 401 with `WWW-Authenticate`, open probes and docs, 429 with `Retry-After`."""

from __future__ import annotations

import hashlib
import logging

import httpx
import pytest

from service.app import create_app
from service.auth import ApiKeyConfigError, parse_api_keys
from service.settings import Settings
from tests.conftest import isolated_settings

pytestmark = pytest.mark.anyio

ALICE, BOB = "alice-secret-key", "bob-secret-key"
MP_BODY = {"ratio": 0.5, "x": [1.0]}


def _entry(name: str, key: str) -> str:
    return f"{name}:{hashlib.sha256(key.encode()).hexdigest()}"


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def test_keys_required_when_configured():
    app = create_app(isolated_settings(api_keys=f"{_entry('alice', ALICE)},{_entry('bob', BOB)}"))
    async with app.router.lifespan_context(app), _client(app) as http:
        missing = await http.post("/v1/spectra/marchenko-pastur", json=MP_BODY)
        wrong = await http.post("/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": "Bearer nope"})
        basic = await http.post(
            "/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": f"Basic {ALICE}"}
        )
        good = await http.post(
            "/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": f"Bearer {ALICE}"}
        )
        jobs = await http.get("/v1/simulations")
    for response in (missing, wrong, basic, jobs):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["type"] == "urn:rmt-service:problem:unauthorized"
    assert good.status_code == 200


async def test_probes_and_docs_stay_open():
    app = create_app(isolated_settings(api_keys=_entry("alice", ALICE)))
    async with app.router.lifespan_context(app), _client(app) as http:
        for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"):
            assert (await http.get(path)).status_code == 200, path


async def test_keys_file_adds_to_keys(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"# team keys\n{_entry('bob', BOB)}\n\n")
    app = create_app(isolated_settings(api_keys=_entry("alice", ALICE), api_keys_file=str(keys)))
    async with app.router.lifespan_context(app), _client(app) as http:
        for key in (ALICE, BOB):
            response = await http.post(
                "/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": f"Bearer {key}"}
            )
            assert response.status_code == 200


@pytest.mark.parametrize("text", ["alice", "alice:1234", f"{_entry('a', ALICE)},{_entry('a', BOB)}", "a b:" + "0" * 64])
def test_malformed_key_entries_are_refused(text):
    with pytest.raises(ApiKeyConfigError):
        parse_api_keys(text, source="RMT_API_KEYS")


def test_an_unparsable_rate_limit_stops_the_settings():
    with pytest.raises(ValueError, match="RMT_RATE_LIMIT"):
        Settings(rate_limit="lots")


async def test_open_service_says_so(caplog):
    app = create_app(isolated_settings())
    with caplog.at_level(logging.WARNING, logger="rmt_service"):
        async with app.router.lifespan_context(app):
            pass
    assert any("OPEN" in record.getMessage() for record in caplog.records)


async def test_rate_limit_is_per_key():
    app = create_app(
        isolated_settings(api_keys=f"{_entry('alice', ALICE)},{_entry('bob', BOB)}", rate_limit="3/minute")
    )
    async with app.router.lifespan_context(app), _client(app) as http:
        alice = [
            await http.post("/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": f"Bearer {ALICE}"})
            for _ in range(4)
        ]
        bob = await http.post("/v1/spectra/marchenko-pastur", json=MP_BODY, headers={"Authorization": f"Bearer {BOB}"})
        health = [await http.get("/healthz") for _ in range(5)]
    assert [r.status_code for r in alice] == [200, 200, 200, 429]
    limited = alice[-1]
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "urn:rmt-service:problem:rate-limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert bob.status_code == 200  # another key has its own budget
    assert all(r.status_code == 200 for r in health)  # probes are never limited


async def test_rate_limit_on_an_open_service_is_per_client():
    app = create_app(isolated_settings(rate_limit="2/minute"))
    async with app.router.lifespan_context(app), _client(app) as http:
        codes = [(await http.post("/v1/spectra/marchenko-pastur", json=MP_BODY)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_openapi_declares_the_bearer_scheme():
    app = create_app(isolated_settings())
    document = app.openapi()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operation = document["paths"]["/v1/spectra/marchenko-pastur"]["post"]
    assert {"HTTPBearer": []} in operation["security"]
    assert "401" in operation["responses"] and "429" in operation["responses"]
    assert "security" not in document["paths"]["/healthz"]["get"]


async def test_every_api_operation_needs_a_key_and_declares_it():
    """The middleware guards every /v1/ path; the OpenAPI document says so on exactly those operations."""
    app = create_app(isolated_settings(api_keys=_entry("alice", ALICE)))
    document = app.openapi()
    operations = [
        (method.upper(), path.replace("{job_id}", "some-job").replace("{dataset_id}", "some-data-set"), operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "delete", "put", "patch")
    ]
    guarded = [(method, path) for method, path, operation in operations if path.startswith("/v1/")]
    assert len(guarded) >= 25
    async with app.router.lifespan_context(app), _client(app) as http:
        for method, path in guarded:
            response = await http.request(method, path, json=MP_BODY)
            assert response.status_code == 401, (method, path, response.text)
        assert (await http.get("/v1/no-such-path")).status_code == 401  # unknown callers learn nothing
    for method, path, operation in operations:
        assert ("security" in operation) == path.startswith("/v1/"), (method, path)
